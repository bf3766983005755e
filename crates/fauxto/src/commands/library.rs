//! `fauxto library`: a searchable catalogue of generated faces (`fauxto_library`) — init,
//! add (resumable, any number of workers), search, similar, export, stats.

use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use burn::tensor::backend::Backend;
use clap::{Args, Subcommand, ValueEnum};
use fauxto_library::add::{AddOptions, DEFAULT_DEDUPE_THRESHOLD, DEFAULT_MIN_SCORE};
use fauxto_library::search::MAX_PER_PAGE;
use fauxto_library::{AgeBand, FaceQuery, Library, Location, Sort};

use super::args::{parse_psi, SeedList};
use super::faces::{analyzer, load_frame};
use super::memorisation::GuardArgs;
use super::resolve_model;
use crate::backend::DeviceKind;
use crate::on_device;
use crate::progress;
use crate::provenance::ProvenanceArgs;

#[derive(Debug, Args)]
pub struct LibraryArgs {
    #[command(subcommand)]
    pub action: LibraryAction,
}

/// Which library: a directory (SQLite + image files) or a postgres:// URL.
#[derive(Debug, Clone, Args)]
pub struct LibraryPlace {
    /// The library: a directory, or postgres://… (default: $FAUXTO_LIBRARY).
    #[arg(long, env = "FAUXTO_LIBRARY")]
    pub library: Location,
}

#[derive(Debug, Subcommand)]
pub enum LibraryAction {
    /// Make a library: a directory (SQLite in WAL mode + image files, nothing to install),
    /// or a PostgreSQL catalogue with its images in S3-compatible storage.
    Init {
        /// Directory, or postgres://USER@HOST/DB.
        location: Location,
        /// For a PostgreSQL library: where the images go, s3://BUCKET/PREFIX (endpoint and
        /// credentials from AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
        /// AWS_REGION; AWS_ALLOW_HTTP=true for plain HTTP).
        #[arg(long)]
        images: Option<String>,
    },
    /// Generate, analyse and catalogue faces (resumable: run it again to continue; run it
    /// on several machines at once to share the work).
    Add(AddArgs),
    /// Find faces by attributes.
    Search(SearchArgs),
    /// Find the faces that look most like a photo or a catalogued face.
    Similar(SimilarArgs),
    /// Write a selection of faces, their metadata and licences to a zip.
    Export(ExportArgs),
    /// Check that the catalogue and the image store agree: every face's images present, no
    /// image that no face names (exits 1 otherwise).
    Check {
        #[command(flatten)]
        place: LibraryPlace,
        #[arg(long)]
        json: bool,
    },
    /// Counts by attribute and model, and the licences present.
    Stats {
        #[command(flatten)]
        place: LibraryPlace,
        /// Also draw the counts as a labelled PNG chart (age band, gender, expression,
        /// facing: the diversity report's panels).
        #[arg(long)]
        chart: Option<PathBuf>,
        #[command(flatten)]
        provenance: ProvenanceArgs,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    #[command(flatten)]
    pub place: LibraryPlace,
    /// Model file (default: the bundled demo model, or $FAUXTO_MODEL).
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Seeds, e.g. `0-99999`.
    #[arg(long)]
    pub seeds: SeedList,
    #[arg(long, default_value_t = 1.0, value_parser = parse_psi)]
    pub trunc: f64,
    /// Images per forward pass.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub batch: u32,
    /// Seeds per unit of work a worker claims.
    #[arg(long, default_value_t = 128, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub range: u32,
    /// Detector confidence below which a face is too weak to catalogue.
    #[arg(long, default_value_t = DEFAULT_MIN_SCORE)]
    pub min_score: f32,
    /// Descriptor distance under which a face counts as one already in the library.
    #[arg(long, default_value_t = DEFAULT_DEDUPE_THRESHOLD)]
    pub dedupe_threshold: f32,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub provenance: ProvenanceArgs,
    #[command(flatten)]
    pub guard: GuardArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SortArg {
    Newest,
    Random,
    Diverse,
}

/// Attribute filters shared by search and export.
#[derive(Debug, Clone, Args)]
pub struct FilterArgs {
    /// Estimated age range in years, e.g. 25-35.
    #[arg(long, value_parser = parse_age)]
    pub age: Option<(f32, f32)>,
    /// infant, child, young-adult, adult, elderly.
    #[arg(long, value_parser = parse_band)]
    pub age_band: Option<AgeBand>,
    /// male or female.
    #[arg(long)]
    pub gender: Option<String>,
    /// neutral, happy, sad, angry, fearful, disgusted, surprised.
    #[arg(long)]
    pub expression: Option<String>,
    /// left, frontal or right.
    #[arg(long)]
    pub facing: Option<String>,
    /// Only faces of the model whose SHA-256 starts with these hex digits.
    #[arg(long = "model")]
    pub model_prefix: Option<String>,
}

fn parse_age(s: &str) -> Result<(f32, f32), String> {
    let (lo, hi) = s.split_once('-').unwrap_or((s, s));
    match (lo.trim().parse::<f32>(), hi.trim().parse::<f32>()) {
        (Ok(lo), Ok(hi)) if lo.is_finite() && hi.is_finite() && lo <= hi => Ok((lo, hi)),
        _ => Err("an age range is LOW-HIGH in years, e.g. 25-35".into()),
    }
}

fn parse_band(s: &str) -> Result<AgeBand, String> {
    AgeBand::from_name(s)
        .ok_or_else(|| "one of infant, child, young-adult, adult, elderly".to_string())
}

impl FilterArgs {
    fn query(&self) -> FaceQuery {
        FaceQuery {
            age: self.age,
            age_band: self.age_band,
            gender: self.gender.clone(),
            expression: self.expression.clone(),
            facing: self.facing.clone(),
            model: self.model_prefix.clone(),
            ..FaceQuery::default()
        }
    }
}

#[derive(Debug, Args)]
pub struct SearchArgs {
    #[command(flatten)]
    pub place: LibraryPlace,
    #[command(flatten)]
    pub filter: FilterArgs,
    #[arg(long, value_enum, default_value = "newest")]
    pub sort: SortArg,
    /// Seed of --sort random (the same seed, the same order).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub page: u32,
    #[arg(long, default_value_t = 24, value_parser = clap::value_parser!(u32).range(1..=MAX_PER_PAGE as i64))]
    pub per_page: u32,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct SimilarArgs {
    #[command(flatten)]
    pub place: LibraryPlace,
    /// A photo (its most confident face is used) or a catalogued face id.
    pub query: String,
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    #[arg(long, value_enum, default_value_t)]
    pub device: DeviceKind,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub place: LibraryPlace,
    #[command(flatten)]
    pub filter: FilterArgs,
    /// The zip to write.
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long)]
    pub json: bool,
}

pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the I/O runtime")
}

