//! Where the CUDA libraries come from. cudarc opens each by its bare name (`libnvrtc.so.13`),
//! which the dynamic loader looks up on its path and, first, among the libraries already loaded
//! (by soname). The CUDA 13 pip wheels (`nvidia-cuda-nvrtc`, `nvidia-cublas`, `nvidia-cudnn-cu13`,
//! ...) put theirs in `site-packages/nvidia/cu13/lib` and `nvidia/cudnn/lib`, which are on no
//! path; so before cudarc's first open, [`preload`] loads every one it finds there by absolute
//! path, as PyTorch does at import, and cudarc's later open by name finds it loaded. The
//! folders searched: those in `RMX_CUDA_LIB_DIRS` (the config module), then each site-packages
//! folder Python gave at import ([`set_site_dirs`]), then the loader's own path.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use crate::config;

/// Each library as `(folder under site-packages, file name prefix)`, in dependency order: a
/// library's own dependencies load before it, so each finds them by soname. cuDNN's front
/// library opens its sub-libraries itself, by name; they are loaded here so that it finds them.
const WANTED: [(&str, &str); 14] = [
    ("nvidia/cu13/lib", "libnvrtc-builtins.so.13."),
    ("nvidia/cu13/lib", "libnvrtc.so.13"),
    ("nvidia/cu13/lib", "libcudart.so.13"),
    ("nvidia/cu13/lib", "libcublasLt.so.13"),
    ("nvidia/cu13/lib", "libcublas.so.13"),
    ("nvidia/cu13/lib", "libcurand.so.10"),
    ("nvidia/cudnn/lib", "libcudnn_graph.so.9"),
    ("nvidia/cudnn/lib", "libcudnn_engines_precompiled.so.9"),
    ("nvidia/cudnn/lib", "libcudnn_engines_runtime_compiled.so.9"),
    ("nvidia/cudnn/lib", "libcudnn_heuristic.so.9"),
    ("nvidia/cudnn/lib", "libcudnn_ops.so.9"),
    ("nvidia/cudnn/lib", "libcudnn_cnn.so.9"),
    ("nvidia/cudnn/lib", "libcudnn_adv.so.9"),
    ("nvidia/cudnn/lib", "libcudnn.so.9"),
];

static SITE_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// The site-packages folders to search (`rmx/__init__.py` passes `site.getsitepackages()` and
/// the user's); only read by the first [`preload`].
pub fn set_site_dirs(dirs: Vec<PathBuf>) {
    *SITE_DIRS.lock().unwrap_or_else(|e| e.into_inner()) = dirs;
}

/// Loads every wanted library found in the folders, once per process; the paths it loaded.
pub fn preload() -> &'static [PathBuf] {
    static LOADED: OnceLock<Vec<PathBuf>> = OnceLock::new();
    LOADED.get_or_init(|| {
        let site = SITE_DIRS.lock().unwrap_or_else(|e| e.into_inner()).clone();
        load_all(&config::cuda_lib_dirs(), &site)
    })
}

fn load_all(direct: &[PathBuf], site: &[PathBuf]) -> Vec<PathBuf> {
    let mut loaded = Vec::new();
    for (sub, prefix) in WANTED {
        let folders = direct.iter().cloned().chain(site.iter().map(|s| s.join(sub)));
        if let Some(path) = folders.filter_map(|f| find(&f, prefix)).next() {
            if open_global(&path) {
                loaded.push(path);
            }
        }
    }
    loaded
}

/// The file in `folder` whose name is `prefix` or starts with it (the first in name order).
fn find(folder: &Path, prefix: &str) -> Option<PathBuf> {
    let mut hits: Vec<PathBuf> = std::fs::read_dir(folder)
        .ok()?
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with(prefix)))
        .map(|e| e.path())
        .collect();
    hits.sort();
    hits.into_iter().next()
}

/// Opens `path` for the rest of the process, its symbols global (a library that fails to load,
/// say for a missing dependency, is skipped: cudarc's own open then reports the library absent).
fn open_global(path: &Path) -> bool {
    use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};
    // SAFETY: loading a CUDA library runs its initializers, which have no preconditions.
    match unsafe { Library::open(Some(path), RTLD_NOW | RTLD_GLOBAL) } {
        Ok(lib) => {
            std::mem::forget(lib);
            true
        }
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_by_prefix_in_name_order() {
        let dir = std::env::temp_dir().join(format!("rmx-libs-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for name in ["libnvrtc-builtins.so.13.1", "libnvrtc-builtins.so.13.0", "libother.so"] {
            std::fs::write(dir.join(name), b"").unwrap();
        }
        assert_eq!(find(&dir, "libnvrtc-builtins.so.13."), Some(dir.join("libnvrtc-builtins.so.13.0")));
        assert_eq!(find(&dir, "libcublas.so.13"), None);
        assert_eq!(find(&dir.join("absent"), "libother"), None);
        // Not a library: skipped, not an error.
        assert!(load_all(&[dir.clone()], &[]).is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
