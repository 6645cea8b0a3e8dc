//! `SliceChannel` (`split`): `num_outputs` equal parts along `axis` (default 1), each dropping
//! the axis when `squeeze_axis` and the part has size 1. `_backward_SliceChannel` writes each
//! part's gradient back into its slab.

use rmx_engine::BoxError;
use rmx_kernels::copy::{self, Region};
use rmx_kernels::{contiguous_strides, Shape};

use super::axes::axis;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Split {
    name: &'static str,
    parts: usize,
    axis: i64,
    squeeze: bool,
}

impl Operator for Split {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let s = &inputs[0].shape;
        let a = axis(self.name, "axis", self.axis, s.len())?;
        if s[a] % self.parts != 0 {
            return Err(shape_err(self.name, format!("axis {a} of shape {:?} does not split into {} equal parts", s.as_slice(), self.parts)));
        }
        let mut part: Shape = s.clone();
        part[a] /= self.parts;
        if self.squeeze {
            if part[a] != 1 {
                return Err(param_err(self.name, "squeeze_axis", format!("needs parts of size 1 along axis {a}, got {}", part[a])));
            }
            part.remove(a);
            if part.is_empty() {
                part.push(1);
            }
        }
        Ok(vec![TensorDesc { shape: part, dtype: inputs[0].dtype }; self.parts])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let x = &inputs[0];
        let a = axis(self.name, "axis", self.axis, x.shape.len())?;
        let strides = contiguous_strides(&x.shape);
        let mut shape = x.shape.to_vec();
        shape[a] /= self.parts;
        for (i, out) in outputs.iter_mut().enumerate() {
            copy::read_strided(x, &Region { shape: &shape, strides: &strides, offset: (i * shape[a]) as isize * strides[a] }, out)?;
        }
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        self.parts
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let ins: Vec<Value> = args.out_grads.iter().copied().chain([args.inputs[0]]).collect();
        Ok(vec![Some(g.op1("_backward_SliceChannel", args.attrs, &ins)?)])
    }
}

/// `_backward_SliceChannel`: `[out_grad0, ..., out_grad{n-1}, data]` to data's gradient.
struct SplitBackward(Split);

impl Operator for SplitBackward {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let name = "_backward_SliceChannel";
        let (grads, data) = inputs.split_at(inputs.len() - 1);
        if grads.len() != self.0.parts {
            return Err(param_err(name, "num_outputs", format!("is {} but {} gradients were given", self.0.parts, grads.len())));
        }
        let part = &self.0.infer(data)?[0];
        if let Some(bad) = grads.iter().find(|d| d.shape != part.shape || d.dtype != grads[0].dtype) {
            return Err(shape_err(name, format!("every gradient must have the part shape {:?} and one dtype, got {:?} {}", part.shape.as_slice(), bad.shape.as_slice(), bad.dtype)));
        }
        Ok(vec![TensorDesc { shape: data[0].shape.clone(), dtype: grads[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let out = &mut outputs[0];
        let a = axis(self.0.name, "axis", self.0.axis, out.shape.len())?;
        let strides = contiguous_strides(&out.shape);
        let mut part = out.shape.clone();
        part[a] /= self.0.parts;
        for (i, og) in inputs[..self.0.parts].iter().enumerate() {
            // Each gradient is dense with the part's element count (squeezing drops a 1), read
            // in the part's (unsqueezed) shape.
            copy::write_strided(og, out, &Region { shape: &part, strides: &strides, offset: (i * part[a]) as isize * strides[a] })?;
        }
        Ok(())
    }
}

const MAX_PARTS: i64 = 1 << 20;

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let parts = attrs.opt_int(name, "num_outputs")?.ok_or_else(|| param_err(name, "num_outputs", "required"))?;
    if parts < 1 {
        return Err(param_err(name, "num_outputs", format!("must be at least 1, got {parts}")));
    }
    // Each output is a graph entry made when the node is; a count no array could be split into
    // is refused before it allocates.
    if parts > MAX_PARTS {
        return Err(param_err(name, "num_outputs", format!("{parts} parts is more than rmx supports ({MAX_PARTS})")));
    }
    let split = Split { name, parts: parts as usize, axis: attrs.int(name, "axis", 1)?, squeeze: attrs.bool(name, "squeeze_axis", false)? };
    Ok(if name == "SliceChannel" { Box::new(split) } else { Box::new(SplitBackward(split)) })
}

const PARAMS: &[crate::operator::ParamDoc] = &[
    param("num_outputs", "int", "", "number of parts"),
    param("axis", "int", "1", "the axis to split"),
    param("squeeze_axis", "boolean", "False", "drop the split axis (parts must have size 1)"),
];

pub static DEFS: &[OpDef] = &[OpDef {
    name: "SliceChannel",
    aliases: &["split"],
    doc: "Splits into `num_outputs` equal parts along `axis`.",
    inputs: Arity::Fixed(&["data"]),
    params: PARAMS,
    create,
}, OpDef {
    name: "_backward_SliceChannel",
    aliases: &[],
    doc: "Gradient of SliceChannel: [out_grad0, ..., data] to data_grad, the parts' gradients joined.",
    inputs: Arity::Variadic("out_grad"),
    params: PARAMS,
    create,
}];
