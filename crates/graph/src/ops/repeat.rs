//! `repeat`: each element repeated `repeats` times along `axis` (the flattened input when
//! `axis` is None). Read as `(..., s_axis, repeats, ...)` with stride 0 on the repeat axis.

use rmx_engine::BoxError;
use rmx_kernels::contiguous_strides;

use super::axes::axis;
use super::gather::read_as;
use crate::attrs::Attrs;
use crate::error::{param_err, Result};
use crate::operator::{param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Repeat {
    name: &'static str,
    repeats: usize,
    axis: Option<i64>,
}

impl Repeat {
    /// The input shape as the kernel sees it (flattened without axis) and the axis.
    fn geometry(&self, shape: &[usize]) -> Result<(Vec<usize>, usize)> {
        match self.axis {
            None => Ok((vec![shape.iter().product()], 0)),
            Some(a) => Ok((shape.to_vec(), axis(self.name, "axis", a, shape.len())?)),
        }
    }
}

impl Operator for Repeat {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (mut s, a) = self.geometry(&inputs[0].shape)?;
        s[a] *= self.repeats;
        Ok(vec![TensorDesc::new(&s, inputs[0].dtype)])
    }

    fn compute(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (s, a) = self.geometry(&inputs[0].shape)?;
        let src = contiguous_strides(&s);
        let mut shape = s.clone();
        let mut strides = src.to_vec();
        shape.insert(a + 1, self.repeats);
        strides.insert(a + 1, 0);
        read_as(&inputs[0], &shape, &strides, 0, &mut outputs[0]);
        Ok(())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let repeats = attrs.opt_int(name, "repeats")?.ok_or_else(|| param_err(name, "repeats", "required"))?;
    if repeats < 0 {
        return Err(param_err(name, "repeats", format!("must not be negative, got {repeats}")));
    }
    Ok(Box::new(Repeat { name, repeats: repeats as usize, axis: attrs.opt_int(name, "axis")? }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "repeat",
    aliases: &[],
    doc: "Repeats each element `repeats` times along `axis`.",
    inputs: Arity::Fixed(&["data"]),
    params: &[param("repeats", "int", "", "how many times"), param("axis", "int or None", "None", "the axis; flattened when None")],
    create,
}];
