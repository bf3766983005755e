//! Look-alike search: exact nearest neighbours by identity-descriptor distance (Euclidean,
//! face-api's measure: the same person ≲ 0.6 apart) over every catalogued face. 100,000
//! faces × 128 floats is 51 MB; a scan is a few milliseconds, so no approximate index.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

/// Descriptor length.
pub const DIM: usize = 128;

/// Every catalogued descriptor, contiguous, with its face id.
#[derive(Clone, Debug, Default)]
pub struct DescriptorIndex {
    ids: Vec<i64>,
    data: Vec<f32>,
}

/// A face and its distance to the query.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize)]
pub struct Neighbour {
    pub id: i64,
    pub distance: f32,
}

/// Max-heap entry by squared distance (the worst of the best `k` on top).
#[derive(PartialEq)]
struct Candidate(f32, usize);

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0).then(self.1.cmp(&other.1))
    }
}

/// Squared Euclidean distance of two descriptors, in eight independent sums so that the
/// compiler keeps them in vector registers.
#[inline]
pub fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    for (ca, cb) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        for i in 0..8 {
            let d = ca[i] - cb[i];
            acc[i] += d * d;
        }
    }
    acc.iter().sum()
}

impl DescriptorIndex {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The largest id in the index (0 when empty): what to refresh from.
    pub fn last_id(&self) -> i64 {
        self.ids.iter().copied().max().unwrap_or(0)
    }

    /// Adds one face (its descriptor must have [`DIM`] values).
    pub fn push(&mut self, id: i64, descriptor: &[f32]) {
        assert_eq!(descriptor.len(), DIM, "descriptors have {DIM} values");
        self.ids.push(id);
        self.data.extend_from_slice(descriptor);
    }

    /// The `k` nearest faces to `query`, nearest first (ties by id), leaving out `exclude`.
    pub fn nearest(&self, query: &[f32], k: usize, exclude: Option<i64>) -> Vec<Neighbour> {
        if k == 0 || query.len() != DIM {
            return Vec::new();
        }
        let mut heap = BinaryHeap::with_capacity(k + 1);
        for (i, row) in self.data.chunks_exact(DIM).enumerate() {
            if Some(self.ids[i]) == exclude {
                continue;
            }
            let d = squared_distance(row, query);
            if heap.len() < k {
                heap.push(Candidate(d, i));
            } else if let Some(worst) = heap.peek() {
                if d < worst.0 {
                    heap.pop();
                    heap.push(Candidate(d, i));
                }
            }
        }
        let mut found: Vec<Neighbour> = heap
            .into_iter()
            .map(|Candidate(d, i)| Neighbour {
                id: self.ids[i],
                distance: d.sqrt(),
            })
            .collect();
        found.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.id.cmp(&b.id)));
        found
    }

    /// Whether any face lies closer than `threshold` to `query`.
    pub fn any_within(&self, query: &[f32], threshold: f32) -> Option<Neighbour> {
        let t2 = threshold * threshold;
        self.data
            .chunks_exact(DIM)
            .zip(&self.ids)
            .map(|(row, &id)| (squared_distance(row, query), id))
            .filter(|&(d, _)| d < t2)
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(d, id)| Neighbour {
                id,
                distance: d.sqrt(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(seed: u64) -> Vec<f32> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..DIM)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn nearest_matches_a_full_sort() {
        let mut index = DescriptorIndex::default();
        for id in 1..=500 {
            index.push(id, &descriptor(id as u64));
        }
        let query = descriptor(10_000);
        let mut all: Vec<Neighbour> = (1..=500)
            .map(|id| Neighbour {
                id,
                distance: descriptor(id as u64)
                    .iter()
                    .zip(&query)
                    .map(|(a, b)| ((a - b) as f64).powi(2))
                    .sum::<f64>()
                    .sqrt() as f32,
            })
            .collect();
        all.sort_by(|a, b| a.distance.total_cmp(&b.distance));
        let got = index.nearest(&query, 10, None);
        assert_eq!(
            got.iter().map(|n| n.id).collect::<Vec<_>>(),
            all[..10].iter().map(|n| n.id).collect::<Vec<_>>()
        );
        for (g, w) in got.iter().zip(&all) {
            assert!((g.distance - w.distance).abs() < 1e-5);
        }
        // A face is its own nearest neighbour unless excluded.
        assert_eq!(index.nearest(&descriptor(7), 1, None)[0].id, 7);
        assert_ne!(index.nearest(&descriptor(7), 1, Some(7))[0].id, 7);
        assert_eq!(index.any_within(&descriptor(7), 1e-3).unwrap().id, 7);
        assert!(index.any_within(&query, 0.01).is_none());
        assert_eq!(index.last_id(), 500);
    }
}
