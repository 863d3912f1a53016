//! Property tests: order invariance, perfect rankings, and naive-loop oracles.

use glassbox_metrics::*;
use ndarray::Array2;
use proptest::prelude::*;

/// Labels, predictions, scores and a permutation of the same length.
fn case() -> impl Strategy<Value = (Vec<u8>, Vec<u8>, Vec<f64>, Vec<usize>)> {
    (4usize..60).prop_flat_map(|n| {
        (
            prop::collection::vec(0u8..3, n),
            prop::collection::vec(0u8..3, n),
            prop::collection::vec(0u32..20, n)
                .prop_map(|v| v.into_iter().map(|x| x as f64 / 20.0).collect()),
            Just((0..n).collect::<Vec<usize>>()).prop_shuffle(),
        )
    })
}

fn permute<T: Clone>(v: &[T], p: &[usize]) -> Vec<T> {
    p.iter().map(|&i| v[i].clone()).collect()
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12
}

/// ROC-AUC as the Mann–Whitney statistic: P(score_pos > score_neg) + ½ P(tie), by pairs.
fn naive_auc(pos: &[bool], s: &[f64]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..s.len() {
        for j in 0..s.len() {
            if pos[i] && !pos[j] {
                den += 1.0;
                num += if s[i] > s[j] {
                    1.0
                } else if s[i] == s[j] {
                    0.5
                } else {
                    0.0
                };
            }
        }
    }
    num / den
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn label_metrics_ignore_sample_order((y, p, _, perm) in case()) {
        let (yp, pp) = (permute(&y, &perm), permute(&p, &perm));
        prop_assert!(same(accuracy(&y, &p).unwrap(), accuracy(&yp, &pp).unwrap()));
        prop_assert!(same(balanced_accuracy(&y, &p).unwrap(), balanced_accuracy(&yp, &pp).unwrap()));
        prop_assert!(same(matthews_corrcoef(&y, &p).unwrap(), matthews_corrcoef(&yp, &pp).unwrap()));
        for avg in [Average::Micro, Average::Macro, Average::Weighted] {
            let a = precision_recall_fscore(&y, &p, 1.0, &avg, ZeroDivision::Zero).unwrap();
            let b = precision_recall_fscore(&yp, &pp, 1.0, &avg, ZeroDivision::Zero).unwrap();
            prop_assert!(same(a.0, b.0) && same(a.1, b.1) && same(a.2, b.2));
        }
        prop_assert_eq!(confusion_matrix(&y, &p, None).unwrap(), confusion_matrix(&yp, &pp, None).unwrap());
    }

    #[test]
    fn ranking_metrics_ignore_sample_order((y, _, s, perm) in case()) {
        let pos: Vec<bool> = y.iter().map(|&v| v == 1).collect();
        prop_assume!(pos.iter().any(|&b| b) && pos.iter().any(|&b| !b));
        let (pp, sp) = (permute(&pos, &perm), permute(&s, &perm));
        prop_assert!(same(roc_auc_score(&pos, &s).unwrap(), roc_auc_score(&pp, &sp).unwrap()));
        prop_assert!(same(average_precision(&pos, &s, &true).unwrap(), average_precision(&pp, &sp, &true).unwrap()));
        prop_assert_eq!(roc_curve(&pos, &s, &true, true).unwrap(), roc_curve(&pp, &sp, &true, true).unwrap());
    }

    #[test]
    fn roc_auc_equals_pairwise_statistic((y, _, s, _) in case()) {
        let pos: Vec<bool> = y.iter().map(|&v| v == 1).collect();
        prop_assume!(pos.iter().any(|&b| b) && pos.iter().any(|&b| !b));
        let got = roc_auc_score(&pos, &s).unwrap();
        prop_assert!((got - naive_auc(&pos, &s)).abs() < 1e-12);
        // Dropping intermediate points never changes the area.
        let full = roc_curve(&pos, &s, &true, false).unwrap();
        prop_assert!((auc(&full.fpr, &full.tpr).unwrap() - got).abs() < 1e-12);
    }

    #[test]
    fn perfect_ranking_has_auc_and_ap_one(y in prop::collection::vec(any::<bool>(), 2..60), noise in prop::collection::vec(0.0f64..0.4, 60)) {
        prop_assume!(y.iter().any(|&b| b) && y.iter().any(|&b| !b));
        // Every positive scores above every negative.
        let s: Vec<f64> = y.iter().zip(&noise).map(|(&b, &e)| if b { 0.6 + e } else { e }).collect();
        prop_assert_eq!(roc_auc_score(&y, &s).unwrap(), 1.0);
        prop_assert!((average_precision(&y, &s, &true).unwrap() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn regression_and_probability_metrics_ignore_order(
        pairs in prop::collection::vec((-50.0f64..50.0, -50.0f64..50.0, 0.01f64..1.0, 0.01f64..1.0, 0u8..2), 3..40),
        seed in any::<u64>(),
    ) {
        let n = pairs.len();
        let mut perm: Vec<usize> = (0..n).collect();
        glassbox_data::rng::Rng::new(seed).shuffle(&mut perm);
        let t: Vec<f64> = pairs.iter().map(|p| p.0).collect();
        let q: Vec<f64> = pairs.iter().map(|p| p.1).collect();
        let (tp, qp) = (permute(&t, &perm), permute(&q, &perm));
        for f in [mean_squared_error, mean_absolute_error, median_absolute_error, r2_score, explained_variance_score] {
            let (a, b) = (f(&t, &q).unwrap(), f(&tp, &qp).unwrap());
            prop_assert!((a - b).abs() <= 1e-9 * (1.0 + a.abs()), "{} vs {}", a, b);
        }
        let y: Vec<u8> = pairs.iter().map(|p| p.4).collect();
        prop_assume!(y.contains(&0) && y.contains(&1));
        let prob = Array2::from_shape_fn((n, 2), |(i, j)| {
            let a = pairs[i].2 / (pairs[i].2 + pairs[i].3);
            if j == 0 { a } else { 1.0 - a }
        });
        let probp = Array2::from_shape_fn((n, 2), |(i, j)| prob[[perm[i], j]]);
        let (a, b) = (log_loss(&y, prob.view(), None, true).unwrap(), log_loss(&permute(&y, &perm), probp.view(), None, true).unwrap());
        prop_assert!((a - b).abs() < 1e-12);
    }

    #[test]
    fn macro_f1_matches_naive_loop((y, p, _, _) in case()) {
        let labels = unique_labels(&[&y[..], &p[..]]);
        let mut f_sum = 0.0;
        for &l in &labels {
            let tp = y.iter().zip(&p).filter(|(&a, &b)| a == l && b == l).count() as f64;
            let fp = y.iter().zip(&p).filter(|(&a, &b)| a != l && b == l).count() as f64;
            let fnn = y.iter().zip(&p).filter(|(&a, &b)| a == l && b != l).count() as f64;
            let prec = if tp + fp > 0.0 { tp / (tp + fp) } else { 0.0 };
            let rec = if tp + fnn > 0.0 { tp / (tp + fnn) } else { 0.0 };
            f_sum += if prec + rec > 0.0 { 2.0 * prec * rec / (prec + rec) } else { 0.0 };
        }
        let got = f1_score(&y, &p, &Average::Macro).unwrap();
        prop_assert!((got - f_sum / labels.len() as f64).abs() < 1e-12);
    }
}

fn wild() -> impl Strategy<Value = f64> {
    prop_oneof![
        -2.0f64..2.0,
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(0.0),
        Just(1.0)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Scores with NaN, infinities, ties and degenerate labels give errors, never panics.
    #[test]
    fn ranking_and_probability_metrics_never_panic(
        y in prop::collection::vec(0u8..3, 0..20),
        s in prop::collection::vec(wild(), 0..60),
        k in 0usize..4,
    ) {
        let n = y.len();
        let s1: Vec<f64> = s.iter().copied().take(n).collect();
        let _ = roc_auc_score(&y, &s1);
        let _ = roc_curve(&y, &s1, &1, true);
        let _ = average_precision(&y, &s1, &1);
        let _ = precision_recall_curve(&y, &s1, &1);
        for c in 1..4 {
            if s.len() >= n * c {
                let m = Array2::from_shape_vec((n, c), s[..n * c].to_vec()).unwrap();
                let _ = log_loss(&y, m.view(), None, true);
                let _ = top_k_accuracy(&y, m.view(), k, None);
                let _ = roc_auc_ovr(&y, m.view(), OvrAverage::Weighted);
            }
        }
        let _ = mean_squared_error(&s1, &s1);
        let _ = median_absolute_error(&s1, &s1);
        let _ = classification_report(&y, &y);
    }
}
