//! `repeat`: each element repeated `repeats` times along `axis` (the flattened input when
//! `axis` is None). Read as `(..., s_axis, repeats, ...)` with stride 0 on the repeat axis;
//! `_backward_repeat` sums the output gradient over that axis.

use rmx_engine::BoxError;
use rmx_kernels::copy::{self, Region};
use rmx_kernels::contiguous_strides;

use super::axes::axis;
use super::reduce::Sum;
use rmx_kernels::reduce::reduce_to_as;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Repeat {
    name: &'static str,
    backward: bool,
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
        let data = &inputs[self.backward as usize];
        let (mut s, a) = self.geometry(&data.shape)?;
        s[a] *= self.repeats;
        let out = TensorDesc::new(&s, data.dtype);
        if !self.backward {
            return Ok(vec![out]);
        }
        if inputs[0].shape.as_slice() != s.as_slice() {
            return Err(shape_err(self.name, format!("out_grad has shape {:?}, the repeated data {s:?}", inputs[0].shape.as_slice())));
        }
        Ok(vec![TensorDesc { shape: data.shape.clone(), dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            // The gradient viewed as (..., s_axis, repeats, ...), summed over the repeats.
            let (s, a) = self.geometry(&inputs[1].shape)?;
            let mut from = s.clone();
            from.insert(a + 1, self.repeats);
            let mut to = s;
            to.insert(a + 1, 1);
            let (og, out) = (&inputs[0], &mut outputs[0]);
            reduce_to_as::<Sum>(og, &from, out, &to)?;
            return Ok(());
        }
        let (s, a) = self.geometry(&inputs[0].shape)?;
        let src = contiguous_strides(&s);
        let mut shape = s.clone();
        let mut strides = src.to_vec();
        shape.insert(a + 1, self.repeats);
        strides.insert(a + 1, 0);
        copy::read_strided(&inputs[0], &Region { shape: &shape, strides: &strides, offset: 0 }, &mut outputs[0])?;
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        Ok(vec![Some(g.op1("_backward_repeat", args.attrs, &[args.out_grads[0], args.inputs[0]])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let repeats = attrs.opt_int(name, "repeats")?.ok_or_else(|| param_err(name, "repeats", "required"))?;
    if repeats < 0 {
        return Err(param_err(name, "repeats", format!("must not be negative, got {repeats}")));
    }
    Ok(Box::new(Repeat { name, backward: name == "_backward_repeat", repeats: repeats as usize, axis: attrs.opt_int(name, "axis")? }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "repeat",
    aliases: &[],
    doc: "Repeats each element `repeats` times along `axis`.",
    inputs: Arity::Fixed(&["data"]),
    params: &[param("repeats", "int", "", "how many times"), param("axis", "int or None", "None", "the axis; flattened when None")],
    create,
}, OpDef {
    name: "_backward_repeat",
    aliases: &[],
    doc: "Gradient of repeat: [out_grad, data] to data_grad, summed over the repeats.",
    inputs: Arity::Fixed(&["out_grad", "data"]),
    params: &[param("repeats", "int", "", "as repeat's"), param("axis", "int or None", "None", "as repeat's")],
    create,
}];
