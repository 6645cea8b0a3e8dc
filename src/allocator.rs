//! The process's allocator: mimalloc, with freed memory kept for reuse rather than given back to
//! the OS.
//!
//! Operator calls allocate a few small objects each; mimalloc serves them several times faster
//! than the system allocator (benches/RESULTS.md, tiny-op). Kernels also take megabytes of
//! scratch per call (a convolution's column matrices, Winograd tiles, per-thread partial sums)
//! and free it at the end; mimalloc's default returns such memory to the OS after 10 ms, so
//! the next step faulted it in again, zeroing each 2 MiB page: 150 faults and a tenth of a
//! CIFAR-style training step (perf, issue 16); a delay of a second still left half of them.
//! So by default freed memory stays with the process for reuse, as MXNet's pooled storage
//! manager keeps it; `RMX_CPU_MEM_PURGE_DELAY_MS` sets a delay in milliseconds instead (`10`
//! is mimalloc's own default). Single allocations of many megabytes (mimalloc's huge objects,
//! over 16 MiB) were seen returned to the OS when freed either way.

use std::os::raw::{c_int, c_long};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (its `mimalloc.h`, v2: the 16th option).
const MI_OPTION_PURGE_DELAY: c_int = 15;

/// The default delay before freed memory is returned to the OS: never.
const DEFAULT_PURGE_DELAY_MS: c_long = -1;

extern "C" {
    // In the mimalloc library that `mimalloc` links (libmimalloc-sys declares it only behind a
    // feature that pulls in another crate).
    fn mi_option_set(option: c_int, value: c_long);
}

/// Applies `RMX_CPU_MEM_PURGE_DELAY_MS` (a value that does not parse is reported on stderr and
/// the default used).
pub fn configure() {
    let delay = match std::env::var("RMX_CPU_MEM_PURGE_DELAY_MS") {
        Err(_) => DEFAULT_PURGE_DELAY_MS,
        Ok(v) => v.trim().parse::<c_long>().ok().filter(|&d| d >= -1).unwrap_or_else(|| {
            eprintln!("rmx: ignoring RMX_CPU_MEM_PURGE_DELAY_MS={v:?}: expected milliseconds (-1: never); using the default");
            DEFAULT_PURGE_DELAY_MS
        }),
    };
    // SAFETY: setting an option is thread-safe in mimalloc and takes any value of this option.
    unsafe { mi_option_set(MI_OPTION_PURGE_DELAY, delay) };
}
