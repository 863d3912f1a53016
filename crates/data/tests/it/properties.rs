//! Property tests: scaler round-trips, fold partitions, stratification bounds, loader coverage.

use glassbox_data::compose::{Pipeline, Step};
use glassbox_data::preprocess::*;
use glassbox_data::split::{KFold, StratifiedKFold};
use glassbox_data::{ArrayDataset, DataLoader, LoaderConfig};
use ndarray::{Array1, Array2};
use proptest::prelude::*;

fn matrix() -> impl Strategy<Value = Array2<f64>> {
    (2usize..12, 1usize..5).prop_flat_map(|(n, m)| {
        prop::collection::vec(-1e3f64..1e3, n * m)
            .prop_map(move |v| Array2::from_shape_vec((n, m), v).unwrap())
    })
}

fn round_trips<F: Fit>(s: &F, x: &Array2<f64>) -> Result<(), TestCaseError>
where
    F::Fitted: InverseTransform,
{
    let f = s.fit(x.view()).unwrap();
    let z = f.transform(x.view()).unwrap();
    let back = f.inverse_transform(z.view()).unwrap();
    for (a, b) in back.iter().zip(x.iter()) {
        prop_assert!((a - b).abs() <= 1e-9 * (1.0 + b.abs()), "{a} vs {b}");
    }
    Ok(())
}

