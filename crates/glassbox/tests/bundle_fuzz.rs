//! Bundles are untrusted input: property/fuzz tests of the bundle parser and loader.
//!
//! Random valid bundles (MLP, CNN, LSTM, table MLP; classifier or regressor) are mutated —
//! JSON numbers and arrays of the metadata, bytes of the metadata and of the bincode
//! weights (with the checksums recomputed, so the mutation reaches the parsers), lying
//! length fields, truncations, tensors dropped or reshaped, non-finite weights — and then
//! loaded. The property: loading either fails with an error naming the file, or gives a
//! model that predicts finite outputs on a row of its declared width. A counting global
//! allocator bounds the largest single allocation of the whole run (the mutations declare
//! layers of up to 2^64 units; a file of a few KiB must never ask for more than 64 MiB).
//!
//! `PROPTEST_CASES` scales the run (the default keeps it to a few seconds in CI); the long
//! session of issue 14 ran it with `PROPTEST_CASES=200000` in release.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use glassbox::data::{read_csv_bytes, CsvOptions};
use glassbox::nn::io::{envelope, MODEL_FORMAT_VERSION, MODEL_MAGIC};
use glassbox::{
    fit_table, Architecture, Bundle, BundleMeta, History, Model, ModelSpec, Predictions,
    Preprocessing, Task, BUNDLE_FORMAT_VERSION, BUNDLE_MAGIC,
};
use ndarray::Array2;
use proptest::prelude::*;
use serde_json::Value;

/// Records the largest single allocation request of the process.
struct Largest;
static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Largest {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        System.alloc(l)
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        LARGEST.fetch_max(l.size(), Ordering::Relaxed);
        System.alloc_zeroed(l)
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        System.dealloc(p, l)
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        LARGEST.fetch_max(new, Ordering::Relaxed);
        System.realloc(p, l, new)
    }
}

#[global_allocator]
static ALLOC: Largest = Largest;

const ALLOCATION_BOUND: usize = 64 << 20;
const ORIGIN: &str = "fuzz.gbx";

/// A valid bundle: `kind` 0 MLP, 1 CNN, 2 LSTM, 3 MLP on a fitted table.
fn base(kind: u8, a: usize, b: usize, c: usize, regression: bool, seed: u64) -> Bundle {
    if kind == 3 {
        let csv = if regression {
            "x,color,y\n1,red,0.5\n2,blue,1.5\n3,red,2.5\n4,green,3\n"
        } else {
            "x,color,y\n1,red,a\n2,blue,b\n3,red,a\n4,green,b\n"
        };
        let t = read_csv_bytes(csv.as_bytes(), "t.csv", &CsvOptions::default()).unwrap();
        let set = fit_table(&t, "y").unwrap();
        let net = ModelSpec::Mlp(vec![a])
            .for_table(&set)
            .unwrap()
            .build(seed)
            .unwrap();
        return Bundle::from_table(&net, &set).unwrap();
    }
    let outputs = if regression { 1 } else { c + 1 };
    let (spec, shape) = match kind {
        0 => (ModelSpec::Mlp(vec![a]), vec![b]),
        1 => (ModelSpec::Cnn(vec![a]), vec![1, b + 1, c + 1]),
        _ => (ModelSpec::Lstm(a), vec![b, c]),
    };
    let arch = spec.resolve(&shape, outputs).unwrap();
    let net = arch.build(seed).unwrap();
    let task = if regression {
        Task::Regression {
            mean: 1.5,
            std: 2.0,
        }
    } else {
        Task::Classification {
            classes: (0..outputs).map(|i| format!("c{i}")).collect(),
        }
    };
    let meta = BundleMeta {
        feature_names: (0..arch.n_inputs()).map(|i| format!("f{i}")).collect(),
        architecture: arch,
        task,
        target: None,
        preprocessing: Preprocessing::Pixels { scale: 16.0 },
        history: History::default(),
        metrics: Default::default(),
        metadata: Default::default(),
    };
    Bundle::new(&net, meta).unwrap()
}

