//! Tests of the bundle server model (`glassbox::serve`).
use super::*;
use crate::arch::ModelSpec;

fn classifier() -> (BundleModel, Model) {
    let arch = ModelSpec::Cnn(vec![2]).resolve(&[1, 4, 4], 3).unwrap();
    let net = arch.build(2).unwrap();
    let classes = vec!["a".to_string(), "b".into(), "c".into()];
    let bundle = Bundle::from_images(&net, classes, 1.0).unwrap();
    let reference = bundle.clone().into_model().unwrap();
    (BundleModel::new("cnn", bundle).unwrap(), reference)
}

#[test]
fn served_predictions_are_the_models_own() {
    let (served, model) = classifier();
    let batch = ArrayD::from_shape_fn(IxDyn(&[3, 1, 4, 4]), |i| {
        ((i[0] * 5 + i[2] * 4 + i[3]) % 7) as f32 / 7.0
    });
    let p = served.predict(batch.clone()).unwrap();
    let want = model.network().predict_proba(&batch).unwrap();
    match &p.outputs[0].1 {
        OutputTensor::Fp32(a) => assert_eq!(a, &want.into_dyn()),
        other => panic!("probabilities have the wrong type: {other:?}"),
    }
    match &p.outputs[2].1 {
        OutputTensor::Bytes(l) => {
            let idx = model.network().predict(&batch).unwrap();
            let names: Vec<&str> = idx.iter().map(|&i| ["a", "b", "c"][i]).collect();
            assert_eq!(l.iter().map(String::as_str).collect::<Vec<_>>(), names);
        }
        other => panic!("labels have the wrong type: {other:?}"),
    }
    assert_eq!(
        served.metadata().explain_methods,
        vec!["ig", "saliency", "shap", "gradcam"]
    );
}

#[test]
fn bad_batches_and_methods_are_client_errors() {
    let (served, _) = classifier();
    let e = served.predict(ArrayD::zeros(IxDyn(&[2, 15]))).unwrap_err();
    assert!(matches!(e, ServeError::InvalidRequest(_)), "{e}");
    let mut nan = ArrayD::zeros(IxDyn(&[1, 16]));
    nan[[0, 3]] = f32::NAN;
    let e = served.predict(nan).unwrap_err();
    assert!(matches!(e, ServeError::InvalidRequest(_)), "{e}");
    assert!(e.to_string().contains("row 1, value 4 is NaN"), "{e}");
    let params = ExplainParams::new("lime", glassbox_serve::Target::Predicted);
    let e = served
        .explain(ArrayD::zeros(IxDyn(&[1, 16])), &params)
        .unwrap_err()
        .to_string();
    assert!(e.contains("'lime'") && e.contains("gradcam"), "{e}");
}

fn cnn(input: &[usize], channels: Vec<usize>, seed: u64) -> BundleModel {
    let arch = ModelSpec::Cnn(channels).resolve(input, 3).unwrap();
    let net = arch.build(seed).unwrap();
    let classes = vec!["a".to_string(), "b".into(), "c".into()];
    BundleModel::new("cnn", Bundle::from_images(&net, classes, 1.0).unwrap()).unwrap()
}

fn params(method: &str, options: serde_json::Value) -> ExplainParams {
    let mut p = ExplainParams::new(method, glassbox_serve::Target::Class(1));
    p.options = options.as_object().cloned().unwrap_or_default();
    p
}

fn rows(n: usize, m: usize) -> ArrayD<f32> {
    ArrayD::from_shape_fn(IxDyn(&[n, m]), |i| {
        ((i[0] * 7 + i[1] * 3) % 11) as f32 / 11.0
    })
}

