//! Data-parallel `fauxto train`: several devices of one process (`--devices`), several
//! processes on one or many machines (`--nodes`, `--node-rank`, `--orchestrator`), or
//! both. Each device is a peer that trains its share of every batch
//! (`fauxto_train::parallel`); the peer of rank 0 writes the run's files, and the first
//! process hosts burn-collective's orchestrator.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use burn::prelude::DeviceOps;
use burn::tensor::backend::AutodiffBackend;
use burn::tensor::backend::DeviceId;
use clap::Args;
use fauxto_train::parallel::{orchestrator, Cluster};

use super::train::{train_peer, TrainArgs};
use crate::backend::DeviceKind;

#[derive(Debug, Args, Clone)]
pub struct ParallelArgs {
    /// Train data-parallel on several devices of this process: cpu:N (N peers, each on
    /// its share of the CPU's threads) or cuda:0,cuda:1,... Every batch is split evenly;
    /// the result is the single-device run's up to rounding. [default: cpu:2 on a CPU of
    /// two threads or more when the batch splits in two (a multiple of 8), else one
    /// device; cpu:1 trains as one]
    #[arg(long)]
    pub devices: Option<String>,
    /// Number of processes of a multi-process run (each started with the same options
    /// and its own --node-rank).
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// This process's index, 0 to --nodes − 1. Process 0 hosts the orchestrator and
    /// writes the checkpoints.
    #[arg(long, default_value_t = 0)]
    pub node_rank: usize,
    /// HOST:PORT of the orchestrator, hosted by process 0 on PORT; the others connect to
    /// it.
    #[arg(long)]
    pub orchestrator: Option<String>,
    /// HOST:PORT at which the other processes reach this one's data service (default,
    /// when --orchestrator is 127.0.0.1 or localhost: 127.0.0.1 and the orchestrator's
    /// port + 1 + --node-rank).
    #[arg(long)]
    pub node_address: Option<String>,
    /// Seconds a peer waits for the others in one collective step before the process
    /// stops (a peer that died or hangs); the run then resumes from its last checkpoint.
    /// It must exceed the time rank 0 takes to write a checkpoint and a snapshot, during
    /// which the others wait.
    #[arg(long, default_value_t = 600.0)]
    pub collective_timeout: f64,
}

/// The backend `--devices` names (`--device` when it names none).
pub fn device_kind(device: DeviceKind, args: &ParallelArgs) -> Result<DeviceKind> {
    match args.devices.as_deref() {
        Some(spec) if spec.starts_with("cuda:") => Ok(DeviceKind::Cuda),
        Some(spec) if spec.starts_with("cpu:") && device == DeviceKind::Cuda => {
            bail!("--devices {spec} names the CPU, --device cuda a GPU: give one of them")
        }
        _ => Ok(device),
    }
}

/// CPU peers of a `fauxto train` that names no `--devices`: two, each on its share of the
/// threads, when the machine has two threads or more and every batch of the run splits
/// over them. Two peers keep every core busy through the operations too small to split
/// well (1.29x one process at 64², `bench/RESULTS.md`, "One peer per core"), and the sum
/// of two peers' gradients is the same whichever arrives first, so a run stays
/// reproducible. (burn-collective sums three or more peers of one process in an order
/// that can change from run to run; `--devices cpu:N` asks for them.)
pub const DEFAULT_CPU_PEERS: usize = 2;

