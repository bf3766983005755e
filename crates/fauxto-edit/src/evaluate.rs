//! How well the directions edit, measured as InterFaceGAN measures it (Shen et al. 2020,
//! §3.2, "re-scoring analysis"): move held-out faces along each direction and re-score
//! every attribute with the judges.
//!
//! For each edit e (a direction, possibly conditioned on kept attributes) and attribute a,
//! `Δ(e, a)` is the mean of `score_a(w + kσ) − score_a(w − kσ)` (k = 3 by default) in the
//! attribute's own unit. The normalised matrix divides each column by the change the
//! attribute's own direction makes, `|Δ(e, a)| / |Δ(a, a)|`: an off-diagonal entry of 0.25
//! means that editing e moves a by a quarter of what editing a itself does. Identity is
//! judged by the descriptor network, which no direction was fitted to.

use anyhow::{bail, Result};
use burn::tensor::backend::Backend;
use serde::Serialize;

use crate::age::{age_to, AgeOptions};
use crate::attribute::Attribute;
use crate::directions::Directions;
use crate::edit::sigma_step;
use crate::fit::mean;
use crate::judge::{descriptor_distance, Judge, Verdict};
use crate::latent::{moved, LatentRenderer};

/// One edit: move `attribute`, keeping `keep`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EditSpec {
    pub attribute: Attribute,
    pub keep: Vec<Attribute>,
}

impl EditSpec {
    pub fn name(&self) -> String {
        if self.keep.is_empty() {
            self.attribute.name().to_string()
        } else {
            let kept: Vec<&str> = self.keep.iter().map(|a| a.name()).collect();
            format!("{} ({} kept)", self.attribute, kept.join(", "))
        }
    }
}

/// How an evaluation is run.
#[derive(Debug, Clone)]
pub struct EvaluateOptions {
    /// Faces, from seeds `first_seed..` (keep them apart from the fitting seeds).
    pub samples: usize,
    pub first_seed: u32,
    /// Edit size for the re-scoring matrix, in σ.
    pub sigmas: f64,
    /// Edit size for the identity figures, in σ.
    pub identity_sigmas: f64,
    pub batch: usize,
}

impl Default for EvaluateOptions {
    fn default() -> Self {
        EvaluateOptions {
            samples: 200,
            first_seed: 1_000_000,
            sigmas: 3.0,
            identity_sigmas: 2.0,
            batch: 64,
        }
    }
}

/// The figures of the editing goals.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub samples: usize,
    pub sigmas: f64,
    pub identity_sigmas: f64,
    pub attributes: Vec<Attribute>,
    pub edits: Vec<EditSpec>,
    /// `Δ(edit, attribute)` in the attribute's unit; rows follow `edits`, columns
    /// `attributes`.
    pub change: Vec<Vec<f64>>,
    /// `|Δ(edit, a)| / |Δ(a, a)|`.
    pub normalised: Vec<Vec<f64>>,
    /// Validation accuracy of each direction's classifier, by `attributes`.
    pub validation_accuracy: Vec<f64>,
    /// Faces whose judged gender flips when moved kσ toward the other one.
    pub gender_flip_rate: Option<f64>,
    /// Mean judged age change from the face to +kσ and from −kσ to the face (years).
    pub age_shift: Option<(f64, f64)>,
    /// Faces whose P(happy) crosses 0.5 when moved kσ toward the other side.
    pub smile_cross_rate: Option<f64>,
    /// Mean judged yaw at −kσ and +kσ (degrees).
    pub yaw_reach: Option<(f64, f64)>,
    /// For each attribute, the fraction of ±(identity σ) edits whose descriptor stays
    /// within 0.6 of the unedited face.
    pub identity_kept: Vec<(Attribute, f64)>,
    /// Fraction of age edits (±kσ, gender kept) whose judged gender stays the same.
    pub gender_kept_by_conditional_age: Option<f64>,
    /// Every face brought 20 years older and 20 years younger (`age::age_to`, gender and
    /// head pose held).
    pub age_progression: Option<AgeProgression>,
}

