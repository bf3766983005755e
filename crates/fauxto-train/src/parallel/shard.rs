//! Which samples of a step's batch each peer computes.
//!
//! D's minibatch standard deviation (StyleGAN §B / official `MinibatchStdLayer`) splits
//! a batch of N into groups of G, sample n belonging to group `n mod N/G`. A peer takes a
//! contiguous range of group indices and all G members of each, laid out so that its own
//! pass over N/P samples forms exactly those groups: member k of the peer's j-th group sits
//! at local index `k · N/(G·P) + j`, as member k of group j sits at `k · N/G + j` in the
//! whole batch.

use crate::error::TrainError;

/// The batch indices that peer `rank` of `world` computes, in the order it computes them,
/// for a batch of `n` samples whose D groups have `group` members (1 for passes without
/// D). `n` must split into whole groups per peer.
pub fn shard_rows(
    n: usize,
    group: usize,
    rank: usize,
    world: usize,
) -> Result<Vec<usize>, TrainError> {
    let group = group.clamp(1, n.max(1));
    let groups = n / group;
    if world == 0 || rank >= world || !n.is_multiple_of(group) || !groups.is_multiple_of(world) {
        return Err(TrainError::Options(format!(
            "a batch of {n} does not split over {world} devices: it needs a multiple of \
             {} (devices × D's minibatch group of {group})",
            world * group
        )));
    }
    let per_peer = groups / world;
    let first = rank * per_peer;
    Ok((0..group)
        .flat_map(|k| (first..first + per_peer).map(move |j| k * groups + j))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Group of sample n in a batch of `n_total` with `g` members: n mod (N/G).
    fn group_of(n: usize, n_total: usize, g: usize) -> usize {
        n % (n_total / g)
    }

    #[test]
    fn shards_cover_the_batch_once_and_keep_every_group_whole() {
        for (n, g, world) in [(16, 4, 2), (16, 4, 4), (32, 4, 2), (8, 4, 2), (12, 1, 3)] {
            let shards: Vec<Vec<usize>> = (0..world)
                .map(|r| shard_rows(n, g, r, world).unwrap())
                .collect();
            let mut all: Vec<usize> = shards.concat();
            all.sort();
            assert_eq!(all, (0..n).collect::<Vec<_>>(), "{n} {g} {world}");
            for rows in &shards {
                let local = rows.len();
                let local_g = g.min(local);
                assert_eq!(local_g, g.min(n), "a peer's pass keeps the group size");
                // The groups a peer's own pass forms are the single-device groups.
                for (i, &a) in rows.iter().enumerate() {
                    for (j, &b) in rows.iter().enumerate() {
                        let together_here =
                            group_of(i, local, local_g) == group_of(j, local, local_g);
                        let together_there = group_of(a, n, g) == group_of(b, n, g);
                        assert_eq!(together_here, together_there, "{n} {g} {world}: {rows:?}");
                    }
                }
            }
        }
        // Each single-device group lies on one peer.
        let rows = shard_rows(16, 4, 1, 2).unwrap();
        assert_eq!(rows, vec![2, 3, 6, 7, 10, 11, 14, 15]);
    }

    #[test]
    fn a_batch_that_does_not_split_is_a_clear_error() {
        let err = shard_rows(4, 4, 0, 2).unwrap_err().to_string();
        assert!(err.contains("multiple of 8"), "{err}");
        assert!(shard_rows(12, 4, 0, 2).is_err());
        assert_eq!(shard_rows(6, 1, 1, 3).unwrap(), vec![2, 3]);
    }
}
