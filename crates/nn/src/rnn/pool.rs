//! A small process-wide pool of large `f32` buffers for the recurrent kernel, so the
//! megabyte-sized per-call buffers (gate activations, their gradients) are reused from one
//! training step to the next instead of being freshly mapped (and page-faulted) each time.

use std::sync::Mutex;

/// Buffers shorter than this go straight to the allocator.
const MIN_LEN: usize = 1 << 14;
/// Most buffers kept.
const MAX_BUFFERS: usize = 16;
/// Most floats kept in total (256 MiB).
const MAX_FLOATS: usize = 1 << 26;

static POOL: Mutex<Vec<Vec<f32>>> = Mutex::new(Vec::new());

/// A buffer of `len` floats with arbitrary (initialised) contents: callers overwrite every
/// element they read.
pub(super) fn take(len: usize) -> Vec<f32> {
    if len >= MIN_LEN {
        if let Ok(mut pool) = POOL.lock() {
            let best = pool
                .iter()
                .enumerate()
                .filter(|(_, v)| v.capacity() >= len)
                .min_by_key(|(_, v)| v.capacity())
                .map(|(k, _)| k);
            if let Some(k) = best {
                let mut v = pool.swap_remove(k);
                v.truncate(len);
                v.resize(len, 0.0);
                return v;
            }
        }
    }
    vec![0.0f32; len]
}

/// Returns a buffer to the pool (dropped when the pool is full).
pub(super) fn give(v: Vec<f32>) {
    if v.capacity() < MIN_LEN {
        return;
    }
    if let Ok(mut pool) = POOL.lock() {
        let held: usize = pool.iter().map(Vec::capacity).sum();
        if pool.len() < MAX_BUFFERS && held + v.capacity() <= MAX_FLOATS {
            pool.push(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_and_resizes() {
        let mut v = take(MIN_LEN * 2);
        assert_eq!(v.len(), MIN_LEN * 2);
        v.fill(3.0);
        give(v);
        // Other tests may share the pool: only lengths are guaranteed.
        let w = take(MIN_LEN + 5);
        assert_eq!(w.len(), MIN_LEN + 5);
        give(w);
        assert_eq!(take(7).len(), 7);
    }
}