/// Age progression by ±20 years, as judged.
#[derive(Debug, Clone, Serialize)]
pub struct AgeProgression {
    pub edits: usize,
    /// Mean |judged age − target| (years); the age network is in the loop.
    pub mean_abs_error: f64,
    /// Fraction whose judged gender stays the same.
    pub gender_kept: f64,
    /// Fraction whose descriptor stays within 0.6 of the unedited face.
    pub identity_kept: f64,
}

/// Targets of the age progression figures: the judged age ± this many years.
const AGE_PROGRESSION_YEARS: f64 = 20.0;

/// Runs the evaluation on the faces of `ws`: W latents of held-out seeds (see
/// [`EvaluateOptions`]), or W+ latents of projected photos.
pub fn evaluate<B: Backend>(
    renderer: &LatentRenderer<B>,
    judge: &Judge<B>,
    directions: &Directions,
    ws: &[Vec<f32>],
    options: &EvaluateOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Evaluation> {
    if ws.is_empty() {
        bail!("no faces to evaluate the directions on");
    }
    let attributes: Vec<Attribute> = directions.directions.iter().map(|d| d.attribute).collect();
    let mut edits: Vec<EditSpec> = attributes
        .iter()
        .map(|&attribute| EditSpec {
            attribute,
            keep: Vec::new(),
        })
        .collect();
    let conditional_age =
        attributes.contains(&Attribute::Age) && attributes.contains(&Attribute::Gender);
    if conditional_age {
        edits.push(EditSpec {
            attribute: Attribute::Age,
            keep: vec![Attribute::Gender],
        });
    }
    let total = 2 + edits.len() + attributes.len();
    let mut done = 0;
    let mut tick = |progress: &mut dyn FnMut(usize, usize)| {
        done += 1;
        progress(done, total)
    };
    let originals = judge.judge(&renderer.render_batched(ws, options.batch)?, true);
    tick(progress);

    // ±kσ along every edit.
    let mut ends: Vec<(Vec<Verdict>, Vec<Verdict>)> = Vec::new();
    for e in &edits {
        let step = sigma_step(directions, e.attribute, options.sigmas, &e.keep)?;
        let plus: Vec<Vec<f32>> = ws.iter().map(|w| moved(w, &step, 1.0)).collect();
        let minus: Vec<Vec<f32>> = ws.iter().map(|w| moved(w, &step, -1.0)).collect();
        ends.push((
            judge.judge(&renderer.render_batched(&plus, options.batch)?, false),
            judge.judge(&renderer.render_batched(&minus, options.batch)?, false),
        ));
        tick(progress);
    }
    let change: Vec<Vec<f64>> = ends
        .iter()
        .map(|(plus, minus)| {
            attributes
                .iter()
                .map(|a| mean_change(plus, minus, *a))
                .collect()
        })
        .collect();
    let normalised: Vec<Vec<f64>> = change
        .iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(j, v)| (v / change[j][j]).abs())
                .collect()
        })
        .collect();

    // Identity after ±(identity σ) edits.
    let mut identity_kept = Vec::new();
    for &a in &attributes {
        let step = sigma_step(directions, a, options.identity_sigmas, &[])?;
        let both: Vec<Vec<f32>> = ws
            .iter()
            .flat_map(|w| [moved(w, &step, 1.0), moved(w, &step, -1.0)])
            .collect();
        let verdicts = judge.judge(&renderer.render_batched(&both, options.batch)?, true);
        let distances: Vec<f64> = verdicts
            .iter()
            .enumerate()
            .filter_map(|(i, v)| descriptor_distance(&v.descriptor, &originals[i / 2].descriptor))
            .collect();
        identity_kept.push((a, fraction(distances.iter().map(|&d| d < SAME_PERSON))));
        tick(progress);
    }

    let row = |a: Attribute| {
        edits
            .iter()
            .position(|e| e.attribute == a && e.keep.is_empty())
    };
    let score = |v: &Verdict, a: Attribute| v.scores[a.index()];
    // Moves toward the other side of 0.5: originals above it are judged at −kσ.
    let crossing = |a: Attribute| {
        row(a).map(|r| {
            let (plus, minus) = &ends[r];
            fraction(originals.iter().enumerate().filter_map(|(i, o)| {
                let before = score(o, a)?;
                let after = if before > 0.5 {
                    score(&minus[i], a)?
                } else {
                    score(&plus[i], a)?
                };
                Some((before > 0.5) != (after > 0.5))
            }))
        })
    };
    let age_shift = row(Attribute::Age).map(|r| {
        let (plus, minus) = &ends[r];
        let a = Attribute::Age;
        let up = mean_of(
            originals
                .iter()
                .zip(plus)
                .filter_map(|(o, p)| Some(score(p, a)? - score(o, a)?)),
        );
        let down = mean_of(
            originals
                .iter()
                .zip(minus)
                .filter_map(|(o, m)| Some(score(o, a)? - score(m, a)?)),
        );
        (up, down)
    });
    let yaw_reach = row(Attribute::Yaw).map(|r| {
        let (plus, minus) = &ends[r];
        let a = Attribute::Yaw;
        (
            mean_of(minus.iter().filter_map(|v| score(v, a))),
            mean_of(plus.iter().filter_map(|v| score(v, a))),
        )
    });
    let gender_kept_by_conditional_age = conditional_age.then(|| {
        let (plus, minus) = ends.last().expect("the conditional age edit is last");
        let g = Attribute::Gender;
        fraction(
            originals
                .iter()
                .enumerate()
                .flat_map(|(i, o)| {
                    [&plus[i], &minus[i]]
                        .map(|v| Some((score(o, g)? > 0.5) == (score(v, g)? > 0.5)))
                })
                .flatten(),
        )
    });
    let age_progression = if conditional_age {
        Some(age_progression(
            renderer,
            judge,
            directions,
            ws,
            &originals,
            options.batch,
        )?)
    } else {
        None
    };
    tick(progress);
    Ok(Evaluation {
        age_progression,
        samples: ws.len(),
        sigmas: options.sigmas,
        identity_sigmas: options.identity_sigmas,
        validation_accuracy: directions
            .directions
            .iter()
            .map(|d| d.validation_accuracy)
            .collect(),
        gender_flip_rate: crossing(Attribute::Gender),
        smile_cross_rate: crossing(Attribute::Smile),
        age_shift,
        yaw_reach,
        identity_kept,
        gender_kept_by_conditional_age,
        attributes,
        edits,
        change,
        normalised,
    })
}