#[test]
fn ig_options_are_honoured_or_rejected() {
    let served = cnn(&[1, 4, 4], vec![2], 2);
    let x = rows(1, 16);
    let err = |p: ExplainParams| served.check_explain(&p).unwrap_err().to_string();
    let e = err(params("ig", serde_json::json!({"n_steps": 50})));
    assert!(
        e.contains("'n_steps'") && e.contains("adaptive") && e.contains("max_evaluations"),
        "{e}"
    );
    let e = err(params("ig", serde_json::json!({"foo": 1})));
    assert!(
        e.contains("'foo'") && e.contains("baseline, max_evaluations"),
        "{e}"
    );
    let e = err(params("ig", serde_json::json!({"max_evaluations": 10})));
    assert!(e.contains("66") && e.contains("10"), "{e}");
    let mut p = params("ig", serde_json::json!({"max_evaluations": 5000}));
    p.limits.max_evaluations = 4096;
    let e = served.check_explain(&p).unwrap_err();
    assert_eq!(e.status().as_u16(), 400);
    assert!(e.to_string().contains("--explain-max-evaluations"), "{e}");
    let e = err(params("ig", serde_json::json!({"baseline": [1, 2]})));
    assert!(e.contains("16 finite numbers"), "{e}");
    let e = err(params("saliency", serde_json::json!({"baseline": 0})));
    assert!(
        e.contains("'baseline'") && e.contains("no parameters"),
        "{e}"
    );
    // The baseline is honoured: from x itself the path is empty and every attribution
    // is exactly 0; from 0 the attributions are not all 0.
    let own: Vec<f32> = x.iter().copied().collect();
    let at_x = served
        .explain(
            x.clone(),
            &params("ig", serde_json::json!({"baseline": own})),
        )
        .unwrap();
    assert!(
        at_x.attributions.iter().all(|&v| v == 0.0),
        "{:?}",
        at_x.attributions
    );
    let from_zero = served
        .explain(x.clone(), &params("ig", serde_json::json!({})))
        .unwrap();
    assert!(from_zero.attributions.iter().any(|&v| v != 0.0));
}

/// Kernel SHAP's efficiency: each row's attributions add up to p(x)[t] − p(baseline)[t]
/// (computed here from the network's own probabilities); `n_samples` is bounded.
#[test]
fn shap_attributions_add_up_and_samples_are_bounded() {
    let served = cnn(&[1, 3, 3], vec![2], 4);
    let x = rows(2, 9);
    let e = served
        .explain(
            x.clone(),
            &params("shap", serde_json::json!({"baseline": 0.5})),
        )
        .unwrap();
    let p = served.model().network().predict_proba(&x).unwrap();
    let b = served
        .model()
        .network()
        .predict_proba(&ArrayD::from_elem(IxDyn(&[1, 9]), 0.5f32))
        .unwrap();
    for r in 0..2 {
        let sum: f32 = (0..9).map(|j| e.attributions[[r, j]]).sum();
        let want = p[[r, 1]] - b[[0, 1]];
        assert!((sum - want).abs() < 1e-4, "row {r}: {sum} vs {want}");
    }
    let mut q = params("shap", serde_json::json!({"n_samples": 5000}));
    q.limits.max_samples = 1000;
    let err = served.check_explain(&q).unwrap_err().to_string();
    assert!(
        err.contains("n_samples = 5000") && err.contains("--explain-max-samples"),
        "{err}"
    );
}

/// A deadline stops the explanation's work: an expired token does no work at all, and
/// a deadline in the middle of a long Integrated Gradients run ends it promptly.
#[test]
fn explanations_stop_at_the_deadline() {
    let served = cnn(&[1, 12, 12], vec![4, 8], 3);
    let x = rows(64, 144);
    let mut p = params("ig", serde_json::json!({}));
    p.cancel = glassbox_serve::Cancel::with_deadline(std::time::Duration::ZERO);
    let e = served.explain(x.clone(), &p).unwrap_err();
    assert!(matches!(e, ServeError::ExplainStopped { .. }), "{e}");
    for method in ["ig", "shap"] {
        let mut p = params(method, serde_json::json!({}));
        p.cancel = glassbox_serve::Cancel::with_deadline(std::time::Duration::from_millis(30));
        let t0 = std::time::Instant::now();
        let e = served.explain(x.clone(), &p).unwrap_err();
        let took = t0.elapsed();
        assert!(
            matches!(e, ServeError::ExplainStopped { .. }),
            "{method}: {e}"
        );
        assert_eq!(e.status().as_u16(), 503);
        assert!(
            took < std::time::Duration::from_millis(1000),
            "{method} took {took:?}"
        );
    }
}

#[test]
fn config_gets_bundles_and_the_loader() {
    let (served, _) = classifier();
    let dir = std::env::temp_dir().join(format!("gb-serve-cfg-{}", std::process::id()));
    let path = dir.join("m.gbx");
    served.model().bundle().save(&path).unwrap();
    let c = ServerConfig::default().with_bundle("m", &path).unwrap();
    assert_eq!(c.models, vec![("m".to_string(), path.clone())]);
    assert!(c.loader.is_some());
    let loaded = BundleLoader.load(&path).unwrap();
    assert_eq!(loaded.metadata(), served.metadata());
    let e = ServerConfig::default()
        .with_bundle("x", dir.join("missing.gbx"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("missing.gbx"), "{e}");
    std::fs::write(dir.join("bad.gbx"), b"not a bundle").unwrap();
    let e = ServerConfig::default()
        .with_bundle("bad", dir.join("bad.gbx"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad.gbx"), "{e}");
    std::fs::remove_dir_all(dir).unwrap();
}
