//! Two-input elementwise operators: the `elemwise_*` family (equal shapes, as `Symbol`'s `+`
//! requires) and the `broadcast_*` family (NumPy broadcasting, what `NDArray`'s `+` uses).
//! `y[i] = f(lhs[i], rhs[i])`; comparisons and logic give 1 or 0 in the input dtype, as MXNet 1.x.
//!
//! Gradients: `_backward_binary` (`fn` names the function) makes both input gradients in one pass
//! (summed down to each input's shape where it was broadcast). `elemwise_add`/`elemwise_sub` pass
//! the output gradient on directly. Comparisons and logic are piecewise constant: no gradient
//! flows (`None`, which the gradient pass reads as zeros, MXNet's answer).

use std::marker::PhantomData;

use rmx_engine::BoxError;
use rmx_kernels::elementwise::{self, Ternary2};
use rmx_kernels::{broadcast_shapes, DType, Element};

use super::binary_math::*;
use super::reduce::Sum;
use crate::attrs::Attrs;
use crate::error::{dtype_err, param_err, same_dtype, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, BlockKernel, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Elemwise<F> {
    name: &'static str,
    broadcast: bool,
    f: PhantomData<fn() -> F>,
}

impl<F: BinaryGrad> Operator for Elemwise<F> {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (l, r) = (&inputs[0], &inputs[1]);
        let dtype = same_dtype(self.name, [l.dtype, r.dtype])?;
        if dtype == DType::Bool && !self.name.contains("logical") && !self.name.contains("equal") {
            return Err(dtype_err(self.name, "bool arrays support only comparisons and logic; cast them first"));
        }
        let shape = if self.broadcast {
            broadcast_shapes(&l.shape, &r.shape).ok_or_else(|| {
                shape_err(self.name, format!("operands could not be broadcast together with shapes {:?} {:?}", l.shape.as_slice(), r.shape.as_slice()))
            })?
        } else if l.shape == r.shape {
            l.shape.clone()
        } else {
            return Err(shape_err(self.name, format!("shapes must be equal, got lhs {:?} and rhs {:?} (use broadcast_* to broadcast)", l.shape.as_slice(), r.shape.as_slice())));
        };
        Ok(vec![TensorDesc { shape, dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (l, r) = (&inputs[0], &inputs[1]);
        let out = &mut outputs[0];
        if l.shape == r.shape {
            elementwise::zip::<F>(l, r, out)?;
        } else if l.ptr() == out.ptr() || r.ptr() == out.ptr() {
            return Err(format!("{}: broadcasting in place is not supported", self.name).into());
        } else {
            elementwise::zip_broadcast::<F>(l, r, out)?;
        }
        Ok(())
    }

    /// Either input, when it has the output's shape (the planner checks the sizes).
    fn inplace_option(&self) -> Vec<(usize, usize)> {
        if self.broadcast { Vec::new() } else { vec![(0, 0), (1, 0)] }
    }

    fn block_kernel(&self) -> Option<BlockKernel> {
        (!self.broadcast).then(BlockKernel::zip::<F>)
    }

    /// `_backward_binary`'s kernel, or `_backward_scalar`'s when the node has a `scalar`.
    fn elementwise_backward(&self, attrs: &Attrs) -> Option<Result<Box<dyn Operator>>> {
        F::GRAD?;
        if attrs.get("scalar").is_some() {
            return Some(super::scalar_binary::scalar_backward::<F>("_backward_scalar", attrs));
        }
        Some(Ok(Box::new(BinaryBackward::<F> { f: PhantomData }) as Box<dyn Operator>))
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let Some(kind) = F::GRAD else { return Ok(vec![None, None]) };
        let og = args.out_grads[0];
        match (self.broadcast, kind) {
            (false, "add") => Ok(vec![Some(og), Some(og)]),
            (false, "sub") => Ok(vec![Some(og), Some(g.neg(og)?)]),
            _ => {
                let d = g.op("_backward_binary", &Attrs::from_pairs([("fn", kind)]), &[og, args.inputs[0], args.inputs[1]])?;
                Ok(vec![Some(d[0]), Some(d[1])])
            }
        }
    }
}

fn create<F: BinaryGrad>(name: &'static str, _attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(Elemwise::<F> { name, broadcast: name.starts_with("broadcast_"), f: PhantomData }))
}

family! {
    Arity::Fixed(&["lhs", "rhs"]), &[], create;
    "elemwise_add", ["_plus", "_Plus", "_add"], Add, "lhs + rhs, elementwise; shapes must be equal.";
    "elemwise_sub", ["_minus", "_Minus", "_sub"], Sub, "lhs - rhs, elementwise; shapes must be equal.";
    "elemwise_mul", ["_mul", "_Mul"], Mul, "lhs * rhs, elementwise; shapes must be equal.";
    "elemwise_div", ["_div", "_Div"], Div, "lhs / rhs, elementwise; shapes must be equal.";
    "_mod", ["_Mod"], Mod, "lhs % rhs (sign of rhs, as Python), elementwise.";
    "_power", ["_Power"], Power, "lhs ** rhs, elementwise.";
    "_maximum", ["_Maximum"], Maximum, "max(lhs, rhs), elementwise.";
    "_minimum", ["_Minimum"], Minimum, "min(lhs, rhs), elementwise.";
    "_equal", [], Equal, "1 where lhs == rhs else 0, in the input dtype.";
    "_not_equal", [], NotEqual, "1 where lhs != rhs else 0.";
    "_greater", [], Greater, "1 where lhs > rhs else 0.";
    "_greater_equal", [], GreaterEqual, "1 where lhs >= rhs else 0.";
    "_lesser", [], Lesser, "1 where lhs < rhs else 0.";
    "_lesser_equal", [], LesserEqual, "1 where lhs <= rhs else 0.";
    "_logical_and", [], LogicalAnd, "1 where both are non-zero else 0.";
    "_logical_or", [], LogicalOr, "1 where either is non-zero else 0.";
    "_logical_xor", [], LogicalXor, "1 where exactly one is non-zero else 0.";
    "_hypot", [], Hypot, "sqrt(lhs**2 + rhs**2), elementwise.";
    "broadcast_add", ["broadcast_plus"], Add, "lhs + rhs with NumPy broadcasting.";
    "broadcast_sub", ["broadcast_minus"], Sub, "lhs - rhs with broadcasting.";
    "broadcast_mul", [], Mul, "lhs * rhs with broadcasting.";
    "broadcast_div", [], Div, "lhs / rhs with broadcasting.";
    "broadcast_mod", [], Mod, "lhs % rhs with broadcasting.";
    "broadcast_power", [], Power, "lhs ** rhs with broadcasting.";
    "broadcast_maximum", [], Maximum, "max(lhs, rhs) with broadcasting.";
    "broadcast_minimum", [], Minimum, "min(lhs, rhs) with broadcasting.";
    "broadcast_equal", [], Equal, "lhs == rhs (1/0) with broadcasting.";
    "broadcast_not_equal", [], NotEqual, "lhs != rhs (1/0) with broadcasting.";
    "broadcast_greater", [], Greater, "lhs > rhs (1/0) with broadcasting.";
    "broadcast_greater_equal", [], GreaterEqual, "lhs >= rhs (1/0) with broadcasting.";
    "broadcast_lesser", [], Lesser, "lhs < rhs (1/0) with broadcasting.";
    "broadcast_lesser_equal", [], LesserEqual, "lhs <= rhs (1/0) with broadcasting.";
    "broadcast_logical_and", [], LogicalAnd, "lhs and rhs (1/0) with broadcasting.";
    "broadcast_logical_or", [], LogicalOr, "lhs or rhs (1/0) with broadcasting.";
    "broadcast_logical_xor", [], LogicalXor, "lhs xor rhs (1/0) with broadcasting.";
    "broadcast_hypot", [], Hypot, "sqrt(lhs**2 + rhs**2) with broadcasting.";
}

/// `_backward_binary`: inputs `[out_grad, lhs, rhs]`, outputs `[lhs_grad, rhs_grad]`, each of its
/// input's shape: `out_grad * df/d(input)` at the broadcast shape, summed down where the input
/// was broadcast.
struct BinaryBackward<F> {
    f: PhantomData<fn() -> F>,
}

impl<F: BinaryGrad> Operator for BinaryBackward<F> {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (g, l, r) = (&inputs[0], &inputs[1], &inputs[2]);
        let dtype = same_dtype("_backward_binary", [g.dtype, l.dtype, r.dtype])?;
        if dtype == DType::Bool {
            return Err(dtype_err("_backward_binary", "bool arrays have no gradient"));
        }
        if broadcast_shapes(&l.shape, &r.shape).as_deref() != Some(g.shape.as_slice()) {
            return Err(shape_err(
                "_backward_binary",
                format!("out_grad {:?} is not the broadcast of lhs {:?} and rhs {:?}", g.shape.as_slice(), l.shape.as_slice(), r.shape.as_slice()),
            ));
        }
        Ok(vec![l.clone(), r.clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (first, second) = outputs.split_at_mut(1);
        // add and sub: each partial is a constant, so the gradient is out_grad summed, scaled.
        let constant = matches!(F::GRAD, Some("add" | "sub")).then(|| {
            let (dl, dr) = F::grad_f64(0.0, 0.0);
            [dl, dr]
        });
        elementwise::zip_grad::<Sum, _>(&inputs[0], &inputs[1], &inputs[2], &mut first[0], &mut second[0], self, constant)?;
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        2
    }
}

/// `(g * df/dl, g * df/dr)`.
impl<F: BinaryGrad> Ternary2 for BinaryBackward<F> {
    fn formula<T: Element>(&self) -> impl Fn(T, T, T) -> (T, T) + Sync + '_ {
        |g: T, a: T, b: T| scaled_grad::<T, F>(g, a, b)
    }
}

fn create_backward(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    // `fn` names the function (`BinaryGrad::GRAD`); its `broadcast_<fn>` operator makes the kernel.
    let f = attrs.get("fn").ok_or_else(|| param_err(name, "fn", "required"))?;
    crate::operator::elementwise_backward(name, &format!("broadcast_{f}"), attrs)
}

/// The backward kernels of this family (hidden by their leading underscore).
pub static BACKWARD_DEFS: &[OpDef] = &[OpDef {
    name: "_backward_binary",
    aliases: &[],
    doc: "Gradients of a two-input elementwise or broadcast operator: [out_grad, lhs, rhs] to [lhs_grad, rhs_grad].",
    inputs: Arity::Fixed(&["out_grad", "lhs", "rhs"]),
    params: &[param("fn", "string", "", "the function: add, sub, mul, div, mod, power, maximum, minimum or hypot")],
    create: create_backward,
}];