/// `args`, with `--devices cpu:2` where the options leave the choice to fauxto (see
/// [`DEFAULT_CPU_PEERS`]); `--devices cpu:1` trains in one peer.
pub fn with_default_peers(kind: DeviceKind, args: &TrainArgs) -> TrainArgs {
    let mut args = args.clone();
    let p = &args.parallel;
    // Several processes each decide alone, and might decide differently: they keep one
    // peer each unless told.
    let free = kind == DeviceKind::Cpu && p.devices.is_none() && p.nodes == 1;
    let splits = || {
        // An error in the options is reported by the run itself, with its context.
        super::train::planned_options(&args)
            .is_ok_and(|opts| opts.check_split(DEFAULT_CPU_PEERS).is_ok())
    };
    if free && rayon::current_num_threads() >= DEFAULT_CPU_PEERS && splits() {
        args.parallel.devices = Some(format!("cpu:{DEFAULT_CPU_PEERS}"));
        eprintln!(
            "training as {DEFAULT_CPU_PEERS} CPU peers, each on its share of the threads \
             (--devices cpu:1 trains as one)"
        );
    }
    args
}

/// The device indices that `--devices` names for this process's backend.
fn device_indices(spec: &str) -> Result<Vec<u16>> {
    let bad = || anyhow::anyhow!("--devices {spec}: give cpu:N or a list like cuda:0,cuda:1");
    if let Some(n) = spec.strip_prefix("cpu:") {
        let n: u16 = n.parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        return Ok(vec![0; n as usize]);
    }
    let indices = spec
        .split(',')
        .map(|d| {
            d.trim()
                .strip_prefix("cuda:")
                .and_then(|i| i.parse::<u16>().ok())
        })
        .collect::<Option<Vec<u16>>>()
        .ok_or_else(bad)?;
    let mut unique = indices.clone();
    unique.sort();
    unique.dedup();
    if indices.is_empty() || unique.len() != indices.len() {
        return Err(bad());
    }
    Ok(indices)
}

/// Threads of the `local`-th CPU peer's own pool: the process's threads shared out as
/// evenly as they go (the first peers take the remainder; rank 0 also writes the run's
/// files), one at least. Peers on pools of their own keep every core busy with whole
/// operations; peers that split each operation over one shared pool leave cores idle in
/// the operations too small to split well (`bench/RESULTS.md`, "One peer per core").
fn peer_threads(threads: usize, peers: usize, local: usize) -> usize {
    let peers = peers.max(1);
    (threads / peers + usize::from(local < threads % peers)).max(1)
}

/// `HOST:PORT` split at its last colon.
fn host_and_port(addr: &str) -> Option<(&str, u16)> {
    let (host, port) = addr.rsplit_once(':')?;
    Some((host, port.parse().ok()?))
}

fn cluster(args: &ParallelArgs, local_peers: usize) -> Result<Cluster> {
    let p = args;
    if p.nodes == 0 || p.node_rank >= p.nodes {
        bail!(
            "--node-rank {} is not one of --nodes {}",
            p.node_rank,
            p.nodes
        );
    }
    if !p.collective_timeout.is_finite() || p.collective_timeout <= 0.0 {
        bail!("--collective-timeout must be a positive number of seconds");
    }
    let mut node_address = p.node_address.clone();
    if p.nodes > 1 {
        let orch = p
            .orchestrator
            .as_deref()
            .context("a run of several processes needs --orchestrator HOST:PORT")?;
        let (host, port) = host_and_port(orch)
            .with_context(|| format!("--orchestrator {orch} is not HOST:PORT"))?;
        if node_address.is_none() {
            if !matches!(host, "127.0.0.1" | "localhost") {
                bail!(
                    "give --node-address HOST:PORT: where the other machines reach this \
                     process's data service"
                );
            }
            let data_port = u16::try_from(port as usize + 1 + p.node_rank)
                .ok()
                .context(
                    "--orchestrator's port + 1 + --node-rank is past 65535: give --node-address",
                )?;
            node_address = Some(format!("127.0.0.1:{data_port}"));
        }
    }
    Ok(Cluster {
        local_peers,
        nodes: p.nodes,
        node_rank: p.node_rank,
        orchestrator: p.orchestrator.clone(),
        node_address,
        timeout: Duration::try_from_secs_f64(p.collective_timeout)
            .context("--collective-timeout is too long")?,
    })
}

