//! Array-with-scalar operators (`x + 2`, `2 - x`): `y[i] = f(x[i], scalar)`, or `f(scalar, x[i])`
//! for the reflected `_r*` forms. The scalar is cast to the array's dtype first, as MXNet does
//! (`int32 array + 1.5` adds 1).
//!
//! Gradients: sums and products by the scalar are plain calls (`og`, `-og`, `og * s`); the other
//! functions use `_backward_scalar`, one pass of `og * df/dx`. Comparisons and logic: none flows.

use std::marker::PhantomData;

use rmx_engine::BoxError;
use rmx_kernels::elementwise::{self, Ternary};
use rmx_kernels::{DType, Element};

use super::binary_math::*;
use crate::attrs::Attrs;
use crate::error::{dtype_err, param_err, same_dtype, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, BlockKernel, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

struct ScalarOp<F> {
    name: &'static str,
    scalar: f64,
    reflected: bool,
    f: PhantomData<fn() -> F>,
}

impl<F: BinaryGrad> Operator for ScalarOp<F> {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if inputs[0].dtype == DType::Bool {
            return Err(dtype_err(self.name, "bool arrays do not support arithmetic; cast them first"));
        }
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        elementwise::zip_scalar::<F>(&inputs[0], self.scalar, self.reflected, &mut outputs[0])?;
        Ok(())
    }

    fn inplace_option(&self) -> Vec<(usize, usize)> {
        vec![(0, 0)]
    }

    fn block_kernel(&self) -> Option<BlockKernel> {
        Some(BlockKernel::zip_scalar::<F>(self.scalar, self.reflected))
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let Some(kind) = F::GRAD else { return Ok(vec![None]) };
        let og = args.out_grads[0];
        let dx = match (kind, self.reflected) {
            ("add", _) | ("sub" | "mod", false) => og,
            ("sub", true) => g.neg(og)?,
            ("mul", _) => g.scale(og, self.scalar)?,
            ("div", false) => g.scale(og, 1.0 / self.scalar)?,
            _ => {
                let mut attrs = args.attrs.clone();
                attrs.set("fn", kind);
                // Written out: `smooth_l1` may have left its scalar to the default.
                attrs.set("scalar", self.scalar.to_string());
                attrs.set("reflected", if self.reflected { "True" } else { "False" });
                g.op1("_backward_scalar", &attrs, &[og, args.inputs[0]])?
            }
        };
        Ok(vec![Some(dx)])
    }
}

fn create<F: BinaryGrad>(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let scalar = attrs.required_f64(name, "scalar")?;
    Ok(Box::new(ScalarOp::<F> { name, scalar, reflected: name.starts_with("_r"), f: PhantomData }))
}

const PARAMS: &[ParamDoc] = &[param("scalar", "float", "", "the scalar operand")];

family! {
    Arity::Fixed(&["data"]), PARAMS, create;
    "_plus_scalar", ["_PlusScalar"], Add, "data + scalar.";
    "_minus_scalar", ["_MinusScalar"], Sub, "data - scalar.";
    "_rminus_scalar", ["_RMinusScalar"], Sub, "scalar - data.";
    "_mul_scalar", ["_MulScalar"], Mul, "data * scalar.";
    "_div_scalar", ["_DivScalar"], Div, "data / scalar.";
    "_rdiv_scalar", ["_RDivScalar"], Div, "scalar / data.";
    "_mod_scalar", ["_ModScalar"], Mod, "data % scalar.";
    "_rmod_scalar", ["_RModScalar"], Mod, "scalar % data.";
    "_power_scalar", ["_PowerScalar"], Power, "data ** scalar.";
    "_rpower_scalar", ["_RPowerScalar"], Power, "scalar ** data.";
    "_maximum_scalar", ["_MaximumScalar"], Maximum, "max(data, scalar).";
    "_minimum_scalar", ["_MinimumScalar"], Minimum, "min(data, scalar).";
    "_equal_scalar", ["_EqualScalar"], Equal, "data == scalar (1/0).";
    "_not_equal_scalar", ["_NotEqualScalar"], NotEqual, "data != scalar (1/0).";
    "_greater_scalar", ["_GreaterScalar"], Greater, "data > scalar (1/0).";
    "_greater_equal_scalar", ["_GreaterEqualScalar"], GreaterEqual, "data >= scalar (1/0).";
    "_lesser_scalar", ["_LesserScalar"], Lesser, "data < scalar (1/0).";
    "_lesser_equal_scalar", ["_LesserEqualScalar"], LesserEqual, "data <= scalar (1/0).";
    "_logical_and_scalar", [], LogicalAnd, "data and scalar (1/0).";
    "_logical_or_scalar", [], LogicalOr, "data or scalar (1/0).";
    "_logical_xor_scalar", [], LogicalXor, "data xor scalar (1/0).";
    "_hypot_scalar", [], Hypot, "sqrt(data**2 + scalar**2).";
}

