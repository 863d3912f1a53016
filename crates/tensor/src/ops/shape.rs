//! Shape manipulation: reshape, permute, broadcast, squeeze, narrow, concat, stack, select.

use ndarray::{Axis, IxDyn, Slice};

use crate::error::{Result, TensorError};
use crate::macros::panicking;
use crate::tensor::Tensor;

/// The NumPy broadcast of two shapes, or a [`TensorError::ShapeMismatch`] naming `op`.
pub fn broadcast_shapes(op: &'static str, lhs: &[usize], rhs: &[usize]) -> Result<Vec<usize>> {
    let rank = lhs.len().max(rhs.len());
    let mut out = vec![0; rank];
    for i in 0..rank {
        let a = if i + lhs.len() >= rank {
            lhs[i + lhs.len() - rank]
        } else {
            1
        };
        let b = if i + rhs.len() >= rank {
            rhs[i + rhs.len() - rank]
        } else {
            1
        };
        out[i] = if a == b || b == 1 {
            a
        } else if a == 1 {
            b
        } else {
            return Err(TensorError::mismatch(
                op,
                lhs,
                rhs,
                format!("cannot broadcast: sizes {a} and {b} differ at output axis {i}"),
            ));
        };
    }
    Ok(out)
}

fn check_axis(op: &'static str, axis: usize, shape: &[usize]) -> Result<()> {
    if axis >= shape.len() {
        Err(TensorError::axis(op, axis, shape))
    } else {
        Ok(())
    }
}

impl Tensor {
    /// The same elements in a new shape (row-major order). Copies only a strided view.
    pub fn try_reshape(&self, shape: &[usize]) -> Result<Tensor> {
        let n: usize = shape.iter().product();
        if n != self.len() {
            return Err(TensorError::mismatch(
                "reshape",
                self.shape(),
                shape,
                format!("{} elements cannot take a shape of {n}", self.len()),
            ));
        }
        let c = self.contiguous();
        let arr = c
            .data
            .into_shape_with_order(IxDyn(shape))
            .expect("contiguous array with matching length reshapes");
        Ok(Tensor::from_arc(arr))
    }

    /// Reorders the axes (a strided view, no copy): output axis `i` is input axis `axes[i]`.
    pub fn try_permute(&self, axes: &[usize]) -> Result<Tensor> {
        let r = self.rank();
        let mut seen = vec![false; r];
        let valid = axes.len() == r
            && axes
                .iter()
                .all(|&a| a < r && !std::mem::replace(&mut seen[a], true));
        if !valid {
            return Err(TensorError::arg(
                "permute",
                self.shape(),
                format!("{axes:?} is not a permutation of the {r} axes"),
            ));
        }
        Ok(Tensor::from_arc(
            self.data.clone().permuted_axes(IxDyn(axes)),
        ))
    }

    /// Swaps two axes (a strided view, no copy).
    pub fn try_transpose(&self, a: usize, b: usize) -> Result<Tensor> {
        check_axis("transpose", a, self.shape())?;
        check_axis("transpose", b, self.shape())?;
        let mut perm: Vec<usize> = (0..self.rank()).collect();
        perm.swap(a, b);
        self.try_permute(&perm)
    }

    /// Swaps the last two axes (matrix transpose; a view, no copy). Needs rank ≥ 2.
    pub fn try_t(&self) -> Result<Tensor> {
        let r = self.rank();
        if r < 2 {
            return Err(TensorError::arg("t", self.shape(), "needs rank at least 2"));
        }
        self.try_transpose(r - 2, r - 1)
    }

    /// Expands to `shape` by NumPy broadcasting (materialised as a contiguous copy).
    pub fn try_broadcast_to(&self, shape: &[usize]) -> Result<Tensor> {
        if self.shape() == shape {
            return Ok(self.clone());
        }
        match self.data.broadcast(IxDyn(shape)) {
            Some(v) => Ok(Tensor::from(v.as_standard_layout().into_owned())),
            None => Err(TensorError::mismatch(
                "broadcast_to",
                self.shape(),
                shape,
                "the tensor cannot be broadcast to the target shape",
            )),
        }
    }