pub fn run(args: &LibraryArgs) -> Result<()> {
    let rt = runtime()?;
    match &args.action {
        LibraryAction::Init { location, images } => {
            let lib = rt.block_on(Library::init(location, images.as_deref()))?;
            println!(
                "made the library {} (images: {}); fill it with `fauxto library add --library {} --seeds 0-999`",
                lib.location, lib.images.url, lib.location
            );
            Ok(())
        }
        LibraryAction::Add(a) => on_device!(a.device, add(&rt, a)),
        LibraryAction::Search(a) => search(&rt, a),
        LibraryAction::Similar(a) => on_device!(a.device, similar(&rt, a)),
        LibraryAction::Export(a) => export(&rt, a),
        LibraryAction::Stats {
            place,
            chart,
            provenance,
            json,
        } => stats(&rt, place, chart.as_deref(), provenance, *json),
        LibraryAction::Check { place, json } => check(&rt, place, *json),
    }
}

fn add<B: Backend>(device: &B::Device, rt: &tokio::runtime::Runtime, args: &AddArgs) -> Result<()>
where
    B::Device: Send + Sync,
{
    let library = rt.block_on(Library::open(&args.place.library))?;
    let options = AddOptions {
        model: resolve_model(args.model.as_deref())?,
        seeds: args.seeds.0.clone(),
        job: None,
        truncation: args.trunc,
        batch: args.batch as usize,
        range_size: args.range,
        min_score: args.min_score,
        dedupe_threshold: args.dedupe_threshold,
        labels: args.provenance.options(),
        guard: args.guard.options(),
    };
    let bar = progress::bar(args.seeds.0.len() as u64, "faces", args.json);
    let report =
        fauxto_library::add::add::<B>(rt.handle(), &library, device, &options, &|done, _| {
            bar.set_position(done)
        })?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let c = &report.this_run;
        println!(
            "{} job {}: {} outputs in {:.0} s ({:.1}/s): {} catalogued; dropped {} without a \
             face, {} with several, {} weak, {} memorised, {} near duplicates, {} already there",
            if report.resumed { "continued" } else { "ran" },
            report.job,
            c.total(),
            report.seconds,
            report.faces_per_s,
            c.added,
            c.no_face,
            c.several_faces,
            c.weak_detection,
            c.memorised,
            c.near_duplicate,
            c.already_there
        );
        let s = &report.job_status;
        println!(
            "the job has done {} of {} seeds; the library holds {} faces",
            s.done_seeds,
            s.seeds,
            rt.block_on(library.count())?
        );
    }
    Ok(())
}