/// `_backward_scalar`: `[out_grad, data]` to `out_grad * d/d data f(data, scalar)` (of
/// `f(scalar, data)` when `reflected`), one pass.
struct ScalarBackward<F> {
    scalar: f64,
    reflected: bool,
    f: PhantomData<fn() -> F>,
}

impl<F: BinaryGrad> Operator for ScalarBackward<F> {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let dtype = same_dtype("_backward_scalar", [inputs[0].dtype, inputs[1].dtype])?;
        if dtype == DType::Bool {
            return Err(dtype_err("_backward_scalar", "bool arrays have no gradient"));
        }
        if inputs[0].shape != inputs[1].shape {
            return Err(shape_err("_backward_scalar", format!("out_grad {:?} and data {:?} differ in shape", inputs[0].shape.as_slice(), inputs[1].shape.as_slice())));
        }
        Ok(vec![inputs[1].clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (g, x) = (&inputs[0], &inputs[1]);
        if self.reflected {
            elementwise::map3(g, x, x, &mut outputs[0], &Reflected(self))?;
        } else {
            elementwise::map3(g, x, x, &mut outputs[0], self)?;
        }
        Ok(())
    }
}

/// `dx = g * d/dx f(x, scalar)`, over `(g, x, x)`.
impl<F: BinaryGrad> Ternary for ScalarBackward<F> {
    fn formula<T: Element>(&self) -> impl Fn(T, T, T) -> T + Sync + '_ {
        let s = T::from_f64(self.scalar);
        move |g: T, x: T, _| scaled_grad::<T, F>(g, x, s).0
    }
}

/// `dx = g * d/dx f(scalar, x)` (the `_r*` operators), over `(g, x, x)`.
struct Reflected<'a, F>(&'a ScalarBackward<F>);

impl<F: BinaryGrad> Ternary for Reflected<'_, F> {
    fn formula<T: Element>(&self) -> impl Fn(T, T, T) -> T + Sync + '_ {
        let s = T::from_f64(self.0.scalar);
        move |g: T, x: T, _| scaled_grad::<T, F>(g, s, x).1
    }
}

fn create_backward(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    // `fn` names the function (`BinaryGrad::GRAD`); its `broadcast_<fn>` operator makes the kernel,
    // except for `smooth_l1`, which exists only with a scalar.
    let f = attrs.get("fn").ok_or_else(|| param_err(name, "fn", "required"))?;
    attrs.required_f64(name, "scalar")?;
    if f == SmoothL1::GRAD.unwrap_or_default() {
        return scalar_backward::<SmoothL1>(name, attrs);
    }
    crate::operator::elementwise_backward(name, &format!("broadcast_{f}"), attrs)
}

/// `smooth_l1`, whose scalar (σ) defaults to 1 where the arithmetic operators require theirs.
fn create_smooth_l1(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let scalar = attrs.f64(name, "scalar", 1.0)?;
    Ok(Box::new(ScalarOp::<SmoothL1> { name, scalar, reflected: false, f: PhantomData }))
}

pub static SMOOTH_L1_DEFS: &[OpDef] = &[OpDef {
    name: "smooth_l1",
    aliases: &[],
    doc: "Smooth L1: `0.5(σx)²` where `|x| < 1/σ²`, else `|x| - 0.5/σ²` (σ is `scalar`).",
    inputs: Arity::Fixed(&["data"]),
    params: &[param("scalar", "float", "1.0", "σ, which sets where the quadratic part ends (1/σ²)")],
    create: create_smooth_l1,
}];

/// `_backward_scalar`'s kernel for function `F`, from the node's `scalar` and `reflected`.
pub(crate) fn scalar_backward<F: BinaryGrad>(name: &str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let scalar = attrs.required_f64(name, "scalar")?;
    let reflected = attrs.bool(name, "reflected", false)?;
    Ok(Box::new(ScalarBackward::<F> { scalar, reflected, f: PhantomData }))
}

/// The backward kernel of this family (hidden by its leading underscore).
pub static BACKWARD_DEFS: &[OpDef] = &[OpDef {
    name: "_backward_scalar",
    aliases: &[],
    doc: "Gradient of an array-with-scalar operator: [out_grad, data] to data_grad.",
    inputs: Arity::Fixed(&["out_grad", "data"]),
    params: &[
        param("scalar", "float", "", "the scalar operand"),
        param("fn", "string", "", "the function, as `_backward_binary` names it"),
        param("reflected", "boolean", "False", "the scalar is the first argument (`_r*` operators)"),
    ],
    create: create_backward,
}];
