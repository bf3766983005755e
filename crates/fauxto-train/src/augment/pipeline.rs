//! Executing the `bgc` augmentation on a batch, exactly as the official pipeline does:
//! the geometric stage (reflect padding to a batch-wide margin, 2x upsampling with the
//! `sym6` wavelet low-pass filter, bilinear resampling through the inverse transform,
//! 2x downsampling with the same filter), then the colour stage (`C[:3, :3] · rgb +
//! C[:3, 3]`). For fixed parameters every step is linear in the pixels, so gradients flow
//! to the images (and the finite-difference R1 may freeze the draw).
//!
//! The padding and both filters are separable linear maps along each axis, applied as
//! small matrices (see `fauxto_nn::fir::apply_separable`).

use burn::tensor::backend::Backend;
use burn::tensor::ops::{GridSampleOptions, GridSamplePaddingMode, InterpolateMode};
use burn::tensor::{Tensor, TensorData};
use fauxto_nn::fir::{apply_separable, upfirdn_matrix};

use super::params::{mat3_mul, scale2d, translate2d, AugmentParams, Mat3};

/// The `sym6` wavelet's low-pass decomposition taps, the official `Hz_geom`.
pub const SYM6: [f64; 12] = [
    0.015404109327027373,
    0.0034907120842174702,
    -0.11799011114819057,
    -0.048311742585633,
    0.4910559419267466,
    0.787641141030194,
    0.3379294217276218,
    -0.07263752278646252,
    -0.021060292512300564,
    0.04472490177066578,
    0.0017677118642428036,
    -0.007800708325034148,
];
/// Extra border the geometric stage keeps for the filter (`len(Hz_geom) / 4`).
const HZ_PAD: usize = SYM6.len() / 4;

/// Reflect padding (edge not repeated) as a matrix [n + before + after, n].
fn reflect_matrix(n: usize, before: usize, after: usize) -> (usize, Vec<f64>) {
    let rows = n + before + after;
    let mut m = vec![0f64; rows * n];
    for r in 0..rows {
        let mut i = r as isize - before as isize;
        if i < 0 {
            i = -i;
        }
        if i >= n as isize {
            i = 2 * (n as isize - 1) - i;
        }
        m[r * n + i as usize] = 1.0;
    }
    (rows, m)
}

fn matmul(a: &(usize, Vec<f64>), b: &(usize, Vec<f64>)) -> (usize, Vec<f32>) {
    let (ra, ma) = a;
    let (rb, mb) = b;
    let inner = *rb;
    let cols = mb.len() / rb;
    assert_eq!(ma.len(), ra * inner, "matrix shapes");
    let mut out = vec![0f32; ra * cols];
    for i in 0..*ra {
        for k in 0..inner {
            let a = ma[i * inner + k];
            if a != 0.0 {
                for j in 0..cols {
                    out[i * cols + j] += (a * mb[k * cols + j]) as f32;
                }
            }
        }
    }
    (*ra, out)
}

