//! The scalar math of the two-argument operators, shared by the elementwise, broadcast and
//! scalar families: one zero-sized type per function, in float32, float64 and integer forms,
//! with its partial derivatives beside it ([`BinaryGrad`]).
//! Integer division and modulo by zero give 0 (NumPy's and MXNet's result) instead of trapping.

use rmx_kernels::{BinaryFn, Class, Element};

/// The partial derivatives `(df/da, df/db)` of a two-argument function at `(a, b)`.
pub trait BinaryGrad: BinaryFn {
    /// The name `_backward_binary` and `_backward_scalar` know the function by; `None` for
    /// piecewise-constant functions (comparisons, logic), whose gradient is zero: none flows.
    const GRAD: Option<&'static str> = None;
    /// `(∂f/∂a, ∂f/∂b)` as CUDA C++ expressions of `a` and `b` (type `T`).
    const CUDA_GRAD: [&'static str; 2] = ["T(0)", "T(0)"];
    fn grad_f32(_a: f32, _b: f32) -> (f32, f32) {
        (0.0, 0.0)
    }
    fn grad_f64(_a: f64, _b: f64) -> (f64, f64) {
        (0.0, 0.0)
    }
}

/// `(g * df/da, g * df/db)` in `T`'s computing class (float32 math for float32 and float16,
/// float64 otherwise).
#[inline(always)]
pub fn scaled_grad<T: Element, F: BinaryGrad>(g: T, a: T, b: T) -> (T, T) {
    if T::CLASS == Class::F32 {
        let (da, db) = F::grad_f32(a.to_f32(), b.to_f32());
        let g = g.to_f32();
        (T::from_f32(g * da), T::from_f32(g * db))
    } else {
        let (da, db) = F::grad_f64(a.to_f64(), b.to_f64());
        let g = g.to_f64();
        (T::from_f64(g * da), T::from_f64(g * db))
    }
}


macro_rules! binary_fn {
    ($(#[$doc:meta])* $name:ident, cuda $cuda:literal $(, cuda_int $cuda_int:literal)?, |$a:ident, $b:ident| $float:expr, int: |$x:ident, $y:ident| $int:expr
     $(, grad $g:literal, cuda [$gca:literal, $gcb:literal]: |$ga:ident, $gb:ident| $grad:expr)?) => {
        $(#[$doc])*
        pub struct $name;
        impl BinaryFn for $name {
            const CUDA: &'static str = $cuda;
            $(const CUDA_INT: &'static str = $cuda_int;)?
            #[inline(always)]
            fn f32($a: f32, $b: f32) -> f32 { $float }
            #[inline(always)]
            fn f64($a: f64, $b: f64) -> f64 { $float }
            #[inline(always)]
            fn int($x: i64, $y: i64) -> i64 { $int }
        }
        binary_fn!(@grad $name $(, $g, [$gca, $gcb], |$ga, $gb| $grad)?);
    };
    (@grad $name:ident) => {
        impl BinaryGrad for $name {}
    };
    (@grad $name:ident, $g:literal, [$gca:literal, $gcb:literal], |$ga:ident, $gb:ident| $grad:expr) => {
        impl BinaryGrad for $name {
            const GRAD: Option<&'static str> = Some($g);
            const CUDA_GRAD: [&'static str; 2] = [$gca, $gcb];
            #[inline(always)]
            fn grad_f32($ga: f32, $gb: f32) -> (f32, f32) { $grad }
            #[inline(always)]
            fn grad_f64($ga: f64, $gb: f64) -> (f64, f64) { $grad }
        }
    };
}

binary_fn!(Add, cuda "a + b", cuda_int "(long long)((unsigned long long)a + (unsigned long long)b)", |a, b| a + b, int: |a, b| a.wrapping_add(b), grad "add", cuda ["T(1)", "T(1)"]: |_a, _b| (1.0, 1.0));
binary_fn!(Sub, cuda "a - b", cuda_int "(long long)((unsigned long long)a - (unsigned long long)b)", |a, b| a - b, int: |a, b| a.wrapping_sub(b), grad "sub", cuda ["T(1)", "T(-1)"]: |_a, _b| (1.0, -1.0));
binary_fn!(Mul, cuda "a * b", cuda_int "(long long)((unsigned long long)a * (unsigned long long)b)", |a, b| a * b, int: |a, b| a.wrapping_mul(b), grad "mul", cuda ["b", "a"]: |a, b| (b, a));
binary_fn!(Div, cuda "a / b", cuda_int "(b == 0) ? 0LL : ((b == -1) ? (long long)(0ULL - (unsigned long long)a) : a / b)", |a, b| a / b, int: |a, b| if b == 0 { 0 } else { a.wrapping_div(b) }, grad "div", cuda ["T(1) / b", "-a / (b * b)"]: |a, b| (1.0 / b, -a / (b * b)));
binary_fn!(
    /// Python's modulo: the result takes the divisor's sign, as MXNet's `mod` does; and as
    /// MXNet, modulo by zero gives 0 for every dtype (NumPy gives NaN for floats).
    Mod, cuda "(b == T(0)) ? T(0) : ((fmod(a, b) != T(0) && ((fmod(a, b) < T(0)) != (b < T(0)))) ? fmod(a, b) + b : fmod(a, b))", cuda_int "rmx_imod(a, b)", |a, b| { if b == 0.0 { return 0.0; } let r = a % b; if r != 0.0 && ((r < 0.0) != (b < 0.0)) { r + b } else { r } },
    int: |a, b| if b == 0 { 0 } else { let r = a.wrapping_rem(b); if r != 0 && ((r < 0) != (b < 0)) { r + b } else { r } },
    // As MXNet: d/db of a - b * floor(a / b) is -floor(a / b).
    grad "mod", cuda ["T(1)", "-floor(a / b)"]: |a, b| (1.0, -(a / b).floor())
);
binary_fn!(Power, cuda "pow(a, b)", cuda_int "rmx_ipow(a, b)", |a, b| a.powf(b), int: |a, b| if b < 0 { 0 } else { a.wrapping_pow(b.min(u32::MAX as i64) as u32) },
    // As MXNet: d/db is a**b * ln(a), NaN for a <= 0.
    grad "power", cuda ["b * pow(a, b - T(1))", "pow(a, b) * log(a)"]: |a, b| (b * a.powf(b - 1.0), a.powf(b) * a.ln()));
// Ties send the gradient to lhs, as MXNet (`a >= b` for maximum, `a <= b` for minimum).
binary_fn!(Maximum, cuda "(a >= b || isnan(a)) ? a : b", cuda_int "(a >= b) ? a : b", |a, b| if a >= b || a.is_nan() { a } else { b }, int: |a, b| a.max(b),
    grad "maximum", cuda ["(a >= b) ? T(1) : T(0)", "(a >= b) ? T(0) : T(1)"]: |a, b| if a >= b { (1.0, 0.0) } else { (0.0, 1.0) });
binary_fn!(Minimum, cuda "(a <= b || isnan(a)) ? a : b", cuda_int "(a <= b) ? a : b", |a, b| if a <= b || a.is_nan() { a } else { b }, int: |a, b| a.min(b),
    grad "minimum", cuda ["(a <= b) ? T(1) : T(0)", "(a <= b) ? T(0) : T(1)"]: |a, b| if a <= b { (1.0, 0.0) } else { (0.0, 1.0) });
binary_fn!(Equal, cuda "T(a == b)", |a, b| (a == b) as u8 as _, int: |a, b| (a == b) as i64);
binary_fn!(NotEqual, cuda "T(a != b)", |a, b| (a != b) as u8 as _, int: |a, b| (a != b) as i64);
binary_fn!(Greater, cuda "T(a > b)", |a, b| (a > b) as u8 as _, int: |a, b| (a > b) as i64);
binary_fn!(GreaterEqual, cuda "T(a >= b)", |a, b| (a >= b) as u8 as _, int: |a, b| (a >= b) as i64);
binary_fn!(Lesser, cuda "T(a < b)", |a, b| (a < b) as u8 as _, int: |a, b| (a < b) as i64);
binary_fn!(LesserEqual, cuda "T(a <= b)", |a, b| (a <= b) as u8 as _, int: |a, b| (a <= b) as i64);
binary_fn!(LogicalAnd, cuda "T(a != T(0) && b != T(0))", |a, b| (a != 0.0 && b != 0.0) as u8 as _, int: |a, b| (a != 0 && b != 0) as i64);
binary_fn!(LogicalOr, cuda "T(a != T(0) || b != T(0))", |a, b| (a != 0.0 || b != 0.0) as u8 as _, int: |a, b| (a != 0 || b != 0) as i64);
binary_fn!(LogicalXor, cuda "T((a != T(0)) != (b != T(0)))", |a, b| ((a != 0.0) != (b != 0.0)) as u8 as _, int: |a, b| ((a != 0) != (b != 0)) as i64);
binary_fn!(Hypot, cuda "hypot(a, b)", |a, b| a.hypot(b), int: |a, b| ((a as f64).hypot(b as f64)) as i64,
    grad "hypot", cuda ["a / hypot(a, b)", "b / hypot(a, b)"]: |a, b| { let h = a.hypot(b); (a / h, b / h) });
binary_fn!(
    /// `smooth_l1(x, σ)`: quadratic `0.5(σx)²` inside `|x| < 1/σ²`, linear `|x| - 0.5/σ²` outside.
    SmoothL1, cuda "(fabs(a) < T(1) / (b * b)) ? T(0.5) * b * b * a * a : fabs(a) - T(0.5) / (b * b)",
    |a, b| { let s2 = b * b; if a.abs() < 1.0 / s2 { 0.5 * s2 * a * a } else { a.abs() - 0.5 / s2 } },
    int: |a, b| { let (a, s2) = (a as f64, (b * b) as f64); (if a.abs() < 1.0 / s2 { 0.5 * s2 * a * a } else { a.abs() - 0.5 / s2 }) as i64 },
    grad "smooth_l1", cuda ["(fabs(a) < T(1) / (b * b)) ? b * b * a : ((a > T(0)) ? T(1) : T(-1))", "T(0)"]: |a, b| { let s2 = b * b; (if a.abs() < 1.0 / s2 { s2 * a } else if a > 0.0 { 1.0 } else { -1.0 }, 0.0) }
);
// `rhs` itself: the second argument, for selections.
binary_fn!(Second, cuda "b", |_a, b| b, int: |_a, b| b);

// Every function above, for the CUDA kernels' list (`crate::cuda_sources`); the build fails
// when one defined here is missing.
listed!(binary, include_str!("binary_math.rs"), "binary_fn!("; Add, Sub, Mul, Div, Mod, Power, Maximum, Minimum, Equal, NotEqual, Greater, GreaterEqual, Lesser, LesserEqual, LogicalAnd, LogicalOr,
    LogicalXor, Hypot, SmoothL1, Second);
