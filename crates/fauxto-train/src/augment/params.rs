//! The random part of the `bgc` augmentation pipeline (Karras et al. 2020, ADA, Appendix
//! B): per image, which transforms apply and with what strength, drawn in the official
//! order with the official distributions, and the matrices they compose into: the 3x3
//! inverse geometric transform `G_inv` (output pixel → input pixel, centred pixel
//! coordinates) and the 4x4 colour transform `C`.

use std::f64::consts::PI;

use fauxto_nn::seed::NumpyRandomState;

/// Per-image parameters, identity when an augmentation is not applied.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AugmentParams {
    /// Mirror left–right (0 or 1).
    pub xflip: f64,
    /// Quarter turns (0..3).
    pub rot90: f64,
    /// Integer translation in pixels.
    pub xint: [f64; 2],
    /// Isotropic scale.
    pub scale: f64,
    /// Rotation before the anisotropic scale (radians).
    pub rot_pre: f64,
    /// Anisotropic scale (x by a, y by 1/a).
    pub aniso: f64,
    /// Rotation after the anisotropic scale (radians).
    pub rot_post: f64,
    /// Fractional translation in pixels.
    pub xfrac: [f64; 2],
    pub brightness: f64,
    pub contrast: f64,
    /// Luma flip (0 or 1).
    pub lumaflip: f64,
    /// Hue rotation around the luma axis (radians).
    pub hue: f64,
    pub saturation: f64,
}

impl Default for AugmentParams {
    fn default() -> Self {
        Self {
            xflip: 0.0,
            rot90: 0.0,
            xint: [0.0; 2],
            scale: 1.0,
            rot_pre: 0.0,
            aniso: 1.0,
            rot_post: 0.0,
            xfrac: [0.0; 2],
            brightness: 0.0,
            contrast: 1.0,
            lumaflip: 0.0,
            hue: 0.0,
            saturation: 1.0,
        }
    }
}

/// The official strengths of `bgc`.
const XINT_MAX: f64 = 0.125;
const SCALE_STD: f64 = 0.2;
const ROTATE_MAX: f64 = 1.0;
const ANISO_STD: f64 = 0.2;
const XFRAC_STD: f64 = 0.125;
const BRIGHTNESS_STD: f64 = 0.2;
const CONTRAST_STD: f64 = 0.5;
const HUE_MAX: f64 = 1.0;
const SATURATION_STD: f64 = 1.0;

/// Draws `n` values, then `n` gates; a value whose gate draw is not below `prob` becomes
/// `identity`.
fn gated(
    rng: &mut NumpyRandomState,
    n: usize,
    prob: f64,
    identity: f64,
    mut value: impl FnMut(&mut NumpyRandomState) -> f64,
) -> Vec<f64> {
    let values: Vec<f64> = (0..n).map(|_| value(rng)).collect();
    values
        .into_iter()
        .map(|v| if rng.next_f64() < prob { v } else { identity })
        .collect()
}

/// Pairs of values ([N, 2]) sharing one gate per image.
fn gated_pairs(
    rng: &mut NumpyRandomState,
    n: usize,
    prob: f64,
    mut value: impl FnMut(&mut NumpyRandomState) -> f64,
) -> Vec<[f64; 2]> {
    let values: Vec<[f64; 2]> = (0..n).map(|_| [value(rng), value(rng)]).collect();
    values
        .into_iter()
        .map(|v| if rng.next_f64() < prob { v } else { [0.0; 2] })
        .collect()
}

/// Draws parameters for `batch` images of `size`×`size` at probability `p`: each
/// augmentation draws its values for the whole batch, then whether each applies, in the
/// official order (x-flip, rot90, integer translation, scale, rotation, anisotropy,
/// rotation, fractional translation, brightness, contrast, luma flip, hue, saturation).
/// The two rotations each apply with `1 − √(1 − p)`, so that one or the other does with
/// probability `p`.
pub fn draw_params(
    rng: &mut NumpyRandomState,
    batch: usize,
    size: usize,
    p: f64,
) -> Vec<AugmentParams> {
    let n = batch;
    let size = size as f64;
    let uniform = |r: &mut NumpyRandomState| r.next_f64();
    let xflip = gated(rng, n, p, 0.0, |r| (uniform(r) * 2.0).floor());
    let rot90 = gated(rng, n, p, 0.0, |r| (uniform(r) * 4.0).floor());
    let xint = gated_pairs(rng, n, p, |r| (uniform(r) * 2.0 - 1.0) * XINT_MAX);
    let scale = gated(rng, n, p, 1.0, |r| (r.next_gauss() * SCALE_STD).exp2());
    let p_rot = 1.0 - (1.0 - ROTATE_MAX.min(1.0) * p).clamp(0.0, 1.0).sqrt();
    let angle = |r: &mut NumpyRandomState| (uniform(r) * 2.0 - 1.0) * PI * ROTATE_MAX;
    let rot_pre = gated(rng, n, p_rot, 0.0, angle);
    let aniso = gated(rng, n, p, 1.0, |r| (r.next_gauss() * ANISO_STD).exp2());
    let rot_post = gated(rng, n, p_rot, 0.0, angle);
    let xfrac = gated_pairs(rng, n, p, |r| r.next_gauss() * XFRAC_STD);
    let brightness = gated(rng, n, p, 0.0, |r| r.next_gauss() * BRIGHTNESS_STD);
    let contrast = gated(rng, n, p, 1.0, |r| (r.next_gauss() * CONTRAST_STD).exp2());
    let lumaflip = gated(rng, n, p, 0.0, |r| (uniform(r) * 2.0).floor());
    let hue = gated(rng, n, p, 0.0, |r| (uniform(r) * 2.0 - 1.0) * PI * HUE_MAX);
    let saturation = gated(rng, n, p, 1.0, |r| (r.next_gauss() * SATURATION_STD).exp2());
    (0..n)
        .map(|i| AugmentParams {
            xflip: xflip[i],
            rot90: rot90[i],
            xint: xint[i].map(|t| (t * size).round_ties_even()),
            scale: scale[i],
            rot_pre: rot_pre[i],
            aniso: aniso[i],
            rot_post: rot_post[i],
            xfrac: xfrac[i].map(|t| t * size),
            brightness: brightness[i],
            contrast: contrast[i],
            lumaflip: lumaflip[i],
            hue: hue[i],
            saturation: saturation[i],
        })
        .collect()
}

