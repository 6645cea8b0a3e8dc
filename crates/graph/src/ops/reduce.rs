//! Reductions: `sum`, `mean`, `prod`, `max`, `min`, `nansum`, `nanprod` and `norm` over `axis`
//! (an int, a tuple, or all axes), with `keepdims` and `exclude` (reduce every axis but those).
//! Reducing every axis without keepdims gives shape (1,): MXNet 1.x has no 0-d arrays.

use std::marker::PhantomData;

use rmx_engine::BoxError;
use rmx_kernels::copy::copy_strided;
use rmx_kernels::reduce::reduce;
use rmx_kernels::{contiguous_strides, with_dtype, DType, ReduceFn, Shape, Storage};

use super::axes::{axes, split_around};
use crate::attrs::Attrs;
use crate::error::{dtype_err, Result};
use crate::operator::{param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

/// A reduction's math: float init and step, integer init and step; the optional parts say how
/// partial results merge and how the result is finished when that differs from the defaults.
macro_rules! reduce_fn {
    ($name:ident, $init:expr, |$a:ident, $x:ident| $step:expr, $init_int:expr, |$ai:ident, $xi:ident| $step_int:expr $(, $($rest:tt)*)?) => {
        pub struct $name;
        impl ReduceFn for $name {
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

reduce_fn!(Sum, 0.0, |a, x| a + x, 0, |a, x| a.wrapping_add(x));
reduce_fn!(Mean, 0.0, |a, x| a + x, 0, |a, x| a.wrapping_add(x),
    fn finish(a: f64, n: usize) -> f64 { a / n as f64 }
    fn finish_int(a: i64, n: usize) -> i64 { a / n.max(1) as i64 });
reduce_fn!(Prod, 1.0, |a, x| a * x, 1, |a, x| a.wrapping_mul(x));
reduce_fn!(Max, f64::NEG_INFINITY, |a, x| if x > a || x.is_nan() { x } else { a }, i64::MIN, |a, x| a.max(x));
reduce_fn!(Min, f64::INFINITY, |a, x| if x < a || x.is_nan() { x } else { a }, i64::MAX, |a, x| a.min(x));
reduce_fn!(NanSum, 0.0, |a, x| if x.is_nan() { a } else { a + x }, 0, |a, x| a.wrapping_add(x));
reduce_fn!(NanProd, 1.0, |a, x| if x.is_nan() { a } else { a * x }, 1, |a, x| a.wrapping_mul(x));
reduce_fn!(L2, 0.0, |a, x| a + x * x, 0, |a, x| a.wrapping_add(x.wrapping_mul(x)),
    fn merge(a: f64, b: f64) -> f64 { a + b }
    fn finish(a: f64, _n: usize) -> f64 { a.sqrt() }
    const EXACT_INT: bool = false;);
reduce_fn!(L1, 0.0, |a, x| a + x.abs(), 0, |a, x| a.wrapping_add(x.wrapping_abs()),
    fn merge(a: f64, b: f64) -> f64 { a + b }
    fn merge_int(a: i64, b: i64) -> i64 { a.wrapping_add(b) });

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

    fn compute(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let x = &inputs[0];
        let (reduced, _) = self.axes.resolve(self.name, &x.shape)?;
        let view = ReduceView::new(x, &reduced);
        let out = &mut outputs[0];
        if out.dtype == x.dtype {
            with_dtype!(x.dtype, T => reduce::<T, R>(view.data::<T>(x), view.outer, view.len, view.inner, out.data_mut::<T>()));
        } else {
            with_dtype!(x.dtype, T => {
                let mut tmp = vec![T::default(); out.numel()];
                reduce::<T, R>(view.data::<T>(x), view.outer, view.len, view.inner, &mut tmp);
                with_dtype!(out.dtype, D => rmx_kernels::elementwise::cast::<T, D>(&tmp, out.data_mut::<D>()));
            });
        }
        Ok(())
    }
}

/// The input seen as `(outer, len, inner)` with the reduced axes in the middle: the input itself
/// when they are adjacent, else a transposed copy with them last.
pub struct ReduceView {
    pub outer: usize,
    pub len: usize,
    pub inner: usize,
    scratch: Option<Storage>,
}

impl ReduceView {
    pub fn new(x: &Tensor, reduced: &[usize]) -> Self {
        let shape = &x.shape;
        if reduced.is_empty() {
            return ReduceView { outer: x.numel(), len: 1, inner: 1, scratch: None };
        }
        let (first, last) = (reduced[0], *reduced.last().unwrap());
        if last - first + 1 == reduced.len() {
            let (outer, len, inner) = split_around(shape, first, last);
            return ReduceView { outer, len, inner, scratch: None };
        }
        let kept: Vec<usize> = (0..shape.len()).filter(|d| !reduced.contains(d)).collect();
        let order: Vec<usize> = kept.iter().chain(reduced).copied().collect();
        let src = contiguous_strides(shape);
        let perm_shape: Vec<usize> = order.iter().map(|&d| shape[d]).collect();
        let perm_strides: Vec<isize> = order.iter().map(|&d| src[d]).collect();
        let buf = Storage::zeroed(x.numel() * x.dtype.size(), rmx_engine::Context::cpu(0));
        // SAFETY: `x` is this push's input; `buf` is fresh and holds as many elements.
        unsafe { copy_strided(x.dtype.size(), &perm_shape, x.ptr(), &perm_strides, buf.as_ptr(), &contiguous_strides(&perm_shape)) };
        let len: usize = reduced.iter().map(|&d| shape[d]).product();
        ReduceView { outer: x.numel() / len.max(1), len, inner: 1, scratch: Some(buf) }
    }

    pub fn data<'a, T: rmx_kernels::Element>(&'a self, x: &'a Tensor) -> &'a [T] {
        match &self.scratch {
            // SAFETY: the scratch holds the permuted copy of `x`, same length and dtype.
            Some(buf) => unsafe { buf.slice::<T>(0, x.numel()) },
            None => x.data::<T>(),
        }
    }
}

fn create<R: ReduceFn>(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(Reduce::<R> { name, axes: ReduceAxes::parse(name, attrs)?, out_dtype: None, r: PhantomData }))
}

fn create_norm(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let ord = attrs.int(name, "ord", 2)?;
    let axes = ReduceAxes { axis: attrs.ints(name, "axis")?, keepdims: attrs.bool(name, "keepdims", false)?, exclude: false };
    let out_dtype = attrs.opt_dtype(name, "out_dtype")?;
    match ord {
        2 => Ok(Box::new(Reduce::<L2> { name, axes, out_dtype, r: PhantomData })),
        1 => Ok(Box::new(Reduce::<L1> { name, axes, out_dtype, r: PhantomData })),
        _ => Err(crate::error::param_err(name, "ord", format!("only 1 and 2 are supported, got {ord}"))),
    }
}

const PARAMS: &[ParamDoc] = &[
    param("axis", "Shape or None", "None", "axes to reduce; all when None"),
    param("keepdims", "boolean", "False", "keep reduced axes with size 1"),
    param("exclude", "boolean", "False", "reduce every axis except those in `axis`"),
];

macro_rules! defs {
    ($($name:literal, $f:ty, $doc:literal;)*) => {
        pub static DEFS: &[OpDef] = &[$(OpDef {
            name: $name, aliases: &[], doc: $doc, inputs: Arity::Fixed(&["data"]), params: PARAMS, create: create::<$f>,
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
        }];
    };
}

defs! {
    "sum", Sum, "Sum over `axis`.";
    "mean", Mean, "Mean over `axis`.";
    "prod", Prod, "Product over `axis`.";
    "max", Max, "Maximum over `axis`.";
    "min", Min, "Minimum over `axis`.";
    "nansum", NanSum, "Sum over `axis`, NaN counted as 0.";
    "nanprod", NanProd, "Product over `axis`, NaN counted as 1.";
}
