//! `one_hot`: `indices` of any shape to a new last axis of `depth`, `on_value` at the index and
//! `off_value` elsewhere; indices outside `[0, depth)` give an all-off row. Piecewise constant in
//! the indices: no gradient flows.

use rmx_engine::BoxError;
use rmx_kernels::{gather, DType};

use crate::attrs::Attrs;
use crate::error::{param_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct OneHot {
    depth: usize,
    on: f64,
    off: f64,
    dtype: DType,
}

impl Operator for OneHot {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let mut shape = inputs[0].shape.clone();
        shape.push(self.depth);
        Ok(vec![TensorDesc { shape, dtype: self.dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        gather::one_hot(&inputs[0], self.on, self.off, &mut outputs[0])?;
        Ok(())
    }

    fn gradient(&self, _g: &mut dyn GradBuilder, _args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![None])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let depth = attrs.opt_int(name, "depth")?.ok_or_else(|| param_err(name, "depth", "required"))?;
    if depth < 0 {
        return Err(param_err(name, "depth", format!("must not be negative, got {depth}")));
    }
    Ok(Box::new(OneHot {
        depth: depth as usize,
        on: attrs.f64(name, "on_value", 1.0)?,
        off: attrs.f64(name, "off_value", 0.0)?,
        dtype: attrs.dtype(name, "dtype", DType::F32)?,
    }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "one_hot",
    aliases: &[],
    doc: "One-hot encoding of `indices` along a new last axis.",
    inputs: Arity::Fixed(&["indices"]),
    params: &[
        param("depth", "int", "", "size of the new axis"),
        param("on_value", "float", "1.0", "value at the index"),
        param("off_value", "float", "0.0", "value elsewhere"),
        param("dtype", "dtype", "float32", "output dtype"),
    ],
    create,
}];