fn search(rt: &tokio::runtime::Runtime, args: &SearchArgs) -> Result<()> {
    let library = rt.block_on(Library::open(&args.place.library))?;
    let query = FaceQuery {
        sort: match args.sort {
            SortArg::Newest => Sort::Newest,
            SortArg::Random => Sort::Random(args.seed),
            SortArg::Diverse => Sort::Diverse,
        },
        page: args.page,
        per_page: args.per_page,
        ..args.filter.query()
    };
    let page = rt.block_on(query.run(&library.db))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&page)?);
        return Ok(());
    }
    println!(
        "{} faces match; page {} of {}",
        page.total,
        page.page,
        page.total.div_ceil(page.per_page as u64).max(1)
    );
    for f in &page.faces {
        println!(
            "#{:<7} {:>4.0} y  {:<6} {:<9} {:<7} seed {:<10} model {}",
            f.id,
            f.age,
            f.gender,
            f.expression,
            f.facing,
            f.seed,
            &f.model_sha256[..12.min(f.model_sha256.len())]
        );
    }
    Ok(())
}

fn similar<B: Backend>(
    device: &B::Device,
    rt: &tokio::runtime::Runtime,
    args: &SimilarArgs,
) -> Result<()> {
    let library = rt.block_on(Library::open(&args.place.library))?;
    let (descriptor, exclude) = match args.query.parse::<i64>() {
        Ok(id) => {
            let face = rt
                .block_on(library.face(id))?
                .with_context(|| format!("no face #{id} in the library"))?;
            (face.descriptor, Some(id))
        }
        Err(_) => {
            let frame = load_frame(std::path::Path::new(&args.query))?;
            let faces =
                analyzer::<B>(device)?.analyze(&[frame], &fauxto_face::AnalyzeOptions::default());
            let best = faces
                .into_iter()
                .next()
                .and_then(|f| f.into_iter().max_by(|a, b| a.score.total_cmp(&b.score)))
                .with_context(|| format!("no face found in {}", args.query))?;
            (best.descriptor, None)
        }
    };
    let mut index = fauxto_library::DescriptorIndex::default();
    rt.block_on(library.load_descriptors(&mut index))?;
    let found = index.nearest(&descriptor, args.limit as usize, exclude);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&found)?);
    } else {
        for n in &found {
            println!("#{:<7} distance {:.3}", n.id, n.distance);
        }
    }
    Ok(())
}

fn export(rt: &tokio::runtime::Runtime, args: &ExportArgs) -> Result<()> {
    if args
        .out
        .extension()
        .is_none_or(|e| !e.eq_ignore_ascii_case("zip"))
    {
        bail!("{}: the export is a .zip", args.out.display());
    }
    let library = rt.block_on(Library::open(&args.place.library))?;
    let query = FaceQuery {
        page: 1,
        per_page: MAX_PER_PAGE,
        ..args.filter.query()
    };
    let bar = progress::bar(0, "exporting", args.json);
    let report = rt.block_on(library.export(&query, &args.out, &|n| bar.set_position(n)))?;
    bar.finish_and_clear();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "wrote {} faces ({} MB of images) to {}",
            report.faces,
            report.bytes / 1_000_000,
            args.out.display()
        );
    }
    Ok(())
}

