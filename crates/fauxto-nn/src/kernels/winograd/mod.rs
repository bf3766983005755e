//! The stride-1, padding-1 3x3 convolution by Winograd's minimal filtering F(m×m, 3×3)
//! (Lavin & Gray 2016, "Fast Algorithms for Convolutional Neural Networks", §4).
//!
//! Each m x m block of outputs ("tile") is `Y = Aᵀ [ Σ_i (G g Gᵀ)_i ⊙ (Bᵀ d B)_i ] A`, with
//! `d` the (m+2)x(m+2) input patch around the tile and `g` the 3x3 kernel of input channel
//! `i`: the channel sum at each of the (m+2)² transformed positions ξ is one matrix product
//! `M_ξ[O, tiles] = U_ξ[O, I] · V_ξ[I, tiles]`. Two tile sizes are implemented:
//! - F(2×2, 3×3) ([`f2`]): 16 products with 16/36 of the direct convolution's
//!   multiplications, exact to a few ulps;
//! - F(4×4, 3×3) ([`f4`]): 36 products with 36/144 = 1/4 of them, and transformed inputs
//!   2.25x the image instead of 4x, with float32 errors of about 3e-6 of the output's
//!   scale for a 64-channel sum (1e-5 at worst; points 0, ±1, ±2, `tools/winograd_points.py`
//!   compares point sets). The default wherever the image is a multiple of 4 on both sides.
//!
//! Where the layers spend their arithmetic (the 3x3 convolutions of every synthesis and
//! discriminator block) this is most of a training step and of generation.
//!
//! The backward pass is the same algebra read backwards:
//! - the input gradient of this convolution is the same convolution of the output gradient
//!   with the flipped, transposed kernel;
//! - the weight gradient follows from `Y = Aᵀ M A`, `M = Σ U ⊙ V`, `U = G g Gᵀ`:
//!   `dM = A dY Aᵀ` per tile, `dU_ξ[O, I] = dM_ξ[O, tiles] · V_ξ[I, tiles]ᵀ`,
//!   `dg = Gᵀ dU G`.
//!
//! Layouts: transformed inputs `V` as [I][ξ][N·T], transformed kernels `U` as [O][ξ][I],
//! products `M` and transformed output gradients `dM` as [O][ξ][N·T], where T is the number
//! of tiles of one image (the rows of the big ones a cache line apart, see
//! [`Tiles::step`]). One channel's transform is one contiguous block, so channels are spread
//! over the cores; the products run in parallel, each on one core, and every value is
//! summed in the same order whatever the number of threads.

use std::sync::atomic::{AtomicU8, Ordering};

use rayon::prelude::*;

use super::scratch::Scratch;

mod f2;
mod f4;

use f2::F2;
use f4::F4;

/// Transformed values per batch chunk: a batch is taken a few images at a time so that its
/// transforms stay a bounded size, however large the batch or image.
const CHUNK_VALUES: usize = if cfg!(test) { 1 } else { 1 << 22 };
/// Floats in a cache line: the skew of the transformed rows (see [`Tiles::step`]).
const SKEW: usize = 16;

/// A batch of images [N, C, H, W].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    pub n: usize,
    pub channels: usize,
    pub h: usize,
    pub w: usize,
}

/// A batch of images [N, C, H, W] cut into m x m output tiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Tiles {
    pub n: usize,
    pub channels: usize,
    pub h: usize,
    pub w: usize,
    /// The side of an output tile.
    pub m: usize,
}

impl Tiles {
    fn of(g: Geometry, m: usize) -> Self {
        let Geometry { n, channels, h, w } = g;
        Tiles {
            n,
            channels,
            h,
            w,
            m,
        }
    }

    /// Transformed positions per tile, (m + 2)².
    pub fn xi(&self) -> usize {
        (self.m + 2) * (self.m + 2)
    }

    pub fn tile_rows(&self) -> usize {
        self.h.div_ceil(self.m)
    }

    pub fn tile_cols(&self) -> usize {
        self.w.div_ceil(self.m)
    }

    /// Tiles of one image.
    pub fn tiles(&self) -> usize {
        self.tile_rows() * self.tile_cols()
    }

    pub fn plane(&self) -> usize {
        self.h * self.w
    }

    /// Distance between the rows of two transformed positions ξ of one channel: the tiles of
    /// the batch and a cache line more, so that the rows a tile is written to (and read
    /// from) do not all fall into the same cache set, as power-of-two distances would.
    pub fn step(&self) -> usize {
        self.n * self.tiles() + SKEW
    }

