//! Generator-quality metrics in face-descriptor space: how the identity descriptors of generated
//! ("fake") faces are distributed compared with those of the training ("real") faces. The
//! descriptors are the 128-D vectors of [`crate::recognition`], but any dimension works.
//!
//! | metric | paper | measures |
//! | --- | --- | --- |
//! | [`frechet_distance`] | Heusel et al. 2017, "GANs Trained by a Two Time-Scale Update Rule Converge to a Local Nash Equilibrium" (NeurIPS; the formula of FID) | Fréchet (2-Wasserstein) distance between Gaussians fitted to the two sets |
//! | [`kernel_distance`], [`kernel_distance_subsets`] | Bińkowski et al. 2018, "Demystifying MMD GANs" (ICLR; KID) | unbiased squared MMD with the cubic polynomial kernel |
//! | [`precision_recall`] | Kynkäänniemi et al. 2019, "Improved Precision and Recall Metric for Assessing Generative Models" (NeurIPS) | share of fakes on the real k-NN manifold (precision) and of reals on the fake one (recall) |
//!
//! A set of descriptors is a [`Descriptors`] view: one row per sample, stored row after row in a
//! flat `f32` slice. All arithmetic is in `f64`. The reference values the tests compare against
//! come from `tools/face/make_metric_fixtures.py` (numpy/scipy).

use nalgebra::{DMatrix, DMatrixView, DVector, Dyn, SymmetricEigen};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// k of the k-NN radii in [`FaceSpaceMetrics::compute`] (the value Kynkäänniemi et al. use).
pub const DEFAULT_NEIGHBOURS: usize = 3;
/// Samples per set in each KID subset of [`FaceSpaceMetrics::compute`].
pub const DEFAULT_KID_SUBSET_SIZE: usize = 1000;
/// Number of KID subsets in [`FaceSpaceMetrics::compute`].
pub const DEFAULT_KID_SUBSETS: usize = 100;
/// Seed of the KID subset draws in [`FaceSpaceMetrics::compute`].
pub const DEFAULT_KID_SEED: u64 = 2018;

/// Samples handled together in the pairwise passes (kernel blocks and distance tiles).
const BLOCK_ROWS: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MetricsError {
    #[error("{values} values do not form rows of dimension {dim}")]
    Shape { values: usize, dim: usize },
    #[error("real descriptors have dimension {real}, fake ones {fake}")]
    DimensionMismatch { real: usize, fake: usize },
    #[error("the {set} set has {samples} samples, at least {needed} are needed")]
    TooFewSamples {
        set: &'static str,
        samples: usize,
        needed: usize,
    },
    #[error("k = {k} neighbours needs 1 <= k < {samples} (the size of the {set} set)")]
    NeighbourCount {
        set: &'static str,
        k: usize,
        samples: usize,
    },
    #[error("KID subsets need subset_size >= 2 and subsets >= 1 (got {subset_size}, {subsets})")]
    SubsetParameters { subset_size: usize, subsets: usize },
    #[error("row {row} of the {set} set is not finite")]
    NonFinite { set: &'static str, row: usize },
    #[error("the symmetric eigendecomposition of a covariance did not converge")]
    NotConverged,
}

/// A set of descriptors: `len()` rows of `dim()` values, stored row after row.
#[derive(Clone, Copy, Debug)]
pub struct Descriptors<'a> {
    data: &'a [f32],
    dim: usize,
}

impl<'a> Descriptors<'a> {
    /// Views `data` as rows of `dim` values; `data.len()` must be a multiple of `dim > 0`.
    pub fn new(data: &'a [f32], dim: usize) -> Result<Self, MetricsError> {
        let values = data.len();
        if dim == 0 || !values.is_multiple_of(dim) {
            return Err(MetricsError::Shape { values, dim });
        }
        Ok(Self { data, dim })
    }

    /// Views fixed-size rows, such as `[f32; 128]` face descriptors.
    pub fn from_rows<const D: usize>(rows: &'a [[f32; D]]) -> Self {
        const { assert!(D > 0, "descriptors need at least one dimension") };
        let (data, dim) = (rows.as_flattened(), D);
        Self { data, dim }
    }