fn stats(
    rt: &tokio::runtime::Runtime,
    place: &LibraryPlace,
    chart: Option<&std::path::Path>,
    provenance: &ProvenanceArgs,
    json: bool,
) -> Result<()> {
    let library = rt.block_on(Library::open(&place.library))?;
    let stats = rt.block_on(library.stats())?;
    if let Some(path) = chart {
        write_chart(&stats, path, provenance)?;
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&stats)?);
        return Ok(());
    }
    println!("{} faces", stats.faces);
    for (attribute, counts) in &stats.attributes {
        let parts: Vec<String> = counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        println!("  {attribute}: {}", parts.join(", "));
    }
    for m in &stats.models {
        println!(
            "  model {} ({}…): {} faces; licence: {}",
            m.name,
            &m.sha256[..12.min(m.sha256.len())],
            m.faces,
            m.license
        );
    }
    if let Some(path) = chart {
        println!("chart in {}", path.display());
    }
    Ok(())
}

/// The library's counts as the diversity report's bar charts, one panel per attribute,
/// signed as a data-driven image about the faces of the library's main model.
fn write_chart(
    stats: &fauxto_library::stats::Stats,
    path: &std::path::Path,
    provenance: &ProvenanceArgs,
) -> Result<()> {
    use crate::chart::{self, BarChart, Series};
    let bands: Vec<&str> = AgeBand::ALL.iter().map(|b| b.name()).collect();
    let attributes: [(&str, Vec<&str>); 4] = [
        ("age band", bands),
        ("gender", vec!["male", "female"]),
        ("expression", fauxto_face::dense_net::EXPRESSIONS.to_vec()),
        ("facing", vec!["left", "frontal", "right"]),
    ];
    let total = stats.faces.max(1) as f64;
    let panels: Vec<_> = attributes
        .iter()
        .map(|(name, categories)| {
            let counts = stats.attributes.get(*name);
            let values = categories
                .iter()
                .map(|c| counts.and_then(|m| m.get(*c)).copied().unwrap_or(0) as f64 / total)
                .collect();
            chart::render_bar_chart(
                &BarChart {
                    title: format!("{name} ({} faces)", stats.faces),
                    x_label: name.to_string(),
                    y_label: "fraction of faces".into(),
                    categories: categories.iter().map(|c| c.to_string()).collect(),
                    series: vec![Series {
                        name: "library".into(),
                        values,
                    }],
                },
                720,
                420,
            )
        })
        .collect();
    let main = stats.models.iter().max_by_key(|m| m.faces);
    let facts = fauxto_trust::credentials::Generation {
        model_name: main.map_or_else(String::new, |m| m.name.clone()),
        model_sha256: main.map_or_else(String::new, |m| m.sha256.clone()),
        training_data_root: main.and_then(|m| m.training_data_root.clone()),
        training_data_license: main.map(|m| m.license.clone()),
        ..Default::default()
    };
    let labeller = fauxto_app::labels::Labeller::from_facts(&provenance.options(), facts)?;
    labeller.write(
        &image::DynamicImage::ImageRgb8(chart::panel_grid(&panels, &[], 2)),
        &fauxto_app::labels::Depiction::Chart {
            description: format!(
                "face library statistics: age band, gender, expression and facing of {} faces",
                stats.faces
            ),
        },
        path,
    )?;
    Ok(())
}

fn check(rt: &tokio::runtime::Runtime, place: &LibraryPlace, json: bool) -> Result<()> {
    let library = rt.block_on(Library::open(&place.library))?;
    let report = rt.block_on(library.check())?;
    if json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "{} faces, {} images; {} unfinished seed ranges (holding {} images not yet \
             catalogued)",
            report.faces, report.images, report.unfinished_ranges, report.pending
        );
        for key in &report.missing {
            println!("  missing: {key}");
        }
        for key in &report.orphans {
            println!("  orphan:  {key}");
        }
    }
    if !report.consistent() {
        bail!(
            "the catalogue and the images disagree: {} missing, {} orphans",
            report.missing.len(),
            report.orphans.len()
        );
    }
    Ok(())
}
