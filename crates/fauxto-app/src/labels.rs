//! What every image fauxto writes carries: a signed Content Credential that says what it is
//! (a generated image, a composite of generated images, generated faces beside real
//! training photos, real training photos, a chart), naming the model and its training data
//! and licence, and — where it shows generated pixels and is large enough to be read back —
//! the invisible watermark (model tag and seed, see [`crate::payload`]).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};
use fauxto_nn::model_file::ModelFile;
pub use fauxto_trust::credentials::InputPhoto;
use fauxto_trust::credentials::{self, Generation, LocalSigner, Parent, SourceType};
use fauxto_trust::watermark::{self, Key};
use image::{DynamicImage, RgbImage};
use serde::Serialize;

use crate::images::{encode_gif, encode_image, write_bytes};
use crate::keys::{ensure_keys, key_dir};
use crate::payload::MarkPayload;

/// The watermark key used unless one is given: anyone can read marks made with it.
pub const PUBLIC_WATERMARK_KEY: &str = "fauxto-public";

/// How images are labelled.
#[derive(Clone, Debug)]
pub struct LabelOptions {
    /// Sign each image with a Content Credential.
    pub credentials: bool,
    /// Embed the invisible watermark in images with generated pixels.
    pub watermark: bool,
    /// Signing key directory (default: [`key_dir`]'s; made on first use).
    pub keys: Option<PathBuf>,
    /// Watermark key passphrase.
    pub watermark_key: String,
}

impl Default for LabelOptions {
    fn default() -> Self {
        LabelOptions {
            credentials: true,
            watermark: true,
            keys: None,
            watermark_key: PUBLIC_WATERMARK_KEY.into(),
        }
    }
}

/// What an image shows: decides its IPTC digital source type and its watermark.
#[derive(Clone, Debug, PartialEq)]
pub enum Depiction {
    /// The model's image of one seed.
    Seed { seed: u32, class: Option<usize> },
    /// The model's image of one seed, edited in its latent space (`description` says how).
    Edited { seed: u32, description: String },
    /// Several of the model's images in one picture or animation (a grid, a style-mixing
    /// grid, an interpolation, a training snapshot).
    Composite {
        seeds: Vec<u32>,
        class: Option<usize>,
        description: String,
    },
    /// A real person's photo as the model renders it — its projected latent, edited or
    /// not (`description` says how): partly generated, and never a face that does not
    /// exist. The photo is named in the credential by its hash.
    FromPhoto {
        photo: InputPhoto,
        description: String,
    },
    /// Generated images beside real photos of the training data (a memorisation report).
    WithTrainingPhotos {
        seeds: Vec<u32>,
        description: String,
    },
    /// Real photos of the training data only (a training run's `reals` grid).
    TrainingPhotos { description: String },
    /// A chart of measurements about the model.
    Chart { description: String },
}

impl Depiction {
    pub fn source_type(&self) -> SourceType {
        match self {
            Depiction::Seed { .. } | Depiction::Edited { .. } | Depiction::Composite { .. } => {
                SourceType::TrainedAlgorithmicMedia
            }
            Depiction::WithTrainingPhotos { .. } | Depiction::FromPhoto { .. } => {
                SourceType::CompositeWithTrainedAlgorithmicMedia
            }
            Depiction::TrainingPhotos { .. } => SourceType::CompositeCapture,
            Depiction::Chart { .. } => SourceType::DataDrivenMedia,
        }
    }

    /// The watermark payload of this image by the model with SHA-256 `model_sha256`, if it
    /// shows generated pixels.
    pub fn payload(&self, model_sha256: &str) -> Option<MarkPayload> {
        let first = |seeds: &[u32]| seeds.first().copied().unwrap_or(0);
        match self {
            Depiction::Seed { seed, .. } | Depiction::Edited { seed, .. } => {
                Some(MarkPayload::new(model_sha256, *seed, false))
            }
            Depiction::Composite { seeds, .. } | Depiction::WithTrainingPhotos { seeds, .. } => {
                Some(MarkPayload::new(model_sha256, first(seeds), true))
            }
            Depiction::FromPhoto { .. } => Some(MarkPayload::real_photo(model_sha256)),
            Depiction::TrainingPhotos { .. } | Depiction::Chart { .. } => None,
        }
    }

    fn apply(&self, facts: &mut Generation) {
        match self {
            Depiction::Seed { seed, class } => {
                facts.seed = Some(*seed as u64);
                facts.class = *class;
            }
            Depiction::Edited { seed, description } => {
                facts.seed = Some(*seed as u64);
                facts.description = Some(description.clone());
            }
            Depiction::Composite {
                seeds,
                class,
                description,
            } => {
                facts.seeds = seeds.iter().map(|&s| s as u64).collect();
                facts.class = *class;
                facts.description = Some(description.clone());
            }
            Depiction::FromPhoto { photo, description } => {
                facts.photo = Some(photo.clone());
                facts.description = Some(description.clone());
            }
            Depiction::WithTrainingPhotos { seeds, description } => {
                facts.seeds = seeds.iter().map(|&s| s as u64).collect();
                facts.description = Some(description.clone());
            }
            Depiction::TrainingPhotos { description } | Depiction::Chart { description } => {
                facts.description = Some(description.clone());
            }
        }
    }
}

