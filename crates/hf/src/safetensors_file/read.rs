//! Reading safetensors files: the header is parsed and validated (every size checked
//! against the file's length) before any tensor buffer is allocated, and tensors are then
//! read straight from the file into f32 buffers, one chunk at a time.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use glassbox_tensor::Tensor;
use safetensors::tensor::{Metadata, TensorInfo};
use safetensors::Dtype;

use super::convert::{decode_f32, decode_i64, is_float};
use crate::error::{HfError, Result};

/// The length field at the start of a safetensors file.
const LEN_FIELD: usize = 8;
/// The largest header the format allows (the `safetensors` crate's limit).
pub const MAX_HEADER_BYTES: usize = 100_000_000;
/// Bytes read from the file per step when decoding a tensor.
const CHUNK_BYTES: usize = 1 << 16;

/// One tensor's entry in the header: validated dtype, shape and byte range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorEntry {
    /// The tensor's name (key in the header).
    pub name: String,
    /// Its data type as stored.
    pub dtype: Dtype,
    /// Its shape.
    pub shape: Vec<usize>,
    /// Byte range `[start, end)` in the data section.
    pub offsets: (usize, usize),
}

impl TensorEntry {
    /// Number of elements.
    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    /// `true` for F16, BF16, F32 and F64 tensors (the ones models load as weights).
    pub fn is_float(&self) -> bool {
        is_float(self.dtype)
    }
}

#[derive(Debug)]
enum Source {
    File(PathBuf),
    Memory(Arc<[u8]>),
}

/// An opened safetensors file: its validated header, with the tensor data left on disk
/// until a tensor is asked for.
///
/// ```
/// use glassbox_hf::{SafetensorsFile, TensorToWrite};
/// use glassbox_tensor::Tensor;
///
/// let dir = std::env::temp_dir().join(format!("gb-hf-doc-read-{}", std::process::id()));
/// std::fs::create_dir_all(&dir)?;
/// let path = dir.join("w.safetensors");
/// let w = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
/// glassbox_hf::write_safetensors(&path, &[TensorToWrite::f16("w", &w)?], None)?;
///
/// let file = SafetensorsFile::open(&path)?;
/// assert_eq!(file.get("w").unwrap().shape, vec![2, 2]);
/// assert_eq!(file.tensor("w")?.to_vec(), vec![1.0, 2.0, 3.0, 4.0]);
/// # std::fs::remove_dir_all(&dir)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct SafetensorsFile {
    origin: String,
    source: Source,
    data_start: u64,
    entries: Vec<TensorEntry>,
    index: HashMap<String, usize>,
    metadata: BTreeMap<String, String>,
}

