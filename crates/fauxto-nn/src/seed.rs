//! Seeds compatible with the official StyleGAN2-ADA tools.
//!
//! The official `generate.py` draws the latent for seed `N` as
//! `numpy.random.RandomState(N).randn(1, z_dim)`. That is the 32-bit Mersenne Twister
//! (Matsumoto & Nishimura 1998, `init_genrand` seeding) feeding numpy's legacy polar
//! (Marsaglia) Gaussian, which returns the second value of each accepted pair first and
//! caches the other. [`NumpyRandomState`] reproduces both bit for bit, so `--seeds 42`
//! means the same face here as there for the same weights.

use std::fmt;

const N: usize = 624;
const M: usize = 397;
const MATRIX_A: u32 = 0x9908_b0df;
const UPPER_MASK: u32 = 0x8000_0000;
const LOWER_MASK: u32 = 0x7fff_ffff;

/// The MT19937 generator with numpy's legacy Gaussian on top.
#[derive(Clone)]
pub struct NumpyRandomState {
    state: [u32; N],
    index: usize,
    cached_gauss: Option<f64>,
}

impl fmt::Debug for NumpyRandomState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NumpyRandomState")
            .field("index", &self.index)
            .finish_non_exhaustive()
    }
}

impl NumpyRandomState {
    /// Seeds like `numpy.random.RandomState(seed)` for an integer seed (`init_genrand`).
    pub fn new(seed: u32) -> Self {
        let mut state = [0u32; N];
        state[0] = seed;
        for i in 1..N {
            let prev = state[i - 1];
            state[i] = 1_812_433_253u32
                .wrapping_mul(prev ^ (prev >> 30))
                .wrapping_add(i as u32);
        }
        Self {
            state,
            index: N,
            cached_gauss: None,
        }
    }

    /// The seeded state words, as `RandomState(seed).get_state()[1]` reports them.
    pub fn state_words(&self) -> &[u32; N] {
        &self.state
    }

    fn twist(&mut self) {
        for i in 0..N {
            let y = (self.state[i] & UPPER_MASK) | (self.state[(i + 1) % N] & LOWER_MASK);
            let mut next = self.state[(i + M) % N] ^ (y >> 1);
            if y & 1 != 0 {
                next ^= MATRIX_A;
            }
            self.state[i] = next;
        }
        self.index = 0;
    }

    /// The next raw 32-bit output (`genrand_int32`).
    pub fn next_u32(&mut self) -> u32 {
        if self.index >= N {
            self.twist();
        }
        let mut y = self.state[self.index];
        self.index += 1;
        y ^= y >> 11;
        y ^= (y << 7) & 0x9d2c_5680;
        y ^= (y << 15) & 0xefc6_0000;
        y ^ (y >> 18)
    }

    /// A double in [0, 1) with 53 random bits (`genrand_res53`).
    pub fn next_f64(&mut self) -> f64 {
        let a = (self.next_u32() >> 5) as f64;
        let b = (self.next_u32() >> 6) as f64;
        (a * 67_108_864.0 + b) / 9_007_199_254_740_992.0
    }

    /// One standard normal value, as numpy's legacy `gauss` (polar method) draws it.
    pub fn next_gauss(&mut self) -> f64 {
        if let Some(cached) = self.cached_gauss.take() {
            return cached;
        }
        loop {
            let x1 = 2.0 * self.next_f64() - 1.0;
            let x2 = 2.0 * self.next_f64() - 1.0;
            let r2 = x1 * x1 + x2 * x2;
            if r2 < 1.0 && r2 != 0.0 {
                let f = (-2.0 * r2.ln() / r2).sqrt();
                self.cached_gauss = Some(f * x1);
                return f * x2;
            }
        }
    }

    /// `count` standard normal values (`randn(count)`).
    pub fn randn(&mut self, count: usize) -> Vec<f64> {
        (0..count).map(|_| self.next_gauss()).collect()
    }
}

/// The latent `z` for `seed`: `numpy.random.RandomState(seed).randn(1, z_dim)`.
pub fn latent_from_seed(seed: u32, z_dim: usize) -> Vec<f64> {
    NumpyRandomState::new(seed).randn(z_dim)
}

/// Error from [`parse_seed_list`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SeedListError {
    #[error("empty seed list; give seeds like `0-9,42`")]
    Empty,
    #[error("`{0}` is not a seed; seeds are integers from 0 to 4294967295, e.g. `0-9,42`")]
    NotANumber(String),
    #[error("range `{0}` runs backwards; write it low-high, e.g. `3-7`")]
    Backwards(String),
    #[error("the seed list expands to more than {0} seeds")]
    TooMany(usize),
}

/// Most seeds a list may expand to, so a typo like `0-4000000000` fails fast.
pub const MAX_SEEDS: usize = 1_000_000;

/// Parses the official tools' seed syntax: comma-separated integers and inclusive ranges,
/// e.g. `0-9,42` → 0, 1, …, 9, 42. Order is kept; duplicates are kept.
pub fn parse_seed_list(text: &str) -> Result<Vec<u32>, SeedListError> {
    let parse = |s: &str| -> Result<u32, SeedListError> {
        s.trim()
            .parse::<u32>()
            .map_err(|_| SeedListError::NotANumber(s.trim().to_string()))
    };
    let mut seeds = Vec::new();
    for part in text.split(',').map(str::trim) {
        if part.is_empty() {
            continue;
        }
        match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (parse(lo)?, parse(hi)?);
                if hi < lo {
                    return Err(SeedListError::Backwards(part.to_string()));
                }
                if seeds.len() + (hi - lo) as usize >= MAX_SEEDS {
                    return Err(SeedListError::TooMany(MAX_SEEDS));
                }
                seeds.extend(lo..=hi);
            }
            None => seeds.push(parse(part)?),
        }
        if seeds.len() > MAX_SEEDS {
            return Err(SeedListError::TooMany(MAX_SEEDS));
        }
    }
    if seeds.is_empty() {
        return Err(SeedListError::Empty);
    }
    Ok(seeds)
}

/// Parses an index list with the same syntax (e.g. `--styles 0-6`), as `usize`.
pub fn parse_index_list(text: &str) -> Result<Vec<usize>, SeedListError> {
    Ok(parse_seed_list(text)?
        .into_iter()
        .map(|i| i as usize)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mt19937_reference_outputs() {
        // Published first outputs of init_genrand(5489), the reference seed of MT19937.
        let mut rng = NumpyRandomState::new(5489);
        let first: Vec<u32> = (0..3).map(|_| rng.next_u32()).collect();
        assert_eq!(first, vec![3_499_211_612, 581_869_302, 3_890_346_734]);
    }

    #[test]
    fn seed_lists() {
        assert_eq!(parse_seed_list("0-3,42").unwrap(), vec![0, 1, 2, 3, 42]);
        assert_eq!(parse_seed_list(" 7 ").unwrap(), vec![7]);
        assert_eq!(parse_seed_list("4294967295").unwrap(), vec![u32::MAX]);
        assert_eq!(parse_seed_list(""), Err(SeedListError::Empty));
        assert!(matches!(
            parse_seed_list("1,x"),
            Err(SeedListError::NotANumber(_))
        ));
        assert!(matches!(
            parse_seed_list("9-3"),
            Err(SeedListError::Backwards(_))
        ));
        assert!(matches!(
            parse_seed_list("-1"),
            Err(SeedListError::NotANumber(_))
        ));
        assert!(matches!(
            parse_seed_list("0-4000000000"),
            Err(SeedListError::TooMany(_))
        ));
    }
}
