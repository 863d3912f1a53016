//! The binary envelope shared by model files and checkpoints.
//!
//! Layout (all integers little-endian):
//!
//! | bytes | content |
//! | --- | --- |
//! | 0..8 | magic (`GBXMODEL` for models, `GBXCKPT1` for checkpoints) |
//! | 8..12 | format version (`u32`) |
//! | 12..20 | payload length in bytes (`u64`) |
//! | 20..24 | CRC-32 of the payload (`u32`) |
//! | 24.. | payload (bincode) |
//!
//! Writes go to a temporary file in the same folder, are flushed and synced, then renamed
//! over the destination, so a crash never leaves a half-written file under the real name.

use std::io::Write;
use std::path::Path;

use crate::error::{NnError, Result};
use crate::io::crc32::crc32;

/// Size of the fixed header in bytes.
pub const HEADER_LEN: usize = 24;

/// Wraps `payload` in a header with `magic` and `version`.
pub fn encode(magic: &[u8; 8], version: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&version.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&crc32(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Checks the header of `bytes` (read from `origin`, used in messages) and returns the
/// format version and the payload. Errors name what is wrong: magic, version newer than
/// `max_version`, truncation, or checksum.
pub fn decode<'a>(
    bytes: &'a [u8],
    origin: &str,
    magic: &[u8; 8],
    max_version: u32,
) -> Result<(u32, &'a [u8])> {
    if bytes.len() < HEADER_LEN {
        if bytes.len() >= 8 && &bytes[..8] != magic {
            return Err(bad_magic(origin, magic, &bytes[..8]));
        }
        return Err(NnError::Truncated {
            origin: origin.to_string(),
            expected: HEADER_LEN as u64,
            found: bytes.len() as u64,
        });
    }
    if &bytes[..8] != magic {
        return Err(bad_magic(origin, magic, &bytes[..8]));
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version == 0 || version > max_version {
        return Err(NnError::UnsupportedVersion {
            origin: origin.to_string(),
            found: version,
            supported: max_version,
        });
    }
    let len = u64::from_le_bytes(bytes[12..20].try_into().expect("8 bytes"));
    let stored = u32::from_le_bytes(bytes[20..24].try_into().expect("4 bytes"));
    let body = &bytes[HEADER_LEN..];
    if (body.len() as u64) < len {
        return Err(NnError::Truncated {
            origin: origin.to_string(),
            expected: HEADER_LEN as u64 + len,
            found: bytes.len() as u64,
        });
    }
    if (body.len() as u64) > len {
        return Err(NnError::Corrupt {
            origin: origin.to_string(),
            reason: format!(
                "{} trailing bytes after the {len}-byte payload",
                body.len() as u64 - len
            ),
        });
    }
    let computed = crc32(body);
    if computed != stored {
        return Err(NnError::ChecksumMismatch {
            origin: origin.to_string(),
            stored,
            computed,
        });
    }
    Ok((version, body))
}

fn bad_magic(origin: &str, expected: &[u8; 8], found: &[u8]) -> NnError {
    NnError::BadMagic {
        origin: origin.to_string(),
        expected: String::from_utf8_lossy(expected).into_owned(),
        found: found
            .iter()
            .map(|b| {
                if b.is_ascii_graphic() {
                    (*b as char).to_string()
                } else {
                    format!("\\x{b:02x}")
                }
            })
            .collect(),
    }
}

/// Writes `bytes` to `path` atomically: temp file in the same folder, fsync, rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let io_err = |source| NnError::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".to_string());
    let tmp = dir.join(format!(".{file_name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        drop(f);
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_err(e));
    }
    Ok(())
}

/// Reads a whole file, naming it in the error.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|source| NnError::Io {
        path: path.display().to_string(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAGIC: &[u8; 8] = b"GBXTEST0";

    #[test]
    fn round_trip_and_each_corruption_is_named() {
        let bytes = encode(MAGIC, 1, b"hello payload");
        let (v, p) = decode(&bytes, "mem", MAGIC, 1).unwrap();
        assert_eq!((v, p), (1, &b"hello payload"[..]));

        let e = decode(&bytes[..bytes.len() - 3], "mem", MAGIC, 1).unwrap_err();
        assert!(matches!(e, NnError::Truncated { .. }), "{e}");
        let e = decode(&bytes[..5], "mem", MAGIC, 1).unwrap_err();
        assert!(matches!(e, NnError::Truncated { .. }), "{e}");

        let mut wrong = bytes.clone();
        wrong[0] = b'X';
        let e = decode(&wrong, "mem", MAGIC, 1).unwrap_err();
        assert!(e.to_string().contains("XBXTEST0"), "{e}");

        let future = encode(MAGIC, 7, b"x");
        let e = decode(&future, "mem", MAGIC, 1).unwrap_err();
        assert!(e.to_string().contains('7'), "{e}");

        let mut flipped = bytes.clone();
        *flipped.last_mut().unwrap() ^= 1;
        let e = decode(&flipped, "mem", MAGIC, 1).unwrap_err();
        assert!(matches!(e, NnError::ChecksumMismatch { .. }), "{e}");
    }
}