    /// Removes axis `axis`, which must have size 1.
    pub fn try_squeeze(&self, axis: usize) -> Result<Tensor> {
        check_axis("squeeze", axis, self.shape())?;
        if self.shape()[axis] != 1 {
            return Err(TensorError::arg(
                "squeeze",
                self.shape(),
                format!("axis {axis} has size {}, not 1", self.shape()[axis]),
            ));
        }
        Ok(Tensor::from_arc(self.data.clone().remove_axis(Axis(axis))))
    }

    /// Removes every axis of size 1.
    pub fn squeeze_all(&self) -> Tensor {
        let mut d = self.data.clone();
        for axis in (0..self.rank()).rev() {
            if d.shape()[axis] == 1 {
                d = d.remove_axis(Axis(axis));
            }
        }
        Tensor::from_arc(d)
    }

    /// Inserts a new axis of size 1 at position `axis` (0 ≤ axis ≤ rank).
    pub fn try_unsqueeze(&self, axis: usize) -> Result<Tensor> {
        if axis > self.rank() {
            return Err(TensorError::axis("unsqueeze", axis, self.shape()));
        }
        Ok(Tensor::from_arc(self.data.clone().insert_axis(Axis(axis))))
    }

    /// Merges axes `start..=end` into one (like `torch.flatten(x, start, end)`).
    pub fn try_flatten(&self, start: usize, end: usize) -> Result<Tensor> {
        if self.rank() == 0 {
            return self.try_reshape(&[1]);
        }
        check_axis("flatten", start, self.shape())?;
        check_axis("flatten", end, self.shape())?;
        if start > end {
            return Err(TensorError::arg(
                "flatten",
                self.shape(),
                format!("start axis {start} is after end axis {end}"),
            ));
        }
        let s = self.shape();
        let mut shape = s[..start].to_vec();
        shape.push(s[start..=end].iter().product());
        shape.extend_from_slice(&s[end + 1..]);
        self.try_reshape(&shape)
    }

    /// The sub-tensor `start..start + len` along `axis` (a view, no copy).
    pub fn try_narrow(&self, axis: usize, start: usize, len: usize) -> Result<Tensor> {
        check_axis("narrow", axis, self.shape())?;
        let size = self.shape()[axis];
        if start.checked_add(len).is_none_or(|e| e > size) {
            return Err(TensorError::arg(
                "narrow",
                self.shape(),
                format!(
                    "range {start}..{} exceeds axis {axis} of size {size}",
                    start.saturating_add(len)
                ),
            ));
        }
        let mut d = self.data.clone();
        d.slice_axis_inplace(Axis(axis), Slice::from(start..start + len));
        Ok(Tensor::from_arc(d))
    }

    /// The entries at `indices` along `axis` (a copy; indices may repeat).
    pub fn try_index_select(&self, axis: usize, indices: &[usize]) -> Result<Tensor> {
        check_axis("index_select", axis, self.shape())?;
        let size = self.shape()[axis];
        if let Some(&bad) = indices.iter().find(|&&i| i >= size) {
            return Err(TensorError::IndexOutOfRange {
                op: "index_select",
                index: bad,
                axis,
                size,
                shape: self.shape().to_vec(),
            });
        }
        if axis == 0 {
            if let Some(s) = self.as_slice() {
                let row: usize = self.shape()[1..].iter().product();
                let mut out = Vec::with_capacity(row * indices.len());
                for &i in indices {
                    out.extend_from_slice(&s[i * row..(i + 1) * row]);
                }
                let mut shape = self.shape().to_vec();
                shape[0] = indices.len();
                return Ok(Tensor::from_vec_unchecked(out, &shape));
            }
        }
        Ok(Tensor::from(self.data.select(Axis(axis), indices)))
    }

