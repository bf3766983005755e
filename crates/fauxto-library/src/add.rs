//! `library add`: generate, analyse and catalogue faces, as a resumable job that any
//! number of workers share (see `jobs`). Generation and analysis overlap: one thread
//! renders the next batch while this one analyses the last. An output is catalogued when it
//! shows exactly one clearly detected face, the memorisation guard passes it, and no face
//! already in the library (or caught earlier in the same range) shows the same identity.

use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;

use anyhow::{bail, Context, Result};
use burn::tensor::backend::Backend;
use fauxto_app::guard::{frame_of, Guard, GuardOptions};
use fauxto_app::labels::{Depiction, LabelOptions, Labeller};
use fauxto_app::render::Renderer;
use fauxto_face::{AnalyzeOptions, Face, FaceAnalyzer};
use fauxto_nn::model_file::ModelFile;
use fauxto_nn::{NoiseMode, Truncation};
use fauxto_trust::credentials::Parent;
use image::{imageops::FilterType, DynamicImage};
use serde::Serialize;
use tokio::runtime::Handle;

use crate::entry::FaceEntry;
use crate::jobs::{worker_name, Counts, JobStatus, Range};
use crate::library::{insert_face, Library, ModelRecord};
use crate::similar::DescriptorIndex;
use crate::store::ImageStore;

/// Descriptor distance under which two faces count as the same person for the library's
/// "many different people" rule: the memorisation guard's threshold, calibrated for
/// searching tens of thousands of faces (face-api's one-to-one 0.6 matches nearly every
/// face among thousands).
pub const DEFAULT_DEDUPE_THRESHOLD: f32 = fauxto_face::DEFAULT_THRESHOLD;
/// Detector confidence below which a face is too weak to catalogue.
pub const DEFAULT_MIN_SCORE: f32 = 0.7;
/// Gallery sizes kept below an image's own size.
pub const GALLERY_SIZES: [u32; 2] = [256, 128];

/// What to add.
#[derive(Clone, Debug)]
pub struct AddOptions {
    pub model: PathBuf,
    pub seeds: Vec<u32>,
    pub truncation: f64,
    /// Images per forward pass.
    pub batch: usize,
    /// Seeds per claimed range.
    pub range_size: u32,
    pub min_score: f32,
    pub dedupe_threshold: f32,
    pub labels: LabelOptions,
    pub guard: GuardOptions,
    /// Continue this job (made by [`open_job`]) instead of the job of the seeds above.
    pub job: Option<i64>,
}

/// What a run did.
#[derive(Clone, Debug, Serialize)]
pub struct AddReport {
    pub job: i64,
    /// The run continued an unfinished job of the same seeds.
    pub resumed: bool,
    /// What this process catalogued and dropped.
    pub this_run: Counts,
    pub job_status: JobStatus,
    pub seconds: f64,
    pub faces_per_s: f64,
}

/// The verdict on one output.
enum Outcome {
    Add(Box<FaceEntry>, DynamicImage),
    Drop(fn(&mut Counts)),
}

/// Stored sizes of a face image of side `own`: its own, then the gallery sizes below it.
pub fn sizes_for(own: u32) -> Vec<u32> {
    std::iter::once(own)
        .chain(GALLERY_SIZES.into_iter().filter(|&s| s < own))
        .collect()
}

