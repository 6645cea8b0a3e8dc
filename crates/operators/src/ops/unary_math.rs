//! One-input elementwise math: `y[i] = f(x[i])` for `exp`, `log`, `sqrt`, `relu`, `sigmoid`, ...
//! Integer arrays compute through float64 and truncate back, as MXNet's integer kernels do,
//! except where an exact integer form exists (`abs`, `sign`, `square`, `negative`, rounding).
//!
//! Gradients: `_backward_unary` (`fn` names the operator) computes `dx = dy * f'(x, y)` in one
//! pass; `_copy` passes the gradient on and `negative` negates it. Rounding, `sign` and
//! `logical_not` are piecewise constant: no gradient flows (`None`, read as zeros, MXNet's answer).

use std::marker::PhantomData;

use rmx_engine::BoxError;
use rmx_kernels::elementwise::{self, Ternary};
use rmx_kernels::special::{self, Gamma as _};
use rmx_kernels::{Class, DType, Element, UnaryFn, VecMath};

use crate::attrs::Attrs;
use crate::error::{dtype_err, param_err, same_dtype, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, BlockKernel, param, Arity, OpDef, Operator, Tensor, TensorDesc};

/// The derivative of a one-argument function, from its argument `x` and result `y` (whichever
/// is cheaper: `exp' = y`, `sigmoid' = y (1 - y)`).
pub trait UnaryGrad: UnaryFn {
    /// The name `_backward_unary` knows it by (the operator's); `None` for piecewise-constant
    /// functions (rounding, sign, logic), whose gradient is zero: none flows.
    const GRAD: Option<&'static str> = None;
    /// The derivative as a CUDA C++ expression of `x` and `y` (type `T`); "T(0)" without one.
    const CUDA_GRAD: &'static str = "T(0)";
    fn grad_f32(_x: f32, _y: f32) -> f32 {
        0.0
    }
    fn grad_f64(_x: f64, _y: f64) -> f64 {
        0.0
    }
}

