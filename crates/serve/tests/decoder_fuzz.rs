//! Fuzz-style property tests of the request decoders (JSON bodies and Triton's binary
//! tensor extension): random bytes, lying `Inference-Header-Content-Length` headers and
//! `binary_data_size` parameters, shapes whose element count overflows or disagrees with the
//! data, unknown and mismatched datatypes. The decoders must never panic, must answer every
//! bad request with a 4xx error, and must accept only requests whose data matches the
//! declared shape exactly.
//!
//! The case count is `PROPTEST_CASES` (default 256 here, a few seconds); a longer run:
//! `PROPTEST_CASES=200000 cargo test -p glassbox-serve --release --test decoder_fuzz`.

use glassbox_serve::model::{ModelMetadata, TensorSpec};
use glassbox_serve::protocol::{decode_input, parse_request};
use glassbox_serve::tensor::Datatype;
use glassbox_serve::ServeError;
use proptest::prelude::*;
use serde_json::{json, Value};

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256)
}

/// A model input of any rank-3 shape, so huge declared shapes reach the size checks.
fn open_meta() -> ModelMetadata {
    let mut m = ModelMetadata::classifier("input", &[2, 3], 4, &[]);
    m.inputs = vec![TensorSpec {
        name: "input".into(),
        datatype: Datatype::Fp32,
        shape: vec![-1, -1, -1],
    }];
    m
}

/// Parses and decodes; checks that an error is a client error and that a success holds
/// exactly as many finite values as the shape declares.
fn check(body: &[u8], header: Option<&str>, meta: &ModelMetadata) -> Result<(), TestCaseError> {
    let decoded = parse_request(body, header).and_then(|p| decode_input(&p, meta));
    match decoded {
        Ok(a) => {
            let declared: usize = a.shape().iter().product();
            prop_assert_eq!(a.len(), declared);
            prop_assert!(a.iter().all(|v| v.is_finite()));
        }
        Err(e) => {
            let status = e.status().as_u16();
            prop_assert!(
                (400..500).contains(&status),
                "status {} for a bad request: {}",
                status,
                e
            );
            prop_assert!(!e.to_string().is_empty());
        }
    }
    Ok(())
}

const DATATYPES: [&str; 16] = [
    "FP32",
    "FP64",
    "INT8",
    "INT16",
    "INT32",
    "INT64",
    "UINT8",
    "UINT16",
    "UINT32",
    "UINT64",
    "BOOL",
    "BYTES",
    "FP16",
    "fp32",
    "",
    "FP32\u{0}",
];

fn dim() -> impl Strategy<Value = i64> {
    prop_oneof![
        0i64..5,
        Just(-1i64),
        Just(i64::MIN),
        Just(i64::MAX),
        Just(1i64 << 32),
        Just((1i64 << 62) + 1),
        any::<i64>(),
    ]
}

fn element() -> impl Strategy<Value = Value> {
    prop_oneof![
        (-1e6f64..1e6).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        Just(json!("NaN")),
        Just(json!("x")),
        Just(Value::Null),
        Just(json!(true)),
        Just(json!([1, [2]])),
        Just(json!({"a": 1})),
        Just(json!(1e300)),
    ]
}

/// How the binary section lies (or not) about its size.
#[derive(Debug, Clone)]
enum SizeClaim {
    Exact,
    Offset(i64),
    Huge,
    NotANumber,
}

fn size_claim() -> impl Strategy<Value = SizeClaim> {
    prop_oneof![
        Just(SizeClaim::Exact),
        (-16i64..16).prop_map(SizeClaim::Offset),
        Just(SizeClaim::Huge),
        Just(SizeClaim::NotANumber),
    ]
}

/// How the `Inference-Header-Content-Length` header lies (or not).
#[derive(Debug, Clone)]
enum HeaderClaim {
    Exact,
    Offset(i64),
    Garbage(String),
    Absent,
}

fn header_claim() -> impl Strategy<Value = HeaderClaim> {
    prop_oneof![
        Just(HeaderClaim::Exact),
        (-64i64..64).prop_map(HeaderClaim::Offset),
        "[ -~]{0,24}".prop_map(HeaderClaim::Garbage),
        Just(HeaderClaim::Absent),
    ]
}

