//! Learning attribute directions the way InterFaceGAN does (Shen et al. 2020, §3.1):
//! sample latents, let the judges score their images, fit a linear classifier in W to the
//! two extremes of each score, and take its unit normal as the direction. Then measure
//! what one step along it does: move held-out faces by ±2σ and re-score them.

use anyhow::{Context, Result};
use burn::tensor::backend::Backend;

use crate::attribute::{Attribute, Scores};
use crate::directions::{Direction, Directions};
use crate::judge::Judge;
use crate::latent::{consecutive_seeds, dot, moved, LatentRenderer};
use crate::logistic::LinearModel;

/// How directions are learnt.
#[derive(Debug, Clone)]
pub struct FitOptions {
    /// Latents sampled and scored (seeds `first_seed..first_seed + samples`).
    pub samples: usize,
    pub first_seed: u32,
    /// Fraction of the scored samples taken from each end of a score's range.
    pub extremes: f64,
    /// L2 penalty of the classifier. A strong penalty pulls the normal toward the
    /// difference of the two classes' means: on the demo model's 20,000 samples λ = 100
    /// gave higher held-out accuracy and a larger judged change per σ than λ = 1
    /// (`bench/RESULTS.md`, "Editing").
    pub lambda: f64,
    /// Faces moved to measure each direction's effect per σ.
    pub calibration_samples: usize,
    /// Images per generator and judge call.
    pub batch: usize,
    pub attributes: Vec<Attribute>,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            samples: 20_000,
            first_seed: 0,
            extremes: 0.02,
            lambda: 100.0,
            calibration_samples: 64,
            batch: 64,
            attributes: Attribute::ALL.to_vec(),
        }
    }
}

/// Latents and what the judges said about their images.
#[derive(Debug, Clone, Default)]
pub struct Sampled {
    pub seeds: Vec<u32>,
    pub ws: Vec<Vec<f32>>,
    pub scores: Vec<Scores>,
}

/// Every tenth seed's last digit below 3 is held out: a 70/30 split that does not depend
/// on the order or number of samples.
pub fn held_out(seed: u32) -> bool {
    seed % 10 < 3
}

/// Renders and scores `seeds` in batches, calling `progress` with the count done.
pub fn sample<B: Backend>(
    renderer: &LatentRenderer<B>,
    judge: &Judge<B>,
    seeds: &[u32],
    batch: usize,
    progress: &mut dyn FnMut(usize),
) -> Result<Sampled> {
    let mut out = Sampled::default();
    for chunk in seeds.chunks(batch.max(1)) {
        let ws = renderer.w_of(chunk);
        let images = renderer.render(&ws)?;
        let verdicts = judge.judge(&images, false);
        out.seeds.extend_from_slice(chunk);
        out.scores.extend(verdicts.into_iter().map(|v| v.scores));
        out.ws.extend(ws);
        progress(out.seeds.len());
    }
    Ok(out)
}

/// A direction before its effect is measured.
#[derive(Debug, Clone)]
pub struct Fitted {
    pub attribute: Attribute,
    pub normal: Vec<f32>,
    pub validation_accuracy: f64,
    pub train_samples: usize,
    pub validation_samples: usize,
    pub sigma: f64,
}