    /// Joins tensors along an existing axis; all other axes must agree.
    pub fn try_concat(tensors: &[&Tensor], axis: usize) -> Result<Tensor> {
        let first = tensors
            .first()
            .ok_or_else(|| TensorError::arg("concat", &[], "needs at least one tensor"))?;
        check_axis("concat", axis, first.shape())?;
        for t in &tensors[1..] {
            let ok = t.rank() == first.rank()
                && t.shape()
                    .iter()
                    .zip(first.shape())
                    .enumerate()
                    .all(|(i, (a, b))| i == axis || a == b);
            if !ok {
                return Err(TensorError::mismatch(
                    "concat",
                    first.shape(),
                    t.shape(),
                    format!("shapes must agree except along axis {axis}"),
                ));
            }
        }
        // Row-major: the output is `outer` runs, each the tensors' `len_t · inner` blocks in
        // turn, so the copy is a sequence of contiguous slices (ndarray's `concatenate`
        // walked the last axis element by element: an eighth of a Transformer backward).
        let inner: usize = first.shape()[axis + 1..].iter().product();
        let outer: usize = first.shape()[..axis].iter().product();
        let dense: Vec<Tensor> = tensors.iter().map(|t| t.contiguous()).collect();
        let slices: Vec<&[f32]> = dense
            .iter()
            .map(|t| t.as_slice().expect("contiguous tensor"))
            .collect();
        let blocks: Vec<usize> = tensors.iter().map(|t| t.shape()[axis] * inner).collect();
        let row: usize = blocks.iter().sum();
        let mut out = Vec::with_capacity(outer * row);
        for o in 0..outer {
            for (src, &blk) in slices.iter().zip(&blocks) {
                out.extend_from_slice(&src[o * blk..(o + 1) * blk]);
            }
        }
        let mut shape = first.shape().to_vec();
        shape[axis] = tensors.iter().map(|t| t.shape()[axis]).sum();
        Ok(Tensor::from_vec_unchecked(out, &shape))
    }

    /// A zero tensor of `shape` with `self` written at `start..start + len` along `axis`
    /// (`self`'s shape is `shape` with `len` on `axis`): the gradient of a narrow.
    pub fn try_embed_along(&self, shape: &[usize], axis: usize, start: usize) -> Result<Tensor> {
        let op = "embed_along";
        check_axis(op, axis, shape)?;
        let len = self.shape().get(axis).copied().unwrap_or(0);
        let fits = self.rank() == shape.len()
            && start + len <= shape[axis]
            && self
                .shape()
                .iter()
                .zip(shape)
                .enumerate()
                .all(|(i, (a, b))| i == axis || a == b);
        if !fits {
            return Err(TensorError::mismatch(
                op,
                self.shape(),
                shape,
                format!("must match the target except along axis {axis}, and fit at {start}"),
            ));
        }
        let inner: usize = shape[axis + 1..].iter().product();
        let outer: usize = shape[..axis].iter().product();
        let (blk, row) = (len * inner, shape[axis] * inner);
        let src = self.contiguous();
        let src = src.as_slice().expect("contiguous tensor");
        let mut out = vec![0.0f32; outer * row];
        if blk > 0 {
            for (o, dst) in out.chunks_exact_mut(row).enumerate() {
                dst[start * inner..start * inner + blk]
                    .copy_from_slice(&src[o * blk..(o + 1) * blk]);
            }
        }
        Ok(Tensor::from_vec_unchecked(out, shape))
    }