/// The file bytes of `meta_json` and the bincode `weights` payload, checksums recomputed.
fn assemble(meta_json: &[u8], weights: &[u8]) -> Vec<u8> {
    let file = envelope::encode(MODEL_MAGIC, MODEL_FORMAT_VERSION, weights);
    let mut payload = (meta_json.len() as u64).to_le_bytes().to_vec();
    payload.extend_from_slice(meta_json);
    payload.extend_from_slice(&file);
    envelope::encode(BUNDLE_MAGIC, BUNDLE_FORMAT_VERSION, &payload)
}

/// JSON pointers of every number (`numbers`) and array (`arrays`) in `v`.
fn pointers(v: &Value, at: String, numbers: &mut Vec<String>, arrays: &mut Vec<String>) {
    match v {
        Value::Number(_) => numbers.push(at),
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                pointers(x, format!("{at}/{i}"), numbers, arrays);
            }
            arrays.push(at);
        }
        Value::Object(m) => {
            for (k, x) in m {
                pointers(
                    x,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    numbers,
                    arrays,
                );
            }
        }
        _ => {}
    }
}

/// Values a hostile bundle puts in a number field.
fn hostile_number(i: usize) -> Value {
    let vals: [Value; 14] = [
        0.into(),
        1.into(),
        2.into(),
        3.into(),
        (-1).into(),
        0.5.into(),
        1e300.into(),
        2_000_000_000u64.into(),
        u64::MAX.into(),
        (1u64 << 20).into(),
        ((1u64 << 20) + 1).into(),
        3.5e38.into(),
        (-3.5e38).into(),
        Value::Null,
    ];
    vals[i % vals.len()].clone()
}

#[derive(Debug, Clone)]
enum Mutation {
    None,
    JsonNumber(usize, usize),
    JsonArray(usize, u8),
    JsonByte(usize, u8),
    WeightsByte(usize, u8),
    MetaLength(u64),
    Truncate(usize),
    DropTensor(usize),
    Reshape(usize, usize, usize),
    WeightValue(usize, usize, u8),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::None),
        (any::<usize>(), any::<usize>()).prop_map(|(p, v)| Mutation::JsonNumber(p, v)),
        (any::<usize>(), 0..3u8).prop_map(|(p, k)| Mutation::JsonArray(p, k)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::JsonByte(p, b)),
        (any::<usize>(), any::<u8>()).prop_map(|(p, b)| Mutation::WeightsByte(p, b)),
        any::<u64>().prop_map(Mutation::MetaLength),
        any::<usize>().prop_map(Mutation::Truncate),
        any::<usize>().prop_map(Mutation::DropTensor),
        (any::<usize>(), any::<usize>(), 0..2_000_000_000usize)
            .prop_map(|(t, d, v)| Mutation::Reshape(t, d, v)),
        (any::<usize>(), any::<usize>(), 0..4u8)
            .prop_map(|(t, i, k)| Mutation::WeightValue(t, i, k)),
    ]
}

