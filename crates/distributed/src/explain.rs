//! Explanations split across the ranks of a job, identical bit for bit to one process.
//!
//! Each rank computes its contiguous share ([`shard_range`]) of the rows (Kernel SHAP,
//! Integrated Gradients) or features (permutation importance) with the explainers' range
//! entry points, which reproduce exactly what the single-process call computes for those
//! rows; the shares are then all-gathered in rank order, so every rank returns the whole
//! result. A rank whose share fails still takes part in the gather and sends its error,
//! so every rank returns an error together instead of waiting.

use std::ops::Range;

use glassbox_explain::global::{
    permutation_importance_features, PermutationImportance, PermutationImportanceConfig,
};
use glassbox_explain::gradient::{
    integrated_gradients_rows, AttributionsWithDelta, GradModel, IgConfig,
};
use glassbox_explain::shapley::{KernelShap, ShapleyValues};
use glassbox_explain::Predictor;
use glassbox_tensor::Tensor;
use ndarray::{Array1, Array2, Array3, ArrayD, ArrayView2, IxDyn};

use crate::comm::Communicator;
use crate::error::{DistributedError, Result};
use glassbox_data::shard_range;

/// Kernel SHAP of every row of `x`, the rows split across the ranks. Equal, bit for bit,
/// to `explainer.explain(x)` in one process; every rank returns the whole result.
pub fn kernel_shap<P: Predictor + ?Sized>(
    comm: &dyn Communicator,
    explainer: &KernelShap<'_, P>,
    x: ArrayView2<f64>,
) -> Result<ShapleyValues> {
    let n = x.nrows();
    let mine = shard_range(n, comm.rank(), comm.size());
    let part = explainer
        .explain_rows(x, mine)
        .map_err(DistributedError::from)
        .map(|sv| {
            let mut flat: Vec<f64> = sv.values.iter().copied().collect();
            flat.extend(sv.outputs.iter().copied());
            flat
        });
    let (m, k) = (x.ncols(), explainer.expected_value().len());
    let parts = gather(comm, part, |r| {
        shard_range(n, r, comm.size()).len() * (m * k + k)
    })?;
    let mut values = Vec::with_capacity(n * m * k);
    let mut outputs = Vec::with_capacity(n * k);
    for (r, p) in parts.iter().enumerate() {
        let rows = shard_range(n, r, comm.size()).len();
        values.extend_from_slice(&p[..rows * m * k]);
        outputs.extend_from_slice(&p[rows * m * k..]);
    }
    Ok(ShapleyValues {
        values: Array3::from_shape_vec((n, m, k), values).expect("gathered shape"),
        base_values: explainer.expected_value().to_owned(),
        outputs: Array2::from_shape_vec((n, k), outputs).expect("gathered shape"),
    })
}

/// Permutation importance of every feature of `x`, the features split across the ranks.
/// Equal, bit for bit, to `glassbox_explain::global::permutation_importance` in one
/// process; every rank returns the whole result.
pub fn permutation_importance<P, S>(
    comm: &dyn Communicator,
    predictor: &P,
    x: ArrayView2<f64>,
    score: S,
    config: &PermutationImportanceConfig,
) -> Result<PermutationImportance>
where
    P: Predictor + ?Sized,
    S: Fn(ArrayView2<f64>) -> f64 + Sync,
{
    let m = x.ncols();
    let reps = config.n_repeats;
    let mine = shard_range(m, comm.rank(), comm.size());
    let part = permutation_importance_features(predictor, x, score, config, mine)
        .map_err(DistributedError::from)
        .map(|(baseline, imp)| {
            let mut flat = vec![baseline];
            flat.extend(imp.iter().copied());
            flat
        });
    let parts = gather(comm, part, |r| {
        1 + shard_range(m, r, comm.size()).len() * reps
    })?;
    let baseline = parts[0][0];
    let flat: Vec<f64> = parts.iter().flat_map(|p| p[1..].iter().copied()).collect();
    let importances = Array2::from_shape_vec((m, reps), flat).expect("gathered shape");
    Ok(PermutationImportance::from_importances(
        baseline,
        importances,
    ))
}

