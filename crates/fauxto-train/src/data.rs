//! The stream of real images: the packed dataset (optionally doubled by mirrored copies)
//! in a fresh random order every epoch, as an endless sequence that any position of can
//! be read again, so a resumed run sees the same images as an uninterrupted one.

use std::sync::Arc;

use fauxto_data::PackedDataset;

use crate::error::TrainError;
use crate::rng::{stream_rng, Stream};

/// Label columns turned into one-hot conditioning vectors.
#[derive(Debug, Clone)]
struct LabelEncoder {
    /// (column index, number of classes) per conditioning column.
    columns: Vec<(usize, usize)>,
    c_dim: usize,
}

/// Real images and their labels, in training order.
pub struct RealImages {
    dataset: Arc<PackedDataset>,
    mirror: bool,
    seed: u64,
    order: Option<(u64, Vec<u32>)>,
    labels: Option<LabelEncoder>,
}

/// A batch on the host: NCHW pixels in [-1, 1] and one-hot labels.
#[derive(Debug, Clone)]
pub struct HostBatch {
    pub images: Vec<f32>,
    pub labels: Option<Vec<f32>>,
    pub len: usize,
}

impl RealImages {
    /// `cond`: names of the label columns to condition on (empty: unconditional).
    pub fn new(
        dataset: Arc<PackedDataset>,
        mirror: bool,
        seed: u64,
        cond: &[String],
    ) -> Result<Self, TrainError> {
        let channels = dataset.channels();
        if channels != 1 && channels != 3 {
            return Err(TrainError::Options(format!(
                "the dataset has {channels} channels per pixel; fauxto trains on RGB (3) or grey (1) images"
            )));
        }
        let labels = if cond.is_empty() {
            None
        } else {
            Some(label_encoder(&dataset, cond)?)
        };
        Ok(Self {
            dataset,
            mirror,
            seed,
            order: None,
            labels,
        })
    }

    /// The packed dataset the images come from.
    pub fn dataset(&self) -> &Arc<PackedDataset> {
        &self.dataset
    }

