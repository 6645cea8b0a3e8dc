//! Reductions: `sum`, `mean`, `prod`, `max`, `min`, `nansum`, `nanprod` and `norm` over `axis`
//! (an int, a tuple, or all axes), with `keepdims` and `exclude` (reduce every axis but those).
//! Reducing every axis without keepdims gives shape (1,): MXNet 1.x has no 0-d arrays.
//!
//! Gradients: `_backward_reduce` broadcasts the output gradient back over the reduced axes in one
//! pass, times the reduction's partial derivative: 1 (sum), 1/n (mean), `x == y` (max, min: every
//! element equal to the result gets it, as MXNet), `y / x` (prod, as MXNet: NaN at x = 0), 0 at
//! NaN (nansum, nanprod), `x / y` (L2 norm; 0 where the norm is 0, where MXNet gives NaN) and
//! `sign(x)` (L1 norm).

use std::marker::PhantomData;

use rmx_engine::BoxError;
use rmx_kernels::elementwise::Ternary;
use rmx_kernels::reduce::{self, broadcast_back};
use rmx_kernels::{DType, Element, ReduceFn, Shape};

use super::axes::axes;
use crate::attrs::Attrs;
use crate::error::{dtype_err, param_err, same_dtype, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

/// A reduction's math: float init and step, integer init and step; the optional parts say how
/// partial results merge and how the result is finished when that differs from the defaults.
macro_rules! reduce_fn {
    ($name:ident, cuda $cuda:literal, $init:expr, |$a:ident, $x:ident| $step:expr, $init_int:expr, |$ai:ident, $xi:ident| $step_int:expr $(, $($rest:tt)*)?) => {
        pub struct $name;
        impl ReduceFn for $name {
            const CUDA_STEP: &'static str = $cuda;
            const INIT: f64 = $init;
            #[inline(always)]
            fn step($a: f64, $x: f64) -> f64 { $step }
            const INIT_INT: i64 = $init_int;
            #[inline(always)]
            fn step_int($ai: i64, $xi: i64) -> i64 { $step_int }
            $($($rest)*)?
        }
    };
}

reduce_fn!(Sum, cuda "acc + x", 0.0, |a, x| a + x, 0, |a, x| a.wrapping_add(x));
reduce_fn!(Mean, cuda "acc + x", 0.0, |a, x| a + x, 0, |a, x| a.wrapping_add(x),
    const CUDA_FINISH: &'static str = "acc / T(n)";
    fn finish(a: f64, n: usize) -> f64 { a / n as f64 }
    fn finish_int(a: i64, n: usize) -> i64 { a / n.max(1) as i64 });
reduce_fn!(Prod, cuda "acc * x", 1.0, |a, x| a * x, 1, |a, x| a.wrapping_mul(x));
reduce_fn!(Max, cuda "(x > acc || isnan(x)) ? x : acc", f64::NEG_INFINITY, |a, x| if x > a || x.is_nan() { x } else { a }, i64::MIN, |a, x| a.max(x));
reduce_fn!(Min, cuda "(x < acc || isnan(x)) ? x : acc", f64::INFINITY, |a, x| if x < a || x.is_nan() { x } else { a }, i64::MAX, |a, x| a.min(x));
reduce_fn!(NanSum, cuda "isnan(x) ? acc : acc + x", 0.0, |a, x| if x.is_nan() { a } else { a + x }, 0, |a, x| a.wrapping_add(x));
reduce_fn!(NanProd, cuda "isnan(x) ? acc : acc * x", 1.0, |a, x| if x.is_nan() { a } else { a * x }, 1, |a, x| a.wrapping_mul(x));
reduce_fn!(L2, cuda "acc + x * x", 0.0, |a, x| a + x * x, 0, |a, x| a.wrapping_add(x.wrapping_mul(x)),
    fn merge(a: f64, b: f64) -> f64 { a + b }
    const CUDA_FINISH: &'static str = "sqrt(acc)";
    fn finish(a: f64, _n: usize) -> f64 { a.sqrt() }
    const EXACT_INT: bool = false;);
reduce_fn!(L1, cuda "acc + fabs(x)", 0.0, |a, x| a + x.abs(), 0, |a, x| a.wrapping_add(x.wrapping_abs()),
    fn merge(a: f64, b: f64) -> f64 { a + b }
    fn merge_int(a: i64, b: i64) -> i64 { a.wrapping_add(b) });

/// Every reduction above, for the CUDA kernels' list (`crate::cuda_sources`).
pub(crate) fn cuda_kernels(out: &mut Vec<crate::cuda_sources::Listed>) {
    use crate::cuda_sources::reduction;
    reduction::<Sum>("sum", out);
    reduction::<Mean>("mean", out);
    reduction::<Prod>("prod", out);
    reduction::<Max>("max", out);
    reduction::<Min>("min", out);
    reduction::<NanSum>("nansum", out);
    reduction::<NanProd>("nanprod", out);
    reduction::<L2>("norm2", out);
    reduction::<L1>("norm1", out);
}

/// Parsed `axis`, `keepdims`, `exclude`.
pub struct ReduceAxes {
    pub axis: Option<Vec<i64>>,
    pub keepdims: bool,
    pub exclude: bool,
}

impl ReduceAxes {
    pub fn parse(op: &str, attrs: &Attrs) -> Result<Self> {
        Ok(ReduceAxes { axis: attrs.ints(op, "axis")?, keepdims: attrs.bool(op, "keepdims", false)?, exclude: attrs.bool(op, "exclude", false)? })
    }

    /// The reduced axes, and the output shape.
    pub fn resolve(&self, op: &str, shape: &[usize]) -> Result<(Vec<usize>, Shape)> {
        // MXNet reads `axis=()` as "all axes", like None.
        let reduced = match self.axis.as_deref() {
            // `axis=()` reduces every axis, with or without `exclude` (nothing is excluded).
            Some([]) => (0..shape.len()).collect(),
            given => axes(op, given, shape.len(), self.exclude)?,
        };
        let mut out: Shape = Shape::new();
        for (d, &n) in shape.iter().enumerate() {
            if !reduced.contains(&d) {
                out.push(n);
            } else if self.keepdims {
                out.push(1);
            }
        }
        if out.is_empty() {
            out.push(1);
        }
        Ok((reduced, out))
    }
}

struct Reduce<R> {
    name: &'static str,
    axes: ReduceAxes,
    /// `norm`'s `out_dtype`: the result is computed in the input dtype, then cast.
    out_dtype: Option<DType>,
    r: PhantomData<fn() -> R>,
}

impl<R: ReduceFn> Operator for Reduce<R> {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if inputs[0].dtype == DType::Bool {
            return Err(dtype_err(self.name, "bool arrays cannot be reduced; cast them first"));
        }
        let (_, shape) = self.axes.resolve(self.name, &inputs[0].shape)?;
        Ok(vec![TensorDesc { shape, dtype: self.out_dtype.unwrap_or(inputs[0].dtype) }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (reduced, _) = self.axes.resolve(self.name, &inputs[0].shape)?;
        reduce::reduce::<R>(&inputs[0], &reduced, &mut outputs[0])?;
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let mut attrs = args.attrs.clone();
        attrs.set("fn", self.name);
        let dx = g.op1("_backward_reduce", &attrs, &[args.out_grads[0], args.inputs[0], args.outputs[0]])?;
        Ok(vec![Some(dx)])
    }
}

fn create<R: ReduceFn>(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(Reduce::<R> { name, axes: ReduceAxes::parse(name, attrs)?, out_dtype: None, r: PhantomData }))
}

fn norm_ord(name: &str, attrs: &Attrs) -> Result<i64> {
    match attrs.int(name, "ord", 2)? {
        ord @ (1 | 2) => Ok(ord),
        ord => Err(param_err(name, "ord", format!("only 1 and 2 are supported, got {ord}"))),
    }
}

fn create_norm(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let axes = ReduceAxes { axis: attrs.ints(name, "axis")?, keepdims: attrs.bool(name, "keepdims", false)?, exclude: false };
    let out_dtype = attrs.opt_dtype(name, "out_dtype")?;
    Ok(match norm_ord(name, attrs)? {
        2 => Box::new(Reduce::<L2> { name, axes, out_dtype, r: PhantomData }),
        _ => Box::new(Reduce::<L1> { name, axes, out_dtype, r: PhantomData }),
    })
}

/// What `_backward_reduce` multiplies the broadcast output gradient by.
#[derive(Clone, Copy)]
enum Partial {
    One,
    Mean,
    Arg,
    Prod,
    NanOne,
    NanProd,
    L2,
    L1,
    Var,
}

/// `_backward_reduce`: `[out_grad, data, out]` to the gradient of `data` (module doc).
struct ReduceBackward {
    name: &'static str,
    partial: Partial,
    axes: ReduceAxes,
}

impl ReduceBackward {
    /// `dx` from `[g, x, y]`, the reduction's partial derivative chosen by `self.partial`; `n`
    /// is the number of elements reduced into each output.
    fn run(&self, [g, x, y]: [&Tensor; 3], reduced: &[usize], n: f64, dx: &mut Tensor) -> rmx_kernels::KernelResult<()> {
        // Each arm is its own formula type, so the kernel is specialized per partial.
        match self.partial {
            Partial::One => broadcast_back(g, x, y, reduced, dx, &PassOne),
            Partial::Mean => broadcast_back(g, x, y, reduced, dx, &MeanGrad(n)),
            Partial::Arg => broadcast_back(g, x, y, reduced, dx, &ArgGrad),
            Partial::Prod => broadcast_back(g, x, y, reduced, dx, &ProdGrad),
            Partial::NanOne => broadcast_back(g, x, y, reduced, dx, &NanOneGrad),
            Partial::NanProd => broadcast_back(g, x, y, reduced, dx, &NanProdGrad),
            Partial::L2 => broadcast_back(g, x, y, reduced, dx, &L2Grad),
            Partial::L1 => broadcast_back(g, x, y, reduced, dx, &L1Grad),
            Partial::Var => broadcast_back(g, x, y, reduced, dx, &VarGrad(n)),
        }
    }
}

/// The sum's partial: the output gradient itself, in its own dtype (no float round trip).
struct PassOne;

impl Ternary for PassOne {
    fn formula<T: Element>(&self) -> impl Fn(T, T, T) -> T + Sync + '_ {
        |g: T, _, _| g
    }
}

