//! The stride-1, padding-1 3x3 convolution by Winograd's minimal filtering F(2×2, 3×3)
//! (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks", §4).
//!
//! Each 2x2 block of outputs ("tile") is `Y = Aᵀ [ Σ_i (G g G ᵀ)_i ⊙ (Bᵀ d B)_i ] A`, with
//! `d` the 4x4 input patch around the tile and `g` the 3x3 kernel of input channel `i`: the
//! channel sum at each of the 16 transformed positions ξ is one matrix product
//! `M_ξ[O, tiles] = U_ξ[O, I] · V_ξ[I, tiles]`, 16 products in all with 16/36 of the
//! multiplications of the direct convolution. Where the layers spend their arithmetic (the
//! 3x3 convolutions of every synthesis and discriminator block) this is most of a training
//! step and of generation.
//!
//! The backward pass is the same algebra read backwards:
//! - the input gradient of this convolution is the same convolution of the output gradient
//!   with the flipped, transposed kernel;
//! - the weight gradient follows from `Y = Aᵀ M A`, `M = Σ U ⊙ V`, `U = G g Gᵀ`:
//!   `dM = A dY Aᵀ` per tile, `dU_ξ[O, I] = dM_ξ[O, tiles] · V_ξ[I, tiles]ᵀ` (16 products),
//!   `dg = Gᵀ dU G`.
//!
//! Layouts: transformed inputs `V` as [I][ξ][N·T], transformed kernels `U` as [O][ξ][I],
//! products `M` and transformed output gradients `dM` as [O][ξ][N·T], where T is the number
//! of tiles of one image (the rows of the big ones a cache line apart, see
//! [`Geometry::step`]). One channel's transform is one contiguous block, so
//! channels are spread over the cores; the 16 products run in parallel, each on one core,
//! and every value is summed in the same order whatever the number of threads.

use rayon::prelude::*;

use super::scratch::Scratch;

/// Transformed positions per tile (4x4).
const XI: usize = 16;
/// Transformed values per batch chunk: a batch is taken a few images at a time so that its
/// transforms stay a bounded size, however large the batch or image.
const CHUNK_VALUES: usize = if cfg!(test) { 1 } else { 1 << 22 };
/// Floats in a cache line: the skew of the transformed rows (see [`Geometry::step`]).
const SKEW: usize = 16;

/// A batch of images [N, C, H, W] and its 2x2 tiling.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub n: usize,
    pub channels: usize,
    pub h: usize,
    pub w: usize,
}

impl Geometry {
    fn tile_rows(&self) -> usize {
        self.h.div_ceil(2)
    }

    fn tile_cols(&self) -> usize {
        self.w.div_ceil(2)
    }

    /// Tiles of one image.
    fn tiles(&self) -> usize {
        self.tile_rows() * self.tile_cols()
    }

    fn plane(&self) -> usize {
        self.h * self.w
    }

    /// Distance between the rows of two transformed positions ξ of one channel: the tiles of
    /// the batch and a cache line more, so that the 16 rows a tile is written to (and read
    /// from) do not all fall into the same cache set, as power-of-two distances would.
    fn step(&self) -> usize {
        self.n * self.tiles() + SKEW
    }

    /// Distance between two channels' blocks of 16 rows (skewed likewise).
    fn block(&self) -> usize {
        XI * self.step() + SKEW
    }
}

/// `Bᵀ (a, b, c, d)`: the input transform along one axis.
#[inline(always)]
fn input_axis([a, b, c, d]: [f32; 4]) -> [f32; 4] {
    [a - c, b + c, c - b, b - d]
}

/// `A (e, f)`: the adjoint of the output transform along one axis.
#[inline(always)]
fn output_adjoint_axis([e, f]: [f32; 2]) -> [f32; 4] {
    [e, e + f, e - f, -f]
}

/// `Aᵀ (a, b, c, d)`: the output transform along one axis.
#[inline(always)]
fn output_axis([a, b, c, d]: [f32; 4]) -> [f32; 2] {
    [a + b + c, b - c - d]
}

/// `G (a, b, c)`: the kernel transform along one axis.
#[inline(always)]
fn filter_axis([a, b, c]: [f32; 3]) -> [f32; 4] {
    [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c]
}

