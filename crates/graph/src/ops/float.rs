//! `Float`: the element types the neural-network layers compute in (float32 and float64), with
//! the arithmetic their loops need, and `float_dtype`, the check their `infer` makes.

use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub};

use rmx_kernels::{DType, Element};

use crate::error::{dtype_err, Result};

/// A float element with native arithmetic, so inner loops compile to plain float instructions.
pub trait Float:
    Element + PartialOrd + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self> + Neg<Output = Self> + AddAssign + MulAssign
{
    const ZERO: Self;
    /// The most negative finite value.
    const LOWEST: Self;
    fn powf(self, p: Self) -> Self;
    fn sqrt(self) -> Self;
    fn cbrt(self) -> Self;
}

macro_rules! float {
    ($t:ty) => {
        impl Float for $t {
            const ZERO: Self = 0.0;
            const LOWEST: Self = <$t>::MIN;
            #[inline(always)]
            fn powf(self, p: Self) -> Self {
                <$t>::powf(self, p)
            }
            #[inline(always)]
            fn sqrt(self) -> Self {
                <$t>::sqrt(self)
            }
            #[inline(always)]
            fn cbrt(self) -> Self {
                <$t>::cbrt(self)
            }
        }
    };
}
float!(f32);
float!(f64);

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