/// The mutated file bytes.
fn mutate(bundle: &Bundle, m: &Mutation) -> Vec<u8> {
    let mut meta: Value = serde_json::to_value(&bundle.meta).unwrap();
    let mut weights = bundle.weights.clone();
    let mut json_byte = None;
    let mut weights_byte = None;
    match *m {
        Mutation::None | Mutation::MetaLength(_) | Mutation::Truncate(_) => {}
        Mutation::JsonNumber(p, v) => {
            let (mut nums, mut arrs) = (Vec::new(), Vec::new());
            pointers(&meta, String::new(), &mut nums, &mut arrs);
            if !nums.is_empty() {
                *meta.pointer_mut(&nums[p % nums.len()]).unwrap() = hostile_number(v);
            }
        }
        Mutation::JsonArray(p, k) => {
            let (mut nums, mut arrs) = (Vec::new(), Vec::new());
            pointers(&meta, String::new(), &mut nums, &mut arrs);
            if !arrs.is_empty() {
                let a = meta.pointer_mut(&arrs[p % arrs.len()]).unwrap();
                let items = a.as_array_mut().unwrap();
                match k {
                    0 => items.clear(),
                    1 => {
                        items.pop();
                    }
                    _ => {
                        if let Some(x) = items.first().cloned() {
                            items.push(x);
                        }
                    }
                }
            }
        }
        Mutation::JsonByte(p, b) => json_byte = Some((p, b)),
        Mutation::WeightsByte(p, b) => weights_byte = Some((p, b)),
        Mutation::DropTensor(t) => {
            let n = weights.tensors.len();
            weights.tensors.remove(t % n);
        }
        Mutation::Reshape(t, d, v) => {
            let n = weights.tensors.len();
            let rec = &mut weights.tensors[t % n].1;
            let nd = rec.shape.len();
            rec.shape[d % nd] = v;
        }
        Mutation::WeightValue(t, i, k) => {
            let n = weights.tensors.len();
            let data = &mut weights.tensors[t % n].1.data;
            let len = data.len();
            data[i % len] = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1e30][k as usize];
        }
    }
    let mut meta_json = serde_json::to_vec(&meta).unwrap();
    if let Some((p, b)) = json_byte {
        let len = meta_json.len();
        meta_json[p % len] = b;
    }
    let mut payload = weights.to_bytes()[envelope::HEADER_LEN..].to_vec();
    if let Some((p, b)) = weights_byte {
        let len = payload.len();
        payload[p % len] = b;
    }
    let mut bytes = assemble(&meta_json, &payload);
    match *m {
        Mutation::MetaLength(l) => {
            let at = envelope::HEADER_LEN;
            bytes[at..at + 8].copy_from_slice(&l.to_le_bytes());
            // Re-checksum so the lie reaches the payload parser.
            bytes = envelope::encode(BUNDLE_MAGIC, BUNDLE_FORMAT_VERSION, &bytes[at..]);
        }
        Mutation::Truncate(p) => {
            let len = bytes.len();
            bytes.truncate(p % len);
        }
        _ => {}
    }
    bytes
}

/// Loads `bytes` like `Model::load` does; on success the model must predict finite
/// outputs on rows of its declared width.
fn load_and_predict(bytes: &[u8], row_seed: u64) -> Result<bool, TestCaseError> {
    let loaded = Bundle::from_bytes(bytes, ORIGIN).and_then(|b| Model::from_bundle(b, ORIGIN));
    let model = match loaded {
        Err(e) => {
            let msg = e.to_string();
            prop_assert!(msg.contains(ORIGIN), "error without the file name: {}", msg);
            return Ok(false);
        }
        Ok(m) => m,
    };
    let n = model.bundle().meta.architecture.n_inputs();
    prop_assert!((1..=1 << 16).contains(&n), "{} inputs from a few KiB", n);
    let zeros = Array2::<f32>::zeros((2, n));
    let rows = Array2::from_shape_fn((3, n), |(i, j)| {
        ((row_seed as usize + 7 * i + 3 * j) % 13) as f32 / 6.5 - 1.0
    });
    for x in [zeros, rows] {
        match model.predict(&x) {
            Ok(Predictions::Classes {
                probabilities,
                labels,
                ..
            }) => {
                prop_assert!(probabilities.iter().all(|p| p.is_finite()));
                prop_assert_eq!(labels.len(), x.nrows());
            }
            Ok(Predictions::Values(v)) => prop_assert!(v.iter().all(|v| v.is_finite())),
            Err(e) => prop_assert!(false, "a loaded bundle fails to predict: {}", e),
        }
    }
    Ok(true)
}