    pub fn len(&self) -> usize {
        self.data.len() / self.dim
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    pub fn rows(&self) -> impl ExactSizeIterator<Item = &'a [f32]> + 'a {
        self.data.chunks_exact(self.dim)
    }
}

impl<'a, const D: usize> From<&'a [[f32; D]]> for Descriptors<'a> {
    fn from(rows: &'a [[f32; D]]) -> Self {
        Self::from_rows(rows)
    }
}

/// Precision and recall of Kynkäänniemi et al. 2019, both in `[0, 1]`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrecisionRecall {
    /// Share of fakes inside the k-NN ball of at least one real.
    pub precision: f64,
    /// Share of reals inside the k-NN ball of at least one fake.
    pub recall: f64,
}

/// All face-space metrics of one generator against its training faces.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FaceSpaceMetrics {
    /// [`frechet_distance`].
    pub frechet: f64,
    /// Mean of [`kernel_distance_subsets`] (KID).
    pub kernel: f64,
    /// Standard deviation of KID over the subsets (0 when both sets fit in one subset).
    pub kernel_std: f64,
    /// [`precision_recall`] with k = [`DEFAULT_NEIGHBOURS`].
    pub precision: f64,
    pub recall: f64,
    pub n_real: usize,
    pub n_fake: usize,
}

impl FaceSpaceMetrics {
    /// FD, KID over [`DEFAULT_KID_SUBSETS`] subsets of [`DEFAULT_KID_SUBSET_SIZE`] (seed
    /// [`DEFAULT_KID_SEED`]) and precision/recall with k = [`DEFAULT_NEIGHBOURS`]; both sets need
    /// more than k samples.
    pub fn compute(real: Descriptors, fake: Descriptors) -> Result<Self, MetricsError> {
        Self::compute_with(real, fake, false)
    }

    /// [`compute`](Self::compute), except that precision and recall compare equal numbers
    /// of samples, as Kynkäänniemi et al. do (k-NN balls shrink as a set grows): with more
    /// real samples than fake ones, the reals are thinned to as many as there are fakes,
    /// evenly spaced over the set. FD and KID use every sample.
    pub fn compute_balanced(real: Descriptors, fake: Descriptors) -> Result<Self, MetricsError> {
        Self::compute_with(real, fake, true)
    }

    fn compute_with(
        real: Descriptors,
        fake: Descriptors,
        balanced: bool,
    ) -> Result<Self, MetricsError> {
        let (real_samples, fake_samples) = prepare(real, fake, DEFAULT_NEIGHBOURS + 1)?;
        let (kernel, kernel_std) = subset_mmd2(
            &real_samples,
            &fake_samples,
            DEFAULT_KID_SUBSET_SIZE,
            DEFAULT_KID_SUBSETS,
            DEFAULT_KID_SEED,
        );
        let (n_real, n_fake) = (real_samples.len, fake_samples.len);
        let pr = if balanced && n_real > n_fake {
            let spaced: Vec<usize> = (0..n_fake).map(|i| i * n_real / n_fake).collect();
            let thinned = real_samples.gather(&spaced);
            manifold_precision_recall(&thinned, &fake_samples, DEFAULT_NEIGHBOURS)
        } else {
            manifold_precision_recall(&real_samples, &fake_samples, DEFAULT_NEIGHBOURS)
        };
        Ok(Self {
            frechet: frechet(real_samples, fake_samples)?,
            kernel,
            kernel_std,
            precision: pr.precision,
            recall: pr.recall,
            n_real: real.len(),
            n_fake: fake.len(),
        })
    }
}