/// Fits the classifier of `attribute` to the lowest and highest `extremes` of the scored
/// samples (high = positive), trained on the kept seeds and validated on the held-out
/// ones. An attribute with a [`balancing`] attribute takes its extremes within each side
/// of that one separately, so that the two ends hold both sides in the same proportion and
/// the classifier cannot separate them by it.
pub fn fit_attribute(
    sampled: &Sampled,
    attribute: Attribute,
    extremes: f64,
    lambda: f64,
) -> Result<Fitted> {
    let balance = balancing(attribute);
    let mut groups: [Vec<(f64, usize)>; 2] = [Vec::new(), Vec::new()];
    for (i, s) in sampled.scores.iter().enumerate() {
        let Some(v) = s[attribute.index()].filter(|v| v.is_finite()) else {
            continue;
        };
        let group = match balance {
            None => 0,
            Some(b) => match s[b.index()] {
                Some(p) => usize::from(p > 0.5),
                None => continue,
            },
        };
        groups[group].push((v, i));
    }
    let mut ends: Vec<(usize, bool)> = Vec::new();
    for scored in groups.iter_mut().filter(|g| !g.is_empty()) {
        scored.sort_by(|a, b| a.0.total_cmp(&b.0));
        let k = ((scored.len() as f64 * extremes).floor() as usize).min(scored.len() / 2);
        anyhow::ensure!(
            k >= 4,
            "{attribute}: too few scored samples ({}) for extremes of {extremes}",
            scored.len()
        );
        ends.extend(scored[..k].iter().map(|&(_, i)| (i, false)));
        ends.extend(scored[scored.len() - k..].iter().map(|&(_, i)| (i, true)));
    }
    anyhow::ensure!(!ends.is_empty(), "{attribute}: no sample was scored");
    let (mut train, mut val) = (Split::default(), Split::default());
    for (i, high) in ends {
        let side = if held_out(sampled.seeds[i]) {
            &mut val
        } else {
            &mut train
        };
        side.rows.push(&sampled.ws[i]);
        side.labels.push(high);
    }
    let model = LinearModel::fit(&train.rows, &train.labels, lambda)
        .with_context(|| format!("fitting the {attribute} classifier"))?;
    let normal: Vec<f32> = model.unit_normal().iter().map(|&v| v as f32).collect();
    let along: Vec<f64> = sampled.ws.iter().map(|w| dot(w, &normal)).collect();
    Ok(Fitted {
        attribute,
        validation_accuracy: model.accuracy(&val.rows, &val.labels),
        train_samples: train.rows.len(),
        validation_samples: val.rows.len(),
        sigma: std_dev(&along),
        normal,
    })
}

/// The attribute whose two sides an attribute's extremes are balanced over: age over
/// gender (the oldest and youngest faces differ in their mix of men and women, which
/// otherwise leaks gender into the age direction).
pub fn balancing(attribute: Attribute) -> Option<Attribute> {
    match attribute {
        Attribute::Age => Some(Attribute::Gender),
        _ => None,
    }
}

#[derive(Default)]
struct Split<'a> {
    rows: Vec<&'a [f32]>,
    labels: Vec<bool>,
}

/// The judged change of `fitted`'s attribute per σ moved along its normal: the mean of
/// `score(w + 2σn) − score(w − 2σn)` over `ws`, divided by 4.
pub fn per_sigma<B: Backend>(
    renderer: &LatentRenderer<B>,
    judge: &Judge<B>,
    fitted: &Fitted,
    ws: &[Vec<f32>],
    batch: usize,
) -> Result<f64> {
    const STEP: f64 = 2.0;
    let offset = STEP * fitted.sigma;
    let shifted: Vec<Vec<f32>> = ws
        .iter()
        .flat_map(|w| {
            [
                moved(w, &fitted.normal, offset),
                moved(w, &fitted.normal, -offset),
            ]
        })
        .collect();
    let images = renderer.render_batched(&shifted, batch)?;
    let verdicts = judge.judge(&images, false);
    let a = fitted.attribute.index();
    let changes: Vec<f64> = verdicts
        .chunks_exact(2)
        .filter_map(|pair| Some(pair[0].scores[a]? - pair[1].scores[a]?))
        .collect();
    anyhow::ensure!(
        !changes.is_empty(),
        "{}: no moved face could be scored",
        fitted.attribute
    );
    Ok(mean(&changes) / (2.0 * STEP))
}

