//! A detector for GAN-generated images: the third signal of `verify`, after the Content
//! Credential and the watermark, and the only one that survives both being stripped.
//!
//! A small CNN (see `network`) trained from scratch on real photographs against the images
//! of StyleGAN2-family generators, under the blur and JPEG augmentation of Wang et al. 2020
//! (see `augment`), outputs the probability that an image was generated; a threshold
//! calibrated on held-out images for few false alarms turns it into words. One trained on
//! fauxto's own outputs ships inside the binary ([`GanDetector::embedded`]). Like every such
//! detector it knows the generator family it was trained on: "no sign of generation" is not
//! proof that an image is a photograph.

mod augment;
mod input;
mod network;
mod score;
mod train;

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;

use burn::tensor::activation::sigmoid;
use burn::tensor::backend::Backend;
use image::RgbImage;
use serde::Serialize;

pub use augment::{centred_square, Attack, Augmentation};
pub use input::INPUT_CHANNELS;
pub use network::DetectorNet;
pub use score::{at_threshold, average_precision, calibrate, AtThreshold, Scored};
pub use train::{add_thumbnail, train, Examples, TrainOptions, Validation};

/// The detector trained on fauxto's demo model and UTKFace (see its `about` metadata).
const EMBEDDED: &[u8] =
    include_bytes!("../../../../assets/detector/fauxto-gan-detector.safetensors");

/// Images per forward pass.
const BATCH: usize = 64;

/// Larger images are judged on their centred crop of at most this side: the network was
/// trained on faces of 32–128 pixels, and a crop (unlike a resize) keeps the pixel-level
/// traces it looks for.
pub const MAX_SIDE: u32 = 256;

/// A detector file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum DetectorError {
    #[error("cannot read the detector file {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("not a fauxto GAN-image detector: {0}")]
    Format(String),
}

/// A detector on burn's CPU backend.
pub type CpuDetector = GanDetector<burn::backend::Flex>;

/// Images whose shorter side is at least this many pixels (twice the training size) are
/// also judged at half their size (see [`GanDetector::probabilities`]).
pub const PYRAMID_SIDE: u32 = 2 * SMALL_SIDE;

/// Images whose shorter side is under this many pixels (thumbnails, shrunk copies) are
/// judged by the thumbnail network when the file has one, and against their own calibrated
/// threshold: a shrink blurs away most of the up-sampling trace the main network reads.
pub const SMALL_SIDE: u32 = 64;

/// A trained detector: the networks and their calibrated thresholds.
#[derive(Debug)]
pub struct GanDetector<B: Backend> {
    net: DetectorNet<B>,
    /// The network for images smaller than [`SMALL_SIDE`]: the main network trained further
    /// on shrunk images only (files without one judge every size with the main network).
    thumbnail: Option<DetectorNet<B>>,
    /// Probabilities at or above it read as "probably generated".
    pub threshold: f32,
    /// The threshold for images smaller than [`SMALL_SIDE`], when calibrated (files
    /// written before it existed use [`threshold`](Self::threshold) for every size).
    pub small_threshold: Option<f32>,
    /// What it was trained on and how it scored (JSON), carried in the file.
    pub about: String,
}

impl<B: Backend> GanDetector<B> {
    pub fn new(net: DetectorNet<B>, threshold: f32) -> Self {
        GanDetector {
            net,
            thumbnail: None,
            threshold,
            small_threshold: None,
            about: String::new(),
        }
    }

    /// The detector with `thumbnail` judging images smaller than [`SMALL_SIDE`].
    pub fn with_thumbnail(mut self, thumbnail: DetectorNet<B>) -> Self {
        self.thumbnail = Some(thumbnail);
        self
    }

    /// Whether images smaller than [`SMALL_SIDE`] have a network of their own.
    pub fn has_thumbnail_network(&self) -> bool {
        self.thumbnail.is_some()
    }