/// Brings every face to its judged age ± 20 years and judges the results.
fn age_progression<B: Backend>(
    renderer: &LatentRenderer<B>,
    judge: &Judge<B>,
    directions: &Directions,
    ws: &[Vec<f32>],
    originals: &[Verdict],
    batch: usize,
) -> Result<AgeProgression> {
    let age = |v: &Verdict| v.scores[Attribute::Age.index()];
    let mut starts = Vec::new();
    let mut targets = Vec::new();
    let mut of = Vec::new();
    for (i, (w, o)) in ws.iter().zip(originals).enumerate() {
        let Some(a) = age(o) else { continue };
        for shift in [-AGE_PROGRESSION_YEARS, AGE_PROGRESSION_YEARS] {
            starts.push(w.clone());
            targets.push((a + shift).clamp(1.0, 100.0));
            of.push(i);
        }
    }
    let options = AgeOptions {
        batch,
        ..AgeOptions::default()
    };
    let aged = age_to(renderer, judge, directions, &starts, &targets, &options)?;
    let images: Vec<_> = aged.iter().map(|a| a.image.clone()).collect();
    let verdicts = judge.judge(&images, true);
    let g = Attribute::Gender.index();
    let errors = verdicts
        .iter()
        .zip(&targets)
        .filter_map(|(v, t)| Some((age(v)? - t).abs()));
    let gender_kept = verdicts
        .iter()
        .zip(&of)
        .map(|(v, &i)| Some((v.scores[g]? > 0.5) == (originals[i].scores[g]? > 0.5)));
    let identity = verdicts
        .iter()
        .zip(&of)
        .filter_map(|(v, &i)| descriptor_distance(&v.descriptor, &originals[i].descriptor));
    Ok(AgeProgression {
        edits: targets.len(),
        mean_abs_error: mean_of(errors),
        gender_kept: fraction(gender_kept.flatten()),
        identity_kept: fraction(identity.map(|d| d < SAME_PERSON)),
    })
}

