//! `expand_dims`: inserts an axis of size 1 at `axis` (which may equal ndim; negative counts
//! from the end of the output).

use rmx_engine::BoxError;
use rmx_kernels::copy;

use super::reshape_like::reshape_grad;
use crate::attrs::Attrs;
use crate::error::{param_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct ExpandDims {
    name: &'static str,
    axis: i64,
}

impl Operator for ExpandDims {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let n = inputs[0].shape.len() as i64;
        let a = if self.axis < 0 { self.axis + n + 1 } else { self.axis };
        if a < 0 || a > n {
            return Err(param_err(self.name, "axis", format!("{} is out of range for a {n}-d input", self.axis)));
        }
        let mut shape = inputs[0].shape.clone();
        shape.insert(a as usize, 1);
        Ok(vec![TensorDesc { shape, dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        copy::dense(&inputs[0], &mut outputs[0])?;
        Ok(())
    }

    /// Shape-only: the gradient is the output gradient in the input's shape.
    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(reshape_grad(g, args)?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let axis = attrs.opt_int(name, "axis")?.ok_or_else(|| param_err(name, "axis", "required"))?;
    Ok(Box::new(ExpandDims { name, axis }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "expand_dims",
    aliases: &[],
    doc: "Inserts a new axis of size 1.",
    inputs: Arity::Fixed(&["data"]),
    params: &[param("axis", "int", "", "position of the new axis")],
    create,
}];
