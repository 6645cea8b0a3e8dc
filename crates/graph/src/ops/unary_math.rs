//! One-input elementwise math: `y[i] = f(x[i])` for `exp`, `log`, `sqrt`, `relu`, `sigmoid`, ...
//! Integer arrays compute through float64 and truncate back, as MXNet's integer kernels do,
//! except where an exact integer form exists (`abs`, `sign`, `square`, `negative`, rounding).

use std::marker::PhantomData;

use rmx_engine::BoxError;
use rmx_kernels::elementwise::map;
use rmx_kernels::{with_dtype, DType, UnaryFn};

use crate::attrs::Attrs;
use crate::error::{dtype_err, Result};
use crate::operator::{Arity, Operator, Tensor, TensorDesc};

macro_rules! unary_fn {
    ($name:ident, |$x:ident| $float:expr) => {
        pub struct $name;
        impl UnaryFn for $name {
            #[inline(always)]
            fn f32($x: f32) -> f32 { $float }
            #[inline(always)]
            fn f64($x: f64) -> f64 { $float }
        }
    };
    ($name:ident, |$x:ident| $float:expr, int: |$i:ident| $int:expr) => {
        pub struct $name;
        impl UnaryFn for $name {
            #[inline(always)]
            fn f32($x: f32) -> f32 { $float }
            #[inline(always)]
            fn f64($x: f64) -> f64 { $float }
            #[inline(always)]
            fn int($i: i64) -> i64 { $int }
        }
    };
}

unary_fn!(Abs, |x| x.abs(), int: |i| i.wrapping_abs());
unary_fn!(Sign, |x| if x > 0.0 { 1.0 } else if x < 0.0 { -1.0 } else { x }, int: |i| i.signum());
unary_fn!(Negative, |x| -x, int: |i| i.wrapping_neg());
unary_fn!(Square, |x| x * x, int: |i| i.wrapping_mul(i));
unary_fn!(Round, |x| x.round(), int: |i| i);
unary_fn!(Rint, |x| x.round_ties_even(), int: |i| i);
unary_fn!(Fix, |x| x.trunc(), int: |i| i);
unary_fn!(Floor, |x| x.floor(), int: |i| i);
unary_fn!(Ceil, |x| x.ceil(), int: |i| i);
unary_fn!(Trunc, |x| x.trunc(), int: |i| i);
unary_fn!(Exp, |x| x.exp());
unary_fn!(Expm1, |x| x.exp_m1());
unary_fn!(Log, |x| x.ln());
unary_fn!(Log2, |x| x.log2());
unary_fn!(Log10, |x| x.log10());
unary_fn!(Log1p, |x| x.ln_1p());
unary_fn!(Sqrt, |x| x.sqrt());
unary_fn!(Rsqrt, |x| 1.0 / x.sqrt());
unary_fn!(Cbrt, |x| x.cbrt());
unary_fn!(Rcbrt, |x| 1.0 / x.cbrt());
unary_fn!(Reciprocal, |x| 1.0 / x);
unary_fn!(Sin, |x| x.sin());
unary_fn!(Cos, |x| x.cos());
unary_fn!(Tan, |x| x.tan());
unary_fn!(Arcsin, |x| x.asin());
unary_fn!(Arccos, |x| x.acos());
unary_fn!(Arctan, |x| x.atan());
unary_fn!(Sinh, |x| x.sinh());
unary_fn!(Cosh, |x| x.cosh());
unary_fn!(Tanh, |x| x.tanh());
unary_fn!(Arcsinh, |x| x.asinh());
unary_fn!(Arccosh, |x| x.acosh());
unary_fn!(Arctanh, |x| x.atanh());
unary_fn!(Degrees, |x| x.to_degrees());
unary_fn!(Radians, |x| x.to_radians());
unary_fn!(Sigmoid, |x| 1.0 / (1.0 + (-x).exp()));
unary_fn!(Relu, |x| if x > 0.0 { x } else { 0.0 }, int: |i| i.max(0));
unary_fn!(Softsign, |x| x / (1.0 + x.abs()));
unary_fn!(LogicalNot, |x| (x == 0.0) as u8 as _, int: |i| (i == 0) as i64);
unary_fn!(Identity, |x| x, int: |i| i);

struct Unary<F> {
    name: &'static str,
    f: PhantomData<fn() -> F>,
}

impl<F: UnaryFn> Operator for Unary<F> {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if inputs[0].dtype == DType::Bool && !matches!(self.name, "_copy" | "logical_not") {
            return Err(dtype_err(self.name, "bool arrays do not support math; cast them first"));
        }
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let out = &mut outputs[0];
        with_dtype!(out.dtype, T => map::<T, F>(inputs[0].data::<T>(), out.data_mut::<T>()));
        Ok(())
    }
}

fn create<F: UnaryFn>(name: &'static str, _attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(Unary::<F> { name, f: PhantomData }))
}

family! {
    Arity::Fixed(&["data"]), &[], create;
    "abs", [], Abs, "|x|";
    "sign", [], Sign, "-1, 0 or 1 by the sign of x";
    "negative", [], Negative, "-x";
    "square", [], Square, "x * x";
    "round", [], Round, "x rounded half away from zero";
    "rint", [], Rint, "x rounded half to even";
    "fix", [], Fix, "x rounded toward zero";
    "floor", [], Floor, "largest integer <= x";
    "ceil", [], Ceil, "smallest integer >= x";
    "trunc", [], Trunc, "x rounded toward zero";
    "exp", [], Exp, "e ** x";
    "expm1", [], Expm1, "e ** x - 1, exact near 0";
    "log", [], Log, "natural logarithm";
    "log2", [], Log2, "base-2 logarithm";
    "log10", [], Log10, "base-10 logarithm";
    "log1p", [], Log1p, "log(1 + x), exact near 0";
    "sqrt", [], Sqrt, "square root";
    "rsqrt", [], Rsqrt, "1 / sqrt(x)";
    "cbrt", [], Cbrt, "cube root";
    "rcbrt", [], Rcbrt, "1 / cbrt(x)";
    "reciprocal", [], Reciprocal, "1 / x";
    "sin", [], Sin, "sine";
    "cos", [], Cos, "cosine";
    "tan", [], Tan, "tangent";
    "arcsin", [], Arcsin, "inverse sine";
    "arccos", [], Arccos, "inverse cosine";
    "arctan", [], Arctan, "inverse tangent";
    "sinh", [], Sinh, "hyperbolic sine";
    "cosh", [], Cosh, "hyperbolic cosine";
    "tanh", [], Tanh, "hyperbolic tangent";
    "arcsinh", [], Arcsinh, "inverse hyperbolic sine";
    "arccosh", [], Arccosh, "inverse hyperbolic cosine";
    "arctanh", [], Arctanh, "inverse hyperbolic tangent";
    "degrees", [], Degrees, "radians to degrees";
    "radians", [], Radians, "degrees to radians";
    "sigmoid", [], Sigmoid, "1 / (1 + exp(-x))";
    "relu", [], Relu, "max(x, 0)";
    "softsign", [], Softsign, "x / (1 + |x|)";
    "logical_not", [], LogicalNot, "1 where x == 0 else 0";
    "_copy", ["identity"], Identity, "a copy of x";
}
