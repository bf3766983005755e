//! The peers of a run and their one collective operation, a sum over all of them, on
//! burn-collective: `register` once per peer, `all_reduce` per phase, `finish_collective`
//! at the end. Peers in one process share its local server (burn's tree all-reduce);
//! with several processes each process's peers also join the global ring through the
//! orchestrator.

use std::str::FromStr;
use std::time::Duration;

use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData, TensorPrimitive};
use burn_collective::{
    all_reduce, finish_collective, register, CollectiveConfig, PeerId, ReduceOperation,
};
use burn_communication::Address;

use super::watchdog;
use crate::error::TrainError;

/// How long a peer waits to end its collective session after its last step.
pub const LEAVE_BOUND: Duration = Duration::from_secs(10);

/// Where the peers of a run are.
#[derive(Debug, Clone, PartialEq)]
pub struct Cluster {
    /// Peers (devices) in each process.
    pub local_peers: usize,
    /// Processes in the run.
    pub nodes: usize,
    /// This process's index among them (0 writes the checkpoints and hosts the
    /// orchestrator).
    pub node_rank: usize,
    /// The orchestrator, `host:port` (needed with several processes).
    pub orchestrator: Option<String>,
    /// Where the other processes reach this one's data service, `host:port`.
    pub node_address: Option<String>,
    /// Longest wait of one collective call before the process stops.
    pub timeout: Duration,
}

impl Cluster {
    /// Peers in the whole run.
    pub fn world(&self) -> usize {
        self.local_peers * self.nodes
    }

    /// The global rank of this process's `local`-th peer.
    pub fn rank_of(&self, local: usize) -> usize {
        self.node_rank * self.local_peers + local
    }

    /// Whether this process holds the peer of rank 0.
    pub fn is_leader_node(&self) -> bool {
        self.node_rank == 0
    }

    fn config(&self) -> Result<CollectiveConfig, TrainError> {
        let bad = |m: String| TrainError::Options(m);
        let config = CollectiveConfig::default().with_num_devices(self.local_peers);
        if self.nodes == 1 {
            return Ok(config);
        }
        let ws = |what: &str, addr: &Option<String>| -> Result<(Address, u16), TrainError> {
            let addr = addr
                .as_deref()
                .ok_or_else(|| bad(format!("a run of several processes needs {what}")))?;
            let port = addr
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok())
                .ok_or_else(|| bad(format!("{what} {addr} is not HOST:PORT")))?;
            let url = format!("ws://{addr}");
            let parsed = Address::from_str(&url)
                .map_err(|e| bad(format!("{what} {addr} is not an address: {e:?}")))?;
            Ok((parsed, port))
        };
        let (global, _) = ws("--orchestrator", &self.orchestrator)?;
        let (node, data_port) = ws("--node-address", &self.node_address)?;
        Ok(config
            .with_num_nodes(self.nodes as u32)
            .with_global_address(global)
            .with_node_address(node)
            .with_data_service_port(data_port))
    }
}

/// One peer of a run: its rank among `world`, and its handle on the collective (none
/// when it is alone).
#[derive(Debug, Clone)]
pub struct Peer {
    rank: usize,
    world: usize,
    id: Option<PeerId>,
    nodes: usize,
}

impl Peer {
    /// The only peer of a run on one device: every sum is the identity.
    pub const SINGLE: Peer = Peer {
        rank: 0,
        world: 1,
        id: None,
        nodes: 1,
    };

    /// Registers this process's `local`-th peer, on `device`, with the collective; blocks
    /// until every peer of the run has registered (bounded by the cluster's timeout).
    pub fn join<B: Backend>(
        cluster: &Cluster,
        local: usize,
        device: &B::Device,
    ) -> Result<Self, TrainError> {
        if cluster.world() == 1 {
            return Ok(Self::SINGLE);
        }
        let config = cluster.config()?;
        watchdog::start(cluster.timeout);
        let rank = cluster.rank_of(local);
        let id = PeerId(rank as u32);
        watchdog::timed(rank, "registering", || {
            register::<B>(id, device.clone(), config)
        })
        .map_err(|e| collective_error("registering", e))?;
        Ok(Self {
            rank,
            world: cluster.world(),
            id: Some(id),
            nodes: cluster.nodes,
        })
    }

