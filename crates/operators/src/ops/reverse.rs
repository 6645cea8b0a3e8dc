//! `reverse` (alias `flip`): the elements in reverse order along each axis in `axis`, a strided
//! read with negative strides. Its gradient is the same reversal of the output gradient.

use rmx_engine::BoxError;
use rmx_kernels::contiguous_strides;
use rmx_kernels::copy::{self, Region};

use super::axes::axes;
use crate::attrs::Attrs;
use crate::error::{param_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Reverse {
    name: &'static str,
    axis: Vec<i64>,
}

impl Operator for Reverse {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        axes(self.name, Some(&self.axis), inputs[0].shape.len(), false)?;
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let x = &inputs[0];
        let flipped = axes(self.name, Some(&self.axis), x.shape.len(), false)?;
        let mut strides = contiguous_strides(&x.shape).to_vec();
        let mut offset = 0isize;
        for &a in &flipped {
            if x.shape[a] > 0 {
                offset += (x.shape[a] as isize - 1) * strides[a];
            }
            strides[a] = -strides[a];
        }
        copy::read_strided(x, &Region { shape: &x.shape, strides: &strides, offset }, &mut outputs[0])?;
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(g.op1(self.name, args.attrs, &[args.out_grads[0]])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let axis = attrs.ints(name, "axis")?.ok_or_else(|| param_err(name, "axis", "required"))?;
    Ok(Box::new(Reverse { name, axis }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "reverse",
    aliases: &["flip"],
    doc: "Reverses the order of elements along the given axes.",
    inputs: Arity::Fixed(&["data"]),
    params: &[param("axis", "Shape", "", "the axes to reverse")],
    create,
}];
