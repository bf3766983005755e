//! Randomness that a resumed run reproduces exactly: every random draw of a training step
//! comes from a generator seeded by (run seed, step, stream), so nothing but the step
//! counter has to be saved, and a run resumed from step k draws what the uninterrupted
//! run drew at step k.

use fauxto_nn::seed::NumpyRandomState;

/// Independent random streams within one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u64)]
pub enum Stream {
    /// Latents, labels and style-mixing cutoffs of the generator phases.
    Latents = 1,
    /// Path-length noise images.
    PathLength = 2,
    /// Order of the real images (seeded by epoch rather than step).
    Shuffle = 3,
    /// Augmentation parameters.
    Augment = 4,
    /// Per-layer noise inputs of the generator.
    Noise = 5,
}

/// SplitMix64 (Steele et al. 2014): a strong 64-bit mixer for deriving seeds.
pub fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The seed of `stream` at `index` (a step, or an epoch for shuffling).
pub fn derive_seed(run_seed: u64, index: u64, stream: Stream) -> u64 {
    splitmix64(splitmix64(splitmix64(run_seed) ^ index) ^ stream as u64)
}

/// A numpy-compatible generator for `stream` at `index`.
pub fn stream_rng(run_seed: u64, index: u64, stream: Stream) -> NumpyRandomState {
    NumpyRandomState::new(derive_seed(run_seed, index, stream) as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_and_steps_differ_and_repeat() {
        let a = derive_seed(7, 3, Stream::Latents);
        assert_eq!(a, derive_seed(7, 3, Stream::Latents));
        assert_ne!(a, derive_seed(7, 4, Stream::Latents));
        assert_ne!(a, derive_seed(7, 3, Stream::Augment));
        assert_ne!(a, derive_seed(8, 3, Stream::Latents));
    }
}