/// Runs `options` on `library` until no range of the job is left to claim; `progress` hears
/// (seeds done by this run, seeds of the job).
pub fn add<B: Backend>(
    rt: &Handle,
    library: &Library,
    device: &B::Device,
    options: &AddOptions,
    progress: &(dyn Fn(u64, u64) + Sync),
) -> Result<AddReport>
where
    B::Device: Send + Sync,
{
    let started = std::time::Instant::now();
    let model = ModelFile::load(&options.model)
        .with_context(|| format!("cannot load model {}", options.model.display()))?;
    if model.info.generator.c_dim > 0 {
        bail!("the library holds faces of unconditional models");
    }
    let (job, resumed) = match options.job {
        Some(id) => {
            let record = rt
                .block_on(library.job(id))?
                .with_context(|| format!("no job #{id}"))?;
            if record.model_sha256 != model.sha256 {
                bail!(
                    "job #{id} adds faces of model {}, not of {}",
                    &record.model_sha256[..12],
                    options.model.display()
                );
            }
            (id, true)
        }
        None => rt.block_on(open_job(
            library,
            &ModelRecord::of(&model),
            &options.model,
            options.truncation,
            &options.seeds,
            options.range_size,
        ))?,
    };
    let labeller = Labeller::new(&model, &options.labels, options.truncation, "const")?;
    let guard = Guard::<B>::resolve(device, &options.guard, &model)?;
    let analyzer = FaceAnalyzer::<B>::embedded(device).context("cannot load the face networks")?;
    let renderer = Renderer::<B>::new(&model, device)?;
    let mut index = DescriptorIndex::default();
    rt.block_on(library.load_descriptors(&mut index))?;
    let worker = worker_name();
    let mut this_run = Counts::default();
    // The bar starts where the job stands (a resumed job has done part of its seeds).
    let status = rt.block_on(library.job_status(job))?;
    let (mut done, total) = (status.done_seeds, status.seeds);
    let ctx = RangeContext {
        rt,
        library,
        options,
        model: &model,
        labeller: &labeller,
        guard: guard.as_ref(),
        analyzer: &analyzer,
        renderer: &renderer,
        worker: &worker,
    };
    while let Some(range) = rt.block_on(library.claim_range(job, &worker))? {
        if range.catalogued {
            // A worker stopped between cataloguing this range and sweeping it.
            ctx.sweep(&range)?;
        } else if let Some(counts) = ctx.run(&range, &mut index)? {
            this_run.add(&counts);
        }
        done += range.seeds().count() as u64;
        progress(done, total);
    }
    let job_status = rt.block_on(library.job_status(job))?;
    rt.block_on(library.analyze())?;
    let seconds = started.elapsed().as_secs_f64();
    Ok(AddReport {
        job,
        resumed,
        this_run,
        job_status,
        seconds,
        faces_per_s: this_run.total() as f64 / seconds.max(1e-9),
    })
}

/// Registers `model` (its file at `path`) in the library and returns the unfinished job of
/// the same seeds and truncation, or a new one split into ranges of `range_size` seeds
/// (true when it continues an existing job).
pub async fn open_job(
    library: &Library,
    model: &ModelRecord,
    path: &Path,
    truncation: f64,
    seeds: &[u32],
    range_size: u32,
) -> Result<(i64, bool)> {
    library.register(model).await?;
    let job_options = serde_json::json!({ "truncation": truncation });
    library
        .job_for(
            &model.sha256,
            &path.display().to_string(),
            &job_options,
            &crate::jobs::describe_seeds(seeds),
            seeds,
            range_size,
        )
        .await
}

struct RangeContext<'a, B: Backend> {
    rt: &'a Handle,
    library: &'a Library,
    options: &'a AddOptions,
    model: &'a ModelFile,
    labeller: &'a Labeller,
    guard: Option<&'a Guard<B>>,
    analyzer: &'a FaceAnalyzer<B>,
    renderer: &'a Renderer<B>,
    worker: &'a str,
}