    /// Images per epoch (twice the dataset with mirroring).
    pub fn len(&self) -> usize {
        self.dataset.len() * if self.mirror { 2 } else { 1 }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn resolution(&self) -> usize {
        self.dataset.resolution()
    }

    pub fn channels(&self) -> usize {
        self.dataset.channels()
    }

    /// Width of the conditioning vector (0: unconditional).
    pub fn c_dim(&self) -> usize {
        self.labels.as_ref().map_or(0, |l| l.c_dim)
    }

    fn epoch_order(&mut self, epoch: u64) -> &[u32] {
        if self.order.as_ref().map(|(e, _)| *e) != Some(epoch) {
            let n = self.len();
            let mut order: Vec<u32> = (0..n as u32).collect();
            let mut rng = stream_rng(self.seed, epoch, Stream::Shuffle);
            for i in (1..n).rev() {
                let j = ((rng.next_f64() * (i + 1) as f64) as usize).min(i);
                order.swap(i, j);
            }
            self.order = Some((epoch, order));
        }
        &self.order.as_ref().expect("just set").1
    }

    /// Images `start .. start + count` of the endless training sequence.
    pub fn batch(&mut self, start: u64, count: usize) -> Result<HostBatch, TrainError> {
        self.batch_rows(start, &(0..count).collect::<Vec<_>>())
    }

    /// Images `start + r` of the endless training sequence for each `r` of `rows`, in
    /// that order (a data-parallel peer's share of a batch).
    pub fn batch_rows(&mut self, start: u64, rows: &[usize]) -> Result<HostBatch, TrainError> {
        let count = rows.len();
        let res = self.resolution();
        let ch = self.channels();
        let plane = res * res;
        let n = self.len() as u64;
        let mut images = vec![0f32; count * ch * plane];
        let mut labels = self.labels.as_ref().map(|l| vec![0f32; count * l.c_dim]);
        let mut pixels = vec![0u8; plane * ch];
        for (j, &row) in rows.iter().enumerate() {
            let k = start + row as u64;
            let index = self.epoch_order(k / n)[(k % n) as usize] as usize;
            let (image, flip) = match self.mirror {
                true => (index % self.dataset.len(), index >= self.dataset.len()),
                false => (index, false),
            };
            self.dataset.read_image(image, &mut pixels)?;
            let out = &mut images[j * ch * plane..(j + 1) * ch * plane];
            hwc_to_chw(&pixels, out, res, ch, flip);
            if let (Some(enc), Some(labels)) = (&self.labels, labels.as_mut()) {
                enc.encode(
                    &self.dataset,
                    image,
                    &mut labels[j * enc.c_dim..][..enc.c_dim],
                );
            }
        }
        Ok(HostBatch {
            images,
            labels,
            len: count,
        })
    }

    /// Labels of `count` dataset images drawn with `next_f64` (the conditioning of
    /// generated images follows the training distribution, as in the official loop).
    pub fn random_labels(
        &self,
        count: usize,
        mut next_f64: impl FnMut() -> f64,
    ) -> Option<Vec<f32>> {
        let enc = self.labels.as_ref()?;
        let n = self.dataset.len();
        let mut out = vec![0f32; count * enc.c_dim];
        for j in 0..count {
            let image = ((next_f64() * n as f64) as usize).min(n - 1);
            enc.encode(&self.dataset, image, &mut out[j * enc.c_dim..][..enc.c_dim]);
        }
        Some(out)
    }
}

/// uint8 HWC → float CHW in [-1, 1] (x / 127.5 − 1), optionally mirrored left–right.
fn hwc_to_chw(pixels: &[u8], out: &mut [f32], res: usize, ch: usize, flip: bool) {
    let plane = res * res;
    for y in 0..res {
        for x in 0..res {
            let sx = if flip { res - 1 - x } else { x };
            let src = (y * res + sx) * ch;
            for c in 0..ch {
                out[c * plane + y * res + x] = pixels[src + c] as f32 / 127.5 - 1.0;
            }
        }
    }
}

fn label_encoder(dataset: &PackedDataset, cond: &[String]) -> Result<LabelEncoder, TrainError> {
    let table = dataset.labels().ok_or_else(|| {
        TrainError::Options("--cond needs a dataset with labels (fauxto dataset --labels)".into())
    })?;
    let mut columns = Vec::new();
    let mut c_dim = 0;
    for name in cond {
        let col = table
            .columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| {
                TrainError::Options(format!(
                    "the dataset has no label column `{name}` (it has: {})",
                    table.columns.join(", ")
                ))
            })?;
        let mut classes = 0usize;
        for row in &table.values {
            let v = row[col];
            if v < 0.0 || v.fract() != 0.0 || v > 4096.0 {
                return Err(TrainError::Options(format!(
                    "label column `{name}` holds {v}, not a class number 0..4096"
                )));
            }
            classes = classes.max(v as usize + 1);
        }
        columns.push((col, classes));
        c_dim += classes;
    }
    Ok(LabelEncoder { columns, c_dim })
}

impl LabelEncoder {
    fn encode(&self, dataset: &PackedDataset, image: usize, out: &mut [f32]) {
        let row = &dataset.labels().expect("checked at construction").values[image];
        out.fill(0.0);
        let mut offset = 0;
        for &(col, classes) in &self.columns {
            out[offset + row[col] as usize] = 1.0;
            offset += classes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixels_are_scaled_and_mirrored() {
        // 2x2 RGB: pixel (y, x) has value 10·y + x in every channel.
        let px: Vec<u8> = (0..4)
            .flat_map(|i| [((i / 2) * 10 + i % 2) as u8; 3])
            .collect();
        let mut out = vec![0f32; 12];
        hwc_to_chw(&px, &mut out, 2, 3, false);
        assert_eq!(out[0], -1.0);
        assert!((out[1] - (1.0 / 127.5 - 1.0)).abs() < 1e-7);
        let mut flipped = vec![0f32; 12];
        hwc_to_chw(&px, &mut flipped, 2, 3, true);
        assert_eq!(flipped[0], out[1]);
        assert_eq!(flipped[1], out[0]);
        // Second channel, both rows mirrored.
        assert_eq!(flipped[4..8], [out[5], out[4], out[7], out[6]]);
    }
}
