//! SplitMix64 (Steele, Lea and Flood, "Fast splittable pseudorandom number generators",
//! OOPSLA 2014): the small, seedable generator behind the watermark's key-derived layout and
//! the detector's reproducible sampling and augmentation.

/// A SplitMix64 stream.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// The stream starting from `state`.
    pub fn new(state: u64) -> Self {
        SplitMix64(state)
    }

    /// The stream of `seed` mixed with the indices `parts` (e.g. a training step and a
    /// sample), so that each (seed, parts) gets its own independent draws.
    pub fn keyed(seed: u64, parts: &[u64]) -> Self {
        let mut rng = SplitMix64(seed);
        let mut state = rng.next_u64();
        for &p in parts {
            rng = SplitMix64(state ^ p.wrapping_mul(0xD1B5_4A32_D192_ED03));
            state = rng.next_u64();
        }
        SplitMix64(state)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 24 bits.
    pub fn unit(&mut self) -> f32 {
        (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [lo, hi).
    pub fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform in 0..n (n > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f32) -> bool {
        self.unit() < p
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyed_streams_differ_by_every_part() {
        let a = SplitMix64::keyed(7, &[1, 2]).next_u64();
        assert_eq!(a, SplitMix64::keyed(7, &[1, 2]).next_u64());
        assert_ne!(a, SplitMix64::keyed(7, &[2, 1]).next_u64());
        assert_ne!(a, SplitMix64::keyed(8, &[1, 2]).next_u64());
        assert_ne!(a, SplitMix64::keyed(7, &[1, 3]).next_u64());
    }

    #[test]
    fn unit_draws_are_uniform() {
        let mut rng = SplitMix64::new(1);
        let n = 100_000;
        let mut bins = [0usize; 10];
        for _ in 0..n {
            let u = rng.unit();
            assert!((0.0..1.0).contains(&u));
            bins[(u * 10.0) as usize] += 1;
        }
        for b in bins {
            assert!((b as f64 / n as f64 - 0.1).abs() < 0.005, "{bins:?}");
        }
    }
}