/// burn-collective's network tasks panic when a peer's connection drops (a peer that died);
/// the peer waiting on them then fails with an error that says what happened. Their panic
/// becomes one line instead of a backtrace.
fn quiet_engine_panics() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let engine = std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("tokio"));
        if engine {
            let what = info
                .payload()
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| info.payload().downcast_ref::<String>().cloned())
                .unwrap_or_default();
            eprintln!("collective engine: {what}");
        } else {
            default(info);
        }
    }));
}

/// Trains on `device` alone, or on the devices and processes the options name.
pub fn run<AB: AutodiffBackend>(device: &AB::Device, args: &TrainArgs) -> Result<()> {
    let p = &args.parallel;
    let devices: Vec<AB::Device> = match &p.devices {
        None => vec![device.clone()],
        Some(spec) => {
            let kind = device.to_id().type_id;
            device_indices(spec)?
                .into_iter()
                .map(|index| {
                    AB::Device::from_id(DeviceId {
                        type_id: kind,
                        index_id: index,
                    })
                })
                .collect()
        }
    };
    let cluster = cluster(p, devices.len())?;
    if cluster.world() == 1 {
        return train_peer::<AB>(&devices[0], args, &cluster, 0);
    }
    quiet_engine_panics();
    if cluster.nodes > 1 {
        orchestrator::exit_on_signal();
        if cluster.is_leader_node() {
            let orch = cluster.orchestrator.as_deref().unwrap_or_default();
            let (_, port) = host_and_port(orch).context("--orchestrator HOST:PORT")?;
            orchestrator::host(port)?;
        }
    }
    // One thread per local peer; the first to fail ends the run (the others would wait
    // for it in their next collective step).
    let cpu_peers = p.devices.as_deref().is_some_and(|d| d.starts_with("cpu:"));
    let (threads, peers) = (rayon::current_num_threads(), devices.len());
    // Every pool before any peer starts: a peer that started would wait for the others.
    let pools = (0..peers)
        .map(|local| {
            let rank = cluster.rank_of(local);
            cpu_peers
                .then(|| {
                    rayon::ThreadPoolBuilder::new()
                        .num_threads(peer_threads(threads, peers, local))
                        .thread_name(move |t| format!("peer-{rank}-{t}"))
                        .build()
                })
                .transpose()
        })
        .collect::<Result<Vec<_>, _>>()
        .context("start the peers' threads")?;
    let (done, results) = mpsc::channel::<Result<()>>();
    for ((local, device), pool) in devices.into_iter().enumerate().zip(pools) {
        let (args, cluster, done) = (args.clone(), cluster.clone(), done.clone());
        let rank = cluster.rank_of(local);
        std::thread::Builder::new()
            .name(format!("peer-{rank}"))
            .spawn(move || {
                let train = || {
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        train_peer::<AB>(&device, &args, &cluster, local)
                    }))
                    .unwrap_or_else(|_| bail!("peer {rank} panicked"))
                };
                let result = match pool {
                    Some(pool) => pool.install(train),
                    None => train(),
                };
                let _ = done.send(result);
            })?;
    }
    drop(done);
    for result in results.iter() {
        result?;
    }
    if cluster.nodes > 1 && cluster.is_leader_node() {
        // The orchestrator lives in this process: give the other processes' last
        // messages to it (the end of their session) time to arrive before it ends.
        std::thread::sleep(Duration::from_secs(2));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_peers_share_the_threads_out_evenly() {
        let shares = |threads, peers| -> Vec<usize> {
            (0..peers)
                .map(|local| peer_threads(threads, peers, local))
                .collect()
        };
        assert_eq!(shares(2, 2), [1, 1]);
        assert_eq!(shares(16, 1), [16]);
        // The remainder goes to the first peers: every thread is used.
        assert_eq!(shares(8, 3), [3, 3, 2]);
        // More peers than threads: each still gets a thread of its own.
        assert_eq!(shares(1, 4), [1, 1, 1, 1]);
    }
}
