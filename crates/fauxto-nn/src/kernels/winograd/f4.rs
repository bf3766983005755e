//! Winograd's F(4×4, 3×3): 4x4 output tiles from 6x6 input patches, 36 transformed
//! positions (Lavin & Gray 2016, §4.2), on the points 0, 1, −1, 2, −2 and ∞:
//!
//! ```text
//!      [4  0 -5  0 1 0]        [ 1/4     0    0 ]
//!      [0 -4 -4  1 1 0]        [-1/6  -1/6 -1/6 ]        [1 1  1 1  1 0]
//! Bᵀ = [0  4 -4 -1 1 0]    G = [-1/6   1/6 -1/6 ]   Aᵀ = [0 1 -1 2 -2 0]
//!      [0 -2 -1  2 1 0]        [1/24  1/12  1/6 ]        [0 1  1 4  4 0]
//!      [0  2 -1 -2 1 0]        [1/24 -1/12  1/6 ]        [0 1 -1 8 -8 1]
//!      [0  4  0 -5 0 1]        [ 0     0     1  ]
//! ```
//!
//! The symmetric pairs of points (±1, ±2) let each axis transform share its sums and
//! differences. Every loop runs over whole rows of tiles, as in F(2×2, 3×3): an image row is
//! first split into its four phases (`row[4t + q − 1]` for the input, `row[4t + q]` for the
//! output), so that the six columns of tile t's patch are phases 0–3 at t and 0–1 at t + 1.

use rayon::prelude::*;

use super::{Algorithm, Tiles};

/// F(4×4, 3×3).
pub(super) struct F4;

/// The side of an input patch.
const ALPHA: usize = 6;
/// Transformed positions per tile (6x6).
const XI: usize = ALPHA * ALPHA;

impl Algorithm for F4 {
    const M: usize = 4;

    fn transform_input(x: &[f32], g: Tiles, v: &mut [f32]) {
        transform_input(x, g, v)
    }

    fn transform_filter(w: &[f32], o: usize, i: usize) -> Vec<f32> {
        transform_filter(w, o, i)
    }

    fn transform_output(m: &[f32], g: Tiles, y: &mut [f32]) {
        transform_output(m, g, y)
    }

    fn transform_output_gradient(dy: &[f32], g: Tiles, dm: &mut [f32]) {
        transform_output_gradient(dy, g, dm)
    }

    fn filter_gradient(du: &[f32], o: usize, i: usize) -> Vec<f32> {
        filter_gradient(du, o, i)
    }
}

/// `Bᵀ d`: the input transform along one axis.
#[inline(always)]
fn input_axis([d0, d1, d2, d3, d4, d5]: [f32; 6]) -> [f32; 6] {
    let (s12, d12) = (d1 + d2, d1 - d2);
    let (s34, d34) = (d3 + d4, d4 - d3);
    let (a, b) = (d4 - d2, 2.0 * (d3 - d1));
    [
        4.0 * d0 - 5.0 * d2 + d4,
        s34 - 4.0 * s12,
        d34 + 4.0 * d12,
        a + b,
        a - b,
        4.0 * d1 - 5.0 * d3 + d5,
    ]
}

/// `Aᵀ m`: the output transform along one axis.
#[inline(always)]
fn output_axis([m0, m1, m2, m3, m4, m5]: [f32; 6]) -> [f32; 4] {
    let (s12, d12) = (m1 + m2, m1 - m2);
    let (s34, d34) = (m3 + m4, m3 - m4);
    [
        m0 + s12 + s34,
        d12 + 2.0 * d34,
        s12 + 4.0 * s34,
        d12 + 8.0 * d34 + m5,
    ]
}

