//! The transposed convolution of the up-sampling layers (`conv_transpose2d`, no padding) as
//! one matrix product and a scatter, forward and backward.
//!
//! StyleGAN2's up-sampling convolution (`upfirdn2d`-style `conv2d_resample` with `up=2`) is a
//! stride-2 transposed convolution followed by the FIR filter. With weight `w` [I, O, k, k]:
//! - forward, per image: `cols[O·k², H·W] = wᵀ[O·k², I] · x[I, H·W]`, then every column
//!   added into the output at its stride-2 position (col2im);
//! - backward, per image: the output gradient's k x k patches at stride 2, `P[H·W, O·k²]`
//!   (im2col), taken once and used by both gradients: `dx[I, H·W] = w[I, O·k²] · Pᵀ` and
//!   `dw[I, O·k²] += x[I, H·W] · P`.
//!
//! burn's CPU backend scatters each image on one thread and, in the backward pass, builds
//! the same patches twice (once for each gradient); here the matrix products run on all
//! cores and the scatter is spread over the output channels.

use rayon::prelude::*;

use super::conv::im2col;
use super::product::product;
use super::scratch::Scratch;

/// The output size of the transposed convolution along one axis.
pub fn output_size(size: usize, k: usize, stride: usize) -> usize {
    (size - 1) * stride + k
}

/// `conv_transpose2d(x, w)` at `stride`, no padding: `x` [N, I, H, W], `w` [I, O, k, k];
/// returns y [N, O, (H − 1)·stride + k, (W − 1)·stride + k].
pub fn forward(
    x: &[f32],
    [n, i, h, w]: [usize; 4],
    weight: &[f32],
    [o, k]: [usize; 2],
    stride: usize,
) -> Vec<f32> {
    let (out_h, out_w) = (output_size(h, k, stride), output_size(w, k, stride));
    let (rows, positions) = (o * k * k, h * w);
    assert_eq!(x.len(), n * i * positions, "input size");
    assert_eq!(weight.len(), i * rows, "weight size");
    let mut y = vec![0f32; n * o * out_h * out_w];
    let mut cols = Scratch::take(rows * positions);
    for (image, y_n) in y.chunks_exact_mut(o * out_h * out_w).enumerate() {
        let x_n = &x[image * i * positions..][..i * positions];
        // cols[rows, L] = wᵀ[rows, I] · x_n[I, L]
        let (r, p) = (rows as isize, positions as isize);
        product(
            [rows, positions, i],
            &mut cols,
            [p, 1],
            false,
            weight,
            [1, r],
            x_n,
            [p, 1],
        );
        // Each output channel gathers its k² columns at their stride-2 offsets.
        y_n.par_chunks_mut(out_h * out_w)
            .enumerate()
            .for_each(|(oc, plane)| {
                for ky in 0..k {
                    for kx in 0..k {
                        let src = &cols[((oc * k + ky) * k + kx) * positions..][..positions];
                        for (iy, src_row) in src.chunks_exact(w).enumerate() {
                            let dst = &mut plane[(iy * stride + ky) * out_w + kx..];
                            for (ix, &v) in src_row.iter().enumerate() {
                                dst[ix * stride] += v;
                            }
                        }
                    }
                }
            });
    }
    y
}

/// The gradients of [`forward`] from the output gradient `dy` [N, O, out_h, out_w]: the
/// input gradient when `weight` is given, the weight gradient when `x` is.
#[allow(clippy::type_complexity)]
pub fn gradients(
    dy: &[f32],
    x: Option<&[f32]>,
    weight: Option<&[f32]>,
    [n, i, h, w]: [usize; 4],
    [o, k]: [usize; 2],
    stride: usize,
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let (out_h, out_w) = (output_size(h, k, stride), output_size(w, k, stride));
    let (rows, positions) = (o * k * k, h * w);
    assert_eq!(dy.len(), n * o * out_h * out_w, "output gradient size");
    let mut dx = weight.map(|_| vec![0f32; n * i * positions]);
    let mut dw = x.map(|_| vec![0f32; i * rows]);
    let mut patches = Scratch::take(positions * rows);
    let (r, p) = (rows as isize, positions as isize);
    for image in 0..n {
        let dy_n = &dy[image * o * out_h * out_w..][..o * out_h * out_w];
        im2col(dy_n, [o, out_h, out_w], k, stride, 0, [h, w], &mut patches);
        if let (Some(dx), Some(weight)) = (dx.as_mut(), weight) {
            // dx_n[I, L] = w[I, rows] · patches[L, rows]ᵀ
            let dx_n = &mut dx[image * i * positions..][..i * positions];
            product(
                [i, positions, rows],
                dx_n,
                [p, 1],
                false,
                weight,
                [r, 1],
                &patches,
                [1, r],
            );
        }
        if let (Some(dw), Some(x)) = (dw.as_mut(), x) {
            // dw[I, rows] += x_n[I, L] · patches[L, rows]
            let x_n = &x[image * i * positions..][..i * positions];
            product(
                [i, rows, positions],
                dw,
                [r, 1],
                image > 0,
                x_n,
                [p, 1],
                &patches,
                [r, 1],
            );
        }
    }
    (dx, dw)
}
