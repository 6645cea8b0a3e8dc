//! `float_dtype`, the check the neural-network operators' `infer` makes (they compute in
//! float32 or float64), and `with_float!`, their dtype match in `compute`.

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

/// Runs `$body` with `$T` bound to `f32` or `f64` after `float_dtype` accepted `$dtype`.
macro_rules! with_float {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            rmx_kernels::DType::F32 => {
                type $T = f32;
                $body
            }
            rmx_kernels::DType::F64 => {
                type $T = f64;
                $body
            }
            d => return Err(format!("float operator run on {d}").into()),
        }
    };
}
pub(crate) use with_float;
