//! Separable banded linear maps applied to every channel plane: `Y = M_h · X · M_wᵀ`, where
//! each row of `M_h` and `M_w` has at most [`TAPS`] consecutive non-zero entries (FIR
//! filtering, up- and down-sampling with a 4-tap filter, and their adjoints).
//!
//! Each plane is independent: planes are spread over the cores, and every output value is
//! summed in the same order whatever the number of threads (results are bit-identical).

use rayon::prelude::*;

/// Most non-zero entries of one row of a band.
pub const TAPS: usize = 4;

/// A matrix [n_out, n_in] whose row `j` is zero except `weights[j]` at columns
/// `start[j] .. start[j] + TAPS` (zeros padded in where a row has fewer entries).
#[derive(Clone, Debug, PartialEq)]
pub struct Band {
    pub n_in: usize,
    pub n_out: usize,
    start: Vec<usize>,
    weights: Vec<[f32; TAPS]>,
}

impl Band {
    /// The band of a dense row-major matrix [n_out, n_in]; None when a row has non-zeros
    /// further apart than [`TAPS`] or the input is shorter than [`TAPS`].
    pub fn from_dense(n_out: usize, n_in: usize, dense: &[f32]) -> Option<Band> {
        assert_eq!(dense.len(), n_out * n_in, "matrix size");
        if n_in < TAPS {
            return None;
        }
        let mut start = Vec::with_capacity(n_out);
        let mut weights = Vec::with_capacity(n_out);
        for row in dense.chunks_exact(n_in) {
            let first = row.iter().position(|&v| v != 0.0).unwrap_or(0);
            let last = row.iter().rposition(|&v| v != 0.0).unwrap_or(0);
            if last >= first + TAPS {
                return None;
            }
            // Keep the window inside the row so every output reads exactly TAPS inputs.
            let s = first.min(n_in - TAPS);
            let mut w = [0f32; TAPS];
            w.copy_from_slice(&row[s..s + TAPS]);
            start.push(s);
            weights.push(w);
        }
        Some(Band {
            n_in,
            n_out,
            start,
            weights,
        })
    }

    /// The transposed matrix [n_in, n_out] (the adjoint map), if it is a band too.
    pub fn transposed(&self) -> Option<Band> {
        let mut dense = vec![0f32; self.n_in * self.n_out];
        for (j, (&s, w)) in self.start.iter().zip(&self.weights).enumerate() {
            for (t, &v) in w.iter().enumerate() {
                dense[(s + t) * self.n_out + j] += v;
            }
        }
        Band::from_dense(self.n_in, self.n_out, &dense)
    }

    /// out[j] = Σ_t w[j][t] · x[start[j] + t] for one row.
    #[inline]
    fn apply_row(&self, x: &[f32], out: &mut [f32]) {
        for ((o, &s), w) in out.iter_mut().zip(&self.start).zip(&self.weights) {
            let x = &x[s..s + TAPS];
            *o = w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + w[3] * x[3];
        }
    }
}

/// `M_h · X · M_wᵀ` for each of the `planes` planes of `x` ([planes, h.n_in, w.n_in],
/// contiguous): [planes, h.n_out, w.n_out].
pub fn apply(x: &[f32], planes: usize, h: &Band, w: &Band) -> Vec<f32> {
    let (in_size, out_size) = (h.n_in * w.n_in, h.n_out * w.n_out);
    assert_eq!(x.len(), planes * in_size, "input size");
    let mut out = vec![0f32; planes * out_size];
    if out_size == 0 {
        return out;
    }
    out.par_chunks_mut(out_size)
        .zip(x.par_chunks(in_size))
        .for_each_init(
            || vec![0f32; h.n_in * w.n_out],
            |rows, (y, x)| {
                // Along the width first: every input row to its output width.
                for (x_row, r) in x.chunks_exact(w.n_in).zip(rows.chunks_exact_mut(w.n_out)) {
                    w.apply_row(x_row, r);
                }
                // Then along the height: each output row a weighted sum of TAPS rows.
                for ((y_row, &s), wt) in y.chunks_exact_mut(w.n_out).zip(&h.start).zip(&h.weights) {
                    let r = |t: usize| &rows[(s + t) * w.n_out..(s + t + 1) * w.n_out];
                    let (r0, r1, r2, r3) = (r(0), r(1), r(2), r(3));
                    for (i, o) in y_row.iter_mut().enumerate() {
                        *o = wt[0] * r0[i] + wt[1] * r1[i] + wt[2] * r2[i] + wt[3] * r3[i];
                    }
                }
            },
        );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense_apply(m: &[f32], n_out: usize, n_in: usize, x: &[f32]) -> Vec<f32> {
        (0..n_out)
            .map(|j| (0..n_in).map(|i| m[j * n_in + i] * x[i]).sum())
            .collect()
    }

    #[test]
    fn band_rows_equal_the_dense_matrix_and_transpose() {
        // A 5 -> 4 map with rows of 2, 4, 1 and no non-zeros, one at the right edge.
        let dense = [
            1.0, 2.0, 0.0, 0.0, 0.0, //
            0.0, 3.0, 4.0, 5.0, 6.0, //
            0.0, 0.0, 0.0, 0.0, 7.0, //
            0.0, 0.0, 0.0, 0.0, 0.0,
        ];
        let band = Band::from_dense(4, 5, &dense).unwrap();
        let x = [0.5, -1.0, 2.0, 3.0, -4.0];
        let mut out = [0f32; 4];
        band.apply_row(&x, &mut out);
        assert_eq!(out.to_vec(), dense_apply(&dense, 4, 5, &x));

        let t = band.transposed().unwrap();
        let y = [1.0, -2.0, 0.25, 8.0];
        let mut back = [0f32; 5];
        t.apply_row(&y, &mut back);
        let dense_t: Vec<f32> = (0..5)
            .flat_map(|i| (0..4).map(move |j| (i, j)))
            .map(|(i, j)| dense[j * 5 + i])
            .collect();
        assert_eq!(back.to_vec(), dense_apply(&dense_t, 5, 4, &y));
    }

    #[test]
    fn wide_rows_and_short_inputs_are_not_bands() {
        let wide = [1.0, 0.0, 0.0, 0.0, 1.0];
        assert!(Band::from_dense(1, 5, &wide).is_none());
        assert!(Band::from_dense(1, 3, &[1.0, 1.0, 1.0]).is_none());
    }
}