/// Fréchet distance between Gaussians fitted to the two sets (Heusel et al. 2017):
/// `|mu_r − mu_f|² + tr(S_r) + tr(S_f) − 2·tr((S_r·S_f)^½)`, covariances with ddof = 1.
///
/// `tr((S_r·S_f)^½)` is the sum of `sqrt(λ)` over the eigenvalues λ of the symmetric
/// `S_r^½·S_f·S_r^½` (similar to `S_r·S_f`), where `S_r^½` comes from the symmetric
/// eigendecomposition of `S_r` with negative eigenvalues clamped to 0. This needs no inverse, so
/// singular covariances (fewer samples than dimensions) are fine. Eigenvalues at or below the
/// rounding level `d·ε·max|λ|` count as 0: with singular covariances the zero eigenvalues come out
/// as ±1e-17 or so, and their square roots (about 3e-9 each) would add up to an error of about
/// 1e-7; without them the result agrees with the SVD form (the singular values of the centred
/// `X_r·X_fᵀ` over `sqrt((m−1)(n−1))`) to about 1e-15 on the test fixtures.
pub fn frechet_distance(real: Descriptors, fake: Descriptors) -> Result<f64, MetricsError> {
    let (real, fake) = prepare(real, fake, 2)?;
    frechet(real, fake)
}

/// Kernel Inception Distance over the full sets (Bińkowski et al. 2018): the unbiased squared MMD
/// `Σ_{i≠j} k(r_i, r_j)/(m(m−1)) + Σ_{i≠j} k(f_i, f_j)/(n(n−1)) − 2·Σ_{i,j} k(r_i, f_j)/(m·n)`
/// with `k(x, y) = (x·y/d + 1)³`. Unbiased, so it can be slightly negative for close sets.
pub fn kernel_distance(real: Descriptors, fake: Descriptors) -> Result<f64, MetricsError> {
    let (real, fake) = prepare(real, fake, 2)?;
    Ok(unbiased_mmd2(&real, &fake))
}

/// KID as Bińkowski et al. report it: the mean and standard deviation (ddof = 0) of
/// [`kernel_distance`] over `subsets` draws of `subset_size` samples from each set, without
/// replacement within a draw (a set no larger than `subset_size` is used whole). When both sets
/// are no larger than `subset_size` this is the full-set value with standard deviation 0. The
/// draws come from a SplitMix64 stream seeded with `seed`, so a seed gives the same result.
pub fn kernel_distance_subsets(
    real: Descriptors,
    fake: Descriptors,
    subset_size: usize,
    subsets: usize,
    seed: u64,
) -> Result<(f64, f64), MetricsError> {
    let (real, fake) = prepare(real, fake, 2)?;
    if subset_size < 2 || subsets == 0 {
        return Err(MetricsError::SubsetParameters {
            subset_size,
            subsets,
        });
    }
    Ok(subset_mmd2(&real, &fake, subset_size, subsets, seed))
}

/// Improved precision and recall (Kynkäänniemi et al. 2019). The radius of a real sample is the
/// Euclidean distance to its k-th nearest other real sample ([`knn_radii`]); precision is the
/// share of fakes within the radius of at least one real, recall the share of reals within the
/// radius of at least one fake (radii from the fakes). `k` must lie in `1..` each set's size.
pub fn precision_recall(
    real: Descriptors,
    fake: Descriptors,
    k: usize,
) -> Result<PrecisionRecall, MetricsError> {
    let (real, fake) = prepare(real, fake, 0)?;
    check_neighbours(real.len, k, "real")?;
    check_neighbours(fake.len, k, "fake")?;
    Ok(manifold_precision_recall(&real, &fake, k))
}

/// The k-NN radii of [`precision_recall`]: for each row, the Euclidean distance to its k-th nearest
/// other row (itself excluded), `1 <= k < len`.
pub fn knn_radii(descriptors: Descriptors, k: usize) -> Result<Vec<f64>, MetricsError> {
    let samples = Samples::new(descriptors, "descriptors")?;
    check_neighbours(samples.len, k, "descriptors")?;
    Ok(kth_neighbour_squared_distances(&samples, k)
        .into_iter()
        .map(f64::sqrt)
        .collect())
}