/// `Gᵀ (a, b, c, d)`: the adjoint of the kernel transform along one axis.
#[inline(always)]
fn filter_adjoint_axis([a, b, c, d]: [f32; 4]) -> [f32; 3] {
    [a + 0.5 * (b + c), 0.5 * (b - c), 0.5 * (b + c) + d]
}

/// One image row split into the columns a tile starts on and the ones after, zero-padded:
/// `even[k] = row[2k − 1]`, `odd[k] = row[2k]` for k in 0 ..= tiles (zeros outside).
fn split_row(row: Option<&[f32]>, even: &mut [f32], odd: &mut [f32]) {
    even.fill(0.0);
    odd.fill(0.0);
    let Some(row) = row else { return };
    let pairs = row.chunks_exact(2);
    let rest = pairs.remainder();
    for (k, pair) in pairs.enumerate() {
        odd[k] = pair[0];
        even[k + 1] = pair[1];
    }
    if let [last] = rest {
        odd[row.len() / 2] = *last;
    }
}

/// `Bᵀ d B` for every tile of every image: `x` [N, C, H, W] → V [C][ξ][N·T].
///
/// Per tile row: the four input rows, each split into even and odd columns; `Bᵀ` combines
/// the rows, `B` the columns `2t − 1, 2t, 2t + 1, 2t + 2` = `even[t], odd[t], even[t + 1],
/// odd[t + 1]`, so that every loop runs over whole rows (and vectorises).
fn transform_input(x: &[f32], g: Geometry, v: &mut [f32]) {
    let (tw, tiles, step) = (g.tile_cols(), g.tiles(), g.step());
    v.par_chunks_mut(g.block())
        .enumerate()
        .for_each(|(c, v_c)| {
            let mut even = [(); 4].map(|_| vec![0f32; tw + 1]);
            let mut odd = even.clone();
            let (mut row_even, mut row_odd) = (even.clone(), even.clone());
            for image in 0..g.n {
                let plane = &x[(image * g.channels + c) * g.plane()..][..g.plane()];
                for ty in 0..g.tile_rows() {
                    for (r, (e, o)) in even.iter_mut().zip(&mut odd).enumerate() {
                        let y = (2 * ty + r).checked_sub(1).filter(|&y| y < g.h);
                        split_row(y.map(|y| &plane[y * g.w..][..g.w]), e, o);
                    }
                    // Bᵀ along the columns of the 4x4 patches: the rows combined.
                    for (split, combined) in [(&even, &mut row_even), (&odd, &mut row_odd)] {
                        let [r0, r1, r2, r3] = split.each_ref().map(|r| &r[..tw + 1]);
                        let [c0, c1, c2, c3] = combined.each_mut().map(|r| &mut r[..tw + 1]);
                        for k in 0..tw + 1 {
                            [c0[k], c1[k], c2[k], c3[k]] = input_axis([r0[k], r1[k], r2[k], r3[k]]);
                        }
                    }
                    // B along the rows: four transformed values per combined row and tile.
                    let first = image * tiles + ty * tw;
                    for a in 0..4 {
                        let (e, o) = (&row_even[a], &row_odd[a]);
                        let mut rows = v_c[4 * a * step..(4 * a + 4) * step].chunks_exact_mut(step);
                        let mut next = || &mut rows.next().expect("four rows")[first..first + tw];
                        let (t0, t1, t2, t3) = (next(), next(), next(), next());
                        for t in 0..tw {
                            [t0[t], t1[t], t2[t], t3[t]] =
                                input_axis([e[t], o[t], e[t + 1], o[t + 1]]);
                        }
                    }
                }
            }
        });
}

/// `G g Gᵀ` for every kernel: `w` [O, I, 3, 3] → U [O][ξ][I].
fn transform_filter(w: &[f32], o: usize, i: usize) -> Vec<f32> {
    let mut u = vec![0f32; o * XI * i];
    u.par_chunks_mut(XI * i).enumerate().for_each(|(oc, u_o)| {
        for ic in 0..i {
            let k = &w[(oc * i + ic) * 9..][..9];
            // Columns first (G along x for each kernel row), then rows.
            let by_row: [[f32; 4]; 3] =
                std::array::from_fn(|r| filter_axis([k[3 * r], k[3 * r + 1], k[3 * r + 2]]));
            for b in 0..4 {
                let col = filter_axis([by_row[0][b], by_row[1][b], by_row[2][b]]);
                for (a, value) in col.into_iter().enumerate() {
                    u_o[(a * 4 + b) * i + ic] = value;
                }
            }
        }
    });
    u
}

