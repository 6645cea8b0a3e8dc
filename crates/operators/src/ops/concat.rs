//! `Concat` (`concat`, default `dim=1`) joins inputs along an existing axis; `stack` (default
//! `axis=0`) along a new one. Each input is copied into its slab of the output; the backward
//! kernels (`_backward_Concat`, `_backward_stack`) read each input's gradient back out of its slab.

use rmx_engine::BoxError;
use rmx_kernels::copy::{self, Region};
use rmx_kernels::{contiguous_strides, Shape};

use super::axes::axis;
use crate::attrs::Attrs;
use crate::error::{param_err, same_dtype, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Concat {
    name: &'static str,
    dim: i64,
    num_args: Option<usize>,
    new_axis: bool,
}

impl Concat {
    fn axis(&self, ndim: usize) -> Result<usize> {
        axis(self.name, if self.new_axis { "axis" } else { "dim" }, self.dim, if self.new_axis { ndim + 1 } else { ndim })
    }
}

impl Operator for Concat {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if inputs.is_empty() {
            return Err(shape_err(self.name, "needs at least one input"));
        }
        if let Some(n) = self.num_args.filter(|&n| n != inputs.len()) {
            return Err(param_err(self.name, "num_args", format!("is {n} but {} inputs were given", inputs.len())));
        }
        let dtype = same_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        let first = &inputs[0].shape;
        let a = self.axis(first.len())?;
        let mut shape: Shape = first.clone();
        if self.new_axis {
            shape.insert(a, inputs.len());
        } else {
            shape[a] = 0;
        }
        for d in inputs {
            let same_rest = d.shape.len() == first.len()
                && d.shape.iter().zip(first).enumerate().all(|(i, (x, y))| x == y || (!self.new_axis && i == a));
            if !same_rest {
                return Err(shape_err(self.name, format!("input shapes {:?} and {:?} differ outside the joined axis", first.as_slice(), d.shape.as_slice())));
            }
            if !self.new_axis {
                shape[a] += d.shape[a];
            }
        }
        Ok(vec![TensorDesc { shape, dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let out = &mut outputs[0];
        let a = self.axis(inputs[0].shape.len())?;
        let out_strides = contiguous_strides(&out.shape);
        let mut at = 0usize;
        for x in inputs {
            let mut strides = out_strides.to_vec();
            if self.new_axis {
                strides.remove(a);
            }
            copy::write_strided(x, out, &Region { shape: &x.shape, strides: &strides, offset: (at as isize) * out_strides[a] })?;
            at += if self.new_axis { 1 } else { x.shape[a] };
        }
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let name = if self.new_axis { "_backward_stack" } else { "_backward_Concat" };
        let ins: Vec<Value> = std::iter::once(args.out_grads[0]).chain(args.inputs.iter().copied()).collect();
        let mut attrs = args.attrs.clone();
        attrs.set("num_args", args.inputs.len().to_string());
        Ok(g.op(name, &attrs, &ins)?.into_iter().map(Some).collect())
    }
}

/// `_backward_Concat` / `_backward_stack`: `[out_grad, data0, data1, ...]` to each input's
/// gradient, its slab of `out_grad`.
struct ConcatBackward(Concat);

impl Operator for ConcatBackward {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (og, data) = (&inputs[0], &inputs[1..]);
        let want = &self.0.infer(data)?[0];
        if og.shape != want.shape {
            return Err(shape_err(self.0.name, format!("out_grad has shape {:?}, the joined inputs {:?}", og.shape.as_slice(), want.shape.as_slice())));
        }
        Ok(data.iter().map(|d| TensorDesc { shape: d.shape.clone(), dtype: og.dtype }).collect())
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let og = &inputs[0];
        let a = self.0.axis(inputs[1].shape.len())?;
        let og_strides = contiguous_strides(&og.shape);
        let mut strides = og_strides.to_vec();
        if self.0.new_axis {
            strides.remove(a);
        }
        let mut at = 0usize;
        for out in outputs.iter_mut() {
            let shape = out.shape.clone();
            copy::read_strided(og, &Region { shape: &shape, strides: &strides, offset: (at as isize) * og_strides[a] }, out)?;
            at += if self.0.new_axis { 1 } else { shape[a] };
        }
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        self.0.num_args.unwrap_or(1)
    }
}

/// More inputs than any graph could hold; refused before anything is made per input (the
/// backward operators make one output each).
const MAX_ARGS: i64 = 1 << 20;

fn parse(name: &'static str, attrs: &Attrs) -> Result<Concat> {
    let num_args = match attrs.opt_int(name, "num_args")? {
        Some(n) if !(1..=MAX_ARGS).contains(&n) => return Err(param_err(name, "num_args", format!("must be from 1 to {MAX_ARGS}, got {n}"))),
        n => n.map(|n| n as usize),
    };
    if name.ends_with("stack") {
        return Ok(Concat { name, dim: attrs.int(name, "axis", 0)?, num_args, new_axis: true });
    }
    Ok(Concat { name, dim: attrs.int(name, "dim", 1)?, num_args, new_axis: false })
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(parse(name, attrs)?))
}

fn create_backward(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let forward = parse(name, attrs)?;
    if forward.num_args.is_none() {
        return Err(param_err(name, "num_args", "required (the number of gradients it makes)"));
    }
    Ok(Box::new(ConcatBackward(forward)))
}

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "Concat",
        aliases: &["concat"],
        doc: "Joins the inputs along axis `dim` (default 1).",
        inputs: Arity::Variadic("data"),
        params: &[param("num_args", "int", "", "number of inputs"), param("dim", "int", "1", "the axis to join along")],
        create,
    },
    OpDef {
        name: "stack",
        aliases: &[],
        doc: "Joins the inputs along a new axis `axis` (default 0).",
        inputs: Arity::Variadic("data"),
        params: &[param("num_args", "int", "", "number of inputs"), param("axis", "int", "0", "position of the new axis")],
        create,
    },
    OpDef {
        name: "_backward_Concat",
        aliases: &[],
        doc: "Gradient of Concat: [out_grad, data0, data1, ...] to each input's gradient.",
        inputs: Arity::Variadic("data"),
        params: &[param("num_args", "int", "", "number of forward inputs"), param("dim", "int", "1", "as Concat's")],
        create: create_backward,
    },
    OpDef {
        name: "_backward_stack",
        aliases: &[],
        doc: "Gradient of stack: [out_grad, data0, data1, ...] to each input's gradient.",
        inputs: Arity::Variadic("data"),
        params: &[param("num_args", "int", "", "number of forward inputs"), param("axis", "int", "0", "as stack's")],
        create: create_backward,
    },
];