/// What a written image carries.
#[derive(Clone, Debug, Serialize)]
pub struct Labelled {
    pub path: PathBuf,
    /// IPTC digital source type term of its credential.
    pub source: &'static str,
    /// Whether it carries a signed Content Credential.
    pub signed: bool,
    /// The watermark embedded (and read back from the file), if any.
    pub watermark: Option<MarkPayload>,
    /// PSNR of the marked pixels against the unmarked ones, in dB.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watermark_psnr: Option<f64>,
    /// Why an image with generated pixels carries no watermark, if it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unmarked: Option<String>,
}

/// Labels the images of one model.
pub struct Labeller {
    signer: Option<LocalSigner>,
    watermark_key: Option<Key>,
    facts: Generation,
    created_keys: Option<PathBuf>,
    warned_unmarked: AtomicBool,
}

impl Labeller {
    /// A labeller for `model`'s images at truncation `truncation` with noise mode `noise`;
    /// creates a signing identity on first use.
    pub fn new(
        model: &ModelFile,
        options: &LabelOptions,
        truncation: f64,
        noise: &str,
    ) -> Result<Self> {
        let training = model.info.training_data.as_ref();
        Self::from_facts(
            options,
            Generation {
                model_name: model.info.name.clone(),
                model_sha256: model.sha256.clone(),
                training_data_root: training.map(|t| t.manifest_root.clone()),
                training_data_license: training.map(|t| t.license.clone()),
                truncation,
                noise_mode: noise.into(),
                ..Default::default()
            },
        )
    }

    /// A labeller whose credentials state `facts` (for images about a model's outputs made
    /// without the model file at hand, e.g. a library's charts).
    pub fn from_facts(options: &LabelOptions, facts: Generation) -> Result<Self> {
        let mut created_keys = None;
        let signer = if options.credentials {
            let dir = key_dir(options.keys.as_deref());
            if ensure_keys(&dir)? {
                created_keys = Some(dir.clone());
            }
            Some(LocalSigner::from_dir(&dir)?)
        } else {
            None
        };
        Ok(Labeller {
            signer,
            watermark_key: options
                .watermark
                .then(|| Key::from_passphrase(&options.watermark_key)),
            facts,
            created_keys,
            warned_unmarked: AtomicBool::new(false),
        })
    }

    /// The key directory this labeller created a signing identity in, if it did.
    pub fn created_keys(&self) -> Option<&Path> {
        self.created_keys.as_deref()
    }

    /// The encoded file of `img` (by `encode`) with the watermark of `depiction` embedded
    /// and read back from the file itself (decoded as any input image is), when it shows generated pixels and
    /// watermarking is on: the mark is embedded at [`MARK_STRENGTHS`] in turn, faintest
    /// first, until the detector finds its payload in the encoded file. An image too small
    /// for a mark, or one on which even the strongest is not read back, is encoded
    /// unmarked, with the reason.
    fn encode_marked(
        &self,
        img: &RgbImage,
        depiction: &Depiction,
        encode: &dyn Fn(&RgbImage) -> Result<Vec<u8>>,
    ) -> Result<(Vec<u8>, Mark)> {
        let (Some(key), Some(payload)) = (
            &self.watermark_key,
            depiction.payload(&self.facts.model_sha256),
        ) else {
            return Ok((encode(img)?, Mark::default()));
        };
        let mut unmarked = None;
        for psnr in MARK_STRENGTHS {
            let marked = match watermark::embed(img, key, payload.bits(), psnr) {
                Ok(marked) => marked,
                Err(too_small) => {
                    unmarked = Some(too_small.to_string());
                    break;
                }
            };
            let bytes = encode(&marked.image)?;
            let decoded = crate::images::decode_image(&bytes)?.to_rgb8();
            let found = watermark::detect(&decoded, key);
            if found.payload == Some(payload.bits()) && found.format == Some(payload.format()) {
                let mark = Mark {
                    payload: Some(payload),
                    psnr: Some(marked.psnr),
                    unmarked: None,
                };
                return Ok((bytes, mark));
            }
            unmarked = Some(format!(
                "the mark was not read back from the file even at {psnr} dB"
            ));
        }
        let reason = unmarked.expect("at least one strength was tried");
        if !self.warned_unmarked.swap(true, Ordering::Relaxed) {
            tracing::warn!("no watermark: {reason}; the Content Credential still labels it");
        }
        let mark = Mark {
            unmarked: Some(reason),
            ..Mark::default()
        };
        Ok((encode(img)?, mark))
    }

