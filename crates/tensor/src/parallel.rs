//! When to use rayon: small tensors stay on the calling thread.

/// Element count at and above which elementwise ops and reductions run on rayon.
///
/// Below it, the cost of handing work to the pool (a few microseconds) exceeds the gain.
pub const PARALLEL_THRESHOLD: usize = 1 << 16;

/// FLOP count (2·m·n·k summed over the batch) below which matmul stays on the calling thread.
pub const MATMUL_PARALLEL_FLOPS: usize = 1 << 22;

/// Chunk length used when splitting contiguous elementwise work across threads.
pub(crate) const CHUNK: usize = 1 << 14;

/// Whether work over `n` elements should be split across rayon threads.
#[inline]
pub(crate) fn use_parallel(n: usize) -> bool {
    n >= PARALLEL_THRESHOLD && threads() > 1
}

thread_local! {
    static SERIAL: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Threads this crate's kernels may use when called from this thread: rayon's thread count,
/// or 1 inside [`serial`].
#[inline]
pub fn threads() -> usize {
    if SERIAL.with(std::cell::Cell::get) {
        1
    } else {
        rayon::current_num_threads()
    }
}

/// Runs `f` with this crate's kernels on the calling thread only (no rayon tasks), for
/// callers that already run independent work side by side on the pool: a nested split
/// would only add task overhead, and a product split again would pack its right operand
/// once per half on the same thread.
pub fn serial<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SERIAL.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(SERIAL.with(|s| s.replace(true)));
    f()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_scopes_nest_and_restore() {
        let outer = threads();
        serial(|| {
            assert_eq!(threads(), 1);
            serial(|| assert_eq!(threads(), 1));
            assert_eq!(threads(), 1);
            assert!(!use_parallel(1 << 30));
        });
        assert_eq!(threads(), outer);
    }
}
