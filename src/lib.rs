//! `rmx._rmx`: the Python extension. Bindings only, kept thin: each file binds one concept of the
//! member crates, and `errors.rs` is the one place Rust errors become Python exceptions.

use pyo3::prelude::*;

mod allocator;
mod autograd;
mod cuda;
mod custom;
mod dlpack;
mod engine;
mod errors;
mod io;
mod kvstore;
mod kvstore_dist;
mod ndarray;
mod symbol;

#[pymodule]
fn _rmx(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // Whether products may run the gemm crate's AVX-512 kernels (the zoo digests' vector tier).
    m.add("GEMM_AVX512_KERNELS", rmx_kernels::cpu::gemm::AVX512_KERNELS)?;
    allocator::configure();
    engine::register(m)?;
    cuda::register(m)?;
    custom::register(m)?;
    autograd::register(m)?;
    ndarray::register(m)?;
    dlpack::register(m)?;
    symbol::register(m)?;
    kvstore::register(m)?;
    kvstore_dist::register(m)?;
    io::register(m)?;
    Ok(())
}
