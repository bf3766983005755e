//! The dataset tool: a folder or zip of images in, a packed dataset out.
//!
//! Image files (by extension) are taken in sorted path order. Worker threads read, hash,
//! decode, crop and resize them; the results are consumed in that same order, so the
//! output does not depend on the number of threads. Each file is checked in this order:
//! a file that cannot be read is skipped; a file with the same bytes (SHA-256) as an
//! image already taken is a duplicate and left out; a file with no label row (when labels
//! are given), that cannot be decoded, or is not square with [`Crop::None`] is skipped.
//! Skipped files and duplicates are listed, with reasons, in the report and the manifest.
//! Other files (`.csv`, `.txt`, ...) are ignored.
//!
//! The dataset is written into a temporary sibling directory (`.NAME.partial-PID`) and
//! renamed to its final name only when complete, so an interrupted run never leaves a
//! half-written dataset under that name.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::decode::decode_rgb8;
use crate::error::{io, DataError};
use crate::labels::{parse_labels, LabelFile};
use crate::merkle::{hex, merkle_root};
use crate::packed::{
    DatasetHeader, Duplicate, LabelTable, Manifest, ManifestImage, Skipped, DATASET_FILE,
    DATASET_FORMAT, FORMAT_VERSION, IMAGES_FILE, MANIFEST_FILE, MANIFEST_FORMAT,
};
use crate::resize::{square, Crop, Filter};
use crate::source::{is_image_name, Entry, Source, SourceReader};

/// What to build.
#[derive(Debug, Clone)]
pub struct DatasetOptions {
    /// A folder of images (searched recursively) or a zip archive of images.
    pub source: PathBuf,
    /// The dataset directory to create.
    pub out: PathBuf,
    /// Width and height of the packed images: a power of two from 4 to 1024.
    pub resolution: usize,
    /// Label CSV: a file path, or, when no such file exists, the name of an entry of the
    /// source zip (or of a file inside the source folder).
    pub labels: Option<String>,
    /// How non-square images are made square.
    pub crop: Crop,
    /// The resampling filter.
    pub filter: Filter,
    /// Use only the first N usable images (in sorted path order).
    pub max_images: Option<usize>,
    /// The licence recorded in the manifest.
    pub license: String,
    /// Replace an existing dataset at `out` (only a directory that holds a packed dataset,
    /// or an empty one).
    pub force: bool,
    /// Worker threads for decoding and resizing (0: one per core).
    pub threads: usize,
}

/// What was built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildReport {
    /// The dataset directory.
    pub out: String,
    /// Images written.
    pub images: usize,
    /// Width and height of the packed images.
    pub resolution: usize,
    /// Merkle root over the images' SHA-256 (hex).
    pub merkle_root: String,
    /// SHA-256 of the written `manifest.json` (hex), as [`crate::PackedDataset::manifest_digest`]
    /// will report it.
    pub manifest_digest: String,
    /// Label columns, if labels were given.
    pub label_columns: Option<Vec<String>>,
    /// Image files examined (the rest, past `max_images`, were not looked at).
    pub examined: usize,
    /// Images resized with Lanczos although the box filter was asked for (their size
    /// after cropping is not an integer multiple of the resolution).
    pub box_fallbacks: usize,
    /// Files not used, and why, sorted by name.
    pub skipped: Vec<Skipped>,
    /// Files left out as copies of earlier ones.
    pub duplicates: Vec<Duplicate>,
}

/// Progress of a build, reported after each image file examined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Image files examined so far.
    pub done: usize,
    /// Image files to examine.
    pub total: usize,
    /// Images written so far.
    pub written: usize,
}

/// One image file, read and processed by a worker.
struct Processed {
    /// SHA-256 of the file's bytes.
    sha256: [u8; 32],
    /// The packed pixels and whether the box filter fell back to Lanczos, or why the
    /// file cannot be used.
    pixels: Result<(Vec<u8>, bool), String>,
}

/// Everything the in-order consumer accumulates.
#[derive(Default)]
struct Collected {
    images: Vec<ManifestImage>,
    hashes: Vec<[u8; 32]>,
    label_rows: Vec<Vec<f32>>,
    skipped: Vec<Skipped>,
    duplicates: Vec<Duplicate>,
    box_fallbacks: usize,
    examined: usize,
}

