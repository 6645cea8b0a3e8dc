//! The kernels' configuration, the one place this crate reads its `RMX_*` variables.
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `RMX_CUDA_LIB_DIRS` | empty | folders (`:`-separated) searched first for the CUDA libraries (`cuda::libs`) |
//! | `RMX_CUDA_CACHE_DIR` | `$XDG_CACHE_HOME/rmx/cuda`, else `~/.cache/rmx/cuda` | where compiled kernels are kept across runs (`cuda::cubin_cache`); empty turns the disk cache off |

use std::path::PathBuf;

/// `RMX_CUDA_CACHE_DIR`, or the user's cache folder; `None` when set empty (or with no home).
/// Read at each call: it is only consulted when a kernel is not yet in memory.
pub fn cuda_cache_dir() -> Option<PathBuf> {
    match std::env::var_os("RMX_CUDA_CACHE_DIR") {
        Some(v) if v.is_empty() => None,
        Some(v) => Some(PathBuf::from(v)),
        None => {
            let xdg = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()).map(PathBuf::from);
            let base = xdg.or_else(|| std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".cache")))?;
            Some(base.join("rmx").join("cuda"))
        }
    }
}

/// `RMX_CUDA_LIB_DIRS`, split; empty parts dropped.
pub fn cuda_lib_dirs() -> Vec<PathBuf> {
    std::env::var_os("RMX_CUDA_LIB_DIRS").map(|v| std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect()).unwrap_or_default()
}
