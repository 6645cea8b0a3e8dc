//! `DType` and `Element`: the element types rmx stores, and the one place the match over them is
//! written (`with_dtype!`). Kernels are generic over `Element`; operators pick the math.

use half::f16;

/// An element type, with MXNet's type flag as discriminant (`.params` files store it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32 = 0,
    F64 = 1,
    F16 = 2,
    U8 = 3,
    I32 = 4,
    I8 = 5,
    I64 = 6,
    Bool = 7,
}

impl DType {
    pub const ALL: [DType; 8] = [Self::F32, Self::F64, Self::F16, Self::U8, Self::I32, Self::I8, Self::I64, Self::Bool];

    /// MXNet's (mshadow's) type flag.
    pub fn flag(self) -> i32 {
        self as i32
    }

    pub fn from_flag(flag: i32) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.flag() == flag)
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Self::F64 | Self::I64 => 8,
            Self::F32 | Self::I32 => 4,
            Self::F16 => 2,
            Self::U8 | Self::I8 | Self::Bool => 1,
        }
    }

    /// NumPy's name for the type.
    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "float32",
            Self::F64 => "float64",
            Self::F16 => "float16",
            Self::U8 => "uint8",
            Self::I32 => "int32",
            Self::I8 => "int8",
            Self::I64 => "int64",
            Self::Bool => "bool",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.name() == name)
    }

    pub fn is_float(self) -> bool {
        matches!(self, Self::F32 | Self::F64 | Self::F16)
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// NumPy's bool: one byte holding 0 or 1.
#[repr(transparent)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Bool(pub u8);

/// How an element type computes: in `f32`, in `f64`, or as a 64-bit integer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    F32,
    F64,
    Int,
}

/// A scalar function of one argument, in each computing class. Zero-sized implementors let the
/// kernels inline and vectorize it.
///
/// `CUDA` is the same function as a CUDA C++ expression of `x`, of the computing type `T`
/// (`float` or `double`; CUDA's math functions are overloaded for both), from which the CUDA
/// path compiles its elementwise and fused kernels with NVRTC: one definition per function.
pub trait UnaryFn: Send + Sync + 'static {
    const CUDA: &'static str;
    /// The function as a CUDA expression of a `long long` `x`, for integer dtypes, where its
    /// integer form ([`UnaryFn::int`]) is not the float64 one truncated; empty otherwise.
    const CUDA_INT: &'static str = "";
    fn f32(x: f32) -> f32;
    fn f64(x: f64) -> f64;
    /// Integers compute through `f64` unless the operator knows better (e.g. `abs`).
    fn int(x: i64) -> i64 {
        let y = Self::f64(x as f64);
        if y.is_finite() { y as i64 } else { 0 }
    }
}

/// A scalar function of two arguments, in each computing class; `CUDA` is it as a CUDA C++
/// expression of `a` and `b` of type `T` (see [`UnaryFn`]).
pub trait BinaryFn: Send + Sync + 'static {
    const CUDA: &'static str;
    /// As [`UnaryFn::CUDA_INT`]: the integer form over `long long` `a` and `b`, or empty.
    const CUDA_INT: &'static str = "";
    fn f32(a: f32, b: f32) -> f32;
    fn f64(a: f64, b: f64) -> f64;
    fn int(a: i64, b: i64) -> i64 {
        let y = Self::f64(a as f64, b as f64);
        if y.is_finite() { y as i64 } else { 0 }
    }
}

/// A storable element type.
pub trait Element: Copy + Default + Send + Sync + PartialEq + std::fmt::Debug + 'static {
    const DTYPE: DType;
    const CLASS: Class;
    fn to_f64(self) -> f64;
    fn from_f64(v: f64) -> Self;
    fn to_i64(self) -> i64;
    fn from_i64(v: i64) -> Self;
    fn to_f32(self) -> f32 {
        self.to_f64() as f32
    }
    fn from_f32(v: f32) -> Self {
        Self::from_f64(v as f64)
    }

    #[inline(always)]
    fn unary<F: UnaryFn>(x: Self) -> Self {
        match Self::CLASS {
            Class::F32 => Self::from_f32(F::f32(x.to_f32())),
            Class::F64 => Self::from_f64(F::f64(x.to_f64())),
            Class::Int => Self::from_i64(F::int(x.to_i64())),
        }
    }

    #[inline(always)]
    fn binary<F: BinaryFn>(a: Self, b: Self) -> Self {
        match Self::CLASS {
            Class::F32 => Self::from_f32(F::f32(a.to_f32(), b.to_f32())),
            Class::F64 => Self::from_f64(F::f64(a.to_f64(), b.to_f64())),
            Class::Int => Self::from_i64(F::int(a.to_i64(), b.to_i64())),
        }
    }

    /// Converts from another element type: integers stay exact between integer types.
    #[inline(always)]
    fn cast_from<S: Element>(s: S) -> Self {
        if S::CLASS == Class::Int && Self::CLASS == Class::Int {
            Self::from_i64(s.to_i64())
        } else {
            Self::from_f64(s.to_f64())
        }
    }
}

