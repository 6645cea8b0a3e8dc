//! Compiled kernels kept, so that NVRTC runs once per (source, architecture, NVRTC version):
//! in memory for the process, and on disk across processes (`RMX_CUDA_CACHE_DIR`, by default
//! `~/.cache/rmx/cuda`), as PyTorch keeps its runtime-compiled kernels. A training run's first
//! step otherwise compiles every elementwise, reduction and update kernel it meets, some tens of
//! milliseconds each.
//!
//! An entry on disk is two files named by a hash of its key (source, architecture, NVRTC's
//! version and options, this format's version): `<hash>.cu`, the source it was compiled from
//! (read back and compared, so a hash collision or a stale file is a miss), and `<hash>.cubin`.
//! Each is written to a temporary name of its own (process, thread and count) and renamed into
//! place, so no reader sees half a file; concurrent writers of one key write the same bytes.
//! Only regular files of a bounded size are read (a planted FIFO or a huge file is a miss), and
//! the folder is made private to its user. Anything wrong with the disk (unwritable, full, a
//! damaged file) only costs a compile: the cache never fails a kernel.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use super::nvrtc;
use crate::config;
use crate::error::KernelResult;

/// Where a kernel's CUBIN came from (reported to tests and the profiler).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Found {
    Memory,
    Disk,
    Compiled,
}

type Key = (String, String);

/// Bumped when the files' layout or meaning changes: old entries then miss.
const FORMAT: &str = "rmx cubin cache 1";

/// The largest file read back (a kernel's source or CUBIN is some kilobytes).
const MAX_FILE: u64 = 16 << 20;

fn memory() -> &'static Mutex<HashMap<Key, Arc<[u8]>>> {
    static MEMORY: OnceLock<Mutex<HashMap<Key, Arc<[u8]>>>> = OnceLock::new();
    MEMORY.get_or_init(Default::default)
}

/// The CUBIN of `source` for `arch` (`"sm_90"`): from memory, from disk, or compiled by NVRTC
/// (`name` labels it in a compile error) and then kept in both.
pub fn cubin(name: &str, source: &str, arch: &str) -> KernelResult<(Arc<[u8]>, Found)> {
    let key = (source.to_string(), arch.to_string());
    if let Some(hit) = memory().lock().unwrap_or_else(|e| e.into_inner()).get(&key) {
        return Ok((hit.clone(), Found::Memory));
    }
    let (major, minor) = nvrtc::version()?;
    let compiler = format!("nvrtc {major}.{minor} {}", nvrtc::OPTIONS.join(" "));
    let file = config::cuda_cache_dir().map(|dir| dir.join(format!("{:032x}", fnv1a(&[FORMAT, source, arch, &compiler]))));
    let (bytes, found) = match file.as_deref().and_then(|f| read(f, source)) {
        Some(bytes) => (bytes, Found::Disk),
        None => {
            let bytes: Arc<[u8]> = nvrtc::compile(name, source, arch)?.into();
            if let Some(f) = &file {
                // Best effort: a cache that cannot be written is a cache that misses.
                let _ = write(f, source, &bytes);
            }
            (bytes, Found::Compiled)
        }
    };
    memory().lock().unwrap_or_else(|e| e.into_inner()).insert(key, bytes.clone());
    Ok((bytes, found))
}

/// Forgets the in-memory entries (the disk keeps its own): what a new process sees.
pub fn clear_memory() {
    memory().lock().unwrap_or_else(|e| e.into_inner()).clear();
}

/// The entry at `stem` if it was compiled from `source` and is a whole ELF object.
fn read(stem: &Path, source: &str) -> Option<Arc<[u8]>> {
    if small_file(&stem.with_extension("cu"))? != source.as_bytes() {
        return None;
    }
    let bytes = small_file(&stem.with_extension("cubin"))?;
    is_elf(&bytes).then(|| bytes.into())
}

/// A regular file's bytes, if it is one and no larger than [`MAX_FILE`].
fn small_file(path: &Path) -> Option<Vec<u8>> {
    let meta = fs::metadata(path).ok()?;
    (meta.is_file() && meta.len() <= MAX_FILE).then(|| fs::read(path).ok()).flatten()
}

fn write(stem: &Path, source: &str, bytes: &[u8]) -> std::io::Result<()> {
    let folder = stem.parent().unwrap_or(Path::new("."));
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(folder)?;
    // The source first, the CUBIN last: a reader finds the CUBIN only once both are whole.
    static COUNT: AtomicUsize = AtomicUsize::new(0);
    for (ext, data) in [("cu", source.as_bytes()), ("cubin", bytes)] {
        let unique = format!("{}-{:?}-{}", std::process::id(), std::thread::current().id(), COUNT.fetch_add(1, Ordering::Relaxed));
        let tmp: PathBuf = stem.with_extension(format!("{ext}.{}.tmp", unique.replace(|c: char| !c.is_ascii_alphanumeric() && c != '-', "")));
        let written = fs::write(&tmp, data).and_then(|()| fs::rename(&tmp, stem.with_extension(ext)));
        if written.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        written?;
    }
    Ok(())
}

/// A CUBIN is an ELF object whose header (64 bytes) is there at least.
fn is_elf(bytes: &[u8]) -> bool {
    bytes.len() >= 64 && bytes.starts_with(b"\x7fELF")
}

/// 128-bit FNV-1a over the parts (each followed by a 0 byte): a name for a key that stays the
/// same across Rust releases and machines, unlike `std`'s hasher.
fn fnv1a(parts: &[&str]) -> u128 {
    const OFFSET: u128 = 0x6c62272e07bb014262b821756295c58d;
    const PRIME: u128 = 0x0000000001000000000000000000013b;
    let mut h = OFFSET;
    for part in parts {
        for &b in part.as_bytes().iter().chain(&[0u8]) {
            h = (h ^ b as u128).wrapping_mul(PRIME);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fnv1a_and_separates_parts() {
        // FNV-1a 128 of the empty string is its offset basis; of "a" the published value.
        assert_eq!(fnv1a(&[]), 0x6c62272e07bb014262b821756295c58d);
        let mut h: u128 = 0x6c62272e07bb014262b821756295c58d;
        h = (h ^ b'a' as u128).wrapping_mul(0x0000000001000000000000000000013b);
        h = (h ^ 0).wrapping_mul(0x0000000001000000000000000000013b);
        assert_eq!(fnv1a(&["a"]), h);
        assert_ne!(fnv1a(&["ab", "c"]), fnv1a(&["a", "bc"]));
    }

    #[test]
    fn a_disk_entry_is_read_back_only_for_its_own_source() {
        let dir = std::env::temp_dir().join(format!("rmx-cubin-test-{}", std::process::id()));
        let stem = dir.join("entry");
        let cubin: Vec<u8> = b"\x7fELF".iter().copied().chain(std::iter::repeat_n(7u8, 60)).collect();
        write(&stem, "source A", &cubin).unwrap();
        assert_eq!(read(&stem, "source A").as_deref(), Some(&cubin[..]));
        assert_eq!(read(&stem, "source B"), None);
        fs::write(stem.with_extension("cubin"), b"\x7fELF").unwrap();
        assert_eq!(read(&stem, "source A"), None, "a truncated CUBIN is a miss");
        fs::remove_dir_all(&dir).unwrap();
    }
}
