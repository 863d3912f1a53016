//! Row-major copy of a strided view (the kernel behind [`crate::Tensor::contiguous`]).
//!
//! Axes of length 1 are dropped and adjacent axes that are jointly row-major are merged, so
//! most views reduce to at most a few axes. The innermost two axes are then copied by one of
//! three paths: whole rows (`memcpy`) when the last axis has unit stride, a blocked tile
//! transpose when the second-to-last axis has unit stride (a transposed matrix), and a plain
//! strided loop otherwise (e.g. broadcast views with stride 0).

use ndarray::ArrayViewD;

/// Tile edge of the blocked transpose: a 32×32 f32 source tile plus its destination tile
/// (8 KiB) stay in L1.
const TILE: usize = 32;

/// Collapses `(shape, strides)`: drops length-1 axes, merges adjacent row-major axes.
fn collapse(shape: &[usize], strides: &[isize]) -> (Vec<usize>, Vec<isize>) {
    let mut dims: Vec<usize> = Vec::with_capacity(shape.len());
    let mut strs: Vec<isize> = Vec::with_capacity(shape.len());
    for (&d, &s) in shape.iter().zip(strides) {
        if d == 1 {
            continue;
        }
        if let (Some(ld), Some(ls)) = (dims.last_mut(), strs.last_mut()) {
            if *ls == s * d as isize {
                *ld *= d;
                *ls = s;
                continue;
            }
        }
        dims.push(d);
        strs.push(s);
    }
    (dims, strs)
}

/// Copies `view` into a new row-major `Vec` (element order of `view.iter()`).
pub(crate) fn to_row_major(view: &ArrayViewD<'_, f32>) -> Vec<f32> {
    let n = view.len();
    if let Some(s) = view.as_slice() {
        return s.to_vec();
    }
    let strides: Vec<isize> = view.strides().to_vec();
    let (mut dims, mut strs) = collapse(view.shape(), &strides);
    if n == 0 {
        return Vec::new();
    }
    // Pad to at least two axes so the inner 2-D kernel always applies.
    while dims.len() < 2 {
        dims.insert(0, 1);
        strs.insert(0, 0);
    }
    let r = dims.len();
    let (rows, cols) = (dims[r - 2], dims[r - 1]);
    let (sr, sc) = (strs[r - 2], strs[r - 1]);
    let outer_dims = &dims[..r - 2];
    let outer_strs = &strs[..r - 2];
    let block = rows * cols;
    let mut out = vec![0.0f32; n];
    let base = view.as_ptr();
    let mut idx = vec![0usize; outer_dims.len()];
    let mut offset: isize = 0;
    for dst in out.chunks_exact_mut(block) {
        // SAFETY: `offset` plus any `i * sr + j * sc` with `i < rows`, `j < cols` is the
        // offset of a valid element of `view` relative to `view.as_ptr()` (the element at
        // index zero), because `(dims, strs)` describes exactly the same elements as the
        // view's own shape and strides.
        unsafe { copy_2d(base.offset(offset), rows, cols, sr, sc, dst) };
        // Advance the outer multi-index (row-major odometer).
        for a in (0..idx.len()).rev() {
            idx[a] += 1;
            offset += outer_strs[a];
            if idx[a] < outer_dims[a] {
                break;
            }
            offset -= outer_strs[a] * outer_dims[a] as isize;
            idx[a] = 0;
        }
    }
    out
}

/// Copies the `rows × cols` strided matrix at `src` into the row-major `dst`.
///
/// # Safety
/// Every `src.offset(i * sr + j * sc)` with `i < rows`, `j < cols` must be readable.
unsafe fn copy_2d(
    src: *const f32,
    rows: usize,
    cols: usize,
    sr: isize,
    sc: isize,
    dst: &mut [f32],
) {
    if sc == 1 {
        for (i, row) in dst.chunks_exact_mut(cols).enumerate() {
            let s = std::slice::from_raw_parts(src.offset(i as isize * sr), cols);
            row.copy_from_slice(s);
        }
    } else if sr == 1 && rows > 1 {
        // Transposed matrix: source columns are contiguous. Tile so that both the reads
        // (along i) and the writes (along j) stay within a few cache lines.
        for i0 in (0..rows).step_by(TILE) {
            let i1 = (i0 + TILE).min(rows);
            for j0 in (0..cols).step_by(TILE) {
                let j1 = (j0 + TILE).min(cols);
                for j in j0..j1 {
                    let col = std::slice::from_raw_parts(
                        src.offset(j as isize * sc + i0 as isize),
                        i1 - i0,
                    );
                    for (k, &v) in col.iter().enumerate() {
                        *dst.get_unchecked_mut((i0 + k) * cols + j) = v;
                    }
                }
            }
        }
    } else {
        for (i, row) in dst.chunks_exact_mut(cols).enumerate() {
            let rp = src.offset(i as isize * sr);
            for (j, d) in row.iter_mut().enumerate() {
                *d = *rp.offset(j as isize * sc);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{ArrayD, Axis, IxDyn, Slice};

    /// Reference: ndarray's element iterator (logical row-major order).
    fn reference(v: &ArrayViewD<'_, f32>) -> Vec<f32> {
        v.iter().copied().collect()
    }

    fn arr(shape: &[usize]) -> ArrayD<f32> {
        let n: usize = shape.iter().product();
        ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(|i| i as f32).collect()).unwrap()
    }

    #[test]
    fn transposes_of_odd_sizes_match_iteration_order() {
        for &(r, c) in &[(1, 1), (1, 7), (7, 1), (33, 65), (64, 64), (3, 100)] {
            let a = arr(&[r, c]);
            let t = a.view().reversed_axes();
            assert_eq!(to_row_major(&t), reference(&t), "{r}x{c}");
        }
    }

    #[test]
    fn permutations_broadcasts_slices_and_negative_strides() {
        let a = arr(&[3, 4, 5, 6]);
        for perm in [
            [1, 0, 2, 3],
            [0, 2, 3, 1],
            [3, 2, 1, 0],
            [0, 1, 3, 2],
            [2, 0, 3, 1],
        ] {
            let p = a.view().permuted_axes(IxDyn(&perm));
            assert_eq!(to_row_major(&p), reference(&p), "{perm:?}");
        }
        let b = arr(&[1, 5]);
        let bc = b.broadcast(IxDyn(&[4, 3, 5])).unwrap();
        assert_eq!(to_row_major(&bc), reference(&bc));
        let s = a.slice_axis(Axis(2), Slice::new(1, Some(4), 2));
        assert_eq!(to_row_major(&s), reference(&s));
        let mut n = a.view();
        n.invert_axis(Axis(1));
        n.invert_axis(Axis(3));
        assert_eq!(to_row_major(&n), reference(&n));
        let e = arr(&[3, 0, 2]);
        assert!(to_row_major(&e.view().reversed_axes()).is_empty());
        let z = arr(&[]);
        assert_eq!(to_row_major(&z.view()), vec![0.0]);
    }
}
