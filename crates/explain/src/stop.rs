//! Stopping a long explanation from outside: a [`StopCheck`] is asked before every model
//! evaluation, and once it says stop the method returns [`ExplainError::Stopped`] instead
//! of spending more model calls.
//!
//! There is one mechanism for every method, at the two places where all their work goes
//! through the model:
//! - model-agnostic methods (Kernel SHAP, exact and permutation Shapley values, occlusion,
//!   feature ablation, LIME, permutation importance, …) call a [`Predictor`]; wrap it in
//!   [`Stoppable`] and every predictor call (at most `max_batch_rows` rows, 2048 by
//!   default) first asks the check;
//! - gradient methods (saliency, Integrated Gradients fixed and adaptive, DeepLIFT,
//!   Grad-CAM, …) run forward passes through a
//!   [`GradModel`](crate::gradient::GradModel); give it the check with
//!   [`GradModel::with_stop`](crate::gradient::GradModel::with_stop) and every forward pass
//!   (at most one [`BatchCap`](crate::gradient::BatchCap) of rows) first asks it.
//!
//! A server uses this to make a deadline or a client's disconnect end the CPU work, not
//! only the wait for it.
//!
//! ```
//! use std::sync::atomic::{AtomicUsize, Ordering};
//! use glassbox_explain::shapley::{Background, KernelShap, KernelShapConfig};
//! use glassbox_explain::stop::{StopCheck, Stoppable};
//! use glassbox_explain::ExplainError;
//! use ndarray::{array, Array2, ArrayView2, Axis};
//!
//! let calls = AtomicUsize::new(0);
//! let f = |x: ArrayView2<f64>| {
//!     calls.fetch_add(1, Ordering::Relaxed);
//!     x.sum_axis(Axis(1)).insert_axis(Axis(1))
//! };
//! // A check that has already fired: no model call is made at all (not even the
//! // background's expected value, which `KernelShap::new` evaluates).
//! let stopped = Stoppable::new(&f, StopCheck::new(|| true));
//! let background = Background::new(Array2::zeros((1, 3)))?;
//! let err = KernelShap::new(&stopped, background, KernelShapConfig::default())
//!     .and_then(|shap| shap.explain(array![[1.0, 2.0, 3.0]].view()))
//!     .unwrap_err();
//! assert!(matches!(err, ExplainError::Stopped { .. }), "{err}");
//! assert_eq!(calls.load(Ordering::Relaxed), 0);
//! # Ok::<(), ExplainError>(())
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use ndarray::{Array2, ArrayView2};

use crate::predictor::{PredictResult, Predictor};

/// A cheap, thread-safe question "should the work stop now?", asked before each model
/// evaluation. [`StopCheck::default`] never stops.
#[derive(Clone, Default)]
pub struct StopCheck(Option<Arc<dyn Fn() -> bool + Send + Sync>>);

impl std::fmt::Debug for StopCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "StopCheck(..)"
        } else {
            "StopCheck(never)"
        })
    }
}

impl StopCheck {
    /// A check that never stops.
    pub fn never() -> Self {
        StopCheck(None)
    }

    /// Stops once `f` returns `true` (it should stay `true` from then on).
    pub fn new(f: impl Fn() -> bool + Send + Sync + 'static) -> Self {
        StopCheck(Some(Arc::new(f)))
    }

    /// Stops once `deadline` has passed.
    pub fn deadline(deadline: Instant) -> Self {
        StopCheck::new(move || Instant::now() >= deadline)
    }

    /// Stops once `flag` is set.
    pub fn flag(flag: Arc<AtomicBool>) -> Self {
        StopCheck::new(move || flag.load(Ordering::Relaxed))
    }

    /// Whether the work should stop now.
    pub fn should_stop(&self) -> bool {
        self.0.as_ref().is_some_and(|f| f())
    }

    /// `Err(Stopped)` when the work should stop.
    pub fn check(&self) -> Result<(), Stopped> {
        if self.should_stop() {
            Err(Stopped)
        } else {
            Ok(())
        }
    }
}

/// The error a stopped model evaluation returns; methods report it as
/// [`ExplainError::Stopped`](crate::ExplainError::Stopped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("stopped before finishing: the caller's stop check fired (deadline passed or cancelled)")]
pub struct Stopped;

/// A [`Predictor`] that asks a [`StopCheck`] before every call and returns [`Stopped`]
/// instead of calling the model once it fires.
#[derive(Debug, Clone)]
pub struct Stoppable<P> {
    inner: P,
    stop: StopCheck,
}