impl SafetensorsFile {
    /// Opens `path` and validates its header. Reads only the header.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let origin = path.display().to_string();
        let io = |e| HfError::io(path, e);
        let mut file = std::fs::File::open(path).map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        let mut len_field = [0u8; LEN_FIELD];
        if file_len < LEN_FIELD as u64 {
            return Err(header_err(
                &origin,
                format!("the file is {file_len} bytes, shorter than the 8-byte length field"),
            ));
        }
        file.read_exact(&mut len_field).map_err(io)?;
        let n = header_len(&origin, len_field, file_len)?;
        let mut header = vec![0u8; n];
        file.read_exact(&mut header).map_err(io)?;
        let data_len = file_len - (LEN_FIELD + n) as u64;
        let (entries, metadata) = parse_header(&origin, &header, data_len)?;
        Ok(Self::assemble(
            origin,
            Source::File(path.to_path_buf()),
            (LEN_FIELD + n) as u64,
            entries,
            metadata,
        ))
    }

    /// Parses a whole safetensors file held in memory; `origin` names it in errors.
    pub fn from_bytes(bytes: impl Into<Arc<[u8]>>, origin: &str) -> Result<Self> {
        let bytes: Arc<[u8]> = bytes.into();
        let total = bytes.len() as u64;
        let Some(first) = bytes.get(..LEN_FIELD) else {
            return Err(header_err(
                origin,
                format!("the file is {total} bytes, shorter than the 8-byte length field"),
            ));
        };
        let len_field: [u8; LEN_FIELD] = first.try_into().expect("8 bytes");
        let n = header_len(origin, len_field, total)?;
        let header = &bytes[LEN_FIELD..LEN_FIELD + n];
        let data_len = total - (LEN_FIELD + n) as u64;
        let (entries, metadata) = parse_header(origin, header, data_len)?;
        Ok(Self::assemble(
            origin.to_string(),
            Source::Memory(bytes.clone()),
            (LEN_FIELD + n) as u64,
            entries,
            metadata,
        ))
    }

    fn assemble(
        origin: String,
        source: Source,
        data_start: u64,
        entries: Vec<TensorEntry>,
        metadata: BTreeMap<String, String>,
    ) -> Self {
        let index = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.name.clone(), i))
            .collect();
        SafetensorsFile {
            origin,
            source,
            data_start,
            entries,
            index,
            metadata,
        }
    }

    /// The file's path (or the buffer's name), as used in error messages.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Every tensor entry, in the order of their data in the file.
    pub fn tensors(&self) -> &[TensorEntry] {
        &self.entries
    }

    /// The entry of tensor `name`.
    pub fn get(&self, name: &str) -> Option<&TensorEntry> {
        self.index.get(name).map(|&i| &self.entries[i])
    }

    /// The `__metadata__` map of the header (empty when absent).
    pub fn metadata(&self) -> &BTreeMap<String, String> {
        &self.metadata
    }

    fn entry(&self, name: &str) -> Result<&TensorEntry> {
        self.get(name).ok_or_else(|| HfError::TensorNotFound {
            file: self.origin.clone(),
            tensor: name.to_string(),
        })
    }

    /// Tensor `name` as f32: F32 as stored; F16, BF16 and F64 converted; I64 and I32
    /// converted to the nearest f32 (exact up to 2^24). Other dtypes are an error.
    pub fn tensor(&self, name: &str) -> Result<Tensor> {
        let entry = self.entry(name)?;
        let mut reader = self.reader()?;
        self.read_f32(entry, &mut reader)
    }

    /// Integer tensor `name` (I64, I32, U8 or BOOL) widened to i64, with its shape.
    pub fn tensor_i64(&self, name: &str) -> Result<(Vec<usize>, Vec<i64>)> {
        let entry = self.entry(name)?;
        let mut reader = self.reader()?;
        let mut out = Vec::with_capacity(entry.numel());
        let mut err = None;
        self.read_chunks(entry, &mut reader, |bytes| {
            if err.is_none() {
                if let Err(e) = decode_i64(entry.dtype, bytes, &mut out) {
                    err = Some(e);
                }
            }
        })?;
        if let Some(wanted) = err {
            return Err(self.unsupported(entry, wanted));
        }
        Ok((entry.shape.clone(), out))
    }

    /// Every floating-point tensor (F16, BF16, F32, F64) as f32, in file order, read with
    /// one pass over the file. Integer and boolean tensors (buffers such as BERT's
    /// `position_ids`) are skipped.
    pub fn float_tensors(&self) -> Result<Vec<(String, Tensor)>> {
        let mut reader = self.reader()?;
        self.entries
            .iter()
            .filter(|e| e.is_float())
            .map(|e| Ok((e.name.clone(), self.read_f32(e, &mut reader)?)))
            .collect()
    }

    fn unsupported(&self, entry: &TensorEntry, wanted: &'static str) -> HfError {
        HfError::UnsupportedDtype {
            file: self.origin.clone(),
            tensor: entry.name.clone(),
            dtype: format!("{:?}", entry.dtype),
            wanted,
        }
    }

    fn read_f32(&self, entry: &TensorEntry, reader: &mut Reader<'_>) -> Result<Tensor> {
        let mut out = Vec::with_capacity(entry.numel());
        let mut bad = false;
        self.read_chunks(entry, reader, |bytes| {
            bad = bad || decode_f32(entry.dtype, bytes, &mut out).is_err();
        })?;
        if bad {
            return Err(self.unsupported(entry, "f32"));
        }
        Ok(Tensor::from_vec(out, &entry.shape)?)
    }

    fn reader(&self) -> Result<Reader<'_>> {
        Ok(match &self.source {
            Source::File(path) => Reader::File(
                std::fs::File::open(path).map_err(|e| HfError::io(path, e))?,
                path,
            ),
            Source::Memory(bytes) => Reader::Memory(bytes),
        })
    }

    /// Hands `sink` the tensor's bytes in chunks whose length is a multiple of the element
    /// size (the chunk size is a multiple of 8 bytes).
    fn read_chunks(
        &self,
        entry: &TensorEntry,
        reader: &mut Reader<'_>,
        mut sink: impl FnMut(&[u8]),
    ) -> Result<()> {
        let (start, end) = entry.offsets;
        match reader {
            Reader::Memory(bytes) => {
                let base = self.data_start as usize;
                bytes[base + start..base + end]
                    .chunks(CHUNK_BYTES)
                    .for_each(sink);
            }
            Reader::File(file, path) => {
                let io = |e| HfError::io(path, e);
                file.seek(SeekFrom::Start(self.data_start + start as u64))
                    .map_err(io)?;
                let mut buf = vec![0u8; CHUNK_BYTES.min(end - start)];
                let mut left = end - start;
                while left > 0 {
                    let step = left.min(CHUNK_BYTES);
                    file.read_exact(&mut buf[..step]).map_err(io)?;
                    sink(&buf[..step]);
                    left -= step;
                }
            }
        }
        Ok(())
    }
}

