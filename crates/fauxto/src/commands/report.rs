//! `fauxto report diversity`: is the output as diverse as the training data? Age group,
//! gender, expression and head direction among N generated faces against the training
//! set's face index (and the dataset's own labels where it has them), with the total
//! variation distance per attribute, as JSON and a PNG chart.

use std::path::PathBuf;

use anyhow::Result;
use burn::tensor::backend::Backend;
use clap::{Args, Subcommand};
use fauxto_data::PackedDataset;
use fauxto_face::dense_net::EXPRESSIONS;
use fauxto_face::{FaceRecord, FaceStatus, Facing, Gender};
use serde_json::json;

use super::faces::{open_dataset, open_index, DetectionArgs, SampleArgs};
use crate::backend::DeviceKind;
use crate::chart::{self, BarChart, Series};
use crate::images::ensure_dir;
use crate::on_device;
use crate::provenance::ProvenanceArgs;
use fauxto_app::labels::Depiction;

#[derive(Debug, Args)]
pub struct ReportArgs {
    #[command(subcommand)]
    pub report: Report,
}

#[derive(Debug, Subcommand)]
pub enum Report {
    /// Attribute distributions of generated faces against the training set.
    Diversity(DiversityArgs),
}

#[derive(Debug, Args)]
pub struct DiversityArgs {
    #[command(flatten)]
    pub sample: SampleArgs,
    /// The training dataset, indexed with `fauxto index DATA`. Its `age` and `gender`
    /// label columns (UTKFace convention: gender 0 = male, 1 = female) are compared too.
    #[arg(long)]
    pub data: PathBuf,
    /// Report directory (diversity.json, diversity.png).
    #[arg(long, default_value = "diversity-report")]
    pub out: PathBuf,
    #[command(flatten)]
    pub detection: DetectionArgs,
    /// Print the report as JSON, no progress bars.
    #[arg(long)]
    pub json: bool,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    #[command(flatten)]
    pub provenance: ProvenanceArgs,
}

/// Age groups, in decades, the last open-ended.
const AGE_GROUPS: [&str; 8] = [
    "0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70+",
];
const GENDERS: [&str; 2] = ["male", "female"];
const FACING: [&str; 3] = ["left", "frontal", "right"];

fn age_group(age: f32) -> usize {
    ((age.max(0.0) / 10.0) as usize).min(AGE_GROUPS.len() - 1)
}

/// Category counts of one attribute over one set of faces.
#[derive(Debug, Clone, Default)]
struct Tally {
    age: Vec<f64>,
    gender: Vec<f64>,
    expression: Vec<f64>,
    facing: Vec<f64>,
}

impl Tally {
    fn new() -> Self {
        Self {
            age: vec![0.0; AGE_GROUPS.len()],
            gender: vec![0.0; 2],
            expression: vec![0.0; EXPRESSIONS.len()],
            facing: vec![0.0; 3],
        }
    }

    fn of_records<'a>(records: impl IntoIterator<Item = &'a FaceRecord>) -> Self {
        let mut t = Self::new();
        for r in records
            .into_iter()
            .filter(|r| r.status != FaceStatus::Missing)
        {
            t.age[age_group(r.age)] += 1.0;
            t.gender[(r.gender() == Gender::Female) as usize] += 1.0;
            let top = (0..EXPRESSIONS.len())
                .max_by(|&a, &b| r.expressions[a].total_cmp(&r.expressions[b]))
                .unwrap_or(0);
            t.expression[top] += 1.0;
            if let Some(p) = r.pose {
                t.facing[match p.facing() {
                    Facing::Left => 0,
                    Facing::Frontal => 1,
                    Facing::Right => 2,
                }] += 1.0;
            }
        }
        t
    }
}

/// An attribute: its name, its categories, and where a tally keeps its counts.
type Attribute = (
    &'static str,
    &'static [&'static str],
    fn(&Tally) -> &Vec<f64>,
);

fn fractions(counts: &[f64]) -> Vec<f64> {
    let total: f64 = counts.iter().sum();
    counts
        .iter()
        .map(|c| if total > 0.0 { c / total } else { 0.0 })
        .collect()
}

/// Total variation distance ½ Σ |p − q| between two distributions given as counts.
fn total_variation(a: &[f64], b: &[f64]) -> f64 {
    0.5 * fractions(a)
        .iter()
        .zip(fractions(b))
        .map(|(p, q)| (p - q).abs())
        .sum::<f64>()
}

/// Age and gender from the dataset's label columns, if it has them.
fn label_tally(data: &PackedDataset) -> Option<Tally> {
    let labels = data.labels()?;
    let col = |name: &str| {
        labels
            .columns
            .iter()
            .position(|c| c.eq_ignore_ascii_case(name))
    };
    let (age, gender) = (col("age"), col("gender"));
    if age.is_none() && gender.is_none() {
        return None;
    }
    let mut t = Tally::new();
    for row in &labels.values {
        if let Some(a) = age.and_then(|a| row.get(a)).filter(|v| v.is_finite()) {
            t.age[age_group(*a)] += 1.0;
        }
        if let Some(g) = gender
            .and_then(|g| row.get(g))
            .filter(|v| **v == 0.0 || **v == 1.0)
        {
            t.gender[*g as usize] += 1.0;
        }
    }
    Some(t)
}