    /// Distance between two channels' blocks of ξ rows (skewed likewise).
    pub fn block(&self) -> usize {
        self.xi() * self.step() + SKEW
    }
}

/// One Winograd algorithm F(m×m, 3×3): its five transforms over whole batches.
trait Algorithm {
    /// The side of an output tile.
    const M: usize;
    /// `Bᵀ d B` for every tile of every image: `x` [N, C, H, W] → V [C][ξ][N·T].
    fn transform_input(x: &[f32], g: Tiles, v: &mut [f32]);
    /// `G g Gᵀ` for every kernel: `w` [O, I, 3, 3] → U [O][ξ][I].
    fn transform_filter(w: &[f32], o: usize, i: usize) -> Vec<f32>;
    /// `Aᵀ M A` for every tile, cut to the image: M [O][ξ][N·T] → y [N, O, H, W].
    fn transform_output(m: &[f32], g: Tiles, y: &mut [f32]);
    /// `A dY Aᵀ` for every tile (zeros beyond the image): dY [N, O, H, W] → dM [O][ξ][N·T].
    fn transform_output_gradient(dy: &[f32], g: Tiles, dm: &mut [f32]);
    /// `Gᵀ dU G` for every kernel: dU [ξ][O][I] → dw [O, I, 3, 3].
    fn filter_gradient(du: &[f32], o: usize, i: usize) -> Vec<f32>;
}

/// Which tile size runs: 0 not yet read from the environment, else 2 or 4.
static TILE: AtomicU8 = AtomicU8::new(0);

/// The output tile side used where both apply: 4 unless `FAUXTO_WINOGRAD=2` (or
/// [`set_tile`]) asks for F(2×2, 3×3).
pub fn tile() -> usize {
    match TILE.load(Ordering::Relaxed) {
        0 => {
            let two = std::env::var("FAUXTO_WINOGRAD").is_ok_and(|v| v == "2");
            let m = if two { 2 } else { 4 };
            TILE.store(m, Ordering::Relaxed);
            m as usize
        }
        m => m as usize,
    }
}

/// Chooses the output tile side, 2 or 4, for the whole process.
pub fn set_tile(m: usize) {
    assert!(
        m == 2 || m == 4,
        "Winograd tiles are 2x2 or 4x4, not {m}x{m}"
    );
    TILE.store(m as u8, Ordering::Relaxed);
}

