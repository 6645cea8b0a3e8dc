//! The kernels' configuration, the one place this crate reads its `RMX_*` variables.
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `RMX_CUDA_LIB_DIRS` | empty | folders (`:`-separated) searched first for the CUDA libraries (`cuda::libs`) |
//! | `RMX_CUDA_CACHE_DIR` | `$XDG_CACHE_HOME/rmx/cuda`, else `~/.cache/rmx/cuda` | where compiled kernels are kept across runs (`cuda::cubin_cache`); empty turns the disk cache off |
//! | `RMX_GPU_MEM_POOL_TYPE` | `Naive` | how the GPU memory pool rounds sizes: `Naive`, `Round` or `Unpooled` ([`crate::pool`]) |
//! | `RMX_GPU_MEM_POOL_RESERVE` | 5 | percent of each GPU's memory the pool leaves free (it empties itself first) |
//! | `RMX_GPU_MEM_POOL_PAGE_SIZE` | 4096 | the smallest size the pool hands out, and `Naive`'s rounding step |
//! | `RMX_GPU_MEM_LARGE_ALLOC_ROUND_SIZE` | 2097152 | `Naive` rounds larger buffers up to a multiple of this |
//! | `RMX_GPU_MEM_POOL_ROUND_LINEAR_CUTOFF` | 24 | `Round` rounds up to a power of two below `2^cutoff` bytes, to a multiple of it above |
//!
//! Each `RMX_GPU_MEM_*` variable falls back to MXNet's name (`MXNET_GPU_MEM_*`), so scripts tuned
//! for MXNet keep their settings. A value that does not parse is reported on stderr and the
//! default used: the pool is made at a GPU's first allocation, where no caller can take an error.

use std::path::PathBuf;

use crate::pool::{PoolConfig, PoolKind};

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

/// The GPU memory pool's policy from the environment ([`gpu_pool_from`] on the process's).
pub fn gpu_pool() -> PoolConfig {
    gpu_pool_from(|name| std::env::var(name).ok())
}

/// The GPU memory pool's policy, reading variables through `lookup` (the tests pass a map).
pub fn gpu_pool_from(lookup: impl Fn(&str) -> Option<String>) -> PoolConfig {
    let d = PoolConfig::default();
    let read = |suffix: &str| {
        let name = format!("RMX_GPU_MEM_{suffix}");
        lookup(&name).map(|v| (name, v)).or_else(|| {
            let mxnet = format!("MXNET_GPU_MEM_{suffix}");
            lookup(&mxnet).map(|v| (mxnet, v))
        })
    };
    fn parsed<T: std::str::FromStr>(found: Option<(String, String)>, ok: impl Fn(&T) -> bool, expected: &str, default: T) -> T {
        match found {
            None => default,
            Some((name, v)) => match v.trim().parse::<T>() {
                Ok(x) if ok(&x) => x,
                _ => {
                    eprintln!("rmx: ignoring {name}={v:?}: expected {expected}; using the default");
                    default
                }
            },
        }
    }
    let kind = match read("POOL_TYPE") {
        None => d.kind,
        Some((name, v)) => PoolKind::parse(&v).unwrap_or_else(|| {
            eprintln!("rmx: ignoring {name}={v:?}: expected Naive, Round or Unpooled; using the default");
            d.kind
        }),
    };
    PoolConfig {
        kind,
        reserve_percent: parsed(read("POOL_RESERVE"), |p: &f64| (0.0..=100.0).contains(p), "a percentage from 0 to 100", d.reserve_percent),
        page_size: parsed(read("POOL_PAGE_SIZE"), |n: &usize| *n > 0, "a positive number of bytes", d.page_size),
        large_alloc_round: parsed(read("LARGE_ALLOC_ROUND_SIZE"), |n: &usize| *n > 0, "a positive number of bytes", d.large_alloc_round),
        round_linear_cutoff: parsed(read("POOL_ROUND_LINEAR_CUTOFF"), |n: &u32| *n < usize::BITS, "a power of two's exponent below the word size", d.round_linear_cutoff),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn pool(pairs: &[(&str, &str)]) -> PoolConfig {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        gpu_pool_from(|k| map.get(k).cloned())
    }

    #[test]
    fn pool_settings_read_rmx_then_mxnet_names_and_fall_back_on_bad_values() {
        assert_eq!(pool(&[]), PoolConfig::default());
        let c = pool(&[("MXNET_GPU_MEM_POOL_TYPE", "Round"), ("MXNET_GPU_MEM_POOL_ROUND_LINEAR_CUTOFF", "26"), ("RMX_GPU_MEM_POOL_RESERVE", "10")]);
        assert_eq!((c.kind, c.round_linear_cutoff, c.reserve_percent), (PoolKind::Round, 26, 10.0));
        let c = pool(&[("RMX_GPU_MEM_POOL_TYPE", "Unpooled"), ("MXNET_GPU_MEM_POOL_TYPE", "Round")]);
        assert_eq!(c.kind, PoolKind::Unpooled, "rmx's name wins");
        let c = pool(&[("RMX_GPU_MEM_POOL_TYPE", "buddy"), ("RMX_GPU_MEM_POOL_RESERVE", "150"), ("RMX_GPU_MEM_POOL_PAGE_SIZE", "0")]);
        assert_eq!(c, PoolConfig::default());
    }
}