/// `A e`: the adjoint of the output transform along one axis.
#[inline(always)]
fn output_adjoint_axis([e0, e1, e2, e3]: [f32; 4]) -> [f32; 6] {
    let (even1, odd1) = (e0 + e2, e1 + e3);
    let (even2, odd2) = (e0 + 4.0 * e2, 2.0 * e1 + 8.0 * e3);
    [
        e0,
        even1 + odd1,
        even1 - odd1,
        even2 + odd2,
        even2 - odd2,
        e3,
    ]
}

/// `G g`: the kernel transform along one axis.
#[inline(always)]
fn filter_axis([g0, g1, g2]: [f32; 3]) -> [f32; 6] {
    let (even, odd) = (g0 + g2, g1);
    let (even4, odd4) = (g0 / 24.0 + g2 / 6.0, g1 / 12.0);
    [
        g0 / 4.0,
        -(even + odd) / 6.0,
        -(even - odd) / 6.0,
        even4 + odd4,
        even4 - odd4,
        g2,
    ]
}

/// `Gᵀ u`: the adjoint of the kernel transform along one axis.
#[inline(always)]
fn filter_adjoint_axis([u0, u1, u2, u3, u4, u5]: [f32; 6]) -> [f32; 3] {
    let (s12, d12) = (u1 + u2, u2 - u1);
    let (s34, d34) = (u3 + u4, u3 - u4);
    [
        u0 / 4.0 - s12 / 6.0 + s34 / 24.0,
        d12 / 6.0 + d34 / 12.0,
        (s34 - s12) / 6.0 + u5,
    ]
}

/// `row` split into its four phases, zero-padded: `phases[q · len + k] = row[4k + q − shift]`
/// for k in 0..len (zeros outside the row, or everywhere when there is no row).
fn split_phases(row: Option<&[f32]>, shift: usize, len: usize, phases: &mut [f32]) {
    phases.fill(0.0);
    let Some(row) = row else { return };
    let place = |phases: &mut [f32], x: usize, value: f32| {
        let at = x + shift;
        if at / 4 < len {
            phases[at % 4 * len + at / 4] = value;
        }
    };
    // The values before the first whole group of four phases, the groups, the rest.
    let head = ((4 - shift % 4) % 4).min(row.len());
    for (x, v) in row[..head].iter().enumerate() {
        place(phases, x, *v);
    }
    let start = (head + shift) / 4;
    let whole = ((row.len() - head) / 4).min(len.saturating_sub(start));
    let [q0, q1, q2, q3] = [0, 1, 2, 3].map(|q| q * len + start);
    for (k, quad) in row[head..head + 4 * whole].chunks_exact(4).enumerate() {
        phases[q0 + k] = quad[0];
        phases[q1 + k] = quad[1];
        phases[q2 + k] = quad[2];
        phases[q3 + k] = quad[3];
    }
    let done = head + 4 * whole;
    for (x, v) in row[done..].iter().enumerate() {
        place(phases, done + x, *v);
    }
}