/// Builds the dataset described by `opts`, calling `progress` as image files are
/// examined (from the calling thread).
pub fn build_dataset(
    opts: &DatasetOptions,
    progress: &dyn Fn(Progress),
) -> Result<BuildReport, DataError> {
    let res = opts.resolution;
    if !(4..=1024).contains(&res) || !res.is_power_of_two() {
        return Err(DataError::Options(format!(
            "--res {res}: the resolution must be a power of two from 4 to 1024 (e.g. 64, 128, 256)"
        )));
    }
    let source = Source::open(&opts.source)?;
    check_output(opts)?;
    let (entries, refused) = source.entries()?;
    let labels = load_labels(opts, &source, &entries)?;

    let mut collected = Collected {
        skipped: refused,
        ..Default::default()
    };
    let candidates: Vec<Entry> = entries
        .into_iter()
        .filter(|e| is_image_name(&e.name))
        .collect();

    let tmp = TempDir::create(&opts.out)?;
    let images_path = tmp.path.join(IMAGES_FILE);
    let file = File::create(&images_path).map_err(io(&images_path))?;
    let mut writer = BufWriter::with_capacity(1 << 20, file);
    let limit = opts.max_images.unwrap_or(usize::MAX);
    let total = candidates.len();
    let mut seen: HashMap<[u8; 32], String> = HashMap::new();
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    };
    let work = Work {
        source: &source,
        entries: &candidates,
        opts,
        labels: labels.as_ref(),
    };
    process_in_order(&work, threads, |index, result| {
        let c = &mut collected;
        let name = &candidates[index].name;
        c.examined += 1;
        // In this order: unreadable, a copy of an image already taken, unusable, taken.
        let skip = |reason| Skipped {
            name: name.clone(),
            reason,
        };
        match result {
            Err(reason) => c.skipped.push(skip(reason)),
            Ok(p) => match (seen.get(&p.sha256), p.pixels) {
                (Some(first), _) => c.duplicates.push(Duplicate {
                    name: name.clone(),
                    same_as: first.clone(),
                }),
                (None, Err(reason)) => c.skipped.push(skip(reason)),
                (None, Ok((pixels, box_fallback))) => {
                    writer.write_all(&pixels).map_err(io(&images_path))?;
                    seen.insert(p.sha256, name.clone());
                    if let Some(l) = &labels {
                        let row = l.row_for(name).expect("checked by the worker");
                        c.label_rows.push(row.clone());
                    }
                    c.box_fallbacks += usize::from(box_fallback);
                    c.hashes.push(p.sha256);
                    c.images.push(ManifestImage {
                        name: name.clone(),
                        sha256: hex(&p.sha256),
                    });
                }
            },
        }
        progress(Progress {
            done: c.examined,
            total,
            written: c.images.len(),
        });
        Ok(c.images.len() < limit)
    })?;
    let file = writer
        .into_inner()
        .map_err(|e| io(&images_path)(e.into_error()))?;
    file.sync_all().map_err(io(&images_path))?;
    drop(file);

    let Collected {
        images,
        hashes,
        label_rows,
        mut skipped,
        duplicates,
        box_fallbacks,
        examined,
    } = collected;
    skipped.sort_by(|a, b| a.name.cmp(&b.name));
    if images.is_empty() {
        return Err(DataError::Source {
            path: opts.source.display().to_string(),
            message: format!(
                "no usable images ({} image files examined, {} skipped, {} duplicates); \
                 give PNG, JPEG or WebP files",
                examined,
                skipped.len(),
                duplicates.len()
            ),
        });
    }
    let root = hex(&merkle_root(&hashes));
    let label_columns = labels.as_ref().map(|l| l.columns.clone());
    let header = DatasetHeader {
        format: DATASET_FORMAT.into(),
        format_version: FORMAT_VERSION,
        count: images.len(),
        resolution: res,
        channels: 3,
        labels: labels.map(|l| LabelTable {
            columns: l.columns,
            values: label_rows,
        }),
    };
    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        format_version: FORMAT_VERSION,
        source: opts.source.display().to_string(),
        license: opts.license.clone(),
        created: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
        count: images.len(),
        resolution: res,
        merkle_root: root.clone(),
        images,
        skipped,
        duplicates,
    };
    write_json(&tmp.path.join(DATASET_FILE), &header)?;
    let manifest_bytes = write_json(&tmp.path.join(MANIFEST_FILE), &manifest)?;
    tmp.commit(&opts.out)?;
    Ok(BuildReport {
        out: opts.out.display().to_string(),
        images: manifest.count,
        resolution: res,
        merkle_root: root,
        manifest_digest: hex(&Sha256::digest(&manifest_bytes)),
        label_columns,
        examined,
        box_fallbacks,
        skipped: manifest.skipped,
        duplicates: manifest.duplicates,
    })
}