/// Checks that the dimensions agree and each set has `needed` samples, and converts to `f64`.
fn prepare(
    real: Descriptors,
    fake: Descriptors,
    needed: usize,
) -> Result<(Samples, Samples), MetricsError> {
    let (real_dim, fake_dim) = (real.dim(), fake.dim());
    if real_dim != fake_dim {
        return Err(MetricsError::DimensionMismatch {
            real: real_dim,
            fake: fake_dim,
        });
    }
    for (set, samples) in [("real", real.len()), ("fake", fake.len())] {
        if samples < needed {
            return Err(MetricsError::TooFewSamples {
                set,
                samples,
                needed,
            });
        }
    }
    Ok((Samples::new(real, "real")?, Samples::new(fake, "fake")?))
}

fn check_neighbours(samples: usize, k: usize, set: &'static str) -> Result<(), MetricsError> {
    if k == 0 || k >= samples {
        return Err(MetricsError::NeighbourCount { set, k, samples });
    }
    Ok(())
}

/// A set converted to `f64`, row after row.
#[derive(Clone)]
struct Samples {
    values: Vec<f64>,
    len: usize,
    dim: usize,
}

impl Samples {
    fn new(descriptors: Descriptors, set: &'static str) -> Result<Self, MetricsError> {
        let (len, dim) = (descriptors.len(), descriptors.dim());
        if let Some(row) = descriptors
            .rows()
            .position(|r| r.iter().any(|v| !v.is_finite()))
        {
            return Err(MetricsError::NonFinite { set, row });
        }
        let values = descriptors.data.iter().map(|&v| f64::from(v)).collect();
        Ok(Self { values, len, dim })
    }

    fn gather(&self, rows: &[usize]) -> Self {
        let (len, dim) = (rows.len(), self.dim);
        let values = rows.iter().flat_map(|&i| self.row(i)).copied().collect();
        Self { values, len, dim }
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.values[i * self.dim..(i + 1) * self.dim]
    }

    /// Rows `start..start + count` as a `count × dim` matrix.
    fn rows_matrix(&self, start: usize, count: usize) -> DMatrixView<'_, f64, Dyn, Dyn> {
        DMatrixView::from_slice_with_strides(
            &self.values[start * self.dim..],
            count,
            self.dim,
            self.dim,
            1,
        )
    }

    /// Rows `start..` as the columns of a `dim × (len − start)` matrix.
    fn columns_matrix(&self, start: usize) -> DMatrixView<'_, f64> {
        DMatrixView::from_slice(&self.values[start * self.dim..], self.dim, self.len - start)
    }

    /// Column mean and covariance with ddof = 1 (`Σ (x_i − mu)(x_i − mu)ᵀ / (N − 1)`).
    fn mean_and_covariance(mut self) -> (DVector<f64>, DMatrix<f64>) {
        let mean = self.columns_matrix(0).column_mean();
        for row in self.values.chunks_exact_mut(self.dim) {
            row.iter_mut().zip(mean.iter()).for_each(|(v, m)| *v -= m);
        }
        let scatter = self.columns_matrix(0) * self.rows_matrix(0, self.len);
        let covariance = (&scatter + scatter.transpose()) * (0.5 / (self.len - 1) as f64);
        (mean, covariance)
    }
}

fn frechet(real: Samples, fake: Samples) -> Result<f64, MetricsError> {
    let (mean_real, cov_real) = real.mean_and_covariance();
    let (mean_fake, cov_fake) = fake.mean_and_covariance();
    let root_real = psd_square_root(cov_real.clone())?;
    let product = &root_real * &cov_fake * &root_real;
    let product = (&product + product.transpose()) * 0.5;
    let eigenvalues = symmetric_eigen(product)?.eigenvalues;
    let floor = rounding_floor(&eigenvalues);
    let trace_sqrt: f64 = eigenvalues
        .iter()
        .map(|&l| if l > floor { l.sqrt() } else { 0.0 })
        .sum();
    Ok(
        (mean_real - mean_fake).norm_squared() + cov_real.trace() + cov_fake.trace()
            - 2.0 * trace_sqrt,
    )
}

fn symmetric_eigen(matrix: DMatrix<f64>) -> Result<SymmetricEigen<f64, Dyn>, MetricsError> {
    let max_iterations = 1000 * matrix.nrows().max(1);
    SymmetricEigen::try_new(matrix, f64::EPSILON, max_iterations).ok_or(MetricsError::NotConverged)
}

