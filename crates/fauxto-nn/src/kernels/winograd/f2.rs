//! Winograd's F(2×2, 3×3): 2x2 output tiles from 4x4 input patches, 16 transformed
//! positions (Lavin & Gray 2016, §4.1), with the transforms
//!
//! ```text
//! Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]    G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1]
//! Aᵀ = [1 1 1 0; 0 1 -1 -1]
//! ```

use rayon::prelude::*;

use super::{Algorithm, Tiles};

/// F(2×2, 3×3).
pub(super) struct F2;

/// Transformed positions per tile (4x4).
const XI: usize = 16;

impl Algorithm for F2 {
    const M: usize = 2;

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
fn transform_input(x: &[f32], g: Tiles, v: &mut [f32]) {
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

/// `Aᵀ M A` for every tile, cut to the image: M [O][ξ][N·T] → y [N, O, H, W].
///
/// Per tile row, `Aᵀ` combines the 16 rows of M (one per ξ) into the 2x4 values of each
/// tile's two output rows, and `A` those into the 2x2 outputs: whole-row loops, as in
/// [`transform_input`].
fn transform_output(m: &[f32], g: Tiles, y: &mut [f32]) {
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
fn transform_output_gradient(dy: &[f32], g: Tiles, dm: &mut [f32]) {
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
