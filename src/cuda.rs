//! The CUDA toolchain's Python face: where the libraries come from (`rmx/_cuda_libs.py` passes the
//! site-packages folders), NVRTC's version, and the runtime-compiled kernels' sources with their
//! compiler, which `tests/test_cuda_sources.py` drives on machines without a GPU.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use std::sync::OnceLock;

use rmx_graph::cuda_sources::Listed;
use rmx_kernels::cuda::{cubin_cache, libs, nvrtc};

use crate::errors::{graph_error, guard, invalid_argument};

/// The site-packages folders searched for the CUDA wheels' libraries (before the first use).
#[pyfunction]
fn cuda_set_site_dirs(dirs: Vec<String>) {
    libs::set_site_dirs(dirs.into_iter().map(Into::into).collect());
}

/// The CUDA libraries loaded from the wheels' folders (loading them now if not yet done).
#[pyfunction]
fn cuda_preloaded() -> Vec<String> {
    libs::preload().iter().map(|p| p.display().to_string()).collect()
}

/// NVRTC's `(major, minor)`; a `DeviceError` says why it cannot be loaded.
#[pyfunction]
fn nvrtc_version(py: Python<'_>) -> PyResult<(i32, i32)> {
    guard(py, "nvrtc_version", || nvrtc::version().map_err(|e| graph_error(py, e.into())))
}

/// The kernel list, made once.
fn listed() -> &'static [Listed] {
    static LIST: OnceLock<Vec<Listed>> = OnceLock::new();
    LIST.get_or_init(rmx_graph::cuda_sources::all)
}

/// Every runtime-compiled kernel, as `(name, CUDA C++ source, kind, dtype)`; `kind` names its
/// parameters (`rmx_operators::cuda_sources::Kind`, as `"Fused(3)"` for a chain of 3 inputs).
#[pyfunction]
fn cuda_kernel_sources() -> Vec<(String, String, String, String)> {
    listed().iter().map(|k| (k.source.name.clone(), k.source.code.clone(), format!("{:?}", k.kind), k.dtype.name().to_string())).collect()
}

/// The CPU's result for kernel `name` on `inputs` (float64 values the dtype holds), scalar `s`
/// and reduction view `(outer, len, inner)`: what the kernel must compute.
#[pyfunction]
fn cuda_kernel_reference(py: Python<'_>, name: &str, inputs: Vec<Vec<f64>>, s: f64, view: [usize; 3]) -> PyResult<Vec<Vec<f64>>> {
    guard(py, "cuda_kernel_reference", || {
        let found = listed().iter().find(|k| k.source.name == name);
        let reference = found.and_then(|k| k.reference.clone()).ok_or_else(|| invalid_argument(py, format!("no reference for kernel {name}")))?;
        Ok(py.detach(|| reference(&inputs, s, view)))
    })
}

/// The values of kernel `name`'s `params` argument (an update's hyperparameters), else `[]`.
#[pyfunction]
fn cuda_kernel_args(py: Python<'_>, name: &str) -> PyResult<Vec<f64>> {
    let found = listed().iter().find(|k| k.source.name == name);
    found.map(|k| k.args.clone()).ok_or_else(|| invalid_argument(py, format!("no kernel {name}")))
}

/// `source` compiled by NVRTC for `arch` (`"sm_90"`): the CUBIN's bytes. The GIL is released
/// while NVRTC runs, so that threads compile in parallel.
#[pyfunction]
fn nvrtc_compile<'py>(py: Python<'py>, name: &str, source: &str, arch: &str) -> PyResult<Bound<'py, PyBytes>> {
    let (name, source, arch) = (name.to_string(), source.to_string(), arch.to_string());
    let cubin = guard(py, "nvrtc_compile", || py.detach(|| nvrtc::compile(&name, &source, &arch)).map_err(|e| graph_error(py, e.into())))?;
    Ok(PyBytes::new(py, &cubin))
}

/// `source`'s CUBIN for `arch` through the cache: `(bytes, where it came from)`, the second
/// `"memory"`, `"disk"` or `"compiled"`. `clear_memory` first forgets the in-memory entries, as
/// a new process would.
#[pyfunction]
#[pyo3(signature = (name, source, arch, clear_memory=false))]
fn cuda_cubin<'py>(py: Python<'py>, name: &str, source: &str, arch: &str, clear_memory: bool) -> PyResult<(Bound<'py, PyBytes>, &'static str)> {
    let (name, source, arch) = (name.to_string(), source.to_string(), arch.to_string());
    if clear_memory {
        cubin_cache::clear_memory();
    }
    let (bytes, found) = guard(py, "cuda_cubin", || py.detach(|| cubin_cache::cubin(&name, &source, &arch)).map_err(|e| graph_error(py, e.into())))?;
    let found = match found {
        cubin_cache::Found::Memory => "memory",
        cubin_cache::Found::Disk => "disk",
        cubin_cache::Found::Compiled => "compiled",
    };
    Ok((PyBytes::new(py, &bytes), found))
}

/// A scalar operand as a scalar kernel takes it: converted to `dtype` as the CPU converts it,
/// then read back as a double.
#[pyfunction]
fn cuda_scalar_arg(py: Python<'_>, s: f64, dtype: &str) -> PyResult<f64> {
    guard(py, "cuda_scalar_arg", || {
        let d = rmx_kernels::DType::from_name(dtype).ok_or_else(|| pyo3::exceptions::PyValueError::new_err(format!("unknown dtype {dtype}")))?;
        Ok(rmx_kernels::cuda::source::scalar_arg(s, d))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(cuda_set_site_dirs, m)?)?;
    m.add_function(wrap_pyfunction!(cuda_preloaded, m)?)?;
    m.add_function(wrap_pyfunction!(nvrtc_version, m)?)?;
    m.add_function(wrap_pyfunction!(cuda_kernel_sources, m)?)?;
    m.add_function(wrap_pyfunction!(nvrtc_compile, m)?)?;
    m.add_function(wrap_pyfunction!(cuda_kernel_reference, m)?)?;
    m.add_function(wrap_pyfunction!(cuda_kernel_args, m)?)?;
    m.add_function(wrap_pyfunction!(cuda_cubin, m)?)?;
    m.add_function(wrap_pyfunction!(cuda_scalar_arg, m)?)?;
    Ok(())
}
