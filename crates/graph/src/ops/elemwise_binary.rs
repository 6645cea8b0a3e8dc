//! Two-input elementwise operators: the `elemwise_*` family (equal shapes, as `Symbol`'s `+`
//! requires) and the `broadcast_*` family (NumPy broadcasting, what `NDArray`'s `+` uses).
//! `y[i] = f(lhs[i], rhs[i])`; comparisons and logic give 1 or 0 in the input dtype, as MXNet 1.x.

use std::marker::PhantomData;

use rmx_engine::BoxError;
use rmx_kernels::elementwise::{zip, zip_broadcast};
use rmx_kernels::{broadcast_shapes, with_dtype, BinaryFn, DType, Layout};

use super::binary_math::*;
use crate::attrs::Attrs;
use crate::error::{dtype_err, same_dtype, shape_err, Result};
use crate::operator::{Arity, Operator, Tensor, TensorDesc};

struct Elemwise<F> {
    name: &'static str,
    broadcast: bool,
    f: PhantomData<fn() -> F>,
}

impl<F: BinaryFn> Operator for Elemwise<F> {
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

    fn compute(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (l, r) = (&inputs[0], &inputs[1]);
        let out = &mut outputs[0];
        with_dtype!(out.dtype, T => {
            if l.shape == r.shape {
                zip::<T, F>(l.data::<T>(), r.data::<T>(), out.data_mut::<T>());
            } else {
                let shape = out.shape.clone();
                let ls = Layout::contiguous(&l.shape).broadcast_strides(&shape);
                let rs = Layout::contiguous(&r.shape).broadcast_strides(&shape);
                zip_broadcast::<T, F>(&shape, l.data::<T>(), &ls, r.data::<T>(), &rs, out.data_mut::<T>());
            }
        });
        Ok(())
    }
}

fn create<F: BinaryFn>(name: &'static str, _attrs: &Attrs) -> Result<Box<dyn Operator>> {
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