    /// The detector that ships with fauxto.
    pub fn embedded(device: &B::Device) -> Self {
        Self::from_bytes(EMBEDDED, device).expect("the embedded detector is valid")
    }

    /// A detector file (safetensors, as [`to_bytes`](Self::to_bytes) writes).
    pub fn load(path: &Path, device: &B::Device) -> Result<Self, DetectorError> {
        let bytes = std::fs::read(path).map_err(|source| DetectorError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_bytes(&bytes, device)
    }

    pub fn from_bytes(bytes: &[u8], device: &B::Device) -> Result<Self, DetectorError> {
        let (_, meta) = safetensors::SafeTensors::read_metadata(bytes)
            .map_err(|e| DetectorError::Format(format!("not a safetensors file: {e}")))?;
        let card: Card = meta
            .metadata()
            .as_ref()
            .and_then(|m| m.get(CARD_KEY))
            .and_then(|c| serde_json::from_str(c).ok())
            .ok_or_else(|| DetectorError::Format(format!("its metadata lacks {CARD_KEY}")))?;
        let finite = card.threshold.is_finite() && card.small_threshold.is_none_or(f32::is_finite);
        if !(VERSION..=THUMBNAIL_VERSION).contains(&card.version) || !finite {
            return Err(DetectorError::Format(format!(
                "version {} with threshold {} (this fauxto reads versions {VERSION} and \
                 {THUMBNAIL_VERSION})",
                card.version, card.threshold
            )));
        }
        let st = safetensors::SafeTensors::deserialize(bytes)
            .map_err(|e| DetectorError::Format(format!("not a safetensors file: {e}")))?;
        let thumbnail = (card.version == THUMBNAIL_VERSION)
            .then(|| DetectorNet::from_named(&st, THUMBNAIL_PREFIX, device))
            .transpose()?;
        Ok(GanDetector {
            net: DetectorNet::from_named(&st, "", device)?,
            thumbnail,
            threshold: card.threshold,
            small_threshold: card.small_threshold,
            about: card.about,
        })
    }

    /// The detector as a file.
    pub fn to_bytes(&self) -> Vec<u8> {
        // One metadata entry, so that the file's bytes do not depend on a map's order.
        let version = match self.thumbnail {
            Some(_) => THUMBNAIL_VERSION,
            None => VERSION,
        };
        let card = Card {
            version,
            threshold: self.threshold,
            small_threshold: self.small_threshold,
            about: self.about.clone(),
        };
        let card = serde_json::to_string(&card).expect("serialisable");
        let metadata = HashMap::from([(CARD_KEY.to_string(), card)]);
        let mut tensors = self.net.tensors("");
        if let Some(thumbnail) = &self.thumbnail {
            tensors.extend(thumbnail.tensors(THUMBNAIL_PREFIX));
        }
        network::serialize(tensors, metadata)
    }

    /// The probability that each image was generated, in order. Images of one size are
    /// judged together; larger ones on their centred crop of [`MAX_SIDE`]. An image of at
    /// least [`PYRAMID_SIDE`] pixels is judged at its own size and at half of it, and the
    /// higher probability counts: a generator leaves its traces at the pixel scale of its
    /// own output, and an image enlarged after it was generated (a 64x64 face shown at
    /// 128x128) carries them at twice that scale, which the half-size view brings back.
    /// Images smaller than [`SMALL_SIDE`] go to the thumbnail network when there is one.
    pub fn probabilities(&self, images: &[&RgbImage]) -> Vec<f32> {
        let device = self.net.head.weight.device();
        // (which image, a view of it the network reads)
        let mut views: Vec<(usize, Cow<RgbImage>)> = Vec::with_capacity(images.len());
        for (i, img) in images.iter().enumerate() {
            let view = centre_crop(img, MAX_SIDE);
            if view.width().min(view.height()) >= PYRAMID_SIDE {
                views.push((i, Cow::Owned(augment::resize(&view, 0.5))));
            }
            views.push((i, view));
        }
        let mut order: Vec<usize> = (0..views.len()).collect();
        order.sort_by_key(|&v| views[v].1.dimensions());
        let mut out = vec![0f32; images.len()];
        for group in order.chunk_by(|&a, &b| views[a].1.dimensions() == views[b].1.dimensions()) {
            for chunk in group.chunks(BATCH) {
                let batch: Vec<&RgbImage> = chunk.iter().map(|&v| views[v].1.as_ref()).collect();
                let net = self.network_for(batch[0].dimensions());
                let p = sigmoid(net.forward(input::batch::<B, _>(&batch, &device)));
                let p = p.into_data().to_vec::<f32>().expect("f32 output");
                for (&v, p) in chunk.iter().zip(p) {
                    let i = views[v].0;
                    out[i] = out[i].max(p);
                }
            }
        }
        out
    }

    /// The network that reads an image of `width` x `height`.
    fn network_for(&self, (width, height): (u32, u32)) -> &DetectorNet<B> {
        match &self.thumbnail {
            Some(thumbnail) if width.min(height) < SMALL_SIDE => thumbnail,
            _ => &self.net,
        }
    }

    /// The calibrated threshold for an image of `width` x `height`.
    pub fn threshold_for(&self, (width, height): (u32, u32)) -> f32 {
        match self.small_threshold {
            Some(small) if width.min(height) < SMALL_SIDE => small,
            _ => self.threshold,
        }
    }

    /// The verdict on one image.
    pub fn judge(&self, img: &RgbImage) -> Verdict {
        let probability = self.probabilities(&[img])[0];
        let threshold = self.threshold_for(img.dimensions());
        Verdict {
            probability,
            threshold,
            generated: probability >= threshold,
        }
    }

    /// The probabilities the detector gives `examples`' images, labelled.
    pub fn score(&self, examples: &Examples) -> Vec<Scored> {
        let (images, labels): (Vec<&RgbImage>, Vec<bool>) = examples.labelled().unzip();
        self.probabilities(&images)
            .into_iter()
            .zip(labels)
            .map(|(probability, generated)| Scored {
                probability,
                generated,
            })
            .collect()
    }
}

/// The network's version: 2 is `network`'s four stride-2 convolutions.
const VERSION: u32 = 2;

/// A version-2 network with a thumbnail network beside it (version-2 readers would judge
/// small images with the wrong network, so they refuse these files).
const THUMBNAIL_VERSION: u32 = 3;

/// The thumbnail network's tensors are its own names after this.
const THUMBNAIL_PREFIX: &str = "thumbnail.";

/// The metadata entry of a detector file: a JSON [`Card`].
const CARD_KEY: &str = "fauxto-gan-detector";

/// What a detector file says about itself.
#[derive(Serialize, serde::Deserialize)]
struct Card {
    version: u32,
    threshold: f32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    small_threshold: Option<f32>,
    about: String,
}

/// The centred crop of `img` of at most `side` x `side` pixels (the image itself if smaller).
fn centre_crop(img: &RgbImage, side: u32) -> Cow<'_, RgbImage> {
    let (w, h) = img.dimensions();
    if w <= side && h <= side {
        return Cow::Borrowed(img);
    }
    let (cw, ch) = (w.min(side), h.min(side));
    let crop = image::imageops::crop_imm(img, (w - cw) / 2, (h - ch) / 2, cw, ch).to_image();
    Cow::Owned(crop)
}

/// What the detector says about one image, in words a newsroom reads correctly.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Verdict {
    /// The probability that the image was generated by a GAN.
    pub probability: f32,
    /// The calibrated threshold it was compared with.
    pub threshold: f32,
    /// Whether it reached the threshold.
    pub generated: bool,
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.generated {
            write!(f, "probably generated ({:.2})", self.probability)
        } else {
            write!(
                f,
                "no sign of generation ({:.2}; not proof of a photograph)",
                self.probability
            )
        }
    }
}