pub fn run(args: &ReportArgs) -> Result<()> {
    match &args.report {
        Report::Diversity(a) => on_device!(a.device, diversity(a)),
    }
}

fn diversity<B: Backend>(device: &B::Device, args: &DiversityArgs) -> Result<()> {
    let (model_path, model) = args.sample.model()?;
    let data = open_dataset(&args.data)?;
    let index = open_index(&args.data)?;
    ensure_dir(&args.out)?;
    let (seeds, generated) =
        args.sample
            .generate_records::<B>(device, &model, &args.detection, args.json)?;

    let gen = Tally::of_records(&generated);
    let train = Tally::of_records(&index.records);
    let labels = label_tally(&data);
    let attributes: [Attribute; 4] = [
        ("age group", &AGE_GROUPS, |t| &t.age),
        ("gender", &GENDERS, |t| &t.gender),
        ("expression", &EXPRESSIONS, |t| &t.expression),
        ("facing", &FACING, |t| &t.facing),
    ];
    let mut report = serde_json::Map::new();
    let mut panels = Vec::new();
    for (name, categories, get) in attributes {
        let label = labels
            .as_ref()
            .map(get)
            .filter(|c| c.iter().sum::<f64>() > 0.0);
        let mut series = vec![
            Series {
                name: "generated".into(),
                values: fractions(get(&gen)),
            },
            Series {
                name: "training (analysed)".into(),
                values: fractions(get(&train)),
            },
        ];
        if let Some(l) = label {
            series.push(Series {
                name: "training (labels)".into(),
                values: fractions(l),
            });
        }
        let tv = total_variation(get(&gen), get(&train));
        let tv_labels = label.map(|l| total_variation(get(&gen), l));
        report.insert(
            name.to_string(),
            json!({
                "categories": categories,
                "generated": get(&gen),
                "training_analysed": get(&train),
                "training_labels": label,
                "total_variation": tv,
                "total_variation_vs_labels": tv_labels,
            }),
        );
        let title = match tv_labels {
            Some(l) => format!("{name}: TV {tv:.3} (vs labels {l:.3})"),
            None => format!("{name}: TV {tv:.3}"),
        };
        let chart = BarChart {
            title,
            x_label: name.into(),
            y_label: "fraction of faces".into(),
            categories: categories.iter().map(|c| c.to_string()).collect(),
            series,
        };
        panels.push(chart::render_bar_chart(&chart, 720, 420));
    }
    let labeller = args
        .provenance
        .labeller(&model, args.sample.trunc, "const")?;
    labeller.write(
        &image::DynamicImage::ImageRgb8(chart::panel_grid(&panels, &[], 2)),
        &Depiction::Chart {
            description: format!(
                "diversity report: attributes of {} generated faces against the training set",
                seeds.len()
            ),
        },
        &args.out.join("diversity.png"),
    )?;
    let full = json!({
        "model": model_path,
        "model_sha256": model.sha256,
        "data": args.data,
        "generated": seeds.len(),
        "truncation_psi": args.sample.trunc,
        "training_faces": index.records.iter().filter(|r| r.status != FaceStatus::Missing).count(),
        "attributes": report,
    });
    crate::images::write_bytes(
        &args.out.join("diversity.json"),
        &serde_json::to_vec_pretty(&full)?,
    )?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&full)?);
    } else {
        println!("total variation distance, generated vs training (0 = same distribution, 1 = disjoint):");
        for (name, v) in &report {
            let tv = v["total_variation"].as_f64().unwrap_or(f64::NAN);
            match v["total_variation_vs_labels"].as_f64() {
                Some(l) => println!("  {name:<11} {tv:.3}  (vs dataset labels {l:.3})"),
                None => println!("  {name:<11} {tv:.3}"),
            }
        }
        println!("chart and JSON in {}", args.out.display());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn total_variation_is_half_the_l1_distance_of_the_fractions() {
        assert_eq!(total_variation(&[1.0, 1.0], &[5.0, 5.0]), 0.0);
        assert_eq!(total_variation(&[1.0, 0.0], &[0.0, 3.0]), 1.0);
        assert!((total_variation(&[3.0, 1.0], &[1.0, 1.0]) - 0.25).abs() < 1e-12);
    }

    #[test]
    fn ages_fall_into_decades_with_an_open_last_group() {
        assert_eq!(age_group(0.0), 0);
        assert_eq!(age_group(9.99), 0);
        assert_eq!(age_group(35.0), 3);
        assert_eq!(age_group(101.0), AGE_GROUPS.len() - 1);
        assert_eq!(age_group(-3.0), 0);
    }
}
