//! Model files: save → load gives identical predictions; truncated, corrupted, foreign,
//! future-version and mismatched files give clear errors and never panic.

use glassbox_autograd::{no_grad, Var};
use glassbox_nn::io::envelope::HEADER_LEN;
use glassbox_nn::*;
use glassbox_tensor::rng::Rng;
use glassbox_tensor::Tensor;
use proptest::prelude::*;

fn model(hidden: usize, seed: u64) -> Sequential {
    let mut rng = Rng::new(seed);
    Sequential::new()
        .add(Linear::new(4, hidden, true, &mut rng).unwrap())
        .add(BatchNorm::new_1d(hidden).unwrap())
        .add(Activation::relu())
        .add(Linear::new(hidden, 3, true, &mut rng).unwrap())
}

fn predict(m: &Sequential, x: &Tensor) -> Vec<f32> {
    no_grad(|| {
        m.forward(&Var::constant(x.clone()))
            .unwrap()
            .value()
            .to_vec()
    })
}

fn tmpdir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("glassbox-nn-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn save_then_load_reproduces_predictions_and_buffers() {
    let dir = tmpdir("roundtrip");
    let path = dir.join("model.gbx");
    let mut a = model(8, 1);
    let x = Tensor::rand_normal(&[6, 4], 0.0, 1.0, &mut Rng::new(9));
    // One training-mode pass moves the BatchNorm running statistics away from 0 / 1.
    a.forward(&Var::constant(x.clone())).unwrap();
    a.set_training(false);
    save(&a, &path).unwrap();
    let mut b = model(8, 2);
    b.set_training(false);
    assert_ne!(predict(&a, &x), predict(&b, &x));
    load(&b, &path).unwrap();
    assert_eq!(predict(&a, &x), predict(&b, &x));
    let names: Vec<String> = StateDict::load(&path)
        .unwrap()
        .tensors
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    assert!(names.contains(&"1.running_mean".to_string()), "{names:?}");
    // Only the model file is left in the folder: the temporary file was renamed.
    let entries: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
    assert_eq!(entries.len(), 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn every_truncation_is_an_error() {
    let bytes = state_dict(&model(5, 1)).to_bytes();
    for len in 0..bytes.len() {
        let e = StateDict::from_bytes(&bytes[..len], "cut.gbx").unwrap_err();
        assert!(matches!(e, NnError::Truncated { .. }), "length {len}: {e}");
        assert!(e.to_string().contains("cut.gbx"), "{e}");
    }
}

#[test]
fn wrong_magic_and_future_version_are_named() {
    let mut bytes = state_dict(&model(5, 1)).to_bytes();
    let mut foreign = bytes.clone();
    foreign[..8].copy_from_slice(b"\x89PNG\r\n\x1a\n");
    let e = StateDict::from_bytes(&foreign, "image.png").unwrap_err();
    assert!(matches!(e, NnError::BadMagic { .. }), "{e}");
    assert!(e.to_string().contains("GBXMODEL"), "{e}");

    bytes[8..12].copy_from_slice(&2u32.to_le_bytes());
    let e = StateDict::from_bytes(&bytes, "new.gbx").unwrap_err();
    assert!(
        matches!(
            e,
            NnError::UnsupportedVersion {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("version 2"), "{e}");
}

#[test]
fn flipped_payload_byte_fails_the_checksum() {
    let mut bytes = state_dict(&model(5, 1)).to_bytes();
    bytes[HEADER_LEN + 10] ^= 0x40;
    let e = StateDict::from_bytes(&bytes, "m").unwrap_err();
    assert!(matches!(e, NnError::ChecksumMismatch { .. }), "{e}");
}

#[test]
fn loading_into_another_architecture_names_the_difference() {
    let sd = state_dict(&model(5, 1));
    let e = load_state_dict(&model(7, 1), &sd).unwrap_err();
    match &e {
        NnError::ShapeMismatch {
            name,
            expected,
            found,
        } => {
            assert_eq!(name, "0.weight");
            assert_eq!(expected, &vec![7, 4]);
            assert_eq!(found, &vec![5, 4]);
        }
        other => panic!("expected a shape mismatch, got {other}"),
    }
    assert!(
        e.to_string().contains("0.weight") && e.to_string().contains("[5, 4]"),
        "{e}"
    );

    let mut rng = Rng::new(0);
    let smaller = Sequential::new().add(Linear::new(4, 5, true, &mut rng).unwrap());
    let e = load_state_dict(&smaller, &sd).unwrap_err();
    assert!(
        matches!(&e, NnError::UnexpectedTensor { name } if name == "1.weight"),
        "{e}"
    );

    let mut partial = sd.clone();
    partial.tensors.retain(|(n, _)| n != "3.bias");
    let target = model(5, 3);
    let before = target.named_parameters()[0].1.value().to_vec();
    let e = load_state_dict(&target, &partial).unwrap_err();
    assert!(
        matches!(&e, NnError::MissingTensor { name } if name == "3.bias"),
        "{e}"
    );
    // A failed load changes nothing.
    assert_eq!(target.named_parameters()[0].1.value().to_vec(), before);
}

#[test]
fn missing_file_is_an_io_error_naming_the_path() {
    let e = StateDict::load("/nonexistent/dir/model.gbx").unwrap_err();
    assert!(e.to_string().contains("/nonexistent/dir/model.gbx"), "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn corrupted_bytes_never_panic(pos in 0usize..400, byte in any::<u8>(), cut in 0usize..400) {
        let mut bytes = state_dict(&model(3, 1)).to_bytes();
        let p = pos % bytes.len();
        bytes[p] = byte;
        let c = cut % (bytes.len() + 1);
        let _ = StateDict::from_bytes(&bytes[..c], "fuzz");
        let _ = StateDict::from_bytes(&bytes, "fuzz");
    }
}