/// The size below which an eigenvalue of a symmetric matrix is rounding noise: `d·ε·max|λ|`
/// (the rank tolerance of LAPACK-style solvers).
fn rounding_floor(eigenvalues: &DVector<f64>) -> f64 {
    eigenvalues.len() as f64 * f64::EPSILON * eigenvalues.amax()
}

/// `V·diag(sqrt(max(w, 0)))·Vᵀ` from the eigendecomposition `(w, V)` of a symmetric matrix.
fn psd_square_root(matrix: DMatrix<f64>) -> Result<DMatrix<f64>, MetricsError> {
    let eigen = symmetric_eigen(matrix)?;
    let mut scaled = eigen.eigenvectors.clone();
    for (mut column, w) in scaled.column_iter_mut().zip(eigen.eigenvalues.iter()) {
        column *= w.max(0.0).sqrt();
    }
    Ok(scaled * eigen.eigenvectors.transpose())
}

/// Neumaier's compensated sum, so the large kernel sums do not lose the small KID to rounding.
#[derive(Default)]
struct CompensatedSum {
    sum: f64,
    compensation: f64,
}

impl CompensatedSum {
    fn add(&mut self, value: f64) {
        let total = self.sum + value;
        self.compensation += if self.sum.abs() >= value.abs() {
            (self.sum - total) + value
        } else {
            (value - total) + self.sum
        };
        self.sum = total;
    }

    fn value(&self) -> f64 {
        self.sum + self.compensation
    }
}

/// `k(x, y) − 1 = t·(3 + t·(3 + t))` with `t = x·y/d`. The constant 1 cancels exactly in the
/// unbiased MMD², so leaving it out of every sum avoids cancellation without changing the value.
fn kernel_minus_one(dot: f64, dim: f64) -> f64 {
    let t = dot / dim;
    t * (3.0 + t * (3.0 + t))
}

/// `Σ_{i≠j} (k(x_i, x_j) − 1)`, each pair once and doubled.
fn kernel_sum_within(set: &Samples) -> f64 {
    let mut sum = CompensatedSum::default();
    for start in (0..set.len).step_by(BLOCK_ROWS) {
        let count = BLOCK_ROWS.min(set.len - start);
        let dots = set.rows_matrix(start, count) * set.columns_matrix(start);
        for i in 0..count {
            for j in i + 1..dots.ncols() {
                sum.add(kernel_minus_one(dots[(i, j)], set.dim as f64));
            }
        }
    }
    2.0 * sum.value()
}

/// `Σ_{i,j} (k(a_i, b_j) − 1)`.
fn kernel_sum_between(a: &Samples, b: &Samples) -> f64 {
    let mut sum = CompensatedSum::default();
    for start in (0..a.len).step_by(BLOCK_ROWS) {
        let count = BLOCK_ROWS.min(a.len - start);
        let dots = a.rows_matrix(start, count) * b.columns_matrix(0);
        dots.iter()
            .for_each(|&dot| sum.add(kernel_minus_one(dot, a.dim as f64)));
    }
    sum.value()
}

fn unbiased_mmd2(real: &Samples, fake: &Samples) -> f64 {
    let (m, n) = (real.len as f64, fake.len as f64);
    kernel_sum_within(real) / (m * (m - 1.0)) + kernel_sum_within(fake) / (n * (n - 1.0))
        - 2.0 * kernel_sum_between(real, fake) / (m * n)
}

fn subset_mmd2(
    real: &Samples,
    fake: &Samples,
    subset_size: usize,
    subsets: usize,
    seed: u64,
) -> (f64, f64) {
    if real.len <= subset_size && fake.len <= subset_size {
        return (unbiased_mmd2(real, fake), 0.0);
    }
    let mut rng = SplitMix64(seed);
    let mut draw = |set: &Samples| {
        set.gather(&rng.sample_without_replacement(set.len, subset_size.min(set.len)))
    };
    let values: Vec<f64> = (0..subsets)
        .map(|_| unbiased_mmd2(&draw(real), &draw(fake)))
        .collect();
    let mean = values.iter().sum::<f64>() / subsets as f64;
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / subsets as f64;
    (mean, variance.sqrt())
}

