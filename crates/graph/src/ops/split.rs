//! `SliceChannel` (`split`): `num_outputs` equal parts along `axis` (default 1), each dropping
//! the axis when `squeeze_axis` and the part has size 1.

use rmx_engine::BoxError;
use rmx_kernels::{contiguous_strides, Shape};

use super::axes::axis;
use super::gather::read_as;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::operator::{param, Arity, OpDef, Operator, Tensor, TensorDesc};

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

    fn compute(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let x = &inputs[0];
        let a = axis(self.name, "axis", self.axis, x.shape.len())?;
        let strides = contiguous_strides(&x.shape);
        let mut shape = x.shape.to_vec();
        shape[a] /= self.parts;
        for (i, out) in outputs.iter_mut().enumerate() {
            read_as(x, &shape, &strides, (i * shape[a]) as isize * strides[a], out);
        }
        Ok(())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let parts = attrs.opt_int(name, "num_outputs")?.ok_or_else(|| param_err(name, "num_outputs", "required"))?;
    if parts < 1 {
        return Err(param_err(name, "num_outputs", format!("must be at least 1, got {parts}")));
    }
    Ok(Box::new(Split { name, parts: parts as usize, axis: attrs.int(name, "axis", 1)?, squeeze: attrs.bool(name, "squeeze_axis", false)? }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "SliceChannel",
    aliases: &["split"],
    doc: "Splits into `num_outputs` equal parts along `axis`.",
    inputs: Arity::Fixed(&["data"]),
    params: &[
        param("num_outputs", "int", "", "number of parts"),
        param("axis", "int", "1", "the axis to split"),
        param("squeeze_axis", "boolean", "False", "drop the split axis (parts must have size 1)"),
    ],
    create,
}];