macro_rules! unary_fn {
    ($name:ident, cuda $cuda:literal $(, cuda_int $cuda_int:literal)?, |$x:ident| $float:expr $(, int: |$i:ident| $int:expr)? $(, grad $g:literal, cuda $gc:literal: |$gx:ident, $gy:ident| $grad:expr)?) => {
        pub struct $name;
        impl UnaryFn for $name {
            const CUDA: &'static str = $cuda;
            $(const CUDA_INT: &'static str = $cuda_int;)?
            #[inline(always)]
            fn f32($x: f32) -> f32 { $float }
            #[inline(always)]
            fn f64($x: f64) -> f64 { $float }
            $(
            #[inline(always)]
            fn int($i: i64) -> i64 { $int }
            )?
        }
        unary_fn!(@grad $name $(, $g, $gc, |$gx, $gy| $grad)?);
    };
    (@grad $name:ident) => {
        impl UnaryGrad for $name {}
    };
    (@grad $name:ident, $g:literal, $gc:literal, |$gx:ident, $gy:ident| $grad:expr) => {
        impl UnaryGrad for $name {
            const GRAD: Option<&'static str> = Some($g);
            const CUDA_GRAD: &'static str = $gc;
            #[inline(always)]
            fn grad_f32($gx: f32, $gy: f32) -> f32 {
                #[allow(unused_imports)]
                use std::f32::consts::*;
                $grad
            }
            #[inline(always)]
            fn grad_f64($gx: f64, $gy: f64) -> f64 {
                #[allow(unused_imports)]
                use std::f64::consts::*;
                $grad
            }
        }
    };
}

unary_fn!(Abs, cuda "fabs(x)", cuda_int "rmx_abs(x)", |x| x.abs(), int: |i| i.wrapping_abs(), grad "abs", cuda "(x > T(0)) ? T(1) : ((x < T(0)) ? T(-1) : T(0))": |x, _y| if x > 0.0 { 1.0 } else if x < 0.0 { -1.0 } else { 0.0 });
unary_fn!(Sign, cuda "(x > T(0)) ? T(1) : ((x < T(0)) ? T(-1) : x)", cuda_int "(long long)((x > 0) - (x < 0))", |x| if x > 0.0 { 1.0 } else if x < 0.0 { -1.0 } else { x }, int: |i| i.signum());
unary_fn!(Negative, cuda "-x", cuda_int "(long long)(0ULL - (unsigned long long)x)", |x| -x, int: |i| i.wrapping_neg(), grad "negative", cuda "T(-1)": |_x, _y| -1.0);
unary_fn!(Square, cuda "x * x", cuda_int "(long long)((unsigned long long)x * (unsigned long long)x)", |x| x * x, int: |i| i.wrapping_mul(i), grad "square", cuda "T(2) * x": |x, _y| 2.0 * x);
unary_fn!(Round, cuda "round(x)", cuda_int "x", |x| x.round(), int: |i| i);
unary_fn!(Rint, cuda "rint(x)", cuda_int "x", |x| x.round_ties_even(), int: |i| i);
unary_fn!(Fix, cuda "trunc(x)", cuda_int "x", |x| x.trunc(), int: |i| i);
unary_fn!(Floor, cuda "floor(x)", cuda_int "x", |x| x.floor(), int: |i| i);
unary_fn!(Ceil, cuda "ceil(x)", cuda_int "x", |x| x.ceil(), int: |i| i);
unary_fn!(Trunc, cuda "trunc(x)", cuda_int "x", |x| x.trunc(), int: |i| i);
unary_fn!(Exp, cuda "exp(x)", |x| x.exp(), grad "exp", cuda "y": |_x, y| y);
unary_fn!(Expm1, cuda "expm1(x)", |x| x.exp_m1(), grad "expm1", cuda "y + T(1)": |_x, y| y + 1.0);
unary_fn!(Erf, cuda "erf(x)", |x| special::Erf::erf(x), grad "erf", cuda "T(1.1283791670955126) * exp(-x * x)": |x, _y| FRAC_2_SQRT_PI * (-x * x).exp());
unary_fn!(Gamma, cuda "tgamma(x)", |x| x.tgamma(), grad "gamma", cuda "y * rmx_digamma(x)": |x, y| y * x.digamma());
unary_fn!(Gammaln, cuda "lgamma(x)", |x| x.gammaln(), grad "gammaln", cuda "rmx_digamma(x)": |x, _y| x.digamma());
// d/dx erfinv(x) = √π / 2 · exp(erfinv(x)²).
unary_fn!(Erfinv, cuda "erfinv(x)", |x| x.erfinv(), grad "erfinv", cuda "T(0.5) * sqrt(T(3.141592653589793)) * exp(y * y)": |_x, y| 0.5 * PI.sqrt() * (y * y).exp());
unary_fn!(Log, cuda "log(x)", |x| x.ln(), grad "log", cuda "T(1) / x": |x, _y| 1.0 / x);
unary_fn!(Log2, cuda "log2(x)", |x| x.log2(), grad "log2", cuda "T(1) / (x * T(0.6931471805599453))": |x, _y| 1.0 / (x * LN_2));
unary_fn!(Log10, cuda "log10(x)", |x| x.log10(), grad "log10", cuda "T(1) / (x * T(2.302585092994046))": |x, _y| 1.0 / (x * LN_10));
unary_fn!(Log1p, cuda "log1p(x)", |x| x.ln_1p(), grad "log1p", cuda "T(1) / (T(1) + x)": |x, _y| 1.0 / (1.0 + x));
unary_fn!(Sqrt, cuda "sqrt(x)", |x| x.sqrt(), grad "sqrt", cuda "T(0.5) / y": |_x, y| 0.5 / y);
unary_fn!(Rsqrt, cuda "rsqrt(x)", |x| 1.0 / x.sqrt(), grad "rsqrt", cuda "T(-0.5) * y / x": |x, y| -0.5 * y / x);
unary_fn!(Cbrt, cuda "cbrt(x)", |x| x.cbrt(), grad "cbrt", cuda "T(1) / (T(3) * y * y)": |_x, y| 1.0 / (3.0 * y * y));
unary_fn!(Rcbrt, cuda "rcbrt(x)", |x| 1.0 / x.cbrt(), grad "rcbrt", cuda "-y / (T(3) * x)": |x, y| -y / (3.0 * x));
unary_fn!(Reciprocal, cuda "T(1) / x", |x| 1.0 / x, grad "reciprocal", cuda "-y * y": |_x, y| -y * y);
unary_fn!(Sin, cuda "sin(x)", |x| x.sin(), grad "sin", cuda "cos(x)": |x, _y| x.cos());
unary_fn!(Cos, cuda "cos(x)", |x| x.cos(), grad "cos", cuda "-sin(x)": |x, _y| -x.sin());
unary_fn!(Tan, cuda "tan(x)", |x| x.tan(), grad "tan", cuda "T(1) + y * y": |_x, y| 1.0 + y * y);
unary_fn!(Arcsin, cuda "asin(x)", |x| x.asin(), grad "arcsin", cuda "T(1) / sqrt(T(1) - x * x)": |x, _y| 1.0 / (1.0 - x * x).sqrt());
unary_fn!(Arccos, cuda "acos(x)", |x| x.acos(), grad "arccos", cuda "T(-1) / sqrt(T(1) - x * x)": |x, _y| -1.0 / (1.0 - x * x).sqrt());
unary_fn!(Arctan, cuda "atan(x)", |x| x.atan(), grad "arctan", cuda "T(1) / (T(1) + x * x)": |x, _y| 1.0 / (1.0 + x * x));
unary_fn!(Sinh, cuda "sinh(x)", |x| x.sinh(), grad "sinh", cuda "cosh(x)": |x, _y| x.cosh());
unary_fn!(Cosh, cuda "cosh(x)", |x| x.cosh(), grad "cosh", cuda "sinh(x)": |x, _y| x.sinh());
unary_fn!(Tanh, cuda "tanh(x)", |x| x.vtanh(), grad "tanh", cuda "T(1) - y * y": |_x, y| 1.0 - y * y);
unary_fn!(Arcsinh, cuda "asinh(x)", |x| x.asinh(), grad "arcsinh", cuda "T(1) / sqrt(x * x + T(1))": |x, _y| 1.0 / (x * x + 1.0).sqrt());
unary_fn!(Arccosh, cuda "acosh(x)", |x| x.acosh(), grad "arccosh", cuda "T(1) / sqrt(x * x - T(1))": |x, _y| 1.0 / (x * x - 1.0).sqrt());
unary_fn!(Arctanh, cuda "atanh(x)", |x| x.atanh(), grad "arctanh", cuda "T(1) / (T(1) - x * x)": |x, _y| 1.0 / (1.0 - x * x));
unary_fn!(Degrees, cuda "x * T(57.29577951308232)", |x| x.to_degrees(), grad "degrees", cuda "T(180) / T(3.141592653589793)": |_x, _y| 180.0 / PI);
unary_fn!(Radians, cuda "x * T(0.017453292519943295)", |x| x.to_radians(), grad "radians", cuda "T(3.141592653589793) / T(180)": |_x, _y| PI / 180.0);
unary_fn!(Sigmoid, cuda "T(1) / (T(1) + exp(-x))", |x| 1.0 / (1.0 + (-x).vexp()), grad "sigmoid", cuda "y * (T(1) - y)": |_x, y| y * (1.0 - y));
unary_fn!(Relu, cuda "(x > T(0)) ? x : T(0)", cuda_int "(x > 0) ? x : 0LL", |x| if x > 0.0 { x } else { 0.0 }, int: |i| i.max(0), grad "relu", cuda "(x > T(0)) ? T(1) : T(0)": |x, _y| if x > 0.0 { 1.0 } else { 0.0 });
unary_fn!(Softsign, cuda "x / (T(1) + fabs(x))", |x| x / (1.0 + x.abs()), grad "softsign", cuda "T(1) / ((T(1) + fabs(x)) * (T(1) + fabs(x)))": |x, _y| { let d = 1.0 + x.abs(); 1.0 / (d * d) });
unary_fn!(LogicalNot, cuda "T(x == T(0))", cuda_int "(long long)(x == 0)", |x| (x == 0.0) as u8 as _, int: |i| (i == 0) as i64);
unary_fn!(Identity, cuda "x", cuda_int "x", |x| x, int: |i| i, grad "_copy", cuda "T(1)": |_x, _y| 1.0);

// Every function above, for the CUDA kernels' list (`crate::cuda_sources`); the build fails
// when one defined here is missing.
listed!(unary, include_str!("unary_math.rs"), "unary_fn!("; Abs, Sign, Negative, Square, Round, Rint, Fix, Floor, Ceil, Trunc, Exp, Expm1, Erf, Gamma, Gammaln, Erfinv, Log, Log2, Log10, Log1p, Sqrt,
    Rsqrt, Cbrt, Rcbrt, Reciprocal, Sin, Cos, Tan, Arcsin, Arccos, Arctan, Sinh, Cosh, Tanh, Arcsinh, Arccosh, Arctanh, Degrees, Radians, Sigmoid,
    Relu, Softsign, LogicalNot, Identity);

struct Unary<F> {
    name: &'static str,
    f: PhantomData<fn() -> F>,
}

impl<F: UnaryGrad> Operator for Unary<F> {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if inputs[0].dtype == DType::Bool && !matches!(self.name, "_copy" | "logical_not") {
            return Err(dtype_err(self.name, "bool arrays do not support math; cast them first"));
        }
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        elementwise::map::<F>(&inputs[0], &mut outputs[0])?;
        Ok(())
    }

    fn inplace_option(&self) -> Vec<(usize, usize)> {
        vec![(0, 0)]
    }

    fn block_kernel(&self) -> Option<BlockKernel> {
        Some(BlockKernel::map::<F>())
    }

    fn elementwise_backward(&self, _attrs: &Attrs) -> Option<Result<Box<dyn Operator>>> {
        F::GRAD.map(|_| Ok(Box::new(UnaryBackward::<F> { f: PhantomData }) as Box<dyn Operator>))
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let og = args.out_grads[0];
        if g.differentiable() {
            if let Some(dx) = composed_grad(g, self.name, args.inputs[0], args.outputs[0], og) {
                return Ok(vec![Some(dx?)]);
            }
        }
        let dx = match (self.name, F::GRAD) {
            ("_copy", _) => og,
            ("negative", _) => g.neg(og)?,
            (_, None) => return Ok(vec![None]),
            (_, Some(f)) => g.call("_backward_unary", &[("fn", f)], &[og, args.inputs[0], args.outputs[0]])?,
        };
        Ok(vec![Some(dx)])
    }
}