/// face-api's same-person descriptor distance.
const SAME_PERSON: f64 = 0.6;

fn mean_change(plus: &[Verdict], minus: &[Verdict], a: Attribute) -> f64 {
    mean_of(
        plus.iter()
            .zip(minus)
            .filter_map(|(p, m)| Some(p.scores[a.index()]? - m.scores[a.index()]?)),
    )
}

fn mean_of(values: impl Iterator<Item = f64>) -> f64 {
    let v: Vec<f64> = values.collect();
    if v.is_empty() {
        f64::NAN
    } else {
        mean(&v)
    }
}

fn fraction(flags: impl Iterator<Item = bool>) -> f64 {
    let (mut yes, mut all) = (0usize, 0usize);
    for f in flags {
        yes += usize::from(f);
        all += 1;
    }
    if all == 0 {
        f64::NAN
    } else {
        yes as f64 / all as f64
    }
}

impl Evaluation {
    /// The normalised re-scoring matrix and the goal figures as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let names: Vec<&str> = self.attributes.iter().map(|a| a.name()).collect();
        s.push_str(&format!(
            "Re-scoring at ±{}σ over {} faces: |Δ(edit, attribute)| / |Δ(attribute, attribute)| \
             (raw Δ in the attribute's unit in brackets)\n\n",
            self.sigmas, self.samples
        ));
        s.push_str(&format!("| edit \\ judged | {} |\n", names.join(" | ")));
        s.push_str(&format!("| --- |{}\n", " --- |".repeat(names.len())));
        for (i, e) in self.edits.iter().enumerate() {
            let cells: Vec<String> = (0..names.len())
                .map(|j| format!("{:.2} ({:+.2})", self.normalised[i][j], self.change[i][j]))
                .collect();
            s.push_str(&format!("| {} | {} |\n", e.name(), cells.join(" | ")));
        }
        s.push('\n');
        let pct = |v: f64| format!("{:.0}%", 100.0 * v);
        for (a, acc) in self.attributes.iter().zip(&self.validation_accuracy) {
            s.push_str(&format!(
                "- {a}: classifier validation accuracy {}\n",
                pct(*acc)
            ));
        }
        if let Some(v) = self.gender_flip_rate {
            s.push_str(&format!("- gender flips at {}σ: {}\n", self.sigmas, pct(v)));
        }
        if let Some((up, down)) = self.age_shift {
            s.push_str(&format!(
                "- mean age shift at ±{}σ: +{up:.1} / −{down:.1} years\n",
                self.sigmas
            ));
        }
        if let Some(v) = self.smile_cross_rate {
            s.push_str(&format!(
                "- P(happy) crosses 0.5 at {}σ: {}\n",
                self.sigmas,
                pct(v)
            ));
        }
        if let Some((lo, hi)) = self.yaw_reach {
            s.push_str(&format!(
                "- mean yaw at ∓{}σ: {lo:+.1}° / {hi:+.1}°\n",
                self.sigmas
            ));
        }
        if let Some(v) = self.gender_kept_by_conditional_age {
            s.push_str(&format!(
                "- gender kept by the age edit with gender kept (±{}σ): {}\n",
                self.sigmas,
                pct(v)
            ));
        }
        if let Some(p) = &self.age_progression {
            s.push_str(&format!(
                "- age progression to the judged age ±{AGE_PROGRESSION_YEARS} years ({} edits, \
                 gender and head pose held): mean absolute error {:.1} years, gender kept {}, identity kept \
                 (descriptor < 0.6) {}\n",
                p.edits,
                p.mean_abs_error,
                pct(p.gender_kept),
                pct(p.identity_kept)
            ));
        }
        for (a, v) in &self.identity_kept {
            s.push_str(&format!(
                "- {a} edits at ±{}σ keeping the identity (descriptor distance < 0.6): {}\n",
                self.identity_sigmas,
                pct(*v)
            ));
        }
        s
    }
}