/// 3x3 matrices, row-major.
pub type Mat3 = [[f64; 3]; 3];
/// 4x4 matrices, row-major.
pub type Mat4 = [[f64; 4]; 4];

pub fn mat3_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

fn mat4_mul(a: &Mat4, b: &Mat4) -> Mat4 {
    let mut out = [[0.0; 4]; 4];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..4).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

pub fn translate2d(tx: f64, ty: f64) -> Mat3 {
    [[1.0, 0.0, tx], [0.0, 1.0, ty], [0.0, 0.0, 1.0]]
}

pub fn scale2d(sx: f64, sy: f64) -> Mat3 {
    [[sx, 0.0, 0.0], [0.0, sy, 0.0], [0.0, 0.0, 1.0]]
}

pub fn rotate2d(theta: f64) -> Mat3 {
    let (s, c) = theta.sin_cos();
    [[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]]
}

impl AugmentParams {
    /// `G_inv`: maps an output pixel (centred coordinates) to the input pixel it reads,
    /// composed as the official pipeline composes it (each inverse transform multiplied
    /// on the right).
    pub fn geometric_inverse(&self) -> Mat3 {
        let steps = [
            scale2d(1.0 / (1.0 - 2.0 * self.xflip), 1.0),
            rotate2d(PI / 2.0 * self.rot90),
            translate2d(-self.xint[0], -self.xint[1]),
            scale2d(1.0 / self.scale, 1.0 / self.scale),
            rotate2d(self.rot_pre),
            scale2d(1.0 / self.aniso, self.aniso),
            rotate2d(self.rot_post),
            translate2d(-self.xfrac[0], -self.xfrac[1]),
        ];
        steps
            .iter()
            .fold(scale2d(1.0, 1.0), |acc, m| mat3_mul(&acc, m))
    }

    /// `C`: the colour transform on homogeneous RGB, each step multiplied on the left
    /// (brightness, contrast, luma flip, hue rotation about the luma axis, saturation).
    pub fn color(&self) -> Mat4 {
        let v = [1.0 / 3f64.sqrt(), 1.0 / 3f64.sqrt(), 1.0 / 3f64.sqrt(), 0.0];
        let mut vv = [[0.0; 4]; 4];
        let mut id = [[0.0; 4]; 4];
        for i in 0..4 {
            id[i][i] = 1.0;
            for j in 0..4 {
                vv[i][j] = v[i] * v[j];
            }
        }
        let mut bri = id;
        for row in bri.iter_mut().take(3) {
            row[3] = self.brightness;
        }
        let mut con = id;
        for (i, row) in con.iter_mut().enumerate().take(3) {
            row[i] = self.contrast;
        }
        let mut luma = id;
        for i in 0..4 {
            for j in 0..4 {
                luma[i][j] -= 2.0 * self.lumaflip * vv[i][j];
            }
        }
        let (s, c) = self.hue.sin_cos();
        let k = 1.0 - c;
        let (x, y, z) = (v[0], v[1], v[2]);
        let hue = [
            [x * x * k + c, x * y * k - z * s, x * z * k + y * s, 0.0],
            [x * y * k + z * s, y * y * k + c, y * z * k - x * s, 0.0],
            [x * z * k - y * s, y * z * k + x * s, z * z * k + c, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ];
        let mut sat = [[0.0; 4]; 4];
        for i in 0..4 {
            for j in 0..4 {
                sat[i][j] = vv[i][j] + (id[i][j] - vv[i][j]) * self.saturation;
            }
        }
        [con, luma, hue, sat]
            .iter()
            .fold(bri, |acc, m| mat4_mul(m, &acc))
    }
}