enum Reader<'a> {
    File(std::fs::File, &'a Path),
    Memory(&'a Arc<[u8]>),
}

fn header_err(origin: &str, reason: String) -> HfError {
    HfError::SafetensorsHeader {
        file: origin.to_string(),
        reason,
    }
}

fn tensor_err(origin: &str, tensor: &str, reason: String) -> HfError {
    HfError::SafetensorsTensor {
        file: origin.to_string(),
        tensor: tensor.to_string(),
        reason,
    }
}

/// The header length announced by the first 8 bytes, checked against the format's limit and
/// the total length before anything is allocated.
fn header_len(origin: &str, field: [u8; LEN_FIELD], total: u64) -> Result<usize> {
    let n = u64::from_le_bytes(field);
    if n > MAX_HEADER_BYTES as u64 {
        return Err(header_err(
            origin,
            format!("header length {n} exceeds the format's limit of {MAX_HEADER_BYTES} bytes"),
        ));
    }
    if n + LEN_FIELD as u64 > total {
        return Err(header_err(
            origin,
            format!("header length {n} runs past the end of the file ({total} bytes)"),
        ));
    }
    Ok(n as usize)
}

/// Parses and validates the JSON header: each tensor's dtype, shape and byte range are
/// checked (naming the tensor), the ranges must tile the data section exactly, and the
/// `safetensors` crate's own validation runs last.
pub(crate) fn parse_header(
    origin: &str,
    header: &[u8],
    data_len: u64,
) -> Result<(Vec<TensorEntry>, BTreeMap<String, String>)> {
    let text = std::str::from_utf8(header)
        .map_err(|e| header_err(origin, format!("header is not UTF-8: {e}")))?;
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text)
        .map_err(|e| header_err(origin, format!("header is not a JSON object: {e}")))?;
    let mut metadata = BTreeMap::new();
    let mut infos: Vec<(String, TensorInfo)> = Vec::with_capacity(map.len());
    for (name, value) in map {
        if name == "__metadata__" {
            metadata = serde_json::from_value(value).map_err(|e| {
                header_err(
                    origin,
                    format!("`__metadata__` must map strings to strings: {e}"),
                )
            })?;
            continue;
        }
        let info: TensorInfo = serde_json::from_value(value)
            .map_err(|e| tensor_err(origin, &name, format!("invalid entry: {e}")))?;
        check_size(origin, &name, &info)?;
        infos.push((name, info));
    }
    infos.sort_by_key(|(_, info)| info.data_offsets);
    let mut expected_start = 0usize;
    let mut previous: Option<&str> = None;
    for (name, info) in &infos {
        let (start, _) = info.data_offsets;
        if start != expected_start {
            let after = match previous {
                Some(p) => format!("tensor `{p}` ends at {expected_start}"),
                None => "the data section starts at 0".to_string(),
            };
            let what = if start > expected_start {
                "leaving a gap"
            } else {
                "overlapping it"
            };
            return Err(tensor_err(
                origin,
                name,
                format!("data starts at byte {start} but {after} ({what})"),
            ));
        }
        expected_start = info.data_offsets.1;
        previous = Some(name.as_str());
    }
    if expected_start as u64 != data_len {
        return Err(header_err(
            origin,
            format!("the tensors cover {expected_start} data bytes but the file holds {data_len}"),
        ));
    }
    let entries = infos
        .iter()
        .map(|(name, info)| TensorEntry {
            name: name.clone(),
            dtype: info.dtype,
            shape: info.shape.clone(),
            offsets: info.data_offsets,
        })
        .collect();
    // The format's reference validation, as a last gate (it accepts what the checks above
    // accepted; a disagreement is reported rather than trusted).
    Metadata::new(None, infos).map_err(|e| header_err(origin, e.to_string()))?;
    Ok((entries, metadata))
}

/// Element count × element size must equal the declared byte range, without overflow.
fn check_size(origin: &str, name: &str, info: &TensorInfo) -> Result<()> {
    let (start, end) = info.data_offsets;
    if end < start {
        return Err(tensor_err(
            origin,
            name,
            format!("data_offsets [{start}, {end}] end before they start"),
        ));
    }
    let numel = info
        .shape
        .iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .ok_or_else(|| {
            tensor_err(
                origin,
                name,
                format!("shape {:?} overflows the element count", info.shape),
            )
        })?;
    let bits = numel.checked_mul(info.dtype.bitsize()).ok_or_else(|| {
        tensor_err(
            origin,
            name,
            format!("shape {:?} overflows the byte count", info.shape),
        )
    })?;
    if bits % 8 != 0 {
        return Err(tensor_err(
            origin,
            name,
            format!(
                "{numel} elements of {:?} do not fill whole bytes",
                info.dtype
            ),
        ));
    }
    if end - start != bits / 8 {
        return Err(tensor_err(
            origin,
            name,
            format!(
                "data_offsets [{start}, {end}] hold {} bytes but dtype {:?} with shape {:?} needs {}",
                end - start,
                info.dtype,
                info.shape,
                bits / 8
            ),
        ));
    }
    Ok(())
}
