//! The scalar math of the two-argument operators, shared by the elementwise, broadcast and
//! scalar families: one zero-sized type per function, in float32, float64 and integer forms.
//! Integer division and modulo by zero give 0 (NumPy's and MXNet's result) instead of trapping.

use rmx_kernels::BinaryFn;

macro_rules! binary_fn {
    ($(#[$doc:meta])* $name:ident, |$a:ident, $b:ident| $float:expr, int: |$x:ident, $y:ident| $int:expr) => {
        $(#[$doc])*
        pub struct $name;
        impl BinaryFn for $name {
            #[inline(always)]
            fn f32($a: f32, $b: f32) -> f32 { $float }
            #[inline(always)]
            fn f64($a: f64, $b: f64) -> f64 { $float }
            #[inline(always)]
            fn int($x: i64, $y: i64) -> i64 { $int }
        }
    };
}

binary_fn!(Add, |a, b| a + b, int: |a, b| a.wrapping_add(b));
binary_fn!(Sub, |a, b| a - b, int: |a, b| a.wrapping_sub(b));
binary_fn!(Mul, |a, b| a * b, int: |a, b| a.wrapping_mul(b));
binary_fn!(Div, |a, b| a / b, int: |a, b| if b == 0 { 0 } else { a.wrapping_div(b) });
binary_fn!(
    /// Python's modulo: the result takes the divisor's sign, as MXNet's `mod` does; and as
    /// MXNet, modulo by zero gives 0 for every dtype (NumPy gives NaN for floats).
    Mod, |a, b| { if b == 0.0 { return 0.0; } let r = a % b; if r != 0.0 && ((r < 0.0) != (b < 0.0)) { r + b } else { r } },
    int: |a, b| if b == 0 { 0 } else { let r = a.wrapping_rem(b); if r != 0 && ((r < 0) != (b < 0)) { r + b } else { r } }
);
binary_fn!(Power, |a, b| a.powf(b), int: |a, b| if b < 0 { 0 } else { a.wrapping_pow(b.min(u32::MAX as i64) as u32) });
binary_fn!(Maximum, |a, b| if a >= b || a.is_nan() { a } else { b }, int: |a, b| a.max(b));
binary_fn!(Minimum, |a, b| if a <= b || a.is_nan() { a } else { b }, int: |a, b| a.min(b));
binary_fn!(Equal, |a, b| (a == b) as u8 as _, int: |a, b| (a == b) as i64);
binary_fn!(NotEqual, |a, b| (a != b) as u8 as _, int: |a, b| (a != b) as i64);
binary_fn!(Greater, |a, b| (a > b) as u8 as _, int: |a, b| (a > b) as i64);
binary_fn!(GreaterEqual, |a, b| (a >= b) as u8 as _, int: |a, b| (a >= b) as i64);
binary_fn!(Lesser, |a, b| (a < b) as u8 as _, int: |a, b| (a < b) as i64);
binary_fn!(LesserEqual, |a, b| (a <= b) as u8 as _, int: |a, b| (a <= b) as i64);
binary_fn!(LogicalAnd, |a, b| (a != 0.0 && b != 0.0) as u8 as _, int: |a, b| (a != 0 && b != 0) as i64);
binary_fn!(LogicalOr, |a, b| (a != 0.0 || b != 0.0) as u8 as _, int: |a, b| (a != 0 || b != 0) as i64);
binary_fn!(LogicalXor, |a, b| ((a != 0.0) != (b != 0.0)) as u8 as _, int: |a, b| ((a != 0) != (b != 0)) as i64);
binary_fn!(Hypot, |a, b| a.hypot(b), int: |a, b| ((a as f64).hypot(b as f64)) as i64);
// `rhs` itself: the second argument, for selections.
binary_fn!(Second, |_a, b| b, int: |_a, b| b);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modulo_follows_python_and_integer_division_by_zero_is_zero() {
        assert_eq!(Mod::f64(-7.0, 3.0), 2.0);
        assert_eq!(Mod::f64(7.0, -3.0), -2.0);
        assert_eq!(Mod::int(-7, 3), 2);
        assert_eq!(Div::int(5, 0), 0);
        assert_eq!(Mod::f32(5.0, 0.0), 0.0);
        assert_eq!(Div::int(i64::MIN, -1), i64::MIN);
        assert_eq!(Power::int(3, 4), 81);
        assert_eq!(Maximum::f32(f32::NAN, 1.0).is_nan(), true);
    }
}
