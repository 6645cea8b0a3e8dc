//! `Float`: the element types the neural-network primitives compute in (float32 and float64),
//! with the arithmetic their loops need, and `with_float!`, their dtype match.

use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Neg, Sub};

use crate::Element;

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

/// Runs `$body` with `$T` bound to `f32` or `f64`; any other dtype returns
/// [`crate::KernelError::DType`] naming `$what` (operators check dtypes at inference, so this is
/// a last guard, not the user's error path).
#[macro_export]
macro_rules! with_float {
    ($what:expr, $dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::F32 => {
                type $T = f32;
                $body
            }
            $crate::DType::F64 => {
                type $T = f64;
                $body
            }
            dtype => return Err($crate::KernelError::DType { what: $what, dtype }),
        }
    };
}