/// What the workers share.
struct Work<'a> {
    source: &'a Source,
    entries: &'a [Entry],
    opts: &'a DatasetOptions,
    labels: Option<&'a LabelFile>,
}

/// Reads and hashes one file, then (if it has a label row, when labels are given)
/// decodes and squares it. Decoder panics (malformed input that trips a decoder bug)
/// become a reason to skip the file, not a crash.
fn process(reader: &mut SourceReader, entry: &Entry, work: &Work) -> Result<Processed, String> {
    let bytes = reader.read(entry)?;
    let sha256: [u8; 32] = Sha256::digest(&bytes).into();
    if work
        .labels
        .is_some_and(|l| l.row_for(&entry.name).is_none())
    {
        return Ok(Processed {
            sha256,
            pixels: Err("no label row".into()),
        });
    }
    let opts = work.opts;
    let pixels = catch_unwind(AssertUnwindSafe(|| {
        let img = decode_rgb8(&bytes)?;
        square(img, opts.resolution as u32, opts.crop, opts.filter)
    }))
    .unwrap_or_else(|_| Err("the decoder failed on this file".into()))
    .map(|s| (s.image.into_raw(), s.box_fallback));
    Ok(Processed { sha256, pixels })
}

enum Message {
    Done(usize, Result<Processed, String>),
    Failed(DataError),
}