/// `Bᵀ d B` for every tile of every image: `x` [N, C, H, W] → V [C][ξ][N·T].
///
/// Per tile row: the six input rows around it, each split into its phases; `Bᵀ` combines
/// the rows (phase by phase: whole-row loops), `B` the columns `4t − 1 ..= 4t + 4`.
fn transform_input(x: &[f32], g: Tiles, v: &mut [f32]) {
    let (tw, tiles, step) = (g.tile_cols(), g.tiles(), g.step());
    let len = tw + 1;
    v.par_chunks_mut(g.block())
        .enumerate()
        .for_each(|(c, v_c)| {
            let mut split = [(); ALPHA].map(|_| vec![0f32; 4 * len]);
            let mut combined = split.clone();
            for image in 0..g.n {
                let plane = &x[(image * g.channels + c) * g.plane()..][..g.plane()];
                for ty in 0..g.tile_rows() {
                    for (r, phases) in split.iter_mut().enumerate() {
                        let y = (4 * ty + r).checked_sub(1).filter(|&y| y < g.h);
                        split_phases(y.map(|y| &plane[y * g.w..][..g.w]), 1, len, phases);
                    }
                    // Bᵀ along the columns of the patches: the six rows combined.
                    let [r0, r1, r2, r3, r4, r5] = split.each_ref().map(|r| &r[..4 * len]);
                    let [c0, c1, c2, c3, c4, c5] = combined.each_mut().map(|r| &mut r[..4 * len]);
                    for k in 0..4 * len {
                        [c0[k], c1[k], c2[k], c3[k], c4[k], c5[k]] =
                            input_axis([r0[k], r1[k], r2[k], r3[k], r4[k], r5[k]]);
                    }
                    // B along the rows: six transformed values per combined row and tile,
                    // from phases 0-3 of the tile and phases 0-1 of the next.
                    let first = image * tiles + ty * tw;
                    for (a, row) in combined.iter().enumerate() {
                        let [p0, p1, p2, p3] = [0, 1, 2, 3].map(|q| &row[q * len..][..tw]);
                        let [n0, n1] = [0, 1].map(|q| &row[q * len + 1..][..tw]);
                        let mut rows =
                            v_c[ALPHA * a * step..][..ALPHA * step].chunks_exact_mut(step);
                        let mut next = || &mut rows.next().expect("six rows")[first..first + tw];
                        let [t0, t1, t2, t3, t4, t5] = [(); ALPHA].map(|_| next());
                        for t in 0..tw {
                            [t0[t], t1[t], t2[t], t3[t], t4[t], t5[t]] =
                                input_axis([p0[t], p1[t], p2[t], p3[t], n0[t], n1[t]]);
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
            let by_row: [[f32; 6]; 3] =
                std::array::from_fn(|r| filter_axis([k[3 * r], k[3 * r + 1], k[3 * r + 2]]));
            for b in 0..ALPHA {
                let col = filter_axis([by_row[0][b], by_row[1][b], by_row[2][b]]);
                for (a, value) in col.into_iter().enumerate() {
                    u_o[(a * ALPHA + b) * i + ic] = value;
                }
            }
        }
    });
    u
}

/// `Aᵀ M A` for every tile, cut to the image: M [O][ξ][N·T] → y [N, O, H, W].
///
/// Per tile row, `Aᵀ` combines the 36 rows of M into the 4x6 values of the tile's four
/// output rows, and `A` those into the 4x4 outputs, four phases interleaved into each image
/// row.
fn transform_output(m: &[f32], g: Tiles, y: &mut [f32]) {
    let (tw, tiles, step) = (g.tile_cols(), g.tiles(), g.step());
    y.par_chunks_mut(g.plane()).enumerate().for_each_init(
        || {
            // combined[i][b]: output row i of the tile, transformed column b.
            let combined = [(); 4].map(|_| [(); ALPHA].map(|_| vec![0f32; tw]));
            (combined, [(); 4].map(|_| vec![0f32; tw]))
        },
        |(combined, phases), (p, plane)| {
            let (image, oc) = (p / g.channels, p % g.channels);
            let m_o = &m[oc * g.block()..][..g.block()];
            for ty in 0..g.tile_rows() {
                let first = image * tiles + ty * tw;
                for b in 0..ALPHA {
                    let [m0, m1, m2, m3, m4, m5] = std::array::from_fn::<_, ALPHA, _>(|a| {
                        &m_o[(ALPHA * a + b) * step + first..][..tw]
                    });
                    let [c0, c1, c2, c3] = combined.each_mut().map(|row| &mut row[b][..tw]);
                    for t in 0..tw {
                        [c0[t], c1[t], c2[t], c3[t]] =
                            output_axis([m0[t], m1[t], m2[t], m3[t], m4[t], m5[t]]);
                    }
                }
                for (i, out_y) in (4 * ty..g.h.min(4 * ty + 4)).enumerate() {
                    let [c0, c1, c2, c3, c4, c5] = combined[i].each_ref().map(|c| &c[..tw]);
                    let [q0, q1, q2, q3] = phases.each_mut().map(|q| &mut q[..tw]);
                    for t in 0..tw {
                        [q0[t], q1[t], q2[t], q3[t]] =
                            output_axis([c0[t], c1[t], c2[t], c3[t], c4[t], c5[t]]);
                    }
                    // Interleave the tiles' four columns into the image row.
                    let row = &mut plane[out_y * g.w..][..g.w];
                    let [q0, q1, q2, q3] = phases.each_ref().map(|q| &q[..tw]);
                    let mut quads = row.chunks_exact_mut(4);
                    for (t, quad) in (&mut quads).enumerate().take(tw) {
                        quad.copy_from_slice(&[q0[t], q1[t], q2[t], q3[t]]);
                    }
                    for (q, value) in quads.into_remainder().iter_mut().enumerate() {
                        *value = phases[q][g.w / 4];
                    }
                }
            }
        },
    );
}

/// `A dY Aᵀ` for every tile (zeros beyond the image): dY [N, O, H, W] → dM [O][ξ][N·T].
///
/// Per tile row, the four output-gradient rows split into the tiles' four columns
/// (zero-padded), `A` along the columns, then along the rows: whole-row loops.
fn transform_output_gradient(dy: &[f32], g: Tiles, dm: &mut [f32]) {
    let (tw, tiles, step) = (g.tile_cols(), g.tiles(), g.step());
    dm.par_chunks_mut(g.block())
        .enumerate()
        .for_each(|(oc, dm_o)| {
            let mut split = [(); 4].map(|_| vec![0f32; 4 * tw]);
            // combined[i][b]: tile row i, transformed column b.
            let mut combined = [(); 4].map(|_| [(); ALPHA].map(|_| vec![0f32; tw]));
            for image in 0..g.n {
                let plane = &dy[(image * g.channels + oc) * g.plane()..][..g.plane()];
                for ty in 0..g.tile_rows() {
                    for (i, phases) in split.iter_mut().enumerate() {
                        let y = Some(4 * ty + i).filter(|&y| y < g.h);
                        split_phases(y.map(|y| &plane[y * g.w..][..g.w]), 0, tw, phases);
                    }
                    // A along the rows of each tile.
                    for (phases, out) in split.iter().zip(&mut combined) {
                        let [e0, e1, e2, e3] = [0, 1, 2, 3].map(|q| &phases[q * tw..][..tw]);
                        let [o0, o1, o2, o3, o4, o5] = out.each_mut().map(|c| &mut c[..tw]);
                        for t in 0..tw {
                            [o0[t], o1[t], o2[t], o3[t], o4[t], o5[t]] =
                                output_adjoint_axis([e0[t], e1[t], e2[t], e3[t]]);
                        }
                    }
                    // A along the columns: 36 rows of dM.
                    let first = image * tiles + ty * tw;
                    for b in 0..ALPHA {
                        let [r0, r1, r2, r3] = combined.each_ref().map(|row| &row[b][..tw]);
                        let mut rows = dm_o.chunks_exact_mut(step).skip(b).step_by(ALPHA);
                        let mut next = || &mut rows.next().expect("six rows")[first..first + tw];
                        let [d0, d1, d2, d3, d4, d5] = [(); ALPHA].map(|_| next());
                        for t in 0..tw {
                            [d0[t], d1[t], d2[t], d3[t], d4[t], d5[t]] =
                                output_adjoint_axis([r0[t], r1[t], r2[t], r3[t]]);
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
            let by_col: [[f32; 3]; ALPHA] = std::array::from_fn(|b| {
                filter_adjoint_axis(std::array::from_fn(|a| at(ALPHA * a + b)))
            });
            for r in 0..3 {
                let row = filter_adjoint_axis(std::array::from_fn(|b| by_col[b][r]));
                k[3 * r..3 * r + 3].copy_from_slice(&row);
            }
        }
    });
    dw
}
