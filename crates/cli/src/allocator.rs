//! The global allocator of the `glassbox` binary (also included by the Transformer bench,
//! `benches/transformer.rs`, so that the comparison measures what ships).
//!
//! glibc's malloc hands large freed buffers back to the kernel and page-faults them in again
//! on the next allocation of the same size (most of a tensor op's outputs); mimalloc keeps
//! them, which made training and Kernel SHAP up to 2.5× faster on this project's machines.
//! mimalloc 2 still returns ("purges") emptied pages to the OS 10 ms after they empty, and a
//! Transformer forward frees and reallocates its multi-megabyte activations on a slower
//! cycle than that: each came back as fresh pages the kernel had to zero (`clear_page_erms`,
//! 7% of a MiniLM forward under `perf`). [`keep_freed_pages`] raises the delay to one second,
//! mimalloc 3's own default; measured on a Zen 4 EPYC, 2 threads: MiniLM forward 8×128
//! 192 → 162 ms, MiniLM Layer Integrated Gradients 1.43 → 1.04 s, BERT L2/H128 forward
//! 11.0 → 8.3 ms. Peak RSS is unchanged (freed pages are reused, not added).

use std::os::raw::c_long;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in `mi_option_e` (mimalloc.h, the same index in mimalloc 2 and
/// 3; libmimalloc-sys 0.1 has no constant for it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long (milliseconds) mimalloc keeps an emptied page before returning it to the OS.
pub const PURGE_DELAY_MS: c_long = 1000;

/// Sets mimalloc's purge delay to [`PURGE_DELAY_MS`]; call once, first thing in `main`.
pub fn keep_freed_pages() {
    // SAFETY: mimalloc's options are plain integers it reads atomically; setting one is
    // allowed at any time.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS) }
}

/// The purge delay mimalloc is using now (milliseconds); the bench checks it.
#[allow(dead_code)] // the binary itself only sets it
pub fn purge_delay_ms() -> c_long {
    // SAFETY: as above, a read of an option.
    unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) }
}

#[cfg(test)]
mod tests {
    // Full paths rather than `use super::*`: the Transformer bench includes this file with
    // `cfg(test)` set but no test harness, where the import would go unused.

    /// The option index names the purge delay: its default is mimalloc 2's 10 ms (or
    /// mimalloc 3's 1000), and setting it reads back.
    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        let before = super::purge_delay_ms();
        assert!(
            before == 10 || before == 1000,
            "default purge delay {before}"
        );
        super::keep_freed_pages();
        assert_eq!(super::purge_delay_ms(), super::PURGE_DELAY_MS);
    }
}
