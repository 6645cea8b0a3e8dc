//! `argmax` and `argmin`: the index of the first maximum (minimum) along `axis`, in the input's
//! dtype, as MXNet 1.x returns it; with no axis, over the flattened input (shape (1,)).
//! Indices are piecewise constant in the input: no gradient flows (MXNet gives zeros).

use rmx_engine::BoxError;
use rmx_kernels::reduce::arg_reduce;
use rmx_kernels::Shape;

use super::axes::{axis, split_around};
use crate::attrs::Attrs;
use crate::error::Result;
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct ArgReduce {
    name: &'static str,
    axis: Option<i64>,
    keepdims: bool,
    want_max: bool,
}

impl ArgReduce {
    fn geometry(&self, shape: &[usize]) -> Result<((usize, usize, usize), Shape)> {
        match self.axis {
            None => Ok(((1, shape.iter().product(), 1), Shape::from_slice(&[1]))),
            Some(a) => {
                let a = axis(self.name, "axis", a, shape.len())?;
                let mut out: Shape = shape.into();
                if self.keepdims {
                    out[a] = 1;
                } else {
                    out.remove(a);
                    if out.is_empty() {
                        out.push(1);
                    }
                }
                Ok((split_around(shape, a, a), out))
            }
        }
    }
}

impl Operator for ArgReduce {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let ((_, len, _), shape) = self.geometry(&inputs[0].shape)?;
        if len == 0 {
            return Err(crate::error::shape_err(self.name, format!("no elements to choose from along the axis of shape {:?}", inputs[0].shape.as_slice())));
        }
        Ok(vec![TensorDesc { shape, dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let ((outer, len, inner), _) = self.geometry(&inputs[0].shape)?;
        arg_reduce(&inputs[0], outer, len, inner, self.want_max, &mut outputs[0])?;
        Ok(())
    }

    fn gradient(&self, _g: &mut dyn GradBuilder, _args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![None])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    if name == "argmax_channel" {
        // MXNet's legacy form: the maximum over axis 1, the channels of an NC... batch.
        return Ok(Box::new(ArgReduce { name, axis: Some(1), keepdims: false, want_max: true }));
    }
    Ok(Box::new(ArgReduce { name, axis: attrs.opt_int(name, "axis")?, keepdims: attrs.bool(name, "keepdims", false)?, want_max: name == "argmax" }))
}

const PARAMS: &[crate::operator::ParamDoc] = &[
    param("axis", "int or None", "None", "the axis; the flattened input when None"),
    param("keepdims", "boolean", "False", "keep the axis with size 1"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "argmax", aliases: &[], doc: "Index of the maximum along `axis`.", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef { name: "argmax_channel", aliases: &[], doc: "Index of the maximum along axis 1 (legacy).", inputs: Arity::Fixed(&["data"]), params: &[], create },
    OpDef { name: "argmin", aliases: &[], doc: "Index of the minimum along `axis`.", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
];
