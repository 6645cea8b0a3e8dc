//! `float_dtype`, the check the neural-network operators' `infer` makes (they compute in
//! float32 or float64; the primitives in `rmx-kernels` match the dtype).

pub use rmx_kernels::Float;
use rmx_kernels::DType;

use crate::error::{dtype_err, Result};

/// The dtype shared by `dtypes`, which must be float32 or float64.
pub fn float_dtype(op: &str, dtypes: impl IntoIterator<Item = DType>) -> Result<DType> {
    let d = crate::error::same_dtype(op, dtypes)?;
    match d {
        DType::F32 | DType::F64 => Ok(d),
        _ => Err(dtype_err(op, format!("computes in float32 or float64, got {d}"))),
    }
}
