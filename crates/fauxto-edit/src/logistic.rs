//! L2-regularised logistic regression, fitted by Newton's method (iteratively reweighted
//! least squares): the linear classifier whose unit normal InterFaceGAN (Shen et al. 2020,
//! "Interpreting the Latent Space of GANs for Semantic Face Editing", §2.2) takes as an
//! attribute's direction in the latent space.
//!
//! Minimises `Σᵢ log(1 + exp(−yᵢ(xᵢ·w + b))) + λ/2 ‖w‖²` with yᵢ = ±1 and the bias
//! unpenalised — scikit-learn's `LogisticRegression(C = 1/λ)`, which the tests compare
//! against.

use nalgebra::{DMatrix, DVector};

/// A fitted hyperplane `x·weight + bias = 0`.
#[derive(Debug, Clone, PartialEq)]
pub struct LinearModel {
    pub weight: Vec<f64>,
    pub bias: f64,
    /// Newton iterations taken.
    pub iterations: usize,
}

/// Why a fit failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FitError {
    #[error("no samples to fit")]
    Empty,
    #[error("every sample is on one side: a classifier needs both classes")]
    OneClass,
    #[error("a sample has {got} features, the first has {expected}")]
    Ragged { expected: usize, got: usize },
    #[error("the Newton system is not positive definite (features not finite?)")]
    NotPositiveDefinite,
}

const MAX_ITERATIONS: usize = 100;
/// Stop when no coefficient moves by more than this.
const TOLERANCE: f64 = 1e-9;

impl LinearModel {
    /// Fits `rows` (one feature vector each) to `labels` (true for the positive class)
    /// with L2 penalty `lambda` on the weights.
    pub fn fit(rows: &[&[f32]], labels: &[bool], lambda: f64) -> Result<Self, FitError> {
        let n = rows.len();
        let d = rows.first().ok_or(FitError::Empty)?.len();
        if let Some(r) = rows.iter().find(|r| r.len() != d) {
            return Err(FitError::Ragged {
                expected: d,
                got: r.len(),
            });
        }
        assert_eq!(n, labels.len(), "one label per row");
        if labels.iter().all(|&l| l) || labels.iter().all(|&l| !l) {
            return Err(FitError::OneClass);
        }
        // Design matrix with a final column of ones for the bias.
        let x =
            DMatrix::<f64>::from_fn(n, d + 1, |i, j| if j < d { rows[i][j] as f64 } else { 1.0 });
        let t = DVector::<f64>::from_iterator(n, labels.iter().map(|&l| f64::from(u8::from(l))));
        let mut beta = DVector::<f64>::zeros(d + 1);
        let mut iterations = 0;
        while iterations < MAX_ITERATIONS {
            iterations += 1;
            let p = (&x * &beta).map(sigmoid);
            let mut gradient = x.tr_mul(&(&p - &t));
            let s = p.map(|p| (p * (1.0 - p)).max(1e-12));
            // Xᵀ S X: scale the rows of X by S, then one product.
            let mut xs = x.clone();
            for (mut row, &si) in xs.row_iter_mut().zip(s.iter()) {
                row *= si;
            }
            let mut hessian = x.tr_mul(&xs);
            for j in 0..d {
                gradient[j] += lambda * beta[j];
                hessian[(j, j)] += lambda;
            }
            let step = hessian
                .cholesky()
                .ok_or(FitError::NotPositiveDefinite)?
                .solve(&gradient);
            beta -= &step;
            if step.amax() < TOLERANCE {
                break;
            }
        }
        Ok(LinearModel {
            weight: beta.as_slice()[..d].to_vec(),
            bias: beta[d],
            iterations,
        })
    }

    /// Signed score of `x` (> 0: the positive class).
    pub fn decision(&self, x: &[f32]) -> f64 {
        self.weight
            .iter()
            .zip(x)
            .map(|(w, &v)| w * v as f64)
            .sum::<f64>()
            + self.bias
    }

    /// Fraction of `rows` classified as `labels` says.
    pub fn accuracy(&self, rows: &[&[f32]], labels: &[bool]) -> f64 {
        if rows.is_empty() {
            return f64::NAN;
        }
        let right = rows
            .iter()
            .zip(labels)
            .filter(|(r, &l)| (self.decision(r) > 0.0) == l)
            .count();
        right as f64 / rows.len() as f64
    }

    /// The hyperplane's unit normal, pointing to the positive class.
    pub fn unit_normal(&self) -> Vec<f64> {
        let norm = self.weight.iter().map(|w| w * w).sum::<f64>().sqrt();
        self.weight.iter().map(|w| w / norm).collect()
    }
}

fn sigmoid(v: f64) -> f64 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two Gaussian clouds split along (1, -2): the normal comes back close to it.
    #[test]
    fn finds_the_normal_of_a_separating_direction() {
        let mut state = 7u64;
        let mut uniform = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (state >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut rows = Vec::new();
        let mut labels = Vec::new();
        for _ in 0..2000 {
            let (a, b) = (uniform() * 2.0 - 1.0, uniform() * 2.0 - 1.0);
            let margin = a - 2.0 * b + 0.3;
            if margin.abs() < 0.02 {
                continue;
            }
            rows.push(vec![a as f32, b as f32, (uniform() - 0.5) as f32]);
            labels.push(margin > 0.0);
        }
        let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
        let model = LinearModel::fit(&refs, &labels, 1e-3).unwrap();
        let n = model.unit_normal();
        let truth = [1.0 / 5f64.sqrt(), -2.0 / 5f64.sqrt(), 0.0];
        let cos: f64 = n.iter().zip(truth).map(|(a, b)| a * b).sum();
        assert!(cos > 0.99, "normal {n:?}");
        assert!(model.accuracy(&refs, &labels) > 0.97);
    }

    #[test]
    fn refuses_one_class_and_ragged_rows() {
        let a = [0.0f32, 1.0];
        let b = [1.0f32];
        assert_eq!(
            LinearModel::fit(&[&a, &a], &[true, true], 1.0),
            Err(FitError::OneClass)
        );
        assert_eq!(
            LinearModel::fit(&[&a, &b], &[true, false], 1.0),
            Err(FitError::Ragged {
                expected: 2,
                got: 1
            })
        );
        assert_eq!(LinearModel::fit(&[], &[], 1.0), Err(FitError::Empty));
    }
}
