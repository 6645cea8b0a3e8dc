//! `Concat` (`concat`, default `dim=1`) joins inputs along an existing axis; `stack` (default
//! `axis=0`) along a new one. Each input is copied into its slab of the output.

use rmx_engine::BoxError;
use rmx_kernels::{contiguous_strides, Shape};

use super::axes::axis;
use super::gather::write_into;
use crate::attrs::Attrs;
use crate::error::{param_err, same_dtype, shape_err, Result};
use crate::operator::{param, Arity, OpDef, Operator, Tensor, TensorDesc};

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

    fn compute(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let out = &mut outputs[0];
        let a = self.axis(inputs[0].shape.len())?;
        let out_strides = contiguous_strides(&out.shape);
        let mut at = 0usize;
        for x in inputs {
            let mut strides = out_strides.to_vec();
            if self.new_axis {
                strides.remove(a);
            }
            write_into(x, out, &strides, (at as isize) * out_strides[a]);
            at += if self.new_axis { 1 } else { x.shape[a] };
        }
        Ok(())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let num_args = attrs.opt_int(name, "num_args")?.map(|n| n as usize);
    if name == "stack" {
        return Ok(Box::new(Concat { name, dim: attrs.int(name, "axis", 0)?, num_args, new_axis: true }));
    }
    Ok(Box::new(Concat { name, dim: attrs.int(name, "dim", 1)?, num_args, new_axis: false }))
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
];