/// The whole procedure: sample, fit every attribute, measure each direction.
pub fn learn<B: Backend>(
    renderer: &LatentRenderer<B>,
    judge: &Judge<B>,
    model_sha256: &str,
    options: &FitOptions,
    progress: &mut dyn FnMut(Stage, usize, usize),
) -> Result<Directions> {
    let seeds = consecutive_seeds(options.first_seed, options.samples);
    let total = seeds.len();
    let sampled = sample(renderer, judge, &seeds, options.batch, &mut |done| {
        progress(Stage::Sampling, done, total)
    })?;
    fit_all(renderer, judge, model_sha256, &sampled, options, progress)
}

/// Fits every attribute of `options` to samples already scored, and measures each
/// direction's effect.
pub fn fit_all<B: Backend>(
    renderer: &LatentRenderer<B>,
    judge: &Judge<B>,
    model_sha256: &str,
    sampled: &Sampled,
    options: &FitOptions,
    progress: &mut dyn FnMut(Stage, usize, usize),
) -> Result<Directions> {
    // Calibration faces: the first held-out seeds.
    let calibration: Vec<Vec<f32>> = sampled
        .seeds
        .iter()
        .zip(&sampled.ws)
        .filter(|(&s, _)| held_out(s))
        .take(options.calibration_samples)
        .map(|(_, w)| w.clone())
        .collect();
    let count = options.attributes.len();
    let mut directions = Vec::new();
    for (i, &attribute) in options.attributes.iter().enumerate() {
        progress(Stage::Fitting, i, count);
        let fitted = fit_attribute(sampled, attribute, options.extremes, options.lambda)?;
        let per_sigma = per_sigma(renderer, judge, &fitted, &calibration, options.batch)?;
        directions.push(Direction {
            attribute,
            normal: fitted.normal,
            validation_accuracy: fitted.validation_accuracy,
            train_samples: fitted.train_samples,
            validation_samples: fitted.validation_samples,
            sigma: fitted.sigma,
            per_sigma,
        });
    }
    progress(Stage::Fitting, count, count);
    Ok(Directions::new(
        model_sha256,
        renderer.w_dim(),
        sampled.seeds.len(),
        sampled.seeds.first().copied().unwrap_or(0),
        options.extremes,
        options.lambda,
        directions,
    ))
}

/// What [`learn`] is doing, for progress bars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Sampling,
    Fitting,
}

pub fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

pub fn std_dev(v: &[f64]) -> f64 {
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Synthetic latents whose first coordinate decides the score: the fitted normal
    /// points along it, validation is perfect, and σ is the spread along the normal.
    #[test]
    fn fitting_recovers_the_coordinate_a_score_depends_on() {
        let mut sampled = Sampled::default();
        let mut state = 3u32;
        for seed in 0..400u32 {
            let w: Vec<f32> = (0..8)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (state >> 8) as f32 / (1u32 << 24) as f32 - 0.5
                })
                .collect();
            let mut scores: Scores = [None; 5];
            scores[Attribute::Smile.index()] = Some(w[0] as f64 * 2.0 + 0.5);
            sampled.seeds.push(seed);
            sampled.ws.push(w);
            sampled.scores.push(scores);
        }
        let fitted = fit_attribute(&sampled, Attribute::Smile, 0.25, 1e-3).unwrap();
        assert!(fitted.normal[0] > 0.95, "{:?}", fitted.normal);
        assert_eq!(fitted.validation_accuracy, 1.0);
        assert_eq!(fitted.train_samples + fitted.validation_samples, 200);
        // Uniform on [-0.5, 0.5): σ ≈ 1/√12 along the first axis.
        assert!(
            (fitted.sigma - 12f64.sqrt().recip()).abs() < 0.03,
            "{}",
            fitted.sigma
        );
        // An attribute nobody scored cannot be fitted.
        assert!(fit_attribute(&sampled, Attribute::Age, 0.25, 1.0).is_err());
    }

    #[test]
    fn the_held_out_split_is_three_in_ten() {
        assert_eq!((0..1000).filter(|&s| held_out(s)).count(), 300);
    }
}