/// The batch-wide padding (x0, y0, x1, y1) that keeps every transformed corner, plus the
/// filter border, inside the padded image (official margin computation).
fn margin(g_invs: &[Mat3], h: usize, w: usize) -> [usize; 4] {
    let (cx, cy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    let mut m = [f64::NEG_INFINITY; 4];
    for g in g_invs {
        for (x, y) in [(-cx, -cy), (cx, -cy), (cx, cy), (-cx, cy)] {
            let px = g[0][0] * x + g[0][1] * y + g[0][2];
            let py = g[1][0] * x + g[1][1] * y + g[1][2];
            m = [m[0].max(-px), m[1].max(-py), m[2].max(px), m[3].max(py)];
        }
    }
    let border = HZ_PAD as f64 * 2.0;
    let add = [border - cx, border - cy, border - cx, border - cy];
    let limit = [
        w as f64 - 1.0,
        h as f64 - 1.0,
        w as f64 - 1.0,
        h as f64 - 1.0,
    ];
    std::array::from_fn(|i| (m[i] + add[i]).max(0.0).min(limit[i]).ceil() as usize)
}

/// The geometric stage.
fn geometric<B: Backend>(x: Tensor<B, 4>, params: &[AugmentParams]) -> Tensor<B, 4> {
    let [n, _, h, w] = x.dims();
    let g_invs: Vec<Mat3> = params
        .iter()
        .map(AugmentParams::geometric_inverse)
        .collect();
    let [mx0, my0, mx1, my1] = margin(&g_invs, h, w);
    let taps: Vec<f64> = {
        let sum: f64 = SYM6.iter().sum();
        SYM6.iter().map(|t| t / sum).collect()
    };
    let up_pad = [(taps.len() as isize + 1) / 2, (taps.len() as isize - 2) / 2];
    let up = |len: usize, before: usize, after: usize| {
        let pad = reflect_matrix(len, before, after);
        let upf = upfirdn_matrix(pad.0, &taps, 2, 1, up_pad, false, 2.0);
        matmul(&upf, &pad)
    };
    let (hu, mh) = up(h, my0, my1);
    let (wu, mw) = up(w, mx0, mx1);
    let x = apply_separable(x, (hu, mh), (wu, mw));

    // The sampling grid: output pixel → input position in [-1, 1] (align_corners = false).
    let (ho, wo) = ((h + HZ_PAD * 2) * 2, (w + HZ_PAD * 2) * 2);
    let mut grid = Vec::with_capacity(n * ho * wo * 2);
    for g_inv in &g_invs {
        let mut g = mat3_mul(
            &translate2d(
                (mx0 as f64 - mx1 as f64) / 2.0,
                (my0 as f64 - my1 as f64) / 2.0,
            ),
            g_inv,
        );
        g = mat3_mul(&mat3_mul(&scale2d(2.0, 2.0), &g), &scale2d(0.5, 0.5));
        g = mat3_mul(
            &mat3_mul(&translate2d(-0.5, -0.5), &g),
            &translate2d(0.5, 0.5),
        );
        g = mat3_mul(
            &mat3_mul(&scale2d(2.0 / wu as f64, 2.0 / hu as f64), &g),
            &scale2d(wo as f64 / 2.0, ho as f64 / 2.0),
        );
        for i in 0..ho {
            let y = (2 * i + 1) as f64 / ho as f64 - 1.0;
            for j in 0..wo {
                let x = (2 * j + 1) as f64 / wo as f64 - 1.0;
                grid.push((g[0][0] * x + g[0][1] * y + g[0][2]) as f32);
                grid.push((g[1][0] * x + g[1][1] * y + g[1][2]) as f32);
            }
        }
    }
    let grid = Tensor::<B, 4>::from_data(TensorData::new(grid, [n, ho, wo, 2]), &x.device());
    let options = GridSampleOptions::new(InterpolateMode::Bilinear)
        .with_padding_mode(GridSamplePaddingMode::Zeros)
        .with_align_corners(false);
    // fauxto's kernel on the CPU; burn's operation elsewhere.
    let x = match fauxto_nn::kernels::grid_sample::bilinear(x, grid) {
        Ok(sampled) => sampled,
        Err((x, grid)) => x.grid_sample_2d(grid, options),
    };

    let down_pad = [
        -(HZ_PAD as isize) * 2 + (taps.len() as isize - 1) / 2,
        -(HZ_PAD as isize) * 2 + (taps.len() as isize - 2) / 2,
    ];
    let down = |len: usize| {
        let m = upfirdn_matrix(len, &taps, 1, 2, down_pad, true, 1.0);
        (m.0, m.1.iter().map(|&v| v as f32).collect::<Vec<f32>>())
    };
    apply_separable(x, down(ho), down(wo))
}

/// The colour stage: `C[:3, :3] · rgb + C[:3, 3]` per image.
fn color<B: Backend>(x: Tensor<B, 4>, params: &[AugmentParams]) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    assert_eq!(c, 3, "the colour transforms need RGB images");
    let mut lin = Vec::with_capacity(n * 9);
    let mut off = Vec::with_capacity(n * 3);
    for p in params {
        let m = p.color();
        for row in m.iter().take(3) {
            lin.extend(row.iter().take(3).map(|&v| v as f32));
            off.push(row[3] as f32);
        }
    }
    let device = x.device();
    let lin = Tensor::<B, 3>::from_data(TensorData::new(lin, [n, 3, 3]), &device);
    let off = Tensor::<B, 3>::from_data(TensorData::new(off, [n, 3, 1]), &device);
    (lin.matmul(x.reshape([n, 3, h * w])) + off).reshape([n, 3, h, w])
}

/// Augments images [N, 3, H, W] in [-1, 1] with one parameter set per image.
pub fn augment<B: Backend>(x: Tensor<B, 4>, params: &[AugmentParams]) -> Tensor<B, 4> {
    assert_eq!(x.dims()[0], params.len(), "one parameter set per image");
    color(geometric(x, params), params)
}