    /// Joins same-shaped tensors along a new axis `axis` (0 ≤ axis ≤ rank).
    pub fn try_stack(tensors: &[&Tensor], axis: usize) -> Result<Tensor> {
        let first = tensors
            .first()
            .ok_or_else(|| TensorError::arg("stack", &[], "needs at least one tensor"))?;
        if axis > first.rank() {
            return Err(TensorError::axis("stack", axis, first.shape()));
        }
        for t in &tensors[1..] {
            if t.shape() != first.shape() {
                return Err(TensorError::mismatch(
                    "stack",
                    first.shape(),
                    t.shape(),
                    "all tensors must have the same shape",
                ));
            }
        }
        let u: Vec<Tensor> = tensors
            .iter()
            .map(|t| t.try_unsqueeze(axis))
            .collect::<Result<_>>()?;
        let refs: Vec<&Tensor> = u.iter().collect();
        Tensor::try_concat(&refs, axis)
    }

    /// Panicking form of [`Tensor::try_concat`].
    #[track_caller]
    pub fn concat(tensors: &[&Tensor], axis: usize) -> Tensor {
        Tensor::try_concat(tensors, axis).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Panicking form of [`Tensor::try_stack`].
    #[track_caller]
    pub fn stack(tensors: &[&Tensor], axis: usize) -> Tensor {
        Tensor::try_stack(tensors, axis).unwrap_or_else(|e| panic!("{e}"))
    }
}

panicking! {
    reshape => try_reshape(shape: &[usize]) -> Tensor;
    permute => try_permute(axes: &[usize]) -> Tensor;
    transpose => try_transpose(a: usize, b: usize) -> Tensor;
    t => try_t() -> Tensor;
    broadcast_to => try_broadcast_to(shape: &[usize]) -> Tensor;
    squeeze => try_squeeze(axis: usize) -> Tensor;
    unsqueeze => try_unsqueeze(axis: usize) -> Tensor;
    flatten => try_flatten(start: usize, end: usize) -> Tensor;
    narrow => try_narrow(axis: usize, start: usize, len: usize) -> Tensor;
    index_select => try_index_select(axis: usize, indices: &[usize]) -> Tensor;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(v: &[f32], s: &[usize]) -> Tensor {
        Tensor::from_vec(v.to_vec(), s).unwrap()
    }

    #[test]
    fn broadcast_rules() {
        assert_eq!(broadcast_shapes("add", &[3, 1], &[4]).unwrap(), vec![3, 4]);
        assert_eq!(broadcast_shapes("add", &[], &[2]).unwrap(), vec![2]);
        let e = broadcast_shapes("add", &[2, 3], &[4]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "add: lhs [2, 3] and rhs [4]: cannot broadcast: sizes 3 and 4 differ at output axis 1"
        );
    }

    #[test]
    fn views_and_copies() {
        let a = t(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
        let at = a.t();
        assert_eq!(at.shape(), &[3, 2]);
        assert!(!at.is_contiguous());
        assert_eq!(at.to_vec(), vec![1., 4., 2., 5., 3., 6.]);
        assert_eq!(at.reshape(&[6]).to_vec(), vec![1., 4., 2., 5., 3., 6.]);
        assert_eq!(a.narrow(1, 1, 2).to_vec(), vec![2., 3., 5., 6.]);
        assert_eq!(a.index_select(1, &[2, 0]).to_vec(), vec![3., 1., 6., 4.]);
        assert_eq!(
            a.index_select(0, &[1, 1]).to_vec(),
            vec![4., 5., 6., 4., 5., 6.]
        );
        assert_eq!(a.unsqueeze(0).shape(), &[1, 2, 3]);
        assert_eq!(a.unsqueeze(0).squeeze(0).shape(), &[2, 3]);
        assert_eq!(t(&[1.], &[1, 1, 1]).squeeze_all().shape(), &[] as &[usize]);
        assert_eq!(a.flatten(0, 1).shape(), &[6]);
        assert_eq!(
            t(&[1., 2.], &[2, 1]).broadcast_to(&[2, 2]).to_vec(),
            vec![1., 1., 2., 2.]
        );
        let c = Tensor::concat(&[&a, &a.narrow(0, 0, 1)], 0);
        assert_eq!(c.shape(), &[3, 3]);
        assert_eq!(c.to_vec()[6..], [1., 2., 3.]);
        let s = Tensor::stack(&[&a, &a], 2);
        assert_eq!(s.shape(), &[2, 3, 2]);
        assert_eq!(s.get(&[1, 2, 1]).unwrap(), 6.0);
    }

    /// Element `idx` of a row-major buffer of `shape`.
    fn at(data: &[f32], shape: &[usize], idx: &[usize]) -> f32 {
        let flat = idx.iter().zip(shape).fold(0, |acc, (&i, &n)| acc * n + i);
        data[flat]
    }

    /// Every multi-index of `shape`, row-major.
    fn indices(shape: &[usize]) -> Vec<Vec<usize>> {
        let mut out = vec![vec![]];
        for &n in shape {
            out = out
                .into_iter()
                .flat_map(|p| {
                    (0..n).map(move |i| {
                        let mut q = p.clone();
                        q.push(i);
                        q
                    })
                })
                .collect();
        }
        out
    }

    #[test]
    fn concat_and_embed_along_match_index_definitions() {
        let shape = [2usize, 3, 4];
        for axis in 0..3 {
            let sizes = [1usize, 2, 3];
            let parts: Vec<Tensor> = sizes
                .iter()
                .enumerate()
                .map(|(p, &len)| {
                    let mut s = shape.to_vec();
                    s[axis] = len;
                    let n: usize = s.iter().product();
                    let v = (0..n).map(|i| (100 * p + i) as f32).collect();
                    // A transposed view as well, to exercise non-contiguous inputs.
                    let t = Tensor::from_vec(v, &s).unwrap();
                    if p == 1 {
                        t.t().contiguous().t()
                    } else {
                        t
                    }
                })
                .collect();
            let refs: Vec<&Tensor> = parts.iter().collect();
            let c = Tensor::try_concat(&refs, axis).unwrap();
            let mut total = shape.to_vec();
            total[axis] = sizes.iter().sum();
            assert_eq!(c.shape(), &total[..]);
            let cv = c.to_vec();
            for idx in indices(&total) {
                let (mut p, mut i) = (0, idx[axis]);
                while i >= sizes[p] {
                    i -= sizes[p];
                    p += 1;
                }
                let mut local = idx.clone();
                local[axis] = i;
                let pv = parts[p].contiguous().to_vec();
                assert_eq!(at(&cv, &total, &idx), at(&pv, parts[p].shape(), &local));
            }
            // The middle part embedded back at its offset: zeros elsewhere.
            let e = parts[1].try_embed_along(&total, axis, sizes[0]).unwrap();
            let ev = e.to_vec();
            for idx in indices(&total) {
                let want = if (1..3).contains(&idx[axis]) {
                    at(&cv, &total, &idx)
                } else {
                    0.0
                };
                assert_eq!(at(&ev, &total, &idx), want);
            }
        }
        let g = Tensor::zeros(&[2, 2]);
        assert!(g.try_embed_along(&[2, 3], 1, 2).is_err());
        assert!(g.try_embed_along(&[3, 3], 1, 0).is_err());
        assert!(g.try_embed_along(&[2, 3], 2, 0).is_err());
    }

    #[test]
    fn errors_name_op() {
        let a = Tensor::zeros(&[2, 3]);
        assert!(a
            .try_reshape(&[4])
            .unwrap_err()
            .to_string()
            .starts_with("reshape: lhs [2, 3] and rhs [4]"));
        assert!(a.try_permute(&[0, 0]).is_err());
        assert!(a.try_squeeze(0).is_err());
        assert!(a.try_narrow(1, 2, 2).is_err());
        assert!(a
            .try_index_select(0, &[2])
            .unwrap_err()
            .to_string()
            .contains("index 2"));
        assert!(Tensor::try_concat(&[&a, &Tensor::zeros(&[2, 2])], 0).is_err());
        assert!(a.try_broadcast_to(&[3, 3]).is_err());
    }
}
