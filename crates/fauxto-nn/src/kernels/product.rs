//! A matrix product over strided operands, bounds-checked before the unsafe call into the
//! `gemm` crate, on all cores.

/// `dst[m, n] (+)= lhs[m, k] · rhs[k, n]`, each operand given by its (row, column) strides.
#[allow(clippy::too_many_arguments)]
pub(super) fn product(
    [m, n, k]: [usize; 3],
    dst: &mut [f32],
    dst_strides: [isize; 2],
    accumulate: bool,
    lhs: &[f32],
    lhs_strides: [isize; 2],
    rhs: &[f32],
    rhs_strides: [isize; 2],
) {
    let reach = |[rs, cs]: [isize; 2], rows: usize, cols: usize| {
        (rs * (rows.max(1) - 1) as isize + cs * (cols.max(1) - 1) as isize) as usize
    };
    assert!(
        reach(dst_strides, m, n) < dst.len().max(1),
        "destination too small"
    );
    assert!(
        reach(lhs_strides, m, k) < lhs.len().max(1),
        "left operand too small"
    );
    assert!(
        reach(rhs_strides, k, n) < rhs.len().max(1),
        "right operand too small"
    );
    // SAFETY: every operand holds the last value its strides reach (checked above).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dst_strides[1],
            dst_strides[0],
            accumulate,
            lhs.as_ptr(),
            lhs_strides[1],
            lhs_strides[0],
            rhs.as_ptr(),
            rhs_strides[1],
            rhs_strides[0],
            1.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        );
    }
}