/// A float buffer shared by parallel tasks that write disjoint parts of it.
#[derive(Clone, Copy)]
struct Shared(*mut f32);
// SAFETY: each task writes its own disjoint region (one ξ of a product), see the callers.
unsafe impl Send for Shared {}
unsafe impl Sync for Shared {}

impl Shared {
    fn offset(self, by: isize) -> *mut f32 {
        // SAFETY: the caller checked that the offset lies inside the buffer.
        unsafe { self.0.offset(by) }
    }
}

/// The 16 products `dst_ξ[m, n] = lhs_ξ[m, k] · rhs_ξ[k, n]`, one per core at a time. Each
/// operand is given by its pointer at ξ = 0, the step from one ξ to the next, and its row
/// and column strides.
struct Products {
    m: usize,
    n: usize,
    k: usize,
    /// (ξ step, row stride, column stride) of destination, left and right operand.
    dst: [isize; 3],
    lhs: [isize; 3],
    rhs: [isize; 3],
}

/// The farthest index a matrix [rows, cols] with `(ξ step, row stride, column stride)`
/// reaches over the 16 positions.
fn reach([step, row, col]: [isize; 3], rows: usize, cols: usize) -> usize {
    let last = |extent: usize| extent.saturating_sub(1) as isize;
    (step * (XI as isize - 1) + row * last(rows) + col * last(cols)) as usize
}