    /// Leaves the collective (every peer calls it once, after its last step).
    ///
    /// By then every peer has the result of every step (each step's sum returned on all
    /// of them, and rank 0 has written its checkpoint), so leaving only ends the session:
    /// it is bounded by [`LEAVE_BOUND`] and its failure is reported, not fatal. The peers
    /// leave at different moments, and the last ones may find the first one's process,
    /// its sockets or the orchestrator it hosts already gone; burn-collective then waits
    /// for an answer that never comes.
    pub fn leave<B: Backend>(self) {
        let Some(id) = self.id else {
            return;
        };
        let (sent, received) = std::sync::mpsc::channel();
        let spawned = std::thread::Builder::new()
            .name(format!("leave-{}", self.rank))
            .spawn(move || {
                let _ = sent.send(finish_collective::<B>(id));
            });
        let outcome = match spawned {
            Ok(_) => received.recv_timeout(LEAVE_BOUND),
            Err(_) => Ok(finish_collective::<B>(id)),
        };
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!(
                "note: peer {} could not end its collective session cleanly ({e:?}); the run \
                 is complete",
                self.rank
            ),
            Err(_) => eprintln!(
                "note: peer {} got no answer when ending its collective session (the other \
                 processes had already ended); the run is complete",
                self.rank
            ),
        }
    }

    pub fn rank(&self) -> usize {
        self.rank
    }

    pub fn world(&self) -> usize {
        self.world
    }

    /// Each of `parts` summed over all peers, in one collective call. Every peer must
    /// pass parts of the same lengths, in the same order.
    pub fn sum<B: Backend>(
        &self,
        parts: Vec<Tensor<B, 1>>,
    ) -> Result<Vec<Tensor<B, 1>>, TrainError> {
        let Some(id) = self.id else {
            return Ok(parts);
        };
        let lengths: Vec<usize> = parts.iter().map(|t| t.dims()[0]).collect();
        let total: usize = lengths.iter().sum();
        let device = parts
            .first()
            .map(Tensor::device)
            .ok_or_else(|| TrainError::Options("nothing to sum over the peers".into()))?;
        let mut flat = parts;
        // The global ring splits a tensor into one slice per process.
        if total < self.nodes {
            flat.push(Tensor::zeros([self.nodes - total], &device));
        }
        let flat = Tensor::cat(flat, 0);
        let summed = watchdog::timed(self.rank, "summing gradients", || {
            all_reduce::<B>(id, flat.into_primitive().tensor(), ReduceOperation::Sum)
        })
        .map_err(|e| collective_error("summing gradients", e))?;
        let summed = Tensor::<B, 1>::from_primitive(TensorPrimitive::Float(summed));
        let mut out = Vec::with_capacity(lengths.len());
        let mut at = 0;
        for n in lengths {
            out.push(match n {
                0 => Tensor::from_data(TensorData::new(Vec::<f32>::new(), [0]), &device),
                n => summed.clone().narrow(0, at, n),
            });
            at += n;
        }
        Ok(out)
    }

    /// Host values summed over all peers.
    pub fn sum_values<B: Backend>(
        &self,
        values: &[f64],
        device: &B::Device,
    ) -> Result<Vec<f64>, TrainError> {
        if self.id.is_none() {
            return Ok(values.to_vec());
        }
        // Each value as a float32 pair hi + lo that carries ~48 bits: a value only one peer
        // contributes (a gathered path length) arrives as the float64 it was.
        let hi: Vec<f32> = values.iter().map(|&v| v as f32).collect();
        let lo: Vec<f32> = values
            .iter()
            .zip(&hi)
            .map(|(&v, &h)| (v - h as f64) as f32)
            .collect();
        let parts = vec![
            Tensor::<B, 1>::from_floats(hi.as_slice(), device),
            Tensor::<B, 1>::from_floats(lo.as_slice(), device),
        ];
        let host = |t: Tensor<B, 1>| -> Vec<f64> {
            t.into_data().convert::<f64>().to_vec().expect("float data")
        };
        let mut summed = self.sum(parts)?.into_iter().map(host);
        let (hi, lo) = (summed.next().expect("hi"), summed.next().expect("lo"));
        Ok(hi.iter().zip(&lo).map(|(h, l)| h + l).collect())
    }

    /// Checks that every peer of the run holds the same `values` (each named for the
    /// message) and that as many peers joined as this one expects: processes started with
    /// other options, or resuming from different checkpoints, would otherwise train apart
    /// or wait on each other until the timeout.
    pub fn agree<B: Backend>(
        &self,
        values: &[(&str, f64)],
        device: &B::Device,
    ) -> Result<(), TrainError> {
        if self.id.is_none() {
            return Ok(());
        }
        let mut local = vec![1.0];
        local.extend(values.iter().map(|(_, v)| *v));
        let sums = self.sum_values::<B>(&local, device)?;
        let joined = sums[0].round() as usize;
        if joined != self.world {
            return Err(TrainError::Options(format!(
                "{joined} peers joined the run where this process expects {}: give every \
                 process the same --devices count and --nodes",
                self.world
            )));
        }
        for ((name, value), sum) in values.iter().zip(&sums[1..]) {
            let want = value * self.world as f64;
            if (sum - want).abs() > 1e-9 * want.abs().max(1.0) {
                return Err(TrainError::Options(format!(
                    "the processes disagree on {name} (this one has {value}): start every \
                     process with the same options and the same checkpoint"
                )));
            }
        }
        Ok(())
    }
}

fn collective_error(what: &str, e: burn_collective::CollectiveError) -> TrainError {
    TrainError::Collective(format!(
        "{what} with the other peers failed ({e:?}): a peer has stopped; start every \
         process again with --resume to continue from the last checkpoint"
    ))
}