/// `og · f'(x)` in registry operators that have gradients themselves, for the functions whose
/// second derivative MXNet 1.9.1 offers (and cos, sqrt); `None` for the rest.
fn composed_grad(g: &mut dyn GradBuilder, name: &str, x: Value, y: Value, og: Value) -> Option<Result<Value>> {
    let mut run = || -> Result<Value> {
        let d = match name {
            "exp" => y,
            "log" => return g.call("elemwise_div", &[], &[og, x]),
            "sin" => g.call("cos", &[], &[x])?,
            "cos" => {
                let s = g.call("sin", &[], &[x])?;
                g.neg(s)?
            }
            "square" => g.scale(x, 2.0)?,
            "sqrt" => {
                let twice = g.scale(y, 2.0)?;
                return g.call("elemwise_div", &[], &[og, twice]);
            }
            "tanh" => {
                let yy = g.mul(y, y)?;
                g.call("_rminus_scalar", &[("scalar", "1")], &[yy])?
            }
            "sigmoid" => {
                let one_minus = g.call("_rminus_scalar", &[("scalar", "1")], &[y])?;
                g.mul(y, one_minus)?
            }
            "relu" => g.call("_greater_scalar", &[("scalar", "0")], &[x])?,
            _ => unreachable!("listed below"),
        };
        g.mul(og, d)
    };
    matches!(name, "exp" | "log" | "sin" | "cos" | "square" | "sqrt" | "tanh" | "sigmoid" | "relu").then(&mut run)
}

