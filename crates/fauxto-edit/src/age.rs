//! Age progression: move faces along the age direction (conditioned on gender, head pose
//! and what else is kept) until the age network judges them the target age, stepping
//! back along gender whenever the gender network judges the other gender than at the
//! start.
//!
//! The direction's measured rate (years per σ) gives the first step; later steps use the
//! secant through the last two judged ages (clamped to a third and three times the
//! measured rate, so that a saturated or noisy verdict cannot throw a face far off). The
//! age network is thereby inside the loop: the figures that judge an age edit must
//! include judges it does not steer (gender kept, identity distance).

use anyhow::Result;
use burn::tensor::backend::Backend;
use image::DynamicImage;

use crate::attribute::Attribute;
use crate::directions::Directions;
use crate::edit::sigma_step;
use crate::judge::{Judge, Verdict};
use crate::latent::{moved, LatentRenderer};

/// How age targets are reached.
#[derive(Debug, Clone)]
pub struct AgeOptions {
    /// Attributes held while age moves (those without a direction are skipped). By
    /// default gender and the head pose: on the demo model the age direction drags both
    /// along (`bench/RESULTS.md`, "Editing").
    pub keep: Vec<Attribute>,
    /// Judge-and-step rounds at most.
    pub rounds: usize,
    /// Stop moving a face once its judged age is this close to the target (years).
    pub tolerance: f64,
    /// Never move further than this many σ from the start (along age, and along gender
    /// when holding it): further out the latents leave the region the generator was
    /// trained on and the faces break up.
    pub max_sigmas: f64,
    /// When the gender network judges an aged face of the other gender than the start,
    /// step back along the gender direction (age held) by one σ per round. The gender
    /// network is then in the loop too: the identity descriptor stays the independent
    /// judge.
    pub hold_judged_gender: bool,
    pub batch: usize,
}

impl Default for AgeOptions {
    fn default() -> Self {
        AgeOptions {
            keep: vec![Attribute::Gender, Attribute::Yaw, Attribute::Pitch],
            rounds: 4,
            tolerance: 2.0,
            max_sigmas: 4.0,
            hold_judged_gender: true,
            batch: 64,
        }
    }
}

/// One face brought to a target age.
#[derive(Debug, Clone)]
pub struct AgedFace {
    pub w: Vec<f32>,
    /// The final image.
    pub image: DynamicImage,
    /// The judges' verdict on the final image.
    pub verdict: Verdict,
    /// σ moved along the (conditional) age direction.
    pub sigmas: f64,
    /// σ moved along the gender direction to hold the judged gender.
    pub gender_sigmas: f64,
}

/// Brings each `ws[i]` to `targets[i]` years, as judged by the age network.
pub fn age_to<B: Backend>(
    renderer: &LatentRenderer<B>,
    judge: &Judge<B>,
    directions: &Directions,
    ws: &[Vec<f32>],
    targets: &[f64],
    options: &AgeOptions,
) -> Result<Vec<AgedFace>> {
    assert_eq!(ws.len(), targets.len(), "one target per face");
    let rate = directions.get(Attribute::Age)?.per_sigma;
    anyhow::ensure!(
        rate > 0.1,
        "the age direction was measured to change age by {rate:.2} years per σ: too little to \
         steer by; recompute the directions with more samples"
    );
    let keep: Vec<Attribute> = options
        .keep
        .iter()
        .copied()
        .filter(|&a| a != Attribute::Age && directions.get(a).is_ok())
        .collect();
    // Unit steps: one σ along the conditional age direction, and one along gender with
    // age held (to hold the judged gender).
    let unit = sigma_step(directions, Attribute::Age, 1.0, &keep)?;
    let gender_unit = match (
        options.hold_judged_gender,
        directions.get(Attribute::Gender),
    ) {
        (true, Ok(_)) => Some(sigma_step(
            directions,
            Attribute::Gender,
            1.0,
            &[Attribute::Age],
        )?),
        _ => None,
    };
    let place = |i: usize, s: f64, g: f64| {
        let w = moved(&ws[i], &unit, s);
        match &gender_unit {
            Some(u) => moved(&w, u, g),
            None => w,
        }
    };
    let judge_all =
        |sigmas: &[f64], genders: &[f64]| -> Result<(Vec<DynamicImage>, Vec<Verdict>)> {
            let moved_ws: Vec<Vec<f32>> = (0..ws.len())
                .map(|i| place(i, sigmas[i], genders[i]))
                .collect();
            let images = renderer.render_batched(&moved_ws, options.batch)?;
            let verdicts = judge.judge(&images, false);
            Ok((images, verdicts))
        };
    let age_of = |v: &Verdict| v.scores[Attribute::Age.index()];
    let female = |v: &Verdict| v.scores[Attribute::Gender.index()].map(|p| p > 0.5);

    let mut sigmas = vec![0.0; ws.len()];
    let mut genders = vec![0.0; ws.len()];
    let (mut images, mut verdicts) = judge_all(&sigmas, &genders)?;
    let started_female: Vec<Option<bool>> = verdicts.iter().map(female).collect();
    let mut previous: Vec<Option<(f64, f64)>> = vec![None; ws.len()];
    for _ in 0..options.rounds {
        let mut any = false;
        let mut next = sigmas.clone();
        for i in 0..ws.len() {
            if gender_unit.is_some() {
                if let (Some(start), Some(now)) = (started_female[i], female(&verdicts[i])) {
                    let held = genders[i] + if start { 1.0 } else { -1.0 };
                    if start != now && held.abs() <= options.max_sigmas {
                        genders[i] = held;
                        any = true;
                    }
                }
            }
            let Some(age) = age_of(&verdicts[i]) else {
                continue;
            };
            let error = targets[i] - age;
            if error.abs() <= options.tolerance {
                continue;
            }
            let slope = match previous[i] {
                Some((s0, a0)) if (sigmas[i] - s0).abs() > 1e-6 => {
                    ((age - a0) / (sigmas[i] - s0)).clamp(rate / 3.0, rate * 3.0)
                }
                _ => rate,
            };
            previous[i] = Some((sigmas[i], age));
            next[i] = (sigmas[i] + error / slope).clamp(-options.max_sigmas, options.max_sigmas);
            any |= next[i] != sigmas[i];
        }
        if !any {
            break;
        }
        sigmas = next;
        (images, verdicts) = judge_all(&sigmas, &genders)?;
    }
    Ok(images
        .into_iter()
        .zip(verdicts)
        .enumerate()
        .map(|(i, (image, verdict))| AgedFace {
            w: place(i, sigmas[i], genders[i]),
            image,
            verdict,
            sigmas: sigmas[i],
            gender_sigmas: genders[i],
        })
        .collect())
}
