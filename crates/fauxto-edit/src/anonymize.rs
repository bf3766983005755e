//! The anonymiser: faces of people who do not exist with a photo's age, gender,
//! expression and head pose, but not its identity.
//!
//! 1. The judges read the photo's face (age, gender, expression, yaw, descriptor).
//! 2. A pool of generated faces is judged; those of the photo's gender are ranked by how
//!    far their age, yaw and smile are from the photo's, in units of the tolerances.
//! 3. The best candidates are moved along the directions by what is left (age with gender
//!    kept, yaw, smile) and judged again with their descriptors.
//! 4. A candidate is kept when every attribute is within tolerance and its descriptor is
//!    at least the same-person distance (0.6) from the photo's: a different person by the
//!    judge's own threshold.

use anyhow::Result;
use burn::tensor::backend::Backend;
use serde::Serialize;

use crate::attribute::Attribute;
use crate::directions::Directions;
use crate::edit::sigma_step;
use crate::judge::{descriptor_distance, Judge, Verdict};
use crate::latent::{consecutive_seeds, LatentRenderer};

/// How close a look-alike must be.
#[derive(Debug, Clone)]
pub struct Tolerances {
    /// Years (the age network's own error is about 5 years).
    pub age: f64,
    /// Degrees of yaw.
    pub yaw: f64,
    /// Probability of "happy".
    pub smile: f64,
    /// Smallest descriptor distance to the photo.
    pub min_distance: f64,
}

impl Default for Tolerances {
    fn default() -> Self {
        Tolerances {
            age: 8.0,
            yaw: 10.0,
            smile: 0.3,
            min_distance: 0.6,
        }
    }
}

impl Tolerances {
    /// How far a face's judged age, yaw and smile are from the target's, each in units of
    /// its tolerance (squared and summed): the order candidates are tried and kept in.
    fn distance(&self, target: &Target, age: f64, yaw: f64, smile: f64) -> f64 {
        ((age - target.age) / self.age).powi(2)
            + ((yaw - target.yaw) / self.yaw).powi(2)
            + ((smile - target.smile) / self.smile).powi(2)
    }
}

/// How the anonymiser searches.
#[derive(Debug, Clone)]
pub struct AnonymizeOptions {
    /// Look-alikes wanted.
    pub n: usize,
    /// Generated faces judged to find candidates (seeds `first_seed..`).
    pub pool: usize,
    pub first_seed: u32,
    /// Candidates corrected and judged again, per look-alike wanted.
    pub candidates_per_output: usize,
    pub tolerances: Tolerances,
    pub batch: usize,
}

impl Default for AnonymizeOptions {
    fn default() -> Self {
        AnonymizeOptions {
            n: 8,
            pool: 1000,
            first_seed: 0,
            candidates_per_output: 4,
            tolerances: Tolerances::default(),
            batch: 64,
        }
    }
}

/// What the photo shows, as the judges read it.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub age: f64,
    pub female: bool,
    pub smile: f64,
    pub yaw: f64,
    pub expression: &'static str,
    #[serde(skip)]
    pub descriptor: Vec<f32>,
}

impl Target {
    /// The target of a photo's verdict; `None` when the judges could not read age, gender,
    /// smile, pose, expression or identity.
    pub fn of(v: &Verdict) -> Option<Target> {
        let s = |a: Attribute| v.scores[a.index()];
        if v.descriptor.is_empty() {
            return None;
        }
        Some(Target {
            age: s(Attribute::Age)?,
            female: s(Attribute::Gender)? > 0.5,
            smile: s(Attribute::Smile)?,
            yaw: s(Attribute::Yaw)?,
            expression: v.expression?,
            descriptor: v.descriptor.clone(),
        })
    }
}

/// A look-alike and how it compares with the photo.
#[derive(Debug, Clone, Serialize)]
pub struct LookAlike {
    pub seed: u32,
    #[serde(skip)]
    pub w: Vec<f32>,
    pub age: f64,
    pub female: bool,
    pub smile: f64,
    pub yaw: f64,
    pub expression: &'static str,
    /// Descriptor distance to the photo's face.
    pub distance: f64,
    /// Whether every attribute is within tolerance and the identity is another.
    pub accepted: bool,
}

/// Generated faces judged once, searched for every photo.
pub struct Pool {
    pub seeds: Vec<u32>,
    pub ws: Vec<Vec<f32>>,
    pub verdicts: Vec<Verdict>,
}

