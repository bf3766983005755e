//! A `fauxto studio` process for the studio's tests: started on a free port, its URL read
//! from its first line of output, stopped when dropped — or, for one held for the whole
//! test process, by a watchdog when the process ends.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::command;

/// A running studio.
pub struct Server {
    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub url: String,
    child: Child,
}

impl Server {
    /// `fauxto studio ARGS… --listen 127.0.0.1:0` with `env`; its log goes to `log`.
    pub fn start(args: &[&str], env: &[(&'static str, String)], log: &Path) -> Server {
        let mut all = vec!["studio"];
        all.extend_from_slice(args);
        all.extend(["--listen", "127.0.0.1:0"]);
        let mut child = command(&all)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .env("FAUXTO_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .expect("fauxto studio starts");
        reap_when_tests_end(child.id());
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("fauxto studio: ")
            .unwrap_or_else(|| {
                panic!(
                    "the studio did not start: {line:?}\n{}",
                    std::fs::read_to_string(log).unwrap_or_default()
                )
            })
            .trim_end_matches('/')
            .to_string();
        Server { url, child }
    }

    /// Kills the server at once (SIGKILL).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Kills process `pid` within a second of this test process ending, however it ends.
// The watchdog outlives the test threads by design and ends by itself.
#[allow(clippy::zombie_processes)]
fn reap_when_tests_end(pid: u32) {
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "while kill -0 {parent} 2>/dev/null && kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             kill -9 {pid} 2>/dev/null",
            parent = std::process::id()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the watchdog starts");
}