impl<P: Predictor> Stoppable<P> {
    /// Wraps `inner`.
    pub fn new(inner: P, stop: StopCheck) -> Self {
        Stoppable { inner, stop }
    }

    /// The wrapped predictor.
    pub fn inner(&self) -> &P {
        &self.inner
    }
}

impl<P: Predictor> Predictor for Stoppable<P> {
    fn predict(&self, x: ArrayView2<f64>) -> PredictResult {
        self.stop.check()?;
        self.inner.predict(x)
    }

    fn predict_f32(&self, x: ArrayView2<f32>) -> PredictResult {
        self.stop.check()?;
        self.inner.predict_f32(x)
    }

    fn predict_f32_owned(&self, x: Array2<f32>) -> PredictResult {
        self.stop.check()?;
        self.inner.predict_f32_owned(x)
    }

    fn prefers_f32(&self) -> bool {
        self.inner.prefers_f32()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ExplainError;
    use crate::perturbation::{occlusion, OcclusionConfig};
    use crate::shapley::{Background, KernelShap, KernelShapConfig};
    use ndarray::Axis;
    use std::sync::atomic::AtomicUsize;

    /// Kernel SHAP with a check that fires after `k` predictor calls makes exactly `k`
    /// calls and reports `Stopped`: the work ends, not only the wait.
    #[test]
    fn kernel_shap_stops_after_the_check_fires() {
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        let f = move |x: ArrayView2<f64>| {
            c.fetch_add(1, Ordering::Relaxed);
            x.sum_axis(Axis(1)).insert_axis(Axis(1))
        };
        let c2 = calls.clone();
        let stop = StopCheck::new(move || c2.load(Ordering::Relaxed) >= 3);
        let p = Stoppable::new(f, stop);
        let background = Background::new(Array2::zeros((1, 40))).unwrap();
        let config = KernelShapConfig {
            n_samples: Some(20_000),
            max_batch_rows: 64,
            ..KernelShapConfig::default()
        };
        // One input: its evaluations run one after another (inputs run in parallel).
        let x = Array2::from_elem((1, 40), 1.0);
        let err = KernelShap::new(&p, background, config)
            .unwrap()
            .explain(x.view())
            .unwrap_err();
        assert!(matches!(err, ExplainError::Stopped { .. }), "{err}");
        assert_eq!(calls.load(Ordering::Relaxed), 3);
        // Without the check the same run needs far more calls.
        let free = Stoppable::new(
            |x: ArrayView2<f64>| x.sum_axis(Axis(1)).insert_axis(Axis(1)),
            StopCheck::never(),
        );
        let background = Background::new(Array2::zeros((1, 4))).unwrap();
        assert!(
            KernelShap::new(&free, background, KernelShapConfig::default())
                .unwrap()
                .explain(Array2::from_elem((1, 4), 1.0).view())
                .is_ok()
        );
    }

    #[test]
    fn occlusion_stops_on_an_expired_deadline() {
        let calls = AtomicUsize::new(0);
        let f = |x: ArrayView2<f64>| {
            calls.fetch_add(1, Ordering::Relaxed);
            x.sum_axis(Axis(1)).insert_axis(Axis(1))
        };
        let p = Stoppable::new(&f, StopCheck::deadline(Instant::now()));
        let x = Array2::from_elem((1, 16), 1.0);
        let config = OcclusionConfig {
            sample_shape: vec![4, 4],
            window: vec![2, 2],
            strides: vec![1, 1],
            baseline: Default::default(),
            max_batch_rows: 0,
        };
        let r = occlusion(&p, x.view(), 0, &config);
        assert!(matches!(r, Err(ExplainError::Stopped { .. })), "{r:?}");
        assert_eq!(calls.load(Ordering::Relaxed), 0);
    }

    /// Adaptive Integrated Gradients on a model whose check fires after three forward
    /// passes stops there: the check is asked once per pass, three passes run, and the next
    /// ask of each row's refinement is refused. The two rows are refined in parallel (each
    /// path on its own), so the other row may ask once before it sees the stop: four or
    /// five asks, never a pass after a refusal.
    #[test]
    fn gradient_methods_stop_between_forward_passes() {
        use crate::gradient::{integrated_gradients_adaptive, AdaptiveIgConfig, GradModel};
        use glassbox_nn::{Activation, Linear, Sequential};
        use glassbox_tensor::{rng::Rng, Tensor};

        let mut rng = Rng::new(0);
        let net = Sequential::new()
            .add(Linear::new(6, 16, true, &mut rng).unwrap())
            .add(Activation::tanh())
            .add(Linear::new(16, 2, true, &mut rng).unwrap());
        let x = Tensor::from_vec((0..12).map(|i| i as f32 * 0.3 - 1.5).collect(), &[2, 6]).unwrap();
        let asked = Arc::new(AtomicUsize::new(0));
        let a = asked.clone();
        let stop = StopCheck::new(move || a.fetch_add(1, Ordering::Relaxed) >= 3);
        let model = GradModel::new(&net).with_stop(stop);
        let config = AdaptiveIgConfig {
            tolerance: 1e-9,
            ..AdaptiveIgConfig::default()
        };
        let err = integrated_gradients_adaptive(&model, &x, &[0, 1], &config).unwrap_err();
        assert!(
            matches!(err, crate::gradient::GradientError::Stopped),
            "{err}"
        );
        assert!(matches!(
            ExplainError::from(err),
            ExplainError::Stopped { .. }
        ));
        let asks = asked.load(Ordering::Relaxed);
        assert!((4..=5).contains(&asks), "asked {asks} times");
        // The same run without a check finishes.
        assert!(integrated_gradients_adaptive(&GradModel::new(&net), &x, &[0, 1], &config).is_ok());
    }

    /// Saliency and Grad-CAM run their rows in chunks of the model's cap and ask the check
    /// before every pass: a check that fires at its third ask stops saliency after two
    /// chunks of 2 rows (of 5 chunks), and Grad-CAM (two passes per chunk: the prefix and the
    /// gradient) after its first chunk. Without a check, the chunked results equal the
    /// one-pass results.
    #[test]
    fn saliency_and_grad_cam_stop_between_chunks() {
        use crate::gradient::{grad_cam, saliency, BatchCap, GradModel, GradientError};
        use glassbox_nn::{Activation, Conv2d, Conv2dConfig, Flatten, Linear, Sequential};
        use glassbox_tensor::{rng::Rng, Tensor};

        let mut rng = Rng::new(0);
        let net = Sequential::new()
            .add(Conv2d::new(Conv2dConfig::new(1, 2, 3), &mut rng).unwrap())
            .add(Activation::tanh())
            .add(Flatten::new())
            .add(Linear::new(2 * 4 * 4, 3, true, &mut rng).unwrap());
        let x = Tensor::from_vec(
            (0..10 * 36)
                .map(|i| ((i * 7) % 11) as f32 * 0.2 - 1.0)
                .collect(),
            &[10, 1, 6, 6],
        )
        .unwrap();
        let targets: Vec<usize> = (0..10).map(|i| i % 3).collect();
        let counted = || {
            let asked = Arc::new(AtomicUsize::new(0));
            let a = asked.clone();
            (
                asked,
                StopCheck::new(move || a.fetch_add(1, Ordering::Relaxed) >= 2),
            )
        };

        let (asked, stop) = counted();
        let chunked = GradModel::new(&net).with_cap(BatchCap::Rows(2));
        let err = saliency(&chunked.clone().with_stop(stop), &x, &targets, true).unwrap_err();
        assert!(matches!(err, GradientError::Stopped), "{err}");
        assert_eq!(asked.load(Ordering::Relaxed), 3);
        let (asked, stop) = counted();
        let err = grad_cam(&chunked.clone().with_stop(stop), &x, &targets, "0", true).unwrap_err();
        assert!(matches!(err, GradientError::Stopped), "{err}");
        assert_eq!(asked.load(Ordering::Relaxed), 3);

        let whole = GradModel::new(&net);
        let close = |a: &ndarray::ArrayD<f64>, b: &ndarray::ArrayD<f64>| {
            assert_eq!(a.shape(), b.shape());
            assert!(a
                .iter()
                .zip(b)
                .all(|(p, q)| (p - q).abs() <= 1e-6 * (1.0 + q.abs())));
        };
        close(
            &saliency(&chunked, &x, &targets, true).unwrap(),
            &saliency(&whole, &x, &targets, true).unwrap(),
        );
        close(
            &grad_cam(&chunked, &x, &targets, "0", true).unwrap(),
            &grad_cam(&whole, &x, &targets, "0", true).unwrap(),
        );
    }

    #[test]
    fn flags_and_defaults() {
        let flag = Arc::new(AtomicBool::new(false));
        let s = StopCheck::flag(flag.clone());
        assert!(!s.should_stop() && !StopCheck::default().should_stop());
        flag.store(true, Ordering::Relaxed);
        assert_eq!(s.check(), Err(Stopped));
        assert_eq!(format!("{:?}", StopCheck::never()), "StopCheck(never)");
    }
}
