//! A key/value cache for incremental (token by token) causal decoding.

use glassbox_tensor::Tensor;

use crate::error::{NnError, Result};

/// Keys and values of one attention layer for the positions decoded so far.
///
/// As candle's `kv_cache`, the cache is a preallocated buffer along the sequence axis with
/// a current length; appending writes the new positions in place. The buffer is made on
/// the first append (when the batch size and width are known) and grows by doubling, up to
/// an optional maximum length, beyond which appending is an error. The layout follows the
/// layer's: `[B, capacity, E]` batch-first, else `[capacity, B, E]`.
///
/// Used by [`MultiheadAttention::forward_cached`](super::MultiheadAttention::forward_cached)
/// and the Transformer layers' `forward_cached`; one cache per layer.
#[derive(Clone, Debug, Default)]
pub struct KvCache {
    buffers: Option<Buffers>,
    len: usize,
    max_len: Option<usize>,
}

#[derive(Clone, Debug)]
struct Buffers {
    keys: Tensor,
    values: Tensor,
    batch: usize,
    width: usize,
    capacity: usize,
    batch_first: bool,
}

/// Where the new keys and values lie in a projection output.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NewRows<'a> {
    /// `[B, L, row_width]` (batch-first) or `[L, B, row_width]`, contiguous.
    pub data: &'a [f32],
    pub batch: usize,
    pub len: usize,
    pub row_width: usize,
    pub key_column: usize,
    pub value_column: usize,
    pub width: usize,
    pub batch_first: bool,
}

impl Buffers {
    fn alloc(batch: usize, width: usize, capacity: usize, batch_first: bool) -> Self {
        let shape = if batch_first {
            [batch, capacity, width]
        } else {
            [capacity, batch, width]
        };
        Buffers {
            keys: Tensor::zeros(&shape),
            values: Tensor::zeros(&shape),
            batch,
            width,
            capacity,
            batch_first,
        }
    }

    /// Start of position `i` of batch `b` in a buffer.
    fn row(&self, b: usize, i: usize) -> usize {
        if self.batch_first {
            (b * self.capacity + i) * self.width
        } else {
            (i * self.batch + b) * self.width
        }
    }
}

impl KvCache {
    /// An empty cache without a length limit.
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty cache that refuses to hold more than `max_len` positions.
    pub fn with_max_len(max_len: usize) -> Self {
        KvCache {
            max_len: Some(max_len),
            ..Self::default()
        }
    }

    /// Positions held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is cached yet.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Positions the current buffer holds before it grows.
    pub fn capacity(&self) -> usize {
        self.buffers.as_ref().map_or(0, |b| b.capacity)
    }

    /// Forgets every position (keeps the buffer).
    pub fn clear(&mut self) {
        self.len = 0;
    }

    /// The buffers (keys, values), whose first [`len`](KvCache::len) positions are valid.
    pub(crate) fn buffers(&self) -> Option<(&Tensor, &Tensor)> {
        self.buffers.as_ref().map(|b| (&b.keys, &b.values))
    }

    /// The cached keys and values, `[B, len, E]` (or `[len, B, E]`), as copies.
    pub fn keys_values(&self) -> Option<(Tensor, Tensor)> {
        let b = self.buffers.as_ref()?;
        let axis = if b.batch_first { 1 } else { 0 };
        Some((
            b.keys.try_narrow(axis, 0, self.len).ok()?.contiguous(),
            b.values.try_narrow(axis, 0, self.len).ok()?.contiguous(),
        ))
    }

    /// Appends `rows.len` positions of keys and values.
    pub(crate) fn append(&mut self, rows: NewRows<'_>) -> Result<()> {
        let needed = self.len + rows.len;
        if let Some(max) = self.max_len {
            if needed > max {
                return Err(NnError::InvalidConfig {
                    layer: "KvCache",
                    field: "max_len",
                    reason: format!(
                        "{} cached + {} new positions exceed the maximum of {max}",
                        self.len, rows.len
                    ),
                });
            }
        }
        if let Some(b) = &self.buffers {
            if b.batch != rows.batch || b.width != rows.width || b.batch_first != rows.batch_first {
                return Err(NnError::InputShape {
                    layer: "KvCache",
                    expected: format!(
                        "batch {} and width {} as the cached positions (batch_first {})",
                        b.batch, b.width, b.batch_first
                    ),
                    found: vec![rows.batch, rows.len, rows.width],
                });
            }
        }
        if self.capacity() < needed {
            let grown = needed.max(2 * self.capacity()).max(16);
            let capacity = self.max_len.map_or(grown, |m| grown.min(m));
            let mut fresh = Buffers::alloc(rows.batch, rows.width, capacity, rows.batch_first);
            if let Some(old) = &self.buffers {
                let w = old.width;
                for (src, dst) in [
                    (&old.keys, &mut fresh.keys),
                    (&old.values, &mut fresh.values),
                ] {
                    let src = src.as_slice().expect("cache buffers are dense");
                    let (rf, dst) = (fresh_rows(&rows, capacity), dst.as_slice_mut());
                    for b in 0..old.batch {
                        for i in 0..self.len {
                            let (s, d) = (old.row(b, i), rf(b, i));
                            dst[d..d + w].copy_from_slice(&src[s..s + w]);
                        }
                    }
                }
            }
            self.buffers = Some(fresh);
        }
        let buf = self.buffers.as_mut().expect("allocated above");
        let dst_row = fresh_rows(&rows, buf.capacity);
        let w = rows.width;
        for (column, dst) in [
            (rows.key_column, &mut buf.keys),
            (rows.value_column, &mut buf.values),
        ] {
            let dst = dst.as_slice_mut();
            for b in 0..rows.batch {
                for i in 0..rows.len {
                    let src = if rows.batch_first {
                        (b * rows.len + i) * rows.row_width
                    } else {
                        (i * rows.batch + b) * rows.row_width
                    } + column;
                    let d = dst_row(b, self.len + i);
                    dst[d..d + w].copy_from_slice(&rows.data[src..src + w]);
                }
            }
        }
        self.len = needed;
        Ok(())
    }
}

/// Start of position `i` of batch `b` in a buffer of `capacity` positions laid out as the
/// rows' layer lays them out.
fn fresh_rows(rows: &NewRows<'_>, capacity: usize) -> impl Fn(usize, usize) -> usize {
    let (batch, width, batch_first) = (rows.batch, rows.width, rows.batch_first);
    move |b, i| {
        if batch_first {
            (b * capacity + i) * width
        } else {
            (i * batch + b) * width
        }
    }
}