/// The mean's partial: `g / n`, `n` the count reduced into each output.
struct MeanGrad(f64);

impl Ternary for MeanGrad {
    fn formula<T: Element>(&self) -> impl Fn(T, T, T) -> T + Sync + '_ {
        let n = self.0;
        move |g: T, _x: T, _y: T| {
            let (g, _x, _y) = (g.to_f64(), _x.to_f64(), _y.to_f64());
            T::from_f64(g / n)
        }
    }
}

/// The biased variance's partial (`moments`), with `y` the mean: `g·2(x - y)/n`.
struct VarGrad(f64);

impl Ternary for VarGrad {
    fn formula<T: Element>(&self) -> impl Fn(T, T, T) -> T + Sync + '_ {
        let n = self.0;
        move |g: T, x: T, y: T| T::from_f64(g.to_f64() * 2.0 * (x.to_f64() - y.to_f64()) / n)
    }
}

/// A partial `dx = e(g, x, y)` computed in float64 from the output gradient `g`, the data `x`
/// and the result `y`.
macro_rules! partial {
    ($name:ident, |$g:ident, $x:ident, $y:ident| $e:expr) => {
        struct $name;
        impl Ternary for $name {
            fn formula<T: Element>(&self) -> impl Fn(T, T, T) -> T + Sync + '_ {
                |$g: T, $x: T, $y: T| {
                    let ($g, $x, $y) = ($g.to_f64(), $x.to_f64(), $y.to_f64());
                    T::from_f64($e)
                }
            }
        }
    };
}