impl<B: Backend> RangeContext<'_, B> {
    /// Renders, analyses, stores and catalogues one range.
    /// `None` when another worker took the range over (this one was too slow to keep its
    /// claim): the range is theirs, and this worker moves on.
    fn run(&self, range: &Range, index: &mut DescriptorIndex) -> Result<Option<Counts>> {
        let sha = &self.model.sha256;
        let psi = self.options.truncation;
        let there = self
            .rt
            .block_on(self.library.catalogued_seeds(sha, psi, range))?;
        let seeds: Vec<u32> = range.seeds().filter(|s| !there.contains(s)).collect();
        let truncation = Truncation { psi, cutoff: None };
        let mut counts = Counts {
            already_there: there.len() as u64,
            ..Counts::default()
        };
        let mut accepted: Vec<FaceEntry> = Vec::new();
        let batch = self.options.batch.max(1);
        let renderer = self.renderer;
        let kept_claim = std::thread::scope(|scope| -> Result<bool> {
            // The renderer works one batch ahead of the analysis.
            let (tx, rx) = sync_channel::<Result<(Vec<u32>, Vec<DynamicImage>)>>(1);
            scope.spawn(move || {
                for chunk in seeds.chunks(batch) {
                    let images = renderer.render(chunk, truncation, NoiseMode::Const, None);
                    if tx.send(images.map(|i| (chunk.to_vec(), i))).is_err() {
                        break;
                    }
                }
            });
            for message in rx {
                let (chunk, images) = message?;
                for outcome in self.judge(&chunk, images, index, &accepted) {
                    match outcome {
                        // Labelled and stored while the renderer works on the next batch.
                        Outcome::Add(mut entry, image) => {
                            self.store(&mut entry, &image)?;
                            accepted.push(*entry);
                        }
                        Outcome::Drop(count) => count(&mut counts),
                    }
                }
                if !self
                    .rt
                    .block_on(self.library.heartbeat(range, self.worker))?
                {
                    return Ok(false);
                }
            }
            Ok(true)
        })?;
        if !kept_claim {
            tracing::warn!(
                "seeds {}-{} were taken over by another worker",
                range.first,
                range.last
            );
            return Ok(None);
        }
        let Some(counts) = self.rt.block_on(complete_range(
            self.library,
            range,
            self.worker,
            accepted,
            counts,
            self.options.dedupe_threshold,
            index,
        ))?
        else {
            tracing::warn!(
                "seeds {}-{} were taken over by another worker",
                range.first,
                range.last
            );
            return Ok(None);
        };
        self.sweep(range)?;
        Ok(Some(counts))
    }

    /// No orphans: deletes the images of every seed of the range that is not catalogued
    /// (outputs dropped at the last check, and any a killed worker stored before it could
    /// catalogue them), then marks the range done.
    fn sweep(&self, range: &Range) -> Result<()> {
        let (sha, psi) = (&self.model.sha256, self.options.truncation);
        let catalogued = self
            .rt
            .block_on(self.library.catalogued_seeds(sha, psi, range))?;
        let own = self.model.info.generator.img_resolution as u32;
        for seed in range.seeds().filter(|s| !catalogued.contains(s)) {
            for size in sizes_for(own) {
                let key = ImageStore::key(sha, psi, seed, size);
                self.rt.block_on(self.library.images.delete(&key))?;
            }
        }
        if !self
            .rt
            .block_on(self.library.finish_range(range, self.worker))?
        {
            tracing::warn!(
                "seeds {}-{} were taken over by another worker",
                range.first,
                range.last
            );
        }
        Ok(())
    }

    /// The verdict on each image of one batch.
    fn judge(
        &self,
        seeds: &[u32],
        images: Vec<DynamicImage>,
        index: &DescriptorIndex,
        accepted: &[FaceEntry],
    ) -> Vec<Outcome> {
        let frames: Vec<_> = images.iter().map(frame_of).collect();
        let faces = self.analyzer.analyze(&frames, &AnalyzeOptions::default());
        let verdicts = self.guard.map(|g| g.check(&images));
        let threshold = self.options.dedupe_threshold;
        let mut out = Vec::with_capacity(images.len());
        let mut taken: Vec<Vec<f32>> = accepted.iter().map(|e| e.descriptor.clone()).collect();
        for (i, (image, found)) in images.into_iter().zip(faces).enumerate() {
            let detected: Vec<&Face> = found.iter().filter(|f| f.detected).collect();
            let outcome = match detected.as_slice() {
                [] => Outcome::Drop(|c| c.no_face += 1),
                [_, _, ..] => Outcome::Drop(|c| c.several_faces += 1),
                [face] if (face.score as f32) < self.options.min_score => {
                    Outcome::Drop(|c| c.weak_detection += 1)
                }
                _ if verdicts
                    .as_ref()
                    .is_some_and(|v| v[i].reproduces_training_face) =>
                {
                    Outcome::Drop(|c| c.memorised += 1)
                }
                [face] => {
                    let near = index.any_within(&face.descriptor, threshold).is_some()
                        || taken.iter().any(|t| {
                            crate::similar::squared_distance(t, &face.descriptor)
                                < threshold * threshold
                        });
                    if near {
                        Outcome::Drop(|c| c.near_duplicate += 1)
                    } else {
                        taken.push(face.descriptor.clone());
                        let entry = FaceEntry::from_face(
                            &self.model.sha256,
                            seeds[i],
                            self.options.truncation,
                            face,
                        );
                        Outcome::Add(Box::new(entry), image)
                    }
                }
            };
            out.push(outcome);
        }
        out
    }

    /// Writes a face's labelled images at each of its sizes.
    fn store(&self, entry: &mut FaceEntry, image: &DynamicImage) -> Result<()> {
        let depiction = Depiction::Seed {
            seed: entry.seed,
            class: None,
        };
        entry.sizes = sizes_for(image.width());
        let (sha, psi, seed) = (entry.model_sha256.clone(), entry.truncation, entry.seed);
        let files = labelled_sizes(self.labeller, image, &depiction, &entry.sizes, |size| {
            ImageStore::key(&sha, psi, seed, size)
        })?;
        entry.watermark = files.watermark;
        // The original last: a face's own-size image present means its copies are too.
        for (key, bytes) in files.files.into_iter().rev() {
            self.rt.block_on(self.library.images.put(&key, bytes))?;
        }
        Ok(())
    }
}

