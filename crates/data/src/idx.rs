//! IDX files (the MNIST format), raw or gzip-compressed.
//!
//! Layout: two zero bytes, a type code (`0x08` = u8), the number of dimensions, then one
//! big-endian `u32` per dimension, then the values in row-major order.

use crate::error::{DataError, Result};
use flate2::read::GzDecoder;
use ndarray::{Array1, Array3, Array4, ArrayD, Axis, IxDyn};
use std::io::Read;
use std::path::Path;

/// Reads an IDX file of unsigned bytes (type code `0x08`) of any rank.
///
/// Gzip input is recognised by its magic bytes. The magic number, the element type and
/// the product of the dimensions against the payload length are checked; errors name the
/// file.
pub fn read_idx_u8(path: impl AsRef<Path>) -> Result<ArrayD<u8>> {
    let path = path.as_ref();
    let bytes = read_maybe_gz(path)?;
    parse_idx_owned(bytes, path)
}

/// Parses IDX bytes already in memory; `path` is only used in error messages.
pub fn parse_idx_u8(bytes: &[u8], path: &Path) -> Result<ArrayD<u8>> {
    let (dims, header) = parse_header(bytes, path)?;
    shape(dims, bytes[header..].to_vec(), path)
}

/// Parses an owned buffer without copying the payload.
fn parse_idx_owned(mut bytes: Vec<u8>, path: &Path) -> Result<ArrayD<u8>> {
    let (dims, header) = parse_header(&bytes, path)?;
    bytes.drain(..header);
    shape(dims, bytes, path)
}

fn shape(dims: Vec<usize>, data: Vec<u8>, path: &Path) -> Result<ArrayD<u8>> {
    ArrayD::from_shape_vec(IxDyn(&dims), data).map_err(|e| DataError::Idx {
        path: path.to_path_buf(),
        reason: format!("cannot shape data as {dims:?}: {e}"),
    })
}

/// Checks the magic number, element type and payload length; returns the dimensions and
/// the header length.
fn parse_header(bytes: &[u8], path: &Path) -> Result<(Vec<usize>, usize)> {
    let bad = |reason: String| DataError::Idx {
        path: path.to_path_buf(),
        reason,
    };
    if bytes.len() < 4 {
        return Err(bad(format!(
            "file has {} bytes, too short for the magic number",
            bytes.len()
        )));
    }
    if bytes[0] != 0 || bytes[1] != 0 {
        return Err(bad(format!(
            "bad magic {:02x}{:02x}{:02x}{:02x}: the first two bytes must be zero",
            bytes[0], bytes[1], bytes[2], bytes[3]
        )));
    }
    if bytes[2] != 0x08 {
        return Err(bad(format!(
            "element type code 0x{:02x} is not 0x08 (unsigned byte)",
            bytes[2]
        )));
    }
    let rank = bytes[3] as usize;
    if rank == 0 {
        return Err(bad("rank 0 (no dimensions)".into()));
    }
    let header = 4 + 4 * rank;
    if bytes.len() < header {
        return Err(bad(format!(
            "file has {} bytes, the header of a rank-{rank} file needs {header}",
            bytes.len()
        )));
    }
    let dims: Vec<usize> = (0..rank)
        .map(|d| {
            let o = 4 + 4 * d;
            u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
        })
        .collect();
    let expected = dims
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| bad(format!("dimensions {dims:?} overflow")))?;
    let found = bytes.len() - header;
    if found != expected {
        return Err(bad(format!(
            "dimensions {dims:?} need {expected} data bytes, the file has {found}"
        )));
    }
    Ok((dims, header))
}

/// Reads an MNIST-style image file: rank 3, `(n, rows, cols)` bytes.
pub fn read_idx_images(path: impl AsRef<Path>) -> Result<Array3<u8>> {
    let path = path.as_ref();
    let a = read_idx_u8(path)?;
    let shape = a.shape().to_vec();
    a.into_dimensionality().map_err(|_| DataError::Idx {
        path: path.to_path_buf(),
        reason: format!("expected 3 dimensions (n, rows, cols), found {shape:?}"),
    })
}

