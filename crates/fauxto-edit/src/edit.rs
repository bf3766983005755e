//! Slider moves → a step in W.
//!
//! A slider value is in the attribute's own unit where the judge gives one (years of age,
//! degrees of yaw and pitch), converted through the measured change per σ; otherwise
//! (gender, smile) in σ, the spread of sampled latents along the direction. A move of t σ
//! shifts the latent's position along the attribute's normal n by t·σ. With attributes
//! kept, the step runs along the conditional direction d (n with the kept normals
//! projected out), and is lengthened by 1/(d·n) so that the position along n still moves
//! by t·σ — the classifier's score, and so the attribute, changes as much as without the
//! condition.

use crate::attribute::Attribute;
use crate::directions::{Directions, DirectionsError};

/// One slider: move `attribute` by `amount` of its slider unit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Move {
    pub attribute: Attribute,
    pub amount: f64,
}

/// Why a move cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error(transparent)]
    Directions(#[from] DirectionsError),
    #[error(
        "the {0} direction was measured to change {0} by almost nothing per σ ({1:.3}): \
         give the move in σ with a judge that sees it, or recompute the directions"
    )]
    Unmeasured(Attribute, f64),
}

impl Move {
    /// The move in σ of the attribute's direction.
    pub fn in_sigma(&self, directions: &Directions) -> Result<f64, EditError> {
        if !self.attribute.slider_in_own_unit() {
            return Ok(self.amount);
        }
        let per_sigma = directions.get(self.attribute)?.per_sigma;
        if per_sigma.abs() < 1e-3 {
            return Err(EditError::Unmeasured(self.attribute, per_sigma));
        }
        Ok(self.amount / per_sigma)
    }
}

/// The step in W that makes `moves` while keeping the attributes in `keep`.
pub fn step(
    directions: &Directions,
    moves: &[Move],
    keep: &[Attribute],
) -> Result<Vec<f32>, EditError> {
    let mut total = vec![0f32; directions.w_dim];
    for m in moves {
        let part = sigma_step(directions, m.attribute, m.in_sigma(directions)?, keep)?;
        total.iter_mut().zip(&part).for_each(|(t, p)| *t += p);
    }
    Ok(total)
}

/// The step in W that moves `attribute` by `sigmas` σ while keeping `keep`.
pub fn sigma_step(
    directions: &Directions,
    attribute: Attribute,
    sigmas: f64,
    keep: &[Attribute],
) -> Result<Vec<f32>, EditError> {
    let direction = directions.get(attribute)?;
    let d = directions.conditional(attribute, keep)?;
    let cos: f64 = d
        .iter()
        .zip(&direction.normal)
        .map(|(&a, &b)| a as f64 * b as f64)
        .sum();
    let length = sigmas * direction.sigma / cos;
    Ok(d.iter().map(|&v| (length * v as f64) as f32).collect())
}

/// Evenly spaced slider values from `from` to `to` (both included).
pub fn strip_values(from: f64, to: f64, frames: usize) -> Vec<f64> {
    match frames {
        0 => Vec::new(),
        1 => vec![(from + to) / 2.0],
        n => (0..n)
            .map(|i| from + (to - from) * i as f64 / (n - 1) as f64)
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directions::Direction;

    fn directions() -> Directions {
        let d = |attribute, normal: Vec<f32>, sigma, per_sigma| Direction {
            attribute,
            normal,
            validation_accuracy: 1.0,
            train_samples: 1,
            validation_samples: 1,
            sigma,
            per_sigma,
        };
        let s = 0.5f32.sqrt();
        Directions::new(
            "x",
            2,
            10,
            0,
            0.1,
            1.0,
            vec![
                d(Attribute::Age, vec![s, s], 2.0, 5.0),
                d(Attribute::Gender, vec![1.0, 0.0], 0.5, 0.3),
            ],
        )
    }

    fn along(v: &[f32], n: &[f32]) -> f32 {
        v.iter().zip(n).map(|(a, b)| a * b).sum()
    }

    #[test]
    fn years_become_sigmas_through_the_measured_rate() {
        let d = directions();
        let age = Move {
            attribute: Attribute::Age,
            amount: 15.0,
        };
        // 5 years per σ, σ = 2: 15 years are 3σ, 6 units along the normal.
        assert_eq!(age.in_sigma(&d).unwrap(), 3.0);
        let s = step(&d, &[age], &[]).unwrap();
        assert!((along(&s, &d.get(Attribute::Age).unwrap().normal) - 6.0).abs() < 1e-5);
        // Gender moves in σ as given.
        let g = Move {
            attribute: Attribute::Gender,
            amount: -2.0,
        };
        assert_eq!(g.in_sigma(&d).unwrap(), -2.0);
    }

    #[test]
    fn a_kept_attribute_does_not_move_and_the_moved_one_moves_as_much() {
        let d = directions();
        let age = Move {
            attribute: Attribute::Age,
            amount: 15.0,
        };
        let s = step(&d, &[age], &[Attribute::Gender]).unwrap();
        assert!(along(&s, &d.get(Attribute::Gender).unwrap().normal).abs() < 1e-5);
        assert!((along(&s, &d.get(Attribute::Age).unwrap().normal) - 6.0).abs() < 1e-4);
    }

    #[test]
    fn strips_include_both_ends() {
        assert_eq!(strip_values(-3.0, 3.0, 4), vec![-3.0, -1.0, 1.0, 3.0]);
        assert_eq!(strip_values(0.0, 2.0, 1), vec![1.0]);
        assert!(strip_values(0.0, 1.0, 0).is_empty());
    }
}
