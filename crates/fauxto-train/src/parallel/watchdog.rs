//! A bound on every collective call. burn-collective waits without a deadline: when a
//! peer's process dies its sockets close and the others usually fail, but a machine that
//! vanishes, a peer that hangs, or a death at the wrong moment of the barrier leaves them
//! waiting for ever. Every collective call is therefore timed, and a call that outlasts
//! the bound stops the whole process with a message saying so; the run then resumes from
//! its last checkpoint.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// Exit status of a process stopped by the watchdog.
pub const EXIT_STATUS: i32 = 3;

struct Watch {
    timeout: Duration,
    /// Calls in progress: (peer rank, what) → since when.
    waiting: Mutex<HashMap<usize, (&'static str, Instant)>>,
}

static WATCH: OnceLock<Watch> = OnceLock::new();

/// Starts the watchdog with bound `timeout` (the first call decides; later calls keep it).
pub fn start(timeout: Duration) {
    let mut started = false;
    WATCH.get_or_init(|| {
        started = true;
        Watch {
            timeout,
            waiting: Mutex::new(HashMap::new()),
        }
    });
    if started {
        std::thread::Builder::new()
            .name("collective-watchdog".into())
            .spawn(watch)
            .expect("spawn the watchdog thread");
    }
}

fn watch() {
    let w = WATCH.get().expect("set before the thread starts");
    let tick = (w.timeout / 10).clamp(Duration::from_millis(50), Duration::from_secs(1));
    loop {
        std::thread::sleep(tick);
        let late = {
            let waiting = w.waiting.lock().unwrap_or_else(|e| e.into_inner());
            waiting
                .iter()
                .find(|(_, (_, since))| since.elapsed() > w.timeout)
                .map(|(rank, (what, _))| (*rank, *what))
        };
        if let Some((rank, what)) = late {
            eprintln!(
                "error: peer {rank} waited more than {} s for the other peers ({what}): a \
                 peer has stopped (killed, crashed, or its machine unreachable). The run \
                 stops here; start every process again with --resume to continue from the \
                 last checkpoint",
                w.timeout.as_secs_f64()
            );
            std::process::exit(EXIT_STATUS);
        }
    }
}

/// Runs `call` (a collective operation of peer `rank`) under the bound.
pub fn timed<T>(rank: usize, what: &'static str, call: impl FnOnce() -> T) -> T {
    let Some(w) = WATCH.get() else {
        return call();
    };
    let lock = || w.waiting.lock().unwrap_or_else(|e| e.into_inner());
    lock().insert(rank, (what, Instant::now()));
    let out = call();
    lock().remove(&rank);
    out
}