impl Products {
    /// Writes the products into `dst`, or adds them to it (`accumulate`).
    fn run(&self, dst: &mut [f32], lhs: &[f32], rhs: &[f32], accumulate: bool) {
        let (m, n, k) = (self.m, self.n, self.k);
        assert!(reach(self.dst, m, n) < dst.len(), "destination too small");
        assert!(reach(self.lhs, m, k) < lhs.len(), "left operand too small");
        assert!(reach(self.rhs, k, n) < rhs.len(), "right operand too small");
        let out = Shared(dst.as_mut_ptr());
        (0..XI).into_par_iter().for_each(|xi| {
            let xi = xi as isize;
            // SAFETY: every operand holds the last value its strides reach (checked above),
            // and the callers' strides keep the 16 destination blocks apart.
            unsafe {
                gemm::gemm(
                    m,
                    n,
                    k,
                    out.offset(xi * self.dst[0]),
                    self.dst[2],
                    self.dst[1],
                    accumulate,
                    lhs.as_ptr().offset(xi * self.lhs[0]),
                    self.lhs[2],
                    self.lhs[1],
                    rhs.as_ptr().offset(xi * self.rhs[0]),
                    self.rhs[2],
                    self.rhs[1],
                    1.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        });
    }
}

/// `Aᵀ M A` for every tile, cut to the image: M [O][ξ][N·T] → y [N, O, H, W].
///
/// Per tile row, `Aᵀ` combines the 16 rows of M (one per ξ) into the 2x4 values of each
/// tile's two output rows, and `A` those into the 2x2 outputs: whole-row loops, as in
/// [`transform_input`].
fn transform_output(m: &[f32], g: Geometry, y: &mut [f32]) {
    let (tw, tiles, step) = (g.tile_cols(), g.tiles(), g.step());
    y.par_chunks_mut(g.plane())
        .enumerate()
        .for_each(|(p, plane)| {
            let (image, oc) = (p / g.channels, p % g.channels);
            let m_o = &m[oc * g.block()..][..g.block()];
            let mut combined = [(); 8].map(|_| vec![0f32; tw]);
            let (mut left, mut right) = (vec![0f32; tw], vec![0f32; tw]);
            for ty in 0..g.tile_rows() {
                let first = image * tiles + ty * tw;
                let row = |xi: usize| &m_o[xi * step + first..][..tw];
                // Aᵀ along the columns of the 4x4 blocks: combined[2b + a] is output row a,
                // transformed column b.
                for b in 0..4 {
                    let [m0, m1, m2, m3] = [row(b), row(4 + b), row(8 + b), row(12 + b)];
                    let (top, bottom) = combined[2 * b..2 * b + 2].split_at_mut(1);
                    let (top, bottom) = (&mut top[0][..tw], &mut bottom[0][..tw]);
                    for t in 0..tw {
                        [top[t], bottom[t]] = output_axis([m0[t], m1[t], m2[t], m3[t]]);
                    }
                }
                for (a, out_y) in (2 * ty..g.h.min(2 * ty + 2)).enumerate() {
                    let [c0, c1, c2, c3] = [0, 1, 2, 3].map(|b| &combined[2 * b + a][..tw]);
                    let (l, r) = (&mut left[..tw], &mut right[..tw]);
                    for t in 0..tw {
                        [l[t], r[t]] = output_axis([c0[t], c1[t], c2[t], c3[t]]);
                    }
                    // Interleave the tiles' left and right columns into the image row.
                    let mut pairs = plane[out_y * g.w..][..g.w].chunks_exact_mut(2);
                    for (t, pair) in (&mut pairs).enumerate() {
                        (pair[0], pair[1]) = (left[t], right[t]);
                    }
                    if let [last] = pairs.into_remainder() {
                        *last = left[g.w / 2];
                    }
                }
            }
        });
}

/// `A dY Aᵀ` for every tile (zeros beyond the image): dY [N, O, H, W] → dM [O][ξ][N·T].
///
/// Per tile row, the two output-gradient rows split into the tiles' left and right columns
/// (zero-padded), `A` along the columns, then along the rows: whole-row loops.
fn transform_output_gradient(dy: &[f32], g: Geometry, dm: &mut [f32]) {
    let (tw, tiles, step) = (g.tile_cols(), g.tiles(), g.step());
    dm.par_chunks_mut(g.block())
        .enumerate()
        .for_each(|(oc, dm_o)| {
            // [left, right] columns of the top and bottom row of every tile.
            let mut split = [(); 4].map(|_| vec![0f32; tw]);
            let mut combined = [(); 8].map(|_| vec![0f32; tw]);
            for image in 0..g.n {
                let plane = &dy[(image * g.channels + oc) * g.plane()..][..g.plane()];
                for ty in 0..g.tile_rows() {
                    for (r, pair) in split.chunks_exact_mut(2).enumerate() {
                        let (left, right) = pair.split_at_mut(1);
                        let (left, right) = (&mut left[0], &mut right[0]);
                        left.fill(0.0);
                        right.fill(0.0);
                        let y = 2 * ty + r;
                        if y < g.h {
                            let row = &plane[y * g.w..][..g.w];
                            let pairs = row.chunks_exact(2);
                            if let [last] = pairs.remainder() {
                                left[g.w / 2] = *last;
                            }
                            for (t, pair) in pairs.enumerate() {
                                (left[t], right[t]) = (pair[0], pair[1]);
                            }
                        }
                    }
                    // A along the rows of each tile: combined[4 · row + b].
                    for r in 0..2 {
                        let (l, rt) = (&split[2 * r][..tw], &split[2 * r + 1][..tw]);
                        let [c0, c1, c2, c3] = {
                            let (rows, _) = combined.split_at_mut(4 * r + 4);
                            let [c0, c1, c2, c3] = &mut rows[4 * r..] else {
                                unreachable!("four rows")
                            };
                            [c0, c1, c2, c3].map(|c| &mut c[..tw])
                        };
                        for t in 0..tw {
                            [c0[t], c1[t], c2[t], c3[t]] = output_adjoint_axis([l[t], rt[t]]);
                        }
                    }
                    // A along the columns: 16 rows of dM.
                    let first = image * tiles + ty * tw;
                    for b in 0..4 {
                        let (top, bottom) = (&combined[b][..tw], &combined[4 + b][..tw]);
                        for a in 0..4 {
                            let out = &mut dm_o[(4 * a + b) * step + first..][..tw];
                            for t in 0..tw {
                                out[t] = output_adjoint_axis([top[t], bottom[t]])[a];
                            }
                        }
                    }
                }
            }
        });
}

/// `Gᵀ dU G` for every kernel: dU [ξ][O][I] → dw [O, I, 3, 3].
fn filter_gradient(du: &[f32], o: usize, i: usize) -> Vec<f32> {
    let mut dw = vec![0f32; o * i * 9];
    dw.par_chunks_mut(i * 9).enumerate().for_each(|(oc, dw_o)| {
        for (ic, k) in dw_o.chunks_exact_mut(9).enumerate() {
            let at = |xi: usize| du[(xi * o + oc) * i + ic];
            let by_col: [[f32; 3]; 4] = std::array::from_fn(|b| {
                filter_adjoint_axis([at(b), at(4 + b), at(8 + b), at(12 + b)])
            });
            for r in 0..3 {
                let row =
                    filter_adjoint_axis([by_col[0][r], by_col[1][r], by_col[2][r], by_col[3][r]]);
                k[3 * r..3 * r + 3].copy_from_slice(&row);
            }
        }
    });
    dw
}

/// The batch in chunks of whole images, each with at most [`CHUNK_VALUES`] transformed
/// values of `channels` channels (one image at least): (first image, chunk geometry).
/// (The tests take one image at a time, so that they check the joins between chunks.)
fn chunks(g: Geometry, channels: usize) -> impl Iterator<Item = (usize, Geometry)> {
    let per_image = channels * XI * g.tiles();
    let images = (CHUNK_VALUES / per_image.max(1)).clamp(1, g.n.max(1));
    (0..g.n).step_by(images).map(move |first| {
        (
            first,
            Geometry {
                n: images.min(g.n - first),
                ..g
            },
        )
    })
}

/// The transformed input of the chunk `c` of `x` (geometry `g`) that starts at image `first`.
fn transformed_input(x: &[f32], g: Geometry, first: usize, c: Geometry) -> Scratch {
    let values = g.channels * g.plane();
    let mut v = Scratch::take(g.channels * c.block());
    transform_input(&x[first * values..][..c.n * values], c, &mut v);
    v
}

/// `conv2d(x, w)` with stride 1 and padding 1: `x` [N, I, H, W] (`g`), `w` [O, I, 3, 3];
/// returns y [N, O, H, W].
pub fn conv3x3(x: &[f32], g: Geometry, w: &[f32], o: usize) -> Vec<f32> {
    let i = g.channels;
    assert_eq!(x.len(), g.n * i * g.plane(), "input size");
    assert_eq!(w.len(), o * i * 9, "kernel size");
    let u = transform_filter(w, o, i);
    let mut y = vec![0f32; g.n * o * g.plane()];
    for (first, c) in chunks(g, i.max(o)) {
        let c_out = Geometry { channels: o, ..c };
        let v = transformed_input(x, g, first, c);
        let mut m = Scratch::take(o * c_out.block());
        let (step, block) = (c.step() as isize, c.block() as isize);
        let (xi, i_) = (XI as isize, i as isize);
        Products {
            m: o,
            n: c.n * c.tiles(),
            k: i,
            dst: [step, block, 1],
            lhs: [i_, xi * i_, 1],
            rhs: [step, block, 1],
        }
        .run(&mut m, &u, &v, false);
        transform_output(
            &m,
            c_out,
            &mut y[first * o * g.plane()..][..c.n * o * g.plane()],
        );
    }
    y
}

/// The weight gradient of [`conv3x3`]: `x` [N, I, H, W] (`g`), `dy` [N, O, H, W]; returns
/// dw [O, I, 3, 3].
pub fn conv3x3_weight_gradient(x: &[f32], g: Geometry, dy: &[f32], o: usize) -> Vec<f32> {
    let i = g.channels;
    assert_eq!(x.len(), g.n * i * g.plane(), "input size");
    assert_eq!(dy.len(), g.n * o * g.plane(), "output gradient size");
    let mut du = vec![0f32; XI * o * i];
    for (first, c) in chunks(g, i.max(o)) {
        let c_out = Geometry { channels: o, ..c };
        let v = transformed_input(x, g, first, c);
        let mut dm = Scratch::take(o * c_out.block());
        let dy_c = &dy[first * o * g.plane()..][..c.n * o * g.plane()];
        transform_output_gradient(dy_c, c_out, &mut dm);
        let (step, block) = (c.step() as isize, c.block() as isize);
        let (i_, o_) = (i as isize, o as isize);
        Products {
            m: o,
            n: i,
            k: c.n * c.tiles(),
            dst: [o_ * i_, i_, 1],
            lhs: [step, block, 1],
            rhs: [step, 1, block],
        }
        .run(&mut du, &dm, &v, first > 0);
    }
    filter_gradient(&du, o, i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct definition: `y[n, o, y, x] = Σ_{i, ky, kx} w[o, i, ky, kx] · x[n, i, y + ky − 1, x + kx − 1]`.
    fn direct(x: &[f32], g: Geometry, w: &[f32], o: usize) -> Vec<f32> {
        let i = g.channels;
        let mut y = vec![0f32; g.n * o * g.plane()];
        for n in 0..g.n {
            for oc in 0..o {
                for yy in 0..g.h {
                    for xx in 0..g.w {
                        let mut s = 0f64;
                        for ic in 0..i {
                            for ky in 0..3 {
                                for kx in 0..3 {
                                    let (sy, sx) = (yy as isize + ky - 1, xx as isize + kx - 1);
                                    if sy < 0 || sx < 0 || sy >= g.h as isize || sx >= g.w as isize
                                    {
                                        continue;
                                    }
                                    let xv =
                                        x[((n * i + ic) * g.h + sy as usize) * g.w + sx as usize];
                                    let wv = w[((oc * i + ic) * 3 + ky as usize) * 3 + kx as usize];
                                    s += (xv * wv) as f64;
                                }
                            }
                        }
                        y[((n * o + oc) * g.h + yy) * g.w + xx] = s as f32;
                    }
                }
            }
        }
        y
    }

    fn values(len: usize, seed: u32) -> Vec<f32> {
        // A fixed, irregular sequence in [-1, 1).
        (0..len)
            .map(|k| {
                let h = (k as u32)
                    .wrapping_mul(2_654_435_761)
                    .wrapping_add(seed.wrapping_mul(97));
                (h >> 8) as f32 / (1u32 << 23) as f32 - 1.0
            })
            .collect()
    }

    fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
        assert_eq!(a.len(), b.len());
        a.iter()
            .zip(b)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }

    #[test]
    fn convolution_equals_the_direct_sum_on_even_and_odd_sizes() {
        for (n, i, o, h, w) in [
            (2, 3, 4, 6, 6),
            (1, 5, 2, 7, 5),
            (3, 2, 3, 4, 4),
            (1, 1, 1, 1, 3),
        ] {
            let g = Geometry {
                n,
                channels: i,
                h,
                w,
            };
            let x = values(n * i * h * w, 1);
            let k = values(o * i * 9, 2);
            let err = max_abs_diff(&conv3x3(&x, g, &k, o), &direct(&x, g, &k, o));
            assert!(err < 1e-5, "{g:?} → {o}: {err}");
        }
    }

    #[test]
    fn weight_gradient_is_the_adjoint_of_the_convolution() {
        // <conv(x, w), dy> is linear in w, so its gradient dw satisfies
        // <dw, e> = <conv(x, e), dy> for every kernel e (here each unit kernel).
        for (n, i, o, h, w) in [(2, 3, 2, 6, 6), (1, 2, 3, 5, 7)] {
            let g = Geometry {
                n,
                channels: i,
                h,
                w,
            };
            let x = values(n * i * h * w, 3);
            let dy = values(n * o * h * w, 4);
            let dw = conv3x3_weight_gradient(&x, g, &dy, o);
            for unit in 0..o * i * 9 {
                let mut e = vec![0f32; o * i * 9];
                e[unit] = 1.0;
                let y = direct(&x, g, &e, o);
                let expected: f64 = y.iter().zip(&dy).map(|(a, b)| (a * b) as f64).sum();
                let got = dw[unit] as f64;
                assert!(
                    (got - expected).abs() < 1e-4,
                    "{g:?} unit {unit}: {got} vs {expected}"
                );
            }
        }
    }
}
