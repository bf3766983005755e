//! Turning seeds into latents and network outputs into 8-bit pixels, the way the official
//! `generate.py` does: `z = RandomState(seed).randn(1, z_dim)`, one-hot class labels, and
//! `(img · 127.5 + 128).clamp(0, 255)` truncated to uint8.

use burn::tensor::{backend::Backend, Tensor, TensorData};

use crate::seed::latent_from_seed;

/// Latents for `seeds`, one row each: [len, z_dim].
pub fn latents<B: Backend>(seeds: &[u32], z_dim: usize, device: &B::Device) -> Tensor<B, 2> {
    let data: Vec<f32> = seeds
        .iter()
        .flat_map(|&s| latent_from_seed(s, z_dim).into_iter().map(|v| v as f32))
        .collect();
    Tensor::from_data(TensorData::new(data, [seeds.len(), z_dim]), device)
}

/// One-hot labels for `class` (or none for an unconditional model): [n, c_dim].
pub fn one_hot_labels<B: Backend>(
    class: Option<usize>,
    c_dim: usize,
    n: usize,
    device: &B::Device,
) -> Option<Tensor<B, 2>> {
    if c_dim == 0 {
        return None;
    }
    let mut data = vec![0f32; n * c_dim];
    if let Some(class) = class {
        for row in 0..n {
            data[row * c_dim + class] = 1.0;
        }
    }
    Some(Tensor::from_data(TensorData::new(data, [n, c_dim]), device))
}

/// An image batch in 8-bit, channels last.
#[derive(Debug, Clone, PartialEq)]
pub struct PixelBatch {
    pub count: usize,
    pub height: usize,
    pub width: usize,
    pub channels: usize,
    /// `count · height · width · channels` bytes, image after image, rows top to bottom.
    pub pixels: Vec<u8>,
}

impl PixelBatch {
    pub fn image(&self, idx: usize) -> &[u8] {
        let size = self.height * self.width * self.channels;
        &self.pixels[idx * size..(idx + 1) * size]
    }
}

/// [N, C, H, W] in [-1, 1] → 8-bit channels-last pixels, as the official tools convert.
pub fn to_pixels<B: Backend>(img: Tensor<B, 4>) -> PixelBatch {
    let [n, c, h, w] = img.dims();
    let img = img
        .mul_scalar(127.5)
        .add_scalar(128.0)
        .clamp(0.0, 255.0)
        .permute([0, 2, 3, 1]);
    let values = img
        .into_data()
        .convert::<f32>()
        .to_vec::<f32>()
        .expect("float data");
    PixelBatch {
        count: n,
        height: h,
        width: w,
        channels: c,
        // `as u8` truncates toward zero, like torch's `.to(torch.uint8)`.
        pixels: values.into_iter().map(|v| v as u8).collect(),
    }
}

/// Linear interpolation of two rows: a + t·(b − a).
pub fn lerp(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    a.iter().zip(b).map(|(x, y)| x + t * (y - x)).collect()
}

/// Spherical interpolation (Shoemake 1985) about the origin, falling back to `lerp` for
/// nearly parallel vectors.
pub fn slerp(a: &[f32], b: &[f32], t: f32) -> Vec<f32> {
    let norm = |v: &[f32]| v.iter().map(|x| (*x as f64).powi(2)).sum::<f64>().sqrt();
    let (na, nb) = (norm(a), norm(b));
    if na == 0.0 || nb == 0.0 {
        return lerp(a, b, t);
    }
    let dot: f64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| *x as f64 * *y as f64)
        .sum::<f64>()
        / (na * nb);
    let omega = dot.clamp(-1.0, 1.0).acos();
    if omega.abs() < 1e-6 {
        return lerp(a, b, t);
    }
    let t = t as f64;
    let (sa, sb) = (
        ((1.0 - t) * omega).sin() / omega.sin(),
        (t * omega).sin() / omega.sin(),
    );
    a.iter()
        .zip(b)
        .map(|(x, y)| (sa * *x as f64 + sb * *y as f64) as f32)
        .collect()
}

/// The rows `rows` of `data`, a batch of `row_len`-value rows, in that order.
pub fn select_rows<T: Copy>(data: &[T], row_len: usize, rows: &[usize]) -> Vec<T> {
    rows.iter()
        .flat_map(|&r| data[r * row_len..(r + 1) * row_len].iter().copied())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_selected_in_order() {
        let data = [0, 1, 10, 11, 20, 21];
        assert_eq!(select_rows(&data, 2, &[2, 0]), vec![20, 21, 0, 1]);
    }

    #[test]
    fn interpolation_endpoints_and_midpoints() {
        let (a, b) = ([1.0f32, 0.0], [0.0f32, 1.0]);
        assert_eq!(lerp(&a, &b, 0.0), a.to_vec());
        assert_eq!(lerp(&a, &b, 1.0), b.to_vec());
        let mid = slerp(&a, &b, 0.5);
        let h = std::f32::consts::FRAC_1_SQRT_2;
        assert!(
            (mid[0] - h).abs() < 1e-6 && (mid[1] - h).abs() < 1e-6,
            "{mid:?}"
        );
        let end = slerp(&a, &b, 1.0);
        assert!(
            (end[0]).abs() < 1e-6 && (end[1] - 1.0).abs() < 1e-6,
            "{end:?}"
        );
    }
}