/// Integrated Gradients of every row of `x` (`[N, …]`), the rows split across the ranks.
/// Equal, bit for bit, to `glassbox_explain::gradient::integrated_gradients` in one
/// process; every rank returns the whole result.
pub fn integrated_gradients(
    comm: &dyn Communicator,
    model: &GradModel,
    x: &Tensor,
    targets: &[usize],
    config: &IgConfig,
) -> Result<AttributionsWithDelta> {
    let n = x.shape().first().copied().unwrap_or(0);
    let d = x.len().checked_div(n).unwrap_or(0);
    let mine: Range<usize> = shard_range(n, comm.rank(), comm.size());
    let part = integrated_gradients_rows(model, x, targets, config, mine)
        .map_err(DistributedError::from)
        .map(|a| {
            let mut flat: Vec<f64> = a.attributions.iter().copied().collect();
            flat.extend(a.convergence_delta.iter().copied());
            flat
        });
    let parts = gather(comm, part, |r| {
        shard_range(n, r, comm.size()).len() * (d + 1)
    })?;
    let mut attr = Vec::with_capacity(n * d);
    let mut delta = Vec::with_capacity(n);
    for (r, p) in parts.iter().enumerate() {
        let rows = shard_range(n, r, comm.size()).len();
        attr.extend_from_slice(&p[..rows * d]);
        delta.extend_from_slice(&p[rows * d..]);
    }
    Ok(AttributionsWithDelta {
        attributions: ArrayD::from_shape_vec(IxDyn(x.shape()), attr).expect("gathered shape"),
        convergence_delta: Array1::from(delta),
    })
}

/// All-gathers every rank's `f64` part (or its error), in rank order. `expected_len(r)` is
/// the length rank `r` must send. Any rank's error becomes every rank's error, so no rank is
/// left waiting. The building block of the distributed explainers, for other row-wise
/// computations too.
pub fn all_gather_f64(
    comm: &dyn Communicator,
    part: Result<Vec<f64>>,
    expected_len: impl Fn(usize) -> usize,
) -> Result<Vec<Vec<f64>>> {
    gather(comm, part, expected_len)
}

fn gather(
    comm: &dyn Communicator,
    part: Result<Vec<f64>>,
    expected_len: impl Fn(usize) -> usize,
) -> Result<Vec<Vec<f64>>> {
    let bytes = match &part {
        Ok(values) => {
            let mut b = Vec::with_capacity(1 + values.len() * 8);
            b.push(0u8);
            for v in values {
                b.extend_from_slice(&v.to_le_bytes());
            }
            b
        }
        Err(e) => {
            let mut b = vec![1u8];
            b.extend_from_slice(e.to_string().as_bytes());
            b
        }
    };
    let all = comm.all_gather_bytes(&bytes);
    part?;
    let mut out = Vec::with_capacity(all.len());
    for (rank, b) in all.into_iter().enumerate() {
        match b.split_first() {
            Some((0, payload)) if payload.len() == expected_len(rank) * 8 => out.push(
                payload
                    .chunks_exact(8)
                    .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                    .collect(),
            ),
            Some((1, msg)) => {
                return Err(DistributedError::RankFailed {
                    rank,
                    message: String::from_utf8_lossy(msg).into_owned(),
                })
            }
            _ => {
                return Err(DistributedError::Message {
                    rank,
                    what: "explanation share",
                    reason: format!(
                        "{} bytes, expected a status byte and {} values",
                        b.len(),
                        expected_len(rank)
                    ),
                })
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::SingleProcess;
    use glassbox_explain::shapley::{Background, KernelShapConfig};
    use ndarray::array;

    #[test]
    fn single_process_kernel_shap_equals_the_explainer() {
        let f = |x: ArrayView2<f64>| {
            let mut y = Array2::zeros((x.nrows(), 2));
            for (i, r) in x.rows().into_iter().enumerate() {
                y[[i, 0]] = r[0] * r[1] + r[2];
                y[[i, 1]] = (r[0] - r[2]).tanh();
            }
            y
        };
        let bg = Background::new(array![[0.0, 0.0, 0.0], [1.0, -1.0, 0.5]]).unwrap();
        let ks = KernelShap::new(&f, bg, KernelShapConfig::default()).unwrap();
        let x = array![[1.0, 2.0, 3.0], [0.5, -0.5, 2.0], [3.0, 1.0, -1.0]];
        assert_eq!(
            kernel_shap(&SingleProcess, &ks, x.view()).unwrap(),
            ks.explain(x.view()).unwrap()
        );
    }

    #[test]
    fn a_failed_share_is_reported() {
        let err = gather(
            &SingleProcess,
            Err(DistributedError::Init("boom".into())),
            |_| 0,
        )
        .unwrap_err();
        assert!(err.to_string().contains("boom"), "{err}");
    }
}
