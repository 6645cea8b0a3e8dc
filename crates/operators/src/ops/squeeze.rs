//! `squeeze`: drops axes of size 1 (all of them, or those in `axis`, each of which must have size
//! 1). Dropping every axis of an array leaves shape `(1,)`, as MXNet 1.9.1 does.

use rmx_engine::BoxError;
use rmx_kernels::{copy, Shape};

use super::axes::axes;
use super::reshape_like::reshape_grad;
use crate::attrs::Attrs;
use crate::error::{param_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Squeeze {
    name: &'static str,
    axis: Option<Vec<i64>>,
}

impl Operator for Squeeze {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let shape = &inputs[0].shape;
        let dropped: Vec<usize> = match &self.axis {
            None => (0..shape.len()).filter(|&a| shape[a] == 1).collect(),
            Some(given) => {
                let list = axes(self.name, Some(given), shape.len(), false)?;
                if let Some(&a) = list.iter().find(|&&a| shape[a] != 1) {
                    return Err(param_err(self.name, "axis", format!("axis {a} of shape {:?} has size {}, not 1", shape.as_slice(), shape[a])));
                }
                list
            }
        };
        let mut out: Shape = (0..shape.len()).filter(|a| !dropped.contains(a)).map(|a| shape[a]).collect();
        if out.is_empty() {
            out.push(1);
        }
        Ok(vec![TensorDesc { shape: out, dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        copy::dense(&inputs[0], &mut outputs[0])?;
        Ok(())
    }

    fn inplace_option(&self) -> Vec<(usize, usize)> {
        vec![(0, 0)]
    }

    /// Shape-only: the gradient is the output gradient in the input's shape.
    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(reshape_grad(g, args)?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(Squeeze { name, axis: attrs.ints(name, "axis")? }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "squeeze",
    aliases: &[],
    doc: "Removes axes of size 1 (all of them, or those listed in axis).",
    inputs: Arity::Fixed(&["data"]),
    params: &[param("axis", "Shape or None", "None", "the axes to remove; each must have size 1")],
    create,
}];
