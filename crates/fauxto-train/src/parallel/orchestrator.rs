//! burn-collective's global orchestrator, hosted by the first process of a run: it
//! introduces the processes to each other (registration and the end of the session);
//! tensors then travel directly between the processes.
//!
//! The orchestrator, and the data service of every process, stop on Ctrl-C / SIGTERM by
//! installing tokio signal handlers, which replace the default action of those signals.
//! [`exit_on_signal`] restores what a user expects: the process ends.

use crate::error::TrainError;

/// Starts the orchestrator on `port` (all interfaces) in a background thread.
pub fn host(port: u16) -> Result<(), TrainError> {
    // Fail early and clearly if the port is taken (the orchestrator itself would panic in
    // its thread).
    drop(std::net::TcpListener::bind(("0.0.0.0", port)).map_err(|e| {
        TrainError::Options(format!("cannot host the orchestrator on port {port}: {e}"))
    })?);
    std::thread::Builder::new()
        .name("orchestrator".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a tokio runtime for the orchestrator");
            runtime.block_on(burn_collective::start_global_orchestrator(port));
        })
        .map_err(|source| TrainError::Io {
            path: "orchestrator thread".into(),
            source,
        })?;
    Ok(())
}

/// Ends the process (status 130) on SIGINT or SIGTERM.
pub fn exit_on_signal() {
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime for the signal handler");
            runtime.block_on(async {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .expect("a SIGTERM handler");
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            });
            eprintln!("interrupted: the run stops; continue it with --resume");
            std::process::exit(130);
        })
        .expect("spawn the signal thread");
}