fn header_value(claim: &HeaderClaim, json_len: usize) -> Option<String> {
    match claim {
        HeaderClaim::Exact => Some(json_len.to_string()),
        HeaderClaim::Offset(d) => Some((json_len as i64 + d).to_string()),
        HeaderClaim::Garbage(s) => Some(s.clone()),
        HeaderClaim::Absent => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// Arbitrary bytes with an arbitrary header value.
    #[test]
    fn random_bytes_never_panic(
        body in prop::collection::vec(any::<u8>(), 0..512),
        header in prop::option::of("[ -~]{0,24}"),
    ) {
        check(&body, header.as_deref(), &open_meta())?;
        check(&body, header.as_deref(), &ModelMetadata::classifier("input", &[2, 3], 4, &[]))?;
    }

    /// Well-formed JSON whose shape, datatype and data disagree in every way.
    #[test]
    fn json_requests_with_hostile_shapes_and_data(
        shape in prop::collection::vec(dim(), 0..5),
        dt in prop::sample::select(&DATATYPES[..]),
        data in prop::collection::vec(element(), 0..40),
        nested in any::<bool>(),
    ) {
        let data = if nested && data.len() >= 2 {
            let half = data.len() / 2;
            json!([data[..half].to_vec(), data[half..].to_vec()])
        } else {
            Value::from(data)
        };
        let body = json!({"inputs": [{"name": "input", "shape": shape, "datatype": dt, "data": data}]});
        check(body.to_string().as_bytes(), None, &open_meta())?;
    }

    /// Binary-extension requests with lying sizes in the header and the parameters.
    #[test]
    fn binary_requests_with_lying_sizes(
        shape in prop::collection::vec(dim(), 0..5),
        dt in prop::sample::select(&DATATYPES[..]),
        payload in prop::collection::vec(any::<u8>(), 0..256),
        size in size_claim(),
        header in header_claim(),
    ) {
        let declared = match size {
            SizeClaim::Exact => json!(payload.len()),
            SizeClaim::Offset(d) => json!(payload.len() as i64 + d),
            SizeClaim::Huge => json!(u64::MAX),
            SizeClaim::NotANumber => json!("12"),
        };
        let head = json!({"inputs": [{"name": "input", "shape": shape, "datatype": dt,
            "parameters": {"binary_data_size": declared}}]}).to_string();
        let mut body = head.clone().into_bytes();
        body.extend_from_slice(&payload);
        let h = header_value(&header, head.len());
        check(&body, h.as_deref(), &open_meta())?;
    }

    /// A correct binary request decodes to exactly its values, and any single lie about
    /// its size is rejected with a 4xx naming the input.
    #[test]
    fn exact_binary_requests_decode_and_lies_are_rejected(
        rows in 1usize..4,
        cols in 1usize..5,
        lie in -8i64..8,
    ) {
        let values: Vec<f32> = (0..rows * cols * 2).map(|i| i as f32 * 0.5 - 3.0).collect();
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let make = |size: i64| {
            let head = json!({"inputs": [{"name": "input", "shape": [rows, cols, 2],
                "datatype": "FP32", "parameters": {"binary_data_size": size}}]}).to_string();
            let mut body = head.clone().into_bytes();
            body.extend_from_slice(&bytes);
            (body, head.len().to_string())
        };
        let (body, len) = make(bytes.len() as i64);
        let a = decode_input(&parse_request(&body, Some(&len)).unwrap(), &open_meta()).unwrap();
        prop_assert_eq!(a.shape(), &[rows, cols, 2]);
        prop_assert_eq!(a.iter().copied().collect::<Vec<_>>(), values);
        if lie != 0 {
            let (body, len) = make(bytes.len() as i64 + lie);
            let e = parse_request(&body, Some(&len)).and_then(|p| decode_input(&p, &open_meta()));
            let e = e.expect_err("a lying binary_data_size is rejected");
            prop_assert!(e.status().is_client_error(), "{}", e);
            prop_assert!(e.to_string().contains("'input'"), "{}", e);
        }
    }
}

/// Shapes whose element count overflows `usize` are shape errors (400), before any buffer
/// of that size is allocated; so are shapes that exceed the data actually sent.
#[test]
fn overflowing_and_oversized_shapes_are_rejected_before_allocating() {
    let meta = open_meta();
    let huge = i64::MAX;
    for shape in [
        json!([huge, huge, huge]),
        json!([1i64 << 32, 1i64 << 32, 2]),
        json!([1, 1i64 << 40, 1i64 << 40]),
    ] {
        let body = json!({"inputs": [{"name": "input", "shape": shape, "datatype": "FP32",
            "data": [1.0, 2.0]}]})
        .to_string();
        let e = parse_request(body.as_bytes(), None)
            .and_then(|p| decode_input(&p, &meta))
            .unwrap_err();
        assert!(matches!(e, ServeError::Shape { .. }), "{e}");
        assert_eq!(e.status().as_u16(), 400);
        let head = json!({"inputs": [{"name": "input", "shape": shape, "datatype": "FP32",
            "parameters": {"binary_data_size": 8}}]})
        .to_string();
        let mut b = head.clone().into_bytes();
        b.extend_from_slice(&[0u8; 8]);
        let e = parse_request(&b, Some(&head.len().to_string()))
            .and_then(|p| decode_input(&p, &meta))
            .unwrap_err();
        assert!(matches!(e, ServeError::Shape { .. }), "{e}");
    }
    // 2^40 elements declared, 8 bytes sent: the mismatch is named, nothing is allocated.
    let head = json!({"inputs": [{"name": "input", "shape": [1, 1 << 20, 1 << 20],
        "datatype": "FP64", "parameters": {"binary_data_size": 8}}]})
    .to_string();
    let mut b = head.clone().into_bytes();
    b.extend_from_slice(&[0u8; 8]);
    let e = parse_request(&b, Some(&head.len().to_string()))
        .and_then(|p| decode_input(&p, &meta))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("8796093022208 bytes") && e.contains("binary_data_size is 8"),
        "{e}"
    );
}
