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
    n >= PARALLEL_THRESHOLD && rayon::current_num_threads() > 1
}
