//! NVRTC: CUDA C++ source to a CUBIN for one GPU architecture, at run time. CUBIN, never PTX: a
//! driver rejects PTX from a newer NVRTC than itself, while a CUBIN for the device's own
//! `sm_XY` loads on any driver that knows the architecture. NVRTC needs no GPU, so every
//! generated kernel is compiled in CI (`tests/test_cuda_sources.py`).

use std::ffi::{c_char, CString};

use cudarc::nvrtc::{result, sys};

use super::discovery::guarded;
use super::libs;
use crate::error::{KernelError, KernelResult};

/// Options every kernel compiles with: C++17, functions without `__device__` compiled for the
/// device, and no contraction of `a * b + c` into a fused multiply-add (Rust never contracts, so
/// with `--fmad=false` the kernels round each step as the CPU loops do; elementwise kernels are
/// bound by memory, not by the multiply-adds). Division and square root are IEEE-rounded
/// (NVRTC's default), so only the math library's functions may differ in their last bits.
pub(crate) const OPTIONS: [&str; 3] = ["-std=c++17", "-default-device", "--fmad=false"];

fn nvrtc_err(what: &str, message: impl std::fmt::Display) -> KernelError {
    KernelError::Compile { kernel: what.to_string(), log: message.to_string() }
}

/// NVRTC's `(major, minor)` version, or why it cannot be loaded.
pub fn version() -> KernelResult<(i32, i32)> {
    load()?;
    let (mut major, mut minor) = (0, 0);
    // SAFETY: two out-parameters of the documented types.
    unsafe { sys::nvrtcVersion(&mut major, &mut minor) }.result().map_err(|e| nvrtc_err("nvrtcVersion", e))?;
    Ok((major, minor))
}

/// Opens NVRTC once: from the pip wheels' folders first (see `libs`), then the loader's path.
fn load() -> KernelResult<()> {
    libs::preload();
    // SAFETY: only tries to open the library by its usual names.
    let found = guarded(|| unsafe { sys::is_culib_present() }).map_err(|m| nvrtc_err("NVRTC", m))?;
    if found {
        Ok(())
    } else {
        Err(nvrtc_err("NVRTC", "libnvrtc.so.13 was not found: install the nvidia-cuda-nvrtc wheel of CUDA 13 (pip install 'nvidia-cuda-nvrtc==13.0.*') or put its folder in RMX_CUDA_LIB_DIRS"))
    }
}

/// Compiles `source` (one or more `extern "C" __global__` functions) for `arch` (`"sm_90"`) and
/// returns the CUBIN; `name` labels the program in errors, which carry NVRTC's log.
pub fn compile(name: &str, source: &str, arch: &str) -> KernelResult<Vec<u8>> {
    load()?;
    let src = CString::new(source).map_err(|_| nvrtc_err(name, "the source contains a NUL byte"))?;
    let label = CString::new(format!("{name}.cu")).map_err(|_| nvrtc_err(name, "the name contains a NUL byte"))?;
    let mut options: Vec<String> = OPTIONS.iter().map(|s| s.to_string()).collect();
    options.push(format!("--gpu-architecture={arch}"));
    let run = || -> KernelResult<Vec<u8>> {
        let prog = result::create_program(&src, Some(&label)).map_err(|e| nvrtc_err(name, e))?;
        let program = Program(prog);
        // SAFETY: `prog` is a live program (destroyed by `Program`'s drop, after this).
        let compiled = unsafe { result::compile_program(program.0, &options) };
        if let Err(e) = compiled {
            // SAFETY: as above.
            let log = unsafe { result::get_program_log(program.0) }.map(|l| text(&l)).unwrap_or_default();
            return Err(nvrtc_err(name, format!("{e}: {log}")));
        }
        program.cubin().map_err(|e| nvrtc_err(name, e))
    };
    guarded(run).map_err(|m| nvrtc_err(name, m))?
}

/// A program, destroyed when dropped.
struct Program(sys::nvrtcProgram);

impl Program {
    fn cubin(&self) -> Result<Vec<u8>, result::NvrtcError> {
        let mut size = 0usize;
        // SAFETY: a compiled live program; the buffer has the size NVRTC reported.
        unsafe {
            sys::nvrtcGetCUBINSize(self.0, &mut size).result()?;
            let mut bytes = vec![0u8; size];
            sys::nvrtcGetCUBIN(self.0, bytes.as_mut_ptr() as *mut c_char).result()?;
            Ok(bytes)
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        // SAFETY: created by `create_program` and destroyed once.
        let _ = unsafe { result::destroy_program(self.0) };
    }
}

fn text(log: &[c_char]) -> String {
    let bytes: Vec<u8> = log.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).trim().to_string()
}