/// Processes the work's entries on `threads` workers and hands the results to `consume`
/// in entry order; stops early when `consume` returns `Ok(false)` or an error.
fn process_in_order(
    work: &Work,
    threads: usize,
    mut consume: impl FnMut(usize, Result<Processed, String>) -> Result<bool, DataError>,
) -> Result<(), DataError> {
    let entries = work.entries;
    if entries.is_empty() {
        return Ok(());
    }
    let next = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let threads = threads.clamp(1, entries.len());
    std::thread::scope(|scope| {
        // Bounded: workers run at most a few images ahead of the writer.
        let (tx, rx) = mpsc::sync_channel::<Message>(4 * threads);
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, stop) = (&next, &stop);
            scope.spawn(move || {
                let mut reader = match work.source.reader() {
                    Ok(r) => r,
                    Err(e) => {
                        let _ = tx.send(Message::Failed(e));
                        return;
                    }
                };
                while !stop.load(Ordering::Relaxed) {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(entry) = entries.get(index) else {
                        break;
                    };
                    let result = process(&mut reader, entry, work);
                    if tx.send(Message::Done(index, result)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let outcome = consume_in_order(rx, &mut consume);
        // Dropping the receiver (inside `consume_in_order`) unblocks senders; the flag
        // stops workers between files.
        stop.store(true, Ordering::Relaxed);
        outcome
    })
}

fn consume_in_order(
    rx: mpsc::Receiver<Message>,
    consume: &mut impl FnMut(usize, Result<Processed, String>) -> Result<bool, DataError>,
) -> Result<(), DataError> {
    let mut pending = HashMap::new();
    let mut expected = 0;
    for message in rx {
        match message {
            Message::Failed(e) => return Err(e),
            Message::Done(index, result) => {
                pending.insert(index, result);
                while let Some(result) = pending.remove(&expected) {
                    expected += 1;
                    if !consume(expected - 1, result)? {
                        return Ok(());
                    }
                }
            }
        }
    }
    Ok(())
}

fn load_labels(
    opts: &DatasetOptions,
    source: &Source,
    entries: &[Entry],
) -> Result<Option<LabelFile>, DataError> {
    let Some(name) = &opts.labels else {
        return Ok(None);
    };
    let path = Path::new(name);
    let (text, shown) = if path.is_file() {
        let bytes = std::fs::read(path).map_err(io(path))?;
        (bytes, name.clone())
    } else {
        let wanted = name.trim_start_matches("./");
        let entry = entries.iter().find(|e| e.name == wanted).ok_or_else(|| {
            DataError::Options(format!(
                "--labels {name}: no such file, nor a file of that name in {}",
                opts.source.display()
            ))
        })?;
        let shown = format!("{}:{}", opts.source.display(), entry.name);
        let bytes = source
            .reader()?
            .read(entry)
            .map_err(|message| DataError::Source {
                path: shown.clone(),
                message,
            })?;
        (bytes, shown)
    };
    let text = String::from_utf8(text).map_err(|e| DataError::Labels {
        path: shown.clone(),
        line: 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
        message: "not UTF-8 text".into(),
    })?;
    Ok(Some(parse_labels(&text, &shown)?))
}

/// Refuses an `out` that would overwrite something other than an old dataset.
fn check_output(opts: &DatasetOptions) -> Result<(), DataError> {
    let out = &opts.out;
    let err = |message: String| DataError::Output {
        path: out.display().to_string(),
        message,
    };
    if out.file_name().is_none() {
        return Err(err("give a directory name for --out".into()));
    }
    let Ok(meta) = std::fs::symlink_metadata(out) else {
        return Ok(());
    };
    if !meta.is_dir() {
        return Err(err("already exists and is not a directory".into()));
    }
    let empty = std::fs::read_dir(out).map_err(io(out))?.next().is_none();
    if empty {
        return Ok(());
    }
    if !opts.force {
        return Err(err(
            "already exists; choose another --out or pass --force to replace it".into(),
        ));
    }
    if !out.join(DATASET_FILE).is_file() {
        return Err(err(format!(
            "already exists and holds no {DATASET_FILE}; --force only replaces a packed dataset"
        )));
    }
    if let (Ok(src), Ok(dir)) = (opts.source.canonicalize(), out.canonicalize()) {
        if src.starts_with(&dir) {
            return Err(err("holds the source; it cannot be replaced".into()));
        }
    }
    Ok(())
}

/// Writes pretty JSON, synced to disk; returns the bytes written.
fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<Vec<u8>, DataError> {
    let mut bytes = serde_json::to_vec_pretty(value).expect("dataset metadata serialises");
    bytes.push(b'\n');
    let mut file = File::create(path).map_err(io(path))?;
    file.write_all(&bytes).map_err(io(path))?;
    file.sync_all().map_err(io(path))?;
    Ok(bytes)
}

/// The temporary sibling directory a dataset is written into; removed on drop unless
/// committed.
struct TempDir {
    path: PathBuf,
    committed: bool,
}

impl TempDir {
    fn create(out: &Path) -> Result<Self, DataError> {
        let name = out.file_name().expect("checked").to_string_lossy();
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(io(&parent))?;
        remove_abandoned(&parent, &name);
        let path = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path).map_err(io(&path))?;
        }
        std::fs::create_dir(&path).map_err(io(&path))?;
        Ok(Self {
            path,
            committed: false,
        })
    }

    /// Moves the finished dataset to `out`, replacing what is there (already checked to
    /// be an empty directory or an old dataset).
    fn commit(mut self, out: &Path) -> Result<(), DataError> {
        if std::fs::symlink_metadata(out).is_ok() {
            let old = self.path.with_file_name(format!(
                ".{}.old-{}",
                out.file_name().expect("checked").to_string_lossy(),
                std::process::id()
            ));
            std::fs::rename(out, &old).map_err(io(out))?;
            if let Err(e) = std::fs::rename(&self.path, out) {
                let _ = std::fs::rename(&old, out);
                return Err(io(out)(e));
            }
            std::fs::remove_dir_all(&old).map_err(io(&old))?;
        } else {
            std::fs::rename(&self.path, out).map_err(io(out))?;
        }
        self.committed = true;
        Ok(())
    }
}

/// Removes the partial directories that runs killed before they finished left beside
/// `parent/name` (`.NAME.partial-PID` of a process that no longer runs). Only where a
/// process's liveness can be seen (`/proc`); elsewhere they stay, harmless.
fn remove_abandoned(parent: &Path, name: &str) {
    let proc_fs = Path::new("/proc/self");
    if !proc_fs.exists() {
        return;
    }
    let prefix = format!(".{name}.partial-");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name
            .to_str()
            .and_then(|n| n.strip_prefix(&prefix))
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}