/// SplitMix64 (Steele, Lea and Flood 2014): a small, fast, seedable generator.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A uniform integer in `0..bound` (multiply-shift; bias below `bound / 2⁶⁴`).
    fn below(&mut self, bound: usize) -> usize {
        ((u128::from(self.next_u64()) * bound as u128) >> 64) as usize
    }

    /// `count` distinct indices of `0..len` (partial Fisher–Yates shuffle).
    fn sample_without_replacement(&mut self, len: usize, count: usize) -> Vec<usize> {
        let mut indices: Vec<usize> = (0..len).collect();
        for i in 0..count {
            let j = i + self.below(len - i);
            indices.swap(i, j);
        }
        indices.truncate(count);
        indices
    }
}

/// `|a − b|²` from explicit differences (exactly 0 for equal rows), four partial sums.
fn squared_distance(a: &[f64], b: &[f64]) -> f64 {
    let (a4, b4) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = a4
        .remainder()
        .iter()
        .zip(b4.remainder())
        .map(|(x, y)| (x - y) * (x - y))
        .sum();
    let mut partial = [0.0f64; 4];
    for (x, y) in a4.zip(b4) {
        for lane in 0..4 {
            let d = x[lane] - y[lane];
            partial[lane] += d * d;
        }
    }
    (partial[0] + partial[1]) + (partial[2] + partial[3]) + tail
}

/// Calls `visit(i, j)` for every pair of rows `i` of `a_len` and `j` of `b_len` (only `j > i`
/// when `within`), tile by tile so both tiles stay in cache.
fn for_each_pair(a_len: usize, b_len: usize, within: bool, mut visit: impl FnMut(usize, usize)) {
    for a_start in (0..a_len).step_by(BLOCK_ROWS) {
        let b_first = if within { a_start } else { 0 };
        for b_start in (b_first..b_len).step_by(BLOCK_ROWS) {
            for i in a_start..(a_start + BLOCK_ROWS).min(a_len) {
                let j_first = if within { b_start.max(i + 1) } else { b_start };
                for j in j_first..(b_start + BLOCK_ROWS).min(b_len) {
                    visit(i, j);
                }
            }
        }
    }
}

/// For each row, the squared distance to its k-th nearest other row.
fn kth_neighbour_squared_distances(set: &Samples, k: usize) -> Vec<f64> {
    // The k smallest squared distances of each row, ascending.
    let mut nearest = vec![f64::INFINITY; set.len * k];
    let mut offer = |row: usize, d2: f64| {
        let list = &mut nearest[row * k..(row + 1) * k];
        if d2 < list[k - 1] {
            let at = list.partition_point(|&v| v <= d2);
            list.copy_within(at..k - 1, at + 1);
            list[at] = d2;
        }
    };
    for_each_pair(set.len, set.len, true, |i, j| {
        let d2 = squared_distance(set.row(i), set.row(j));
        offer(i, d2);
        offer(j, d2);
    });
    nearest.chunks_exact(k).map(|list| list[k - 1]).collect()
}

fn manifold_precision_recall(real: &Samples, fake: &Samples, k: usize) -> PrecisionRecall {
    let real_radii2 = kth_neighbour_squared_distances(real, k);
    let fake_radii2 = kth_neighbour_squared_distances(fake, k);
    let mut fake_covered = vec![false; fake.len];
    let mut real_covered = vec![false; real.len];
    for_each_pair(real.len, fake.len, false, |i, j| {
        if fake_covered[j] && real_covered[i] {
            return;
        }
        let d2 = squared_distance(real.row(i), fake.row(j));
        fake_covered[j] |= d2 <= real_radii2[i];
        real_covered[i] |= d2 <= fake_radii2[j];
    });
    let share =
        |covered: &[bool]| covered.iter().filter(|&&c| c).count() as f64 / covered.len() as f64;
    PrecisionRecall {
        precision: share(&fake_covered),
        recall: share(&real_covered),
    }
}
