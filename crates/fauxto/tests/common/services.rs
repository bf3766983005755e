//! Real servers for the library's tests: a PostgreSQL cluster (Debian's `postgresql`
//! package) and an S3-compatible object store (`moto_server`, from PyPI's `moto[server]`),
//! each started once per test process on a free local port in a scratch directory, and
//! stopped — data and all — by a watchdog when the test process ends, however it ends.
//! `tools/install-test-services.sh` installs both.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const INSTALL: &str = "run tools/install-test-services.sh";

/// The running servers.
pub struct Services {
    /// `postgres://fauxto@127.0.0.1:PORT`, without a database name.
    pub postgres: String,
    pg_bin: PathBuf,
    pg_port: u16,
    /// `http://127.0.0.1:PORT`.
    pub s3_endpoint: String,
}

/// The servers, started on first use.
pub fn services() -> &'static Services {
    static SERVICES: OnceLock<Services> = OnceLock::new();
    SERVICES.get_or_init(start)
}

impl Services {
    /// A new, empty database; returns its URL.
    pub fn database(&self, name: &str) -> String {
        let name = unique(name);
        let out = Command::new(self.pg_bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.pg_port.to_string(),
                "-U",
                "fauxto",
                &name,
            ])
            .output()
            .expect("createdb runs");
        assert!(
            out.status.success(),
            "createdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        format!("{}/{name}", self.postgres)
    }

    /// The rows of `query` on the database at `url`, as psql's unaligned text.
    pub fn sql(&self, url: &str, query: &str) -> String {
        let out = Command::new(self.pg_bin.join("psql"))
            .args(["-At", "-v", "ON_ERROR_STOP=1", url, "-c", query])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A new, empty bucket; returns its name.
    pub fn bucket(&self, name: &str) -> String {
        let name = unique(name).replace('_', "-");
        let response = http(&self.s3_endpoint, "PUT", &format!("/{name}"));
        assert!(
            response.starts_with("HTTP/1.1 200"),
            "create bucket: {response}"
        );
        name
    }

    /// The environment a fauxto process needs to reach the S3 server.
    pub fn s3_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("AWS_ENDPOINT_URL", self.s3_endpoint.clone()),
            ("AWS_ALLOW_HTTP", "true".into()),
            ("AWS_ACCESS_KEY_ID", "fauxto-test".into()),
            ("AWS_SECRET_ACCESS_KEY", "fauxto-test-secret".into()),
            ("AWS_REGION", "us-east-1".into()),
        ]
    }
}

/// `name` made unique in this test run.
fn unique(name: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    format!(
        "{name}_{}_{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

// The servers and their watchdog outlive the test threads by design; the watchdog reaps.
#[allow(clippy::zombie_processes)]
fn start() -> Services {
    let dir = std::env::temp_dir().join(format!("fauxto-services-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let pg_bin = postgres_bin_dir();
    let pg_port = free_port();
    let s3_port = free_port();
    let as_postgres = start_postgres(&pg_bin, &dir, pg_port);
    // moto_server, or its module where pip put the package but not the script on the PATH.
    let mut moto = match find_in_path("moto_server") {
        Some(program) => Command::new(program),
        None => {
            let mut python = Command::new("python3");
            python.args(["-m", "moto.server"]);
            python
        }
    };
    let moto = moto
        .args(["-H", "127.0.0.1", "-p", &s3_port.to_string()])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.join("moto.log")).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("the S3 server (moto[server]) does not start ({e}): {INSTALL}"));
    // The watchdog outlives this process by at most a second and takes the servers with it.
    let stop_pg = format!(
        "{as_postgres} {} -D {} stop -m immediate",
        pg_bin.join("pg_ctl").display(),
        dir.join("pg").display()
    );
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "while kill -0 {parent} 2>/dev/null; do sleep 1; done; {stop_pg} >/dev/null 2>&1; \
             kill {moto} 2>/dev/null; rm -rf {dir}",
            parent = std::process::id(),
            moto = moto.id(),
            dir = dir.display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the watchdog starts");
    wait_for_port(s3_port, &dir.join("moto.log"));
    Services {
        postgres: format!("postgres://fauxto@127.0.0.1:{pg_port}"),
        pg_bin,
        pg_port,
        s3_endpoint: format!("http://127.0.0.1:{s3_port}"),
    }
}

/// Starts a throwaway cluster in `dir/pg` on `port` (trust authentication for the local
/// user `fauxto`, no fsync); returns the command prefix that runs its tools as its owner.
fn start_postgres(bin: &Path, dir: &Path, port: u16) -> String {
    // PostgreSQL refuses to run as root; as root, the cluster belongs to `postgres`.
    let as_postgres = if is_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(dir)
            .status()
            .expect("chown runs");
        assert!(status.success(), "chown the cluster directory to postgres");
        "runuser -u postgres --".to_string()
    } else {
        String::new()
    };
    let run = |args: &[&str]| {
        let mut words: Vec<String> = as_postgres.split_whitespace().map(String::from).collect();
        words.extend(args.iter().map(|s| s.to_string()));
        let out = Command::new(&words[0])
            .args(&words[1..])
            .current_dir(dir)
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", words[0]));
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let data = dir.join("pg");
    let initdb = bin.join("initdb");
    let pg_ctl = bin.join("pg_ctl");
    run(&[
        initdb.to_str().unwrap(),
        "-D",
        data.to_str().unwrap(),
        "-U",
        "fauxto",
        "-A",
        "trust",
        "-E",
        "UTF8",
        "--no-sync",
    ]);
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
        dir.display()
    );
    run(&[
        pg_ctl.to_str().unwrap(),
        "-D",
        data.to_str().unwrap(),
        "-l",
        dir.join("pg.log").to_str().unwrap(),
        "-o",
        &options,
        "-w",
        "start",
    ]);
    as_postgres
}

/// PostgreSQL's server programs: `initdb` on the PATH, or Debian's versioned directory.
fn postgres_bin_dir() -> PathBuf {
    if let Some(initdb) = find_in_path("initdb") {
        let real = std::fs::canonicalize(&initdb).unwrap_or(initdb);
        return real.parent().unwrap().to_path_buf();
    }
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join("bin"))
        .filter(|bin| bin.join("initdb").exists())
        .collect();
    versions.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    versions
        .pop()
        .unwrap_or_else(|| panic!("PostgreSQL (Debian: postgresql) is not installed: {INSTALL}"))
}

fn find_in_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for_port(port: u16, log: &Path) {
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the S3 server did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One bodiless HTTP/1.1 request; returns the whole response.
fn http(endpoint: &str, method: &str, path: &str) -> String {
    let host = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}