/// Reads an MNIST-style label file: rank 1, `(n,)` bytes.
pub fn read_idx_labels(path: impl AsRef<Path>) -> Result<Array1<u8>> {
    let path = path.as_ref();
    let a = read_idx_u8(path)?;
    let shape = a.shape().to_vec();
    a.into_dimensionality().map_err(|_| DataError::Idx {
        path: path.to_path_buf(),
        reason: format!("expected 1 dimension (n,), found {shape:?}"),
    })
}

/// Converts `(n, h, w)` byte images to `(n, 1, h, w)` `f32` in `[0, 1]` (NCHW, one channel).
pub fn images_to_f32(images: &Array3<u8>) -> Array4<f32> {
    images.mapv(|v| f32::from(v) / 255.0).insert_axis(Axis(1))
}

fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let io_err = |source| DataError::Io {
        path: path.to_path_buf(),
        source,
    };
    let raw = std::fs::read(path).map_err(io_err)?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        // The gzip trailer stores the uncompressed size modulo 2^32: use it as a capacity hint.
        let hint = raw
            .len()
            .checked_sub(4)
            .map(|o| u32::from_le_bytes([raw[o], raw[o + 1], raw[o + 2], raw[o + 3]]) as usize)
            .unwrap_or(0)
            .min(1 << 31);
        let mut out = Vec::with_capacity(hint.max(raw.len()));
        GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(io_err)?;
        Ok(out)
    } else {
        Ok(raw)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut v = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn parses_valid_file() {
        let b = idx(&[2, 2, 3], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
        let a = parse_idx_u8(&b, Path::new("x.idx")).unwrap();
        assert_eq!(a.shape(), &[2, 2, 3]);
        assert_eq!(a[[1, 0, 2]], 8);
    }

    #[test]
    fn rejects_bad_magic_type_and_length() {
        let p = Path::new("bad.idx");
        let mut b = idx(&[3], &[1, 2, 3]);
        b[0] = 1;
        assert!(parse_idx_u8(&b, p)
            .unwrap_err()
            .to_string()
            .contains("bad.idx: invalid IDX file: bad magic"));
        let mut b = idx(&[3], &[1, 2, 3]);
        b[2] = 0x0d;
        assert!(parse_idx_u8(&b, p)
            .unwrap_err()
            .to_string()
            .contains("0x0d"));
        let b = idx(&[4], &[1, 2, 3]);
        let e = parse_idx_u8(&b, p).unwrap_err().to_string();
        assert!(e.contains("need 4 data bytes, the file has 3"), "{e}");
        assert!(parse_idx_u8(&[0, 0], p).is_err());
        assert!(parse_idx_u8(&[0, 0, 8, 2, 0, 0], p).is_err());
    }

    #[test]
    fn reads_gzip_and_missing_file() {
        use flate2::{write::GzEncoder, Compression};
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("glassbox-idx-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("l.gz");
        let mut enc = GzEncoder::new(Vec::new(), Compression::default());
        enc.write_all(&idx(&[3], &[7, 8, 9])).unwrap();
        std::fs::write(&p, enc.finish().unwrap()).unwrap();
        let l = read_idx_labels(&p).unwrap();
        assert_eq!(l.to_vec(), vec![7, 8, 9]);
        let raw = dir.join("i.idx");
        std::fs::write(&raw, idx(&[1, 2, 2], &[1, 2, 3, 4])).unwrap();
        assert_eq!(read_idx_images(&raw).unwrap()[[0, 1, 0]], 3);
        let e = read_idx_images(&p).unwrap_err().to_string();
        assert!(
            e.contains("l.gz") && e.contains("expected 3 dimensions"),
            "{e}"
        );
        let e = read_idx_u8(dir.join("nope")).unwrap_err().to_string();
        assert!(e.contains("nope"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn images_to_f32_scales() {
        let a = Array3::from_shape_vec((1, 1, 2), vec![0u8, 255]).unwrap();
        let f = images_to_f32(&a);
        assert_eq!(f.shape(), &[1, 1, 1, 2]);
        assert_eq!(f[[0, 0, 0, 1]], 1.0);
    }
}