    /// Signs encoded image `bytes` for `path` with the credential of `depiction`.
    fn sign(
        &self,
        bytes: Vec<u8>,
        depiction: &Depiction,
        watermark: Option<&MarkPayload>,
        path: &Path,
        parent: Option<Parent<'_>>,
    ) -> Result<(Vec<u8>, bool)> {
        let Some(signer) = &self.signer else {
            return Ok((bytes, false));
        };
        let mime = credentials::mime_for(path).with_context(|| {
            format!(
                "{}: Content Credentials need .png, .jpg, .webp or .gif",
                path.display()
            )
        })?;
        let mut facts = self.facts.clone();
        depiction.apply(&mut facts);
        facts.watermark = watermark.map(|p| p.bits().to_hex());
        let source = depiction.source_type();
        let signed = credentials::sign_generated_from(&bytes, mime, source, &facts, parent, signer)
            .with_context(|| format!("signing {}", path.display()))?;
        Ok((signed, true))
    }

    /// The labelled file contents of `img` for `path` (format by its extension).
    pub fn encode(
        &self,
        img: &DynamicImage,
        depiction: &Depiction,
        path: &Path,
    ) -> Result<(Vec<u8>, Labelled)> {
        self.encode_from(img, depiction, path, None)
    }

    /// [`Labeller::encode`] for an image derived from a labelled original (a smaller copy):
    /// its credential names the original, with the original's credential, as its parent.
    pub fn encode_from(
        &self,
        img: &DynamicImage,
        depiction: &Depiction,
        path: &Path,
        parent: Option<Parent<'_>>,
    ) -> Result<(Vec<u8>, Labelled)> {
        let rgb = img.to_rgb8();
        let encode = |marked: &RgbImage| match img {
            // Grey images stay grey when no mark changes them.
            DynamicImage::ImageLuma8(_) if *marked == rgb => encode_image(img, path),
            _ => encode_image(&DynamicImage::ImageRgb8(marked.clone()), path),
        };
        let (bytes, mark) = self.encode_marked(&rgb, depiction, &encode)?;
        let (bytes, signed) = self.sign(bytes, depiction, mark.payload.as_ref(), path, parent)?;
        Ok((bytes, self.labelled(path, depiction, signed, mark)))
    }

    fn labelled(&self, path: &Path, depiction: &Depiction, signed: bool, mark: Mark) -> Labelled {
        Labelled {
            path: path.into(),
            source: depiction.source_type().term(),
            signed,
            watermark: mark.payload,
            watermark_psnr: mark.psnr,
            unmarked: mark.unmarked,
        }
    }

    /// Marks, encodes (by `path`'s extension), signs and writes one image atomically.
    pub fn write(
        &self,
        img: &DynamicImage,
        depiction: &Depiction,
        path: &Path,
    ) -> Result<Labelled> {
        let (bytes, labelled) = self.encode(img, depiction, path)?;
        write_bytes(path, &bytes)?;
        Ok(labelled)
    }

    /// Marks every frame, encodes them as a GIF animation at `fps`, signs and writes it.
    /// Every frame is marked at the strength at which the first frame's mark is read back
    /// from the GIF (palette quantization included).
    pub fn write_animation(
        &self,
        frames: &[RgbImage],
        fps: u32,
        depiction: &Depiction,
        path: &Path,
    ) -> Result<Labelled> {
        let Some(first) = frames.first() else {
            anyhow::bail!("an animation needs at least one frame");
        };
        let key = self.watermark_key.as_ref();
        let payload = depiction.payload(&self.facts.model_sha256);
        // The strength is chosen on the first frame, encoded alone as a GIF.
        let encode_one = |rgb: &RgbImage| encode_gif(std::slice::from_ref(rgb), fps);
        let (_, mark) = self.encode_marked(first, depiction, &encode_one)?;
        let marked: Vec<RgbImage> = match (key, payload, mark.psnr) {
            (Some(key), Some(payload), Some(psnr)) => frames
                .iter()
                .map(|f| {
                    watermark::embed(f, key, payload.bits(), psnr)
                        .map(|m| m.image)
                        .unwrap_or_else(|_| f.clone())
                })
                .collect(),
            _ => frames.to_vec(),
        };
        let bytes = encode_gif(&marked, fps)?;
        let (bytes, signed) = self.sign(bytes, depiction, mark.payload.as_ref(), path, None)?;
        write_bytes(path, &bytes)?;
        Ok(self.labelled(path, depiction, signed, mark))
    }
}

/// The watermark strengths tried, as PSNR of the marked image in dB: the default first,
/// then stronger ones for images on which it is not read back (noise-like textures, such as
/// an untrained generator's, need more than faces do).
pub const MARK_STRENGTHS: [f64; 4] = [watermark::DEFAULT_PSNR, 36.0, 34.0, 32.0];

/// What marking an image did.
#[derive(Clone, Debug, Default)]
struct Mark {
    payload: Option<MarkPayload>,
    psnr: Option<f64>,
    unmarked: Option<String>,
}