fn create<F: UnaryGrad>(name: &'static str, _attrs: &Attrs) -> Result<Box<dyn Operator>> {
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
    "erf", [], Erf, "the Gauss error function";
    "gamma", [], Gamma, "the gamma function";
    "gammaln", [], Gammaln, "ln |gamma(x)|";
    "erfinv", [], Erfinv, "the inverse error function";
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

/// `_backward_unary`: `[out_grad, x, y]` to `out_grad * f'(x, y)`, one pass.
struct UnaryBackward<F> {
    f: PhantomData<fn() -> F>,
}

impl<F: UnaryGrad> Operator for UnaryBackward<F> {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let dtype = same_dtype("_backward_unary", inputs.iter().map(|d| d.dtype))?;
        if dtype == DType::Bool {
            return Err(dtype_err("_backward_unary", "bool arrays have no gradient"));
        }
        if inputs.iter().any(|d| d.shape != inputs[0].shape) {
            let shapes: Vec<_> = inputs.iter().map(|d| d.shape.to_vec()).collect();
            return Err(shape_err("_backward_unary", format!("out_grad, x and y must have one shape, got {shapes:?}")));
        }
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        elementwise::map3(&inputs[0], &inputs[1], &inputs[2], &mut outputs[0], self)?;
        Ok(())
    }
}

/// `dx = dy * f'(x, y)` for one element, in `T`'s computing class (float32 math for float32 and
/// float16): `_backward_unary`'s formula, and the reference its CUDA kernel is checked against.
pub(crate) fn backward<T: Element, F: UnaryGrad>(g: T, x: T, y: T) -> T {
    if T::CLASS == Class::F32 {
        T::from_f32(g.to_f32() * F::grad_f32(x.to_f32(), y.to_f32()))
    } else {
        T::from_f64(g.to_f64() * F::grad_f64(x.to_f64(), y.to_f64()))
    }
}

impl<F: UnaryGrad> Ternary for UnaryBackward<F> {
    fn formula<T: Element>(&self) -> impl Fn(T, T, T) -> T + Sync + '_ {
        backward::<T, F>
    }
}

fn create_backward(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    // `fn` is the forward operator's registry name (the function's `UnaryGrad::GRAD`).
    let f = attrs.get("fn").ok_or_else(|| param_err(name, "fn", "required"))?;
    crate::operator::elementwise_backward(name, f, attrs)
}

/// The backward kernel of this family (hidden by its leading underscore).
pub static BACKWARD_DEFS: &[OpDef] = &[OpDef {
    name: "_backward_unary",
    aliases: &[],
    doc: "Gradient of a one-input math operator: [out_grad, x, y] to out_grad * f'(x).",
    inputs: Arity::Fixed(&["out_grad", "x", "y"]),
    params: &[param("fn", "string", "", "the forward operator's name (relu, exp, ...)")],
    create: create_backward,
}];