/// Checks that the test folds partition `0..n` and that train is the complement.
fn partition(folds: &[glassbox_data::split::Fold], n: usize) -> Result<(), TestCaseError> {
    let mut seen = vec![0usize; n];
    for f in folds {
        for &i in &f.test {
            seen[i] += 1;
        }
        let mut all: Vec<usize> = f.train.iter().chain(&f.test).copied().collect();
        all.sort_unstable();
        prop_assert_eq!(all, (0..n).collect::<Vec<_>>());
    }
    prop_assert!(seen.iter().all(|&c| c == 1), "{:?}", seen);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn scalers_round_trip(x in matrix()) {
        round_trips(&StandardScaler::default(), &x)?;
        round_trips(&MinMaxScaler { feature_range: (-2.0, 3.0), clip: false }, &x)?;
        round_trips(&RobustScaler::default(), &x)?;
        round_trips(&MaxAbsScaler, &x)?;
        round_trips(&Pipeline::new(vec![Step::Robust(RobustScaler::default()), Step::Standard(StandardScaler::default())]), &x)?;
    }

    #[test]
    fn standard_scaler_gives_zero_mean_unit_variance(x in matrix()) {
        let (_, z) = StandardScaler::default().fit_transform(x.view()).unwrap();
        for j in 0..z.ncols() {
            let c = z.column(j);
            let n = c.len() as f64;
            let mean = c.sum() / n;
            let var = c.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
            prop_assert!(mean.abs() < 1e-9);
            // Constant columns stay at 0 variance; the others have unit variance.
            prop_assert!(var.abs() < 1e-9 || (var - 1.0).abs() < 1e-9, "var {}", var);
        }
    }

    #[test]
    fn kfold_partitions(n in 2usize..60, k in 2usize..8, seed in proptest::option::of(any::<u64>())) {
        prop_assume!(k <= n);
        let kf = KFold { n_splits: k, shuffle_seed: seed };
        let folds = kf.split(n).unwrap();
        prop_assert_eq!(folds.len(), k);
        partition(&folds, n)?;
        let sizes: Vec<usize> = folds.iter().map(|f| f.test.len()).collect();
        prop_assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1);
    }

    #[test]
    fn stratified_kfold_partitions_and_balances(
        y in prop::collection::vec(0u8..4, 8..80),
        k in 2usize..6,
        seed in proptest::option::of(any::<u64>()),
    ) {
        let skf = StratifiedKFold { n_splits: k, shuffle_seed: seed };
        let Ok(folds) = skf.split(&y) else {
            // Only allowed when every class is smaller than k.
            let mut counts = [0usize; 4];
            for &c in &y { counts[c as usize] += 1; }
            prop_assert!(counts.iter().all(|&c| c < k));
            return Ok(());
        };
        partition(&folds, y.len())?;
        for c in 0u8..4 {
            let total = y.iter().filter(|&&v| v == c).count() as f64;
            for f in &folds {
                let in_fold = f.test.iter().filter(|&&i| y[i] == c).count() as f64;
                prop_assert!((in_fold - total / k as f64).abs() <= 1.0, "class {} fold count {} ideal {}", c, in_fold, total / k as f64);
            }
        }
    }

    #[test]
    fn loader_visits_every_sample_once(n in 1usize..50, b in 1usize..9, seed in any::<u64>(), drop_last in any::<bool>(), prefetch in 0usize..4) {
        let x = Array2::from_shape_fn((n, 1), |(i, _)| i as f64).into_dyn();
        let y = Array1::from_iter(0..n).into_dyn();
        let cfg = LoaderConfig { batch_size: b, shuffle: true, seed, drop_last, prefetch };
        let loader = DataLoader::new(ArrayDataset::new(x, y).unwrap(), cfg).unwrap();
        let mut seen: Vec<usize> = Vec::new();
        let mut batches = 0;
        for batch in loader.epoch(3) {
            let (xb, yb) = batch.unwrap();
            prop_assert!(yb.len() <= b && (!drop_last || yb.len() == b));
            for (r, &t) in yb.iter().enumerate() {
                prop_assert_eq!(xb[[r, 0]], t as f64);
            }
            seen.extend(yb.iter());
            batches += 1;
        }
        prop_assert_eq!(batches, loader.n_batches());
        let expect = if drop_last { n / b * b } else { n };
        prop_assert_eq!(seen.len(), expect);
        seen.sort_unstable();
        seen.dedup();
        prop_assert_eq!(seen.len(), expect);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Arbitrary bytes never make the CSV reader panic.
    #[test]
    fn csv_reader_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = glassbox_data::read_csv_bytes(&bytes, "fuzz.csv", &glassbox_data::CsvOptions::default());
    }

    /// CSV-like text (delimiters, quotes, tokens) never panics, and a successful read has
    /// equally long columns.
    #[test]
    fn csv_like_text_never_panics(text in "[a-c0-9,\"\\n?. NA-]{0,120}") {
        if let Ok(t) = glassbox_data::read_csv_bytes(text.as_bytes(), "fuzz.csv", &glassbox_data::CsvOptions::default()) {
            prop_assert!(t.columns().iter().all(|c| c.len() == t.n_rows()));
            let _ = t.drop_duplicates().unwrap();
            let _ = t.drop_constant_columns().unwrap();
        }
    }

    /// Whatever the line terminators (LF, CRLF, mixed, blank lines between rows), the error
    /// for a bad numeric cell names its 1-based data row and its physical line, counted
    /// independently here.
    #[test]
    fn csv_errors_name_the_physical_line(
        rows in 1usize..30,
        bad_row in 0usize..30,
        crlf in prop::collection::vec(any::<bool>(), 31),
        blank in prop::collection::vec(any::<bool>(), 31),
        bad in prop::sample::select(vec!["x", "inf", "1e400", "-1e39"]),
    ) {
        let bad_row = bad_row % rows;
        let end = |i: usize| if crlf[i] { "\r\n" } else { "\n" };
        let mut text = format!("a,b{}", end(30));
        let mut line = 2u64;
        let mut bad_line = 0;
        for (r, &blank_before) in blank.iter().enumerate().take(rows) {
            if blank_before && r > 0 {
                text.push_str(end(r));
                line += 1;
            }
            if r == bad_row {
                bad_line = line;
                text.push_str(&format!("{r},{bad}{}", end(r)));
            } else {
                text.push_str(&format!("{r},{}.5{}", r, end(r)));
            }
            line += 1;
        }
        let opts = glassbox_data::CsvOptions::default().with_type("b", glassbox_data::ColumnType::Numeric);
        let e = glassbox_data::read_csv_bytes(text.as_bytes(), "lines.csv", &opts).unwrap_err();
        let want = format!("row {} (line {bad_line}), column 'b'", bad_row + 1);
        prop_assert!(e.to_string().contains(&want), "{:?}: {} (wanted {})", text, e, want);
    }

    /// Arbitrary bytes (with a valid-looking prefix half the time) never make the IDX parser panic.
    #[test]
    fn idx_parser_never_panics(prefix in any::<bool>(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let mut b = if prefix { vec![0u8, 0, 8, 2] } else { Vec::new() };
        b.extend(bytes);
        let _ = glassbox_data::idx::parse_idx_u8(&b, std::path::Path::new("fuzz.idx"));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// train/test splits partition the indices; the stratified one keeps every class's test
    /// share within one sample of its ideal share.
    #[test]
    fn train_test_splits_partition(y in prop::collection::vec(0u8..3, 6..80), frac in 0.1f64..0.6, seed in any::<u64>()) {
        let n = y.len();
        let check = |tr: &[usize], te: &[usize]| -> Result<(), TestCaseError> {
            let mut all: Vec<usize> = tr.iter().chain(te).copied().collect();
            all.sort_unstable();
            prop_assert_eq!(all, (0..n).collect::<Vec<_>>());
            prop_assert_eq!(te.len(), (frac * n as f64).ceil() as usize);
            Ok(())
        };
        if let Ok((tr, te)) = glassbox_data::split::train_test_split(n, frac, seed) {
            check(&tr, &te)?;
        }
        if let Ok((tr, te)) = glassbox_data::split::stratified_train_test_split(&y, frac, seed) {
            check(&tr, &te)?;
            for c in 0u8..3 {
                let total = y.iter().filter(|&&v| v == c).count() as f64;
                let in_test = te.iter().filter(|&&i| y[i] == c).count() as f64;
                let ideal = total * te.len() as f64 / n as f64;
                prop_assert!((in_test - ideal).abs() <= 1.0, "class {} test {} ideal {}", c, in_test, ideal);
            }
        }
    }
}
