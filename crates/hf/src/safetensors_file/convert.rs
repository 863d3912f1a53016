//! Little-endian element decoding and encoding for the dtypes glassbox reads and writes.

use half::{bf16, f16};
use safetensors::Dtype;

/// `true` for the floating-point dtypes models load as weights.
pub(crate) fn is_float(dtype: Dtype) -> bool {
    matches!(dtype, Dtype::F16 | Dtype::BF16 | Dtype::F32 | Dtype::F64)
}

/// Appends `bytes` (whole elements of `dtype`) to `out` as f32. `Err` for dtypes without an
/// f32 reading.
pub(crate) fn decode_f32(dtype: Dtype, bytes: &[u8], out: &mut Vec<f32>) -> Result<(), ()> {
    match dtype {
        Dtype::F32 => out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        ),
        Dtype::F16 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32()),
        ),
        Dtype::BF16 => out.extend(
            bytes
                .chunks_exact(2)
                .map(|b| bf16::from_le_bytes([b[0], b[1]]).to_f32()),
        ),
        Dtype::F64 => out.extend(
            bytes
                .chunks_exact(8)
                .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32),
        ),
        Dtype::I64 => out.extend(
            bytes
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")) as f32),
        ),
        Dtype::I32 => out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| i32::from_le_bytes([b[0], b[1], b[2], b[3]]) as f32),
        ),
        _ => return Err(()),
    }
    Ok(())
}

/// Appends `bytes` (whole elements of an integer or boolean `dtype`) to `out` as i64.
/// `Err` names what was wanted for other dtypes.
pub(crate) fn decode_i64(
    dtype: Dtype,
    bytes: &[u8],
    out: &mut Vec<i64>,
) -> Result<(), &'static str> {
    match dtype {
        Dtype::I64 => out.extend(
            bytes
                .chunks_exact(8)
                .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes"))),
        ),
        Dtype::I32 => out.extend(
            bytes
                .chunks_exact(4)
                .map(|b| i64::from(i32::from_le_bytes([b[0], b[1], b[2], b[3]]))),
        ),
        Dtype::U8 | Dtype::BOOL => out.extend(bytes.iter().map(|&b| i64::from(b))),
        _ => return Err("i64"),
    }
    Ok(())
}

/// f32 values encoded as `dtype` (F32, F16 or BF16; rounding to nearest even).
pub(crate) fn encode_f32(dtype: Dtype, values: &[f32]) -> Vec<u8> {
    match dtype {
        Dtype::F16 => values
            .iter()
            .flat_map(|&v| f16::from_f32(v).to_le_bytes())
            .collect(),
        Dtype::BF16 => values
            .iter()
            .flat_map(|&v| bf16::from_f32(v).to_le_bytes())
            .collect(),
        _ => values.iter().flat_map(|v| v.to_le_bytes()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_round_trips_representable_values() {
        let values = [0.0f32, -1.5, 65504.0, 2f32.powi(-14), 0.333_251_95];
        for dtype in [Dtype::F16, Dtype::F32] {
            let mut back = Vec::new();
            decode_f32(dtype, &encode_f32(dtype, &values), &mut back).unwrap();
            assert_eq!(back, values, "{dtype:?}");
        }
        // bf16 keeps 8 significant bits: 1 + 2^-7 is exact, 1 + 2^-9 rounds to 1.
        let mut back = Vec::new();
        let bf = [1.0 + 2f32.powi(-7), 1.0 + 2f32.powi(-9), -3.0e38];
        decode_f32(Dtype::BF16, &encode_f32(Dtype::BF16, &bf), &mut back).unwrap();
        assert_eq!(back[0], 1.0 + 2f32.powi(-7));
        assert_eq!(back[1], 1.0);
        assert!((back[2] - -3.0e38).abs() / 3.0e38 < 1e-2);
    }

    #[test]
    fn integers_decode_little_endian() {
        let bytes: Vec<u8> = [-2i64, 1 << 40]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let mut ints = Vec::new();
        decode_i64(Dtype::I64, &bytes, &mut ints).unwrap();
        assert_eq!(ints, [-2, 1 << 40]);
        let mut floats = Vec::new();
        decode_f32(Dtype::I64, &bytes, &mut floats).unwrap();
        assert_eq!(floats, [-2.0, (1u64 << 40) as f32]);
        assert!(decode_f32(Dtype::U8, &[1], &mut floats).is_err());
        assert!(decode_i64(Dtype::F32, &[0; 4], &mut ints).is_err());
    }
}