fn bundle_strategy() -> impl Strategy<Value = Bundle> {
    (
        0..4u8,
        1..5usize,
        1..5usize,
        1..4usize,
        any::<bool>(),
        any::<u64>(),
    )
        .prop_map(|(k, a, b, c, r, s)| base(k, a, b, c, r, s))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    /// Every bundle that passes validation predicts; every other is an error naming the file.
    #[test]
    fn mutated_bundles_load_and_predict_or_fail_cleanly(
        bundle in bundle_strategy(), m in mutation(), row_seed in any::<u64>()
    ) {
        let bytes = mutate(&bundle, &m);
        let loaded = load_and_predict(&bytes, row_seed)?;
        if matches!(m, Mutation::None) {
            prop_assert!(loaded, "an unmutated bundle must load");
        }
        let largest = LARGEST.load(Ordering::Relaxed);
        prop_assert!(largest <= ALLOCATION_BOUND, "an allocation of {} bytes", largest);
    }

    /// Random bytes, random bytes behind a valid header, and random bincode payloads.
    #[test]
    fn random_bytes_are_errors(
        raw in prop::collection::vec(any::<u8>(), 0..512), meta_len in 0..600usize
    ) {
        prop_assert!(Bundle::from_bytes(&raw, ORIGIN).is_err());
        let wrapped = envelope::encode(BUNDLE_MAGIC, BUNDLE_FORMAT_VERSION, &raw);
        let _ = load_and_predict(&wrapped, 0)?;
        let split = meta_len.min(raw.len());
        let _ = load_and_predict(&assemble(&raw[..split], &raw[split..]), 0)?;
        let largest = LARGEST.load(Ordering::Relaxed);
        prop_assert!(largest <= ALLOCATION_BOUND, "an allocation of {} bytes", largest);
    }
}

/// The issue's own cases, each named: a 2e9-unit hidden layer with a few weights, an
/// LSTM of 0 steps, a zero-sized layer, a class list shorter than the outputs, a
/// preprocessing scale of 0.
#[test]
fn the_issues_crafted_bundles_are_errors_naming_file_and_field() {
    let edit = |kind: u8, regression: bool, f: &dyn Fn(&mut Value)| {
        let b = base(kind, 3, 4, 2, regression, 1);
        let mut meta = serde_json::to_value(&b.meta).unwrap();
        f(&mut meta);
        let payload = b.weights.to_bytes()[envelope::HEADER_LEN..].to_vec();
        let bytes = assemble(&serde_json::to_vec(&meta).unwrap(), &payload);
        Bundle::from_bytes(&bytes, ORIGIN)
            .and_then(|b| Model::from_bundle(b, ORIGIN))
            .unwrap_err()
            .to_string()
    };
    let e = edit(0, false, &|m| {
        m["architecture"]["hidden"][0] = 2_000_000_000u64.into()
    });
    assert!(
        e.contains(ORIGIN) && e.contains("hidden layer 1 is 2000000000"),
        "{e}"
    );
    let e = edit(0, false, &|m| m["architecture"]["hidden"][0] = 1000.into());
    assert!(
        e.contains(ORIGIN) && e.contains("`0.weight`") && e.contains("[1000, 4]"),
        "{e}"
    );
    let e = edit(2, false, &|m| m["architecture"]["steps"] = 0.into());
    assert!(e.contains(ORIGIN) && e.contains("steps is 0"), "{e}");
    let e = edit(1, false, &|m| m["architecture"]["filters"][0] = 0.into());
    assert!(
        e.contains(ORIGIN) && e.contains("filters of convolution 1 is 0"),
        "{e}"
    );
    let e = edit(0, false, &|m| {
        m["task"]["classes"].as_array_mut().unwrap().pop();
    });
    assert!(e.contains(ORIGIN) && e.contains("class names"), "{e}");
    let e = edit(3, false, &|m| {
        let s = m.pointer_mut(
            "/preprocessing/transformer/groups/0/step/Numeric/steps/1/Standard/scale/data/0",
        );
        *s.expect("the table's standard scaler") = 0.0.into();
    });
    assert!(
        e.contains(ORIGIN) && e.contains("scale of feature 1 is 0"),
        "{e}"
    );
    let e = edit(0, true, &|m| m["task"]["std"] = 0.0.into());
    assert!(e.contains(ORIGIN) && e.contains("std 0"), "{e}");
    let e = edit(1, false, &|m| m["preprocessing"]["scale"] = 0.0.into());
    assert!(e.contains(ORIGIN) && e.contains("pixel scale 0"), "{e}");
    // The architecture alone, without weights, is refused before building.
    let huge = Architecture::Mlp {
        inputs: 4,
        hidden: vec![2_000_000_000],
        outputs: 3,
    };
    assert!(huge.build(0).is_err());
    assert!(LARGEST.load(Ordering::Relaxed) <= ALLOCATION_BOUND);
}