partial!(ArgGrad, |g, x, y| if x == y { g } else { 0.0 });
partial!(ProdGrad, |g, x, y| g * y / x);
partial!(NanOneGrad, |g, x, _y| if x.is_nan() { 0.0 } else { g });
partial!(NanProdGrad, |g, x, y| if x.is_nan() { 0.0 } else { g * y / x });
partial!(L2Grad, |g, x, y| if y == 0.0 { 0.0 } else { g * x / y });
partial!(L1Grad, |g, x, _y| if x > 0.0 { g } else if x < 0.0 { -g } else { 0.0 });

impl Operator for ReduceBackward {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (g, x, y) = (&inputs[0], &inputs[1], &inputs[2]);
        same_dtype(self.name, [g.dtype, y.dtype])?;
        let (_, shape) = self.axes.resolve(self.name, &x.shape)?;
        if g.shape != shape || y.shape != shape {
            return Err(shape_err(
                self.name,
                format!("out_grad {:?} and out {:?} must have the reduced shape {:?} of data {:?}", g.shape.as_slice(), y.shape.as_slice(), shape.as_slice(), x.shape.as_slice()),
            ));
        }
        Ok(vec![x.clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let x = &inputs[1];
        let (reduced, _) = self.axes.resolve(self.name, &x.shape)?;
        let n = reduced.iter().map(|&d| x.shape[d]).product::<usize>() as f64;
        // `norm`'s out_dtype: the primitive reads the gradient and result in the data's dtype.
        self.run([&inputs[0], x, &inputs[2]], &reduced, n, &mut outputs[0])?;
        Ok(())
    }
}

fn create_backward(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let f = attrs.get("fn").ok_or_else(|| param_err(name, "fn", "required"))?;
    let partial = match f {
        "sum" => Partial::One,
        "mean" => Partial::Mean,
        "max" | "min" => Partial::Arg,
        "prod" => Partial::Prod,
        "nansum" => Partial::NanOne,
        "nanprod" => Partial::NanProd,
        "norm" if norm_ord(name, attrs)? == 2 => Partial::L2,
        "norm" => Partial::L1,
        "moments_var" => Partial::Var,
        _ => return Err(param_err(name, "fn", format!("no reduction named {f:?}"))),
    };
    Ok(Box::new(ReduceBackward { name, partial, axes: ReduceAxes::parse(name, attrs)? }))
}

const PARAMS: &[ParamDoc] = &[
    param("axis", "Shape or None", "None", "axes to reduce; all when None"),
    param("keepdims", "boolean", "False", "keep reduced axes with size 1"),
    param("exclude", "boolean", "False", "reduce every axis except those in `axis`"),
];

macro_rules! defs {
    ($($name:literal, [$($alias:literal),*], $f:ty, $doc:literal;)*) => {
        pub static DEFS: &[OpDef] = &[$(OpDef {
            name: $name, aliases: &[$($alias),*], doc: $doc, inputs: Arity::Fixed(&["data"]), params: PARAMS, create: create::<$f>,
        },)* OpDef {
            name: "norm", aliases: &[], doc: "The L2 (ord=2) or L1 (ord=1) norm over `axis` (all axes by default).",
            inputs: Arity::Fixed(&["data"]),
            params: &[
                param("ord", "int", "2", "1 or 2"),
                param("axis", "Shape or None", "None", "axes to reduce"),
                param("keepdims", "boolean", "False", "keep reduced axes with size 1"),
                param("out_dtype", "dtype or None", "None", "dtype of the result (the input's when None)"),
            ],
            create: create_norm,
        }, OpDef {
            name: "_backward_reduce", aliases: &[],
            doc: "Gradient of a reduction: [out_grad, data, out] to data_grad; `fn` names the reduction.",
            inputs: Arity::Fixed(&["out_grad", "data", "out"]),
            params: &[
                param("fn", "string", "", "the reduction: sum, mean, prod, max, min, nansum, nanprod, norm, or moments_var (the variance, `out` being the mean)"),
                param("axis", "Shape or None", "None", "as the reduction's"),
                param("keepdims", "boolean", "False", "as the reduction's"),
                param("exclude", "boolean", "False", "as the reduction's"),
                param("ord", "int", "2", "norm's order"),
                param("out_dtype", "dtype or None", "None", "norm's result dtype"),
            ],
            create: create_backward,
        }];
    };
}

defs! {
    // The `_axis` aliases are MXNet 0.x's names, which 1.x still registers.
    "sum", ["sum_axis"], Sum, "Sum over `axis`.";
    "mean", [], Mean, "Mean over `axis`.";
    "prod", [], Prod, "Product over `axis`.";
    "max", ["max_axis"], Max, "Maximum over `axis`.";
    "min", ["min_axis"], Min, "Minimum over `axis`.";
    "nansum", [], NanSum, "Sum over `axis`, NaN counted as 0.";
    "nanprod", [], NanProd, "Product over `axis`, NaN counted as 1.";
}