impl Pool {
    /// Renders and judges `options.pool` faces from `options.first_seed`.
    pub fn judge<B: Backend>(
        renderer: &LatentRenderer<B>,
        judge: &Judge<B>,
        options: &AnonymizeOptions,
    ) -> Result<Pool> {
        let seeds = consecutive_seeds(options.first_seed, options.pool);
        let ws = renderer.w_of(&seeds);
        let verdicts = judge.judge(&renderer.render_batched(&ws, options.batch)?, false);
        Ok(Pool {
            seeds,
            ws,
            verdicts,
        })
    }
}

/// Finds look-alikes of `target` in `pool`: every corrected candidate, the accepted ones
/// first, each group closest in attributes first.
pub fn anonymize<B: Backend>(
    renderer: &LatentRenderer<B>,
    judge: &Judge<B>,
    directions: &Directions,
    pool: &Pool,
    target: &Target,
    options: &AnonymizeOptions,
) -> Result<Vec<LookAlike>> {
    let t = &options.tolerances;
    let (seeds, ws) = (&pool.seeds, &pool.ws);
    let mut ranked: Vec<(f64, usize)> = pool
        .verdicts
        .iter()
        .enumerate()
        .filter_map(|(i, v)| {
            let s = |a: Attribute| v.scores[a.index()];
            if (s(Attribute::Gender)? > 0.5) != target.female {
                return None;
            }
            let cost = t.distance(
                target,
                s(Attribute::Age)?,
                s(Attribute::Yaw)?,
                s(Attribute::Smile)?,
            );
            Some((cost, i))
        })
        .collect();
    ranked.sort_by(|a, b| a.0.total_cmp(&b.0));
    ranked.truncate(options.n * options.candidates_per_output);

    // Move each candidate by what is left of each attribute's difference.
    let corrected: Vec<Vec<f32>> = ranked
        .iter()
        .map(|&(_, i)| correct(directions, &ws[i], &pool.verdicts[i], target))
        .collect::<Result<_>>()?;
    let verdicts = judge.judge(&renderer.render_batched(&corrected, options.batch)?, true);
    let mut out: Vec<(f64, LookAlike)> = Vec::new();
    for ((&(_, i), w), v) in ranked.iter().zip(corrected).zip(verdicts) {
        let s = |a: Attribute| v.scores[a.index()];
        let (Some(age), Some(p_female), Some(smile), Some(yaw), Some(expression)) = (
            s(Attribute::Age),
            s(Attribute::Gender),
            s(Attribute::Smile),
            s(Attribute::Yaw),
            v.expression,
        ) else {
            continue;
        };
        let Some(distance) = descriptor_distance(&v.descriptor, &target.descriptor) else {
            continue;
        };
        let female = p_female > 0.5;
        let accepted = female == target.female
            && (age - target.age).abs() <= t.age
            && (yaw - target.yaw).abs() <= t.yaw
            && (smile - target.smile).abs() <= t.smile
            && expression == target.expression
            && distance >= t.min_distance;
        out.push((
            t.distance(target, age, yaw, smile),
            LookAlike {
                seed: seeds[i],
                w,
                age,
                female,
                smile,
                yaw,
                expression,
                distance,
                accepted,
            },
        ));
    }
    out.sort_by(|a, b| b.1.accepted.cmp(&a.1.accepted).then(a.0.total_cmp(&b.0)));
    Ok(out.into_iter().map(|(_, l)| l).collect())
}

/// `w` moved along age (gender kept), yaw and smile by the differences the judges see
/// between its face and the target.
fn correct(directions: &Directions, w: &[f32], v: &Verdict, target: &Target) -> Result<Vec<f32>> {
    let mut out = w.to_vec();
    let mut add = |attribute: Attribute, difference: f64, keep: &[Attribute]| -> Result<()> {
        let Ok(direction) = directions.get(attribute) else {
            return Ok(());
        };
        if direction.per_sigma.abs() < 1e-3 {
            return Ok(());
        }
        let sigmas = (difference / direction.per_sigma).clamp(-3.0, 3.0);
        let step = sigma_step(directions, attribute, sigmas, keep)?;
        out.iter_mut().zip(&step).for_each(|(o, s)| *o += s);
        Ok(())
    };
    let s = |a: Attribute| v.scores[a.index()];
    if let Some(age) = s(Attribute::Age) {
        let keep: &[Attribute] = if directions.get(Attribute::Gender).is_ok() {
            &[Attribute::Gender]
        } else {
            &[]
        };
        add(Attribute::Age, target.age - age, keep)?;
    }
    if let Some(yaw) = s(Attribute::Yaw) {
        add(Attribute::Yaw, target.yaw - yaw, &[])?;
    }
    if let Some(smile) = s(Attribute::Smile) {
        add(Attribute::Smile, target.smile - smile, &[])?;
    }
    Ok(out)
}