/// Whether images of this size take F(4×4, 3×3): both sides a multiple of 4 (no tile
/// mostly padding), unless F(2×2, 3×3) was asked for. It depends on the image size alone,
/// so every peer of a data-parallel run computes the same way.
fn by_4x4(g: Geometry) -> bool {
    tile() == 4 && g.h.is_multiple_of(4) && g.w.is_multiple_of(4)
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

/// The products `dst_ξ[m, n] = lhs_ξ[m, k] · rhs_ξ[k, n]`, one for each of the `xi`
/// transformed positions, one per core at a time. Each operand is given by its pointer at
/// ξ = 0, the step from one ξ to the next, and its row and column strides.
struct Products {
    xi: usize,
    m: usize,
    n: usize,
    k: usize,
    /// (ξ step, row stride, column stride) of destination, left and right operand.
    dst: [isize; 3],
    lhs: [isize; 3],
    rhs: [isize; 3],
}

impl Products {
    /// The farthest index a matrix [rows, cols] with `(ξ step, row stride, column stride)`
    /// reaches over the positions.
    fn reach(&self, [step, row, col]: [isize; 3], rows: usize, cols: usize) -> usize {
        let last = |extent: usize| extent.saturating_sub(1) as isize;
        (step * last(self.xi) + row * last(rows) + col * last(cols)) as usize
    }

    /// Writes the products into `dst`, or adds them to it (`accumulate`).
    fn run(&self, dst: &mut [f32], lhs: &[f32], rhs: &[f32], accumulate: bool) {
        let (m, n, k) = (self.m, self.n, self.k);
        assert!(
            self.reach(self.dst, m, n) < dst.len(),
            "destination too small"
        );
        assert!(
            self.reach(self.lhs, m, k) < lhs.len(),
            "left operand too small"
        );
        assert!(
            self.reach(self.rhs, k, n) < rhs.len(),
            "right operand too small"
        );
        let out = Shared(dst.as_mut_ptr());
        (0..self.xi).into_par_iter().for_each(|xi| {
            let xi = xi as isize;
            // SAFETY: every operand holds the last value its strides reach (checked above),
            // and the callers' strides keep the destination blocks of the positions apart.
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

/// The batch in chunks of whole images, each with at most [`CHUNK_VALUES`] transformed
/// values of `channels` channels (one image at least): (first image, chunk tiling).
/// (The tests take one image at a time, so that they check the joins between chunks.)
fn chunks(g: Tiles, channels: usize) -> impl Iterator<Item = (usize, Tiles)> {
    let per_image = channels * g.xi() * g.tiles();
    let images = (CHUNK_VALUES / per_image.max(1)).clamp(1, g.n.max(1));
    (0..g.n).step_by(images).map(move |first| {
        (
            first,
            Tiles {
                n: images.min(g.n - first),
                ..g
            },
        )
    })
}

/// The transformed input of the chunk `c` of `x` (tiling `g`) that starts at image `first`.
fn transformed_input<A: Algorithm>(x: &[f32], g: Tiles, first: usize, c: Tiles) -> Scratch {
    let values = g.channels * g.plane();
    let mut v = Scratch::take(g.channels * c.block());
    A::transform_input(&x[first * values..][..c.n * values], c, &mut v);
    v
}

/// `conv2d(x, w)` with stride 1 and padding 1: `x` [N, I, H, W] (`g`), `w` [O, I, 3, 3];
/// returns y [N, O, H, W].
pub fn conv3x3(x: &[f32], g: Geometry, w: &[f32], o: usize) -> Vec<f32> {
    if by_4x4(g) {
        conv3x3_by::<F4>(x, g, w, o)
    } else {
        conv3x3_by::<F2>(x, g, w, o)
    }
}

/// The weight gradient of [`conv3x3`]: `x` [N, I, H, W] (`g`), `dy` [N, O, H, W]; returns
/// dw [O, I, 3, 3].
pub fn conv3x3_weight_gradient(x: &[f32], g: Geometry, dy: &[f32], o: usize) -> Vec<f32> {
    if by_4x4(g) {
        weight_gradient_by::<F4>(x, g, dy, o)
    } else {
        weight_gradient_by::<F2>(x, g, dy, o)
    }
}

/// [`conv3x3`] by the algorithm `A`.
fn conv3x3_by<A: Algorithm>(x: &[f32], g: Geometry, w: &[f32], o: usize) -> Vec<f32> {
    let i = g.channels;
    assert_eq!(x.len(), g.n * i * g.h * g.w, "input size");
    assert_eq!(w.len(), o * i * 9, "kernel size");
    let g = Tiles::of(g, A::M);
    let u = A::transform_filter(w, o, i);
    let mut y = vec![0f32; g.n * o * g.plane()];
    for (first, c) in chunks(g, i.max(o)) {
        let c_out = Tiles { channels: o, ..c };
        let v = transformed_input::<A>(x, g, first, c);
        let mut m = Scratch::take(o * c_out.block());
        let (step, block) = (c.step() as isize, c.block() as isize);
        let (xi, i_) = (c.xi() as isize, i as isize);
        Products {
            xi: c.xi(),
            m: o,
            n: c.n * c.tiles(),
            k: i,
            dst: [step, block, 1],
            lhs: [i_, xi * i_, 1],
            rhs: [step, block, 1],
        }
        .run(&mut m, &u, &v, false);
        A::transform_output(
            &m,
            c_out,
            &mut y[first * o * g.plane()..][..c.n * o * g.plane()],
        );
    }
    y
}

/// [`conv3x3_weight_gradient`] by the algorithm `A`.
fn weight_gradient_by<A: Algorithm>(x: &[f32], g: Geometry, dy: &[f32], o: usize) -> Vec<f32> {
    let i = g.channels;
    assert_eq!(x.len(), g.n * i * g.h * g.w, "input size");
    assert_eq!(dy.len(), g.n * o * g.h * g.w, "output gradient size");
    let g = Tiles::of(g, A::M);
    let mut du = vec![0f32; g.xi() * o * i];
    for (first, c) in chunks(g, i.max(o)) {
        let c_out = Tiles { channels: o, ..c };
        let v = transformed_input::<A>(x, g, first, c);
        let mut dm = Scratch::take(o * c_out.block());
        let dy_c = &dy[first * o * g.plane()..][..c.n * o * g.plane()];
        A::transform_output_gradient(dy_c, c_out, &mut dm);
        let (step, block) = (c.step() as isize, c.block() as isize);
        let (i_, o_) = (i as isize, o as isize);
        Products {
            xi: c.xi(),
            m: o,
            n: i,
            k: c.n * c.tiles(),
            dst: [o_ * i_, i_, 1],
            lhs: [step, block, 1],
            rhs: [step, 1, block],
        }
        .run(&mut du, &dm, &v, first > 0);
    }
    A::filter_gradient(&du, o, i)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The direct definition: `y[n, o, y, x] = Σ_{i, ky, kx} w[o, i, ky, kx] · x[n, i, y + ky − 1, x + kx − 1]`.
    fn direct(x: &[f32], g: Geometry, w: &[f32], o: usize) -> Vec<f32> {
        let i = g.channels;
        let mut y = vec![0f32; g.n * o * g.h * g.w];
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

    /// Both algorithms and the tolerance each is held to (inputs and kernels in [-1, 1),
    /// at most 5 channels: outputs up to about 10). F(4×4, 3×3) multiplies by up to 8 and
    /// 1/24 on the way, so its rounding is about ten times F(2×2, 3×3)'s.
    type Conv = fn(&[f32], Geometry, &[f32], usize) -> Vec<f32>;
    type WeightGradient = fn(&[f32], Geometry, &[f32], usize) -> Vec<f32>;
    const ALGORITHMS: [(&str, Conv, WeightGradient, f32); 2] = [
        (
            "F(2x2, 3x3)",
            conv3x3_by::<F2>,
            weight_gradient_by::<F2>,
            1e-5,
        ),
        (
            "F(4x4, 3x3)",
            conv3x3_by::<F4>,
            weight_gradient_by::<F4>,
            1e-4,
        ),
    ];

    #[test]
    fn convolution_equals_the_direct_sum_on_every_size() {
        for (name, conv, _, tol) in ALGORITHMS {
            for (n, i, o, h, w) in [
                (2, 3, 4, 6, 6),
                (1, 5, 2, 7, 5),
                (3, 2, 3, 4, 4),
                (1, 1, 1, 1, 3),
                (2, 3, 2, 8, 8),
                (1, 2, 3, 9, 10),
                (1, 4, 2, 11, 13),
            ] {
                let g = Geometry {
                    n,
                    channels: i,
                    h,
                    w,
                };
                let x = values(n * i * h * w, 1);
                let k = values(o * i * 9, 2);
                let err = max_abs_diff(&conv(&x, g, &k, o), &direct(&x, g, &k, o));
                assert!(err < tol, "{name} {g:?} → {o}: {err}");
            }
        }
    }

    #[test]
    fn weight_gradient_is_the_adjoint_of_the_convolution() {
        // <conv(x, w), dy> is linear in w, so its gradient dw satisfies
        // <dw, e> = <conv(x, e), dy> for every kernel e (here each unit kernel).
        for (name, _, weight_gradient, tol) in ALGORITHMS {
            for (n, i, o, h, w) in [(2, 3, 2, 6, 6), (1, 2, 3, 5, 7), (2, 2, 2, 8, 8)] {
                let g = Geometry {
                    n,
                    channels: i,
                    h,
                    w,
                };
                let x = values(n * i * h * w, 3);
                let dy = values(n * o * h * w, 4);
                let dw = weight_gradient(&x, g, &dy, o);
                for unit in 0..o * i * 9 {
                    let mut e = vec![0f32; o * i * 9];
                    e[unit] = 1.0;
                    let y = direct(&x, g, &e, o);
                    let expected: f64 = y.iter().zip(&dy).map(|(a, b)| (a * b) as f64).sum();
                    let got = dw[unit] as f64;
                    assert!(
                        (got - expected).abs() < 10.0 * tol as f64,
                        "{name} {g:?} unit {unit}: {got} vs {expected}"
                    );
                }
            }
        }
    }

    #[test]
    fn images_of_multiples_of_four_take_the_4x4_tiles_unless_told_otherwise() {
        let g = |h, w| Geometry {
            n: 1,
            channels: 1,
            h,
            w,
        };
        assert_eq!(tile(), 4, "the default tile");
        assert!(by_4x4(g(8, 8)) && by_4x4(g(4, 12)));
        assert!(!by_4x4(g(6, 8)) && !by_4x4(g(8, 7)));
    }
}