/// A face's labelled image files, by store key, its own size first.
pub struct SizedFiles {
    pub files: Vec<(String, Vec<u8>)>,
    /// The watermark payload of the original (12 hex digits).
    pub watermark: Option<String>,
}

/// Labels `image` at each of `sizes` (its own first): the original as generated, and each
/// smaller copy with a credential that names the original (with its credential) as its
/// parent, so that a gallery copy leads back to the signed original.
pub fn labelled_sizes(
    labeller: &Labeller,
    image: &DynamicImage,
    depiction: &Depiction,
    sizes: &[u32],
    key_of: impl Fn(u32) -> String,
) -> Result<SizedFiles> {
    let own = key_of(image.width());
    let (original, labelled) = labeller.encode(image, depiction, Path::new(&own))?;
    let watermark = labelled.watermark.map(|p| p.bits().to_hex());
    let mut files = vec![(own, original)];
    for &size in sizes.iter().filter(|&&s| s != image.width()) {
        let scaled = image.resize_exact(size, size, FilterType::Lanczos3);
        let derivation = format!("resized to {size}×{size} for the library's gallery");
        let parent = Parent {
            bytes: &files[0].1,
            mime: "image/png",
            derivation: &derivation,
        };
        let key = key_of(size);
        let (bytes, _) = labeller.encode_from(&scaled, depiction, Path::new(&key), Some(parent))?;
        files.push((key, bytes));
    }
    Ok(SizedFiles { files, watermark })
}

