//! The kernels' configuration, the one place this crate reads its `RMX_*` variables.
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `RMX_CUDA_LIB_DIRS` | empty | folders (`:`-separated) searched first for the CUDA libraries (`cuda::libs`) |

use std::path::PathBuf;

/// `RMX_CUDA_LIB_DIRS`, split; empty parts dropped.
pub fn cuda_lib_dirs() -> Vec<PathBuf> {
    std::env::var_os("RMX_CUDA_LIB_DIRS").map(|v| std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect()).unwrap_or_default()
}