macro_rules! float_element {
    ($t:ty, $d:ident, $class:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            const CLASS: Class = Class::$class;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_f32(self) -> f32 {
                self as f32
            }
            #[inline(always)]
            fn from_f32(v: f32) -> Self {
                v as $t
            }
        }
    };
}
float_element!(f32, F32, F32);
float_element!(f64, F64, F64);

macro_rules! int_element {
    ($t:ty, $d:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$d;
            const CLASS: Class = Class::Int;
            #[inline(always)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            /// Saturating, NaN to 0: Rust's `as`, which is defined for every input.
            #[inline(always)]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline(always)]
            fn to_i64(self) -> i64 {
                self as i64
            }
            /// Wrapping, as C and NumPy do for integer overflow.
            #[inline(always)]
            fn from_i64(v: i64) -> Self {
                v as $t
            }
        }
    };
}
int_element!(u8, U8);
int_element!(i8, I8);
int_element!(i32, I32);
int_element!(i64, I64);

impl Element for f16 {
    const DTYPE: DType = DType::F16;
    const CLASS: Class = Class::F32;
    fn to_f64(self) -> f64 {
        self.to_f64()
    }
    fn from_f64(v: f64) -> Self {
        f16::from_f64(v)
    }
    fn to_i64(self) -> i64 {
        self.to_f32() as i64
    }
    fn from_i64(v: i64) -> Self {
        f16::from_f32(v as f32)
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }
    #[inline(always)]
    fn from_f32(v: f32) -> Self {
        f16::from_f32(v)
    }
}

impl Element for Bool {
    const DTYPE: DType = DType::Bool;
    const CLASS: Class = Class::Int;
    fn to_f64(self) -> f64 {
        self.0 as f64
    }
    fn from_f64(v: f64) -> Self {
        Bool((v != 0.0) as u8)
    }
    fn to_i64(self) -> i64 {
        self.0 as i64
    }
    fn from_i64(v: i64) -> Self {
        Bool((v != 0) as u8)
    }
}

/// Runs `$body` with `$T` bound to the element type of `$dtype`: the one dtype match.
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            $crate::DType::F32 => { type $T = f32; $body }
            $crate::DType::F64 => { type $T = f64; $body }
            $crate::DType::F16 => { type $T = $crate::f16; $body }
            $crate::DType::U8 => { type $T = u8; $body }
            $crate::DType::I32 => { type $T = i32; $body }
            $crate::DType::I8 => { type $T = i8; $body }
            $crate::DType::I64 => { type $T = i64; $body }
            $crate::DType::Bool => { type $T = $crate::Bool; $body }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_names_and_sizes_match_mxnet_and_numpy() {
        for d in DType::ALL {
            assert_eq!(DType::from_flag(d.flag()), Some(d));
            assert_eq!(DType::from_name(d.name()), Some(d));
            with_dtype!(d, T => assert_eq!(std::mem::size_of::<T>(), d.size()));
            with_dtype!(d, T => assert_eq!(T::DTYPE, d));
        }
        assert_eq!(DType::I64.flag(), 6);
        assert_eq!(DType::from_flag(12), None);
    }

    #[test]
    fn casts_wrap_integers_and_keep_int64_exact() {
        assert_eq!(u8::cast_from(300i32), 44);
        assert_eq!(i64::cast_from(i64::MAX), i64::MAX);
        assert_eq!(Bool::cast_from(0.5f32), Bool(1));
        assert_eq!(i32::cast_from(f32::NAN), 0);
    }
}