/// Catalogues a range's faces and marks it catalogued, in one transaction that first
/// re-checks the claim and the faces catalogued meanwhile by other workers (near duplicates
/// among them are dropped); returns the range's counts, or `None` when the claim was lost.
async fn complete_range(
    library: &Library,
    range: &Range,
    worker: &str,
    faces: Vec<FaceEntry>,
    mut counts: Counts,
    threshold: f32,
    index: &mut DescriptorIndex,
) -> Result<Option<Counts>> {
    let mut tx = library.db.pool.begin().await?;
    // The first statement writes, so SQLite takes its write lock now and commits are
    // serialised; PostgreSQL serialises them with an advisory lock.
    let claimed = sqlx::query(
        "UPDATE ranges SET heartbeat = $1 WHERE id = $2 AND worker = $3 AND state = 'claimed'",
    )
    .bind(crate::jobs::now_secs())
    .bind(range.id)
    .bind(worker.to_string())
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() != 1 {
        return Ok(None);
    }
    if library.db.backend == crate::db::Backend::Postgres {
        sqlx::query("SELECT pg_advisory_xact_lock(7458270)")
            .execute(&mut *tx)
            .await?;
    }
    // Faces other workers catalogued since this one last looked.
    let rows = sqlx::query("SELECT id, descriptor FROM faces WHERE id > $1 ORDER BY id")
        .bind(index.last_id())
        .fetch_all(&mut *tx)
        .await?;
    use sqlx::Row;
    for row in rows {
        let bytes: Vec<u8> = row.try_get(1)?;
        if let Some(d) = crate::entry::descriptor_from_bytes(&bytes) {
            index.push(row.try_get(0)?, &d);
        }
    }
    for face in faces {
        if index.any_within(&face.descriptor, threshold).is_some() {
            counts.near_duplicate += 1;
            continue;
        }
        match insert_face(&mut tx, &face).await? {
            Some(id) => {
                counts.added += 1;
                index.push(id, &face.descriptor);
            }
            None => counts.already_there += 1,
        }
    }
    sqlx::query(
        "UPDATE ranges SET state = 'catalogued', added = $1, no_face = $2, several_faces = $3, \
         weak_detection = $4, memorised = $5, near_duplicate = $6, already_there = $7 \
         WHERE id = $8",
    )
    .bind(counts.added as i64)
    .bind(counts.no_face as i64)
    .bind(counts.several_faces as i64)
    .bind(counts.weak_detection as i64)
    .bind(counts.memorised as i64)
    .bind(counts.near_duplicate as i64)
    .bind(counts.already_there as i64)
    .bind(range.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Some(counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gallery_copies_are_labelled_and_name_the_original_as_parent() {
        use fauxto_trust::credentials::{verify, Generation, TRAINED_ALGORITHMIC_MEDIA};
        let keys = std::env::temp_dir().join(format!("fauxto-sized-keys-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&keys);
        let options = LabelOptions {
            keys: Some(keys.clone()),
            ..LabelOptions::default()
        };
        let facts = Generation {
            model_name: "test".into(),
            model_sha256: "ab".repeat(32),
            truncation: 1.0,
            noise_mode: "const".into(),
            ..Default::default()
        };
        let labeller = Labeller::from_facts(&options, facts).unwrap();
        // A textured 256² image: something a watermark can hide in.
        let image = DynamicImage::ImageRgb8(image::RgbImage::from_fn(256, 256, |x, y| {
            let v = |k: u32| ((x * k + y * (k + 3)) % 251) as u8;
            image::Rgb([v(7), v(11), v(13)])
        }));
        let depiction = Depiction::Seed {
            seed: 7,
            class: None,
        };
        let sizes = sizes_for(256);
        let files = labelled_sizes(&labeller, &image, &depiction, &sizes, |s| {
            format!("f-{s}.png")
        })
        .unwrap();
        let keys_written: Vec<&str> = files.files.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys_written, ["f-256.png", "f-128.png"]);
        assert!(files.watermark.is_some());
        let original = verify(&files.files[0].1, "image/png", None).unwrap();
        let copy = verify(&files.files[1].1, "image/png", None).unwrap();
        assert_eq!(
            (original.state.as_str(), copy.state.as_str()),
            ("valid", "valid")
        );
        assert_eq!(
            copy.digital_source_type.as_deref(),
            Some(TRAINED_ALGORITHMIC_MEDIA)
        );
        assert!(original.parent_manifest.is_none());
        assert_eq!(copy.parent_manifest, original.manifest);
        let decoded = image::load_from_memory(&files.files[1].1).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (128, 128));
        let _ = std::fs::remove_dir_all(&keys);
    }

    #[test]
    fn gallery_sizes_are_below_the_image_size() {
        assert_eq!(sizes_for(64), [64]);
        assert_eq!(sizes_for(256), [256, 128]);
        assert_eq!(sizes_for(1024), [1024, 256, 128]);
    }
}
