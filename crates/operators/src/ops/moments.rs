//! `moments`: the mean and the biased variance of the data over `axes` (required), kept as
//! size-1 axes when `keepdims`, as MXNet 1.9.1. The gradient is the mean's (`g/n` broadcast back)
//! plus the variance's (`g·2(x - mean)/n`), both through `_backward_reduce`.

use rmx_engine::BoxError;
use rmx_kernels::reduce;

use super::float::float_dtype;
use super::reduce::ReduceAxes;
use crate::attrs::Attrs;
use crate::error::{param_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Moments {
    name: &'static str,
    axes: ReduceAxes,
}

impl Operator for Moments {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let dtype = float_dtype(self.name, [inputs[0].dtype])?;
        let (_, shape) = self.axes.resolve(self.name, &inputs[0].shape)?;
        let out = TensorDesc { shape, dtype };
        Ok(vec![out.clone(), out])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (axes, _) = self.axes.resolve(self.name, &inputs[0].shape)?;
        let [mean, var] = outputs else { unreachable!("moments has two outputs") };
        reduce::moments(&inputs[0], &axes, mean, var)?;
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        2
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let axis = args.attrs.get("axes").unwrap_or("None");
        let keepdims = if self.axes.keepdims { "True" } else { "False" };
        let (x, mean) = (args.inputs[0], args.outputs[0]);
        let from_mean = g.call("_backward_reduce", &[("fn", "mean"), ("axis", axis), ("keepdims", keepdims)], &[args.out_grads[0], x, mean])?;
        let from_var = g.call("_backward_reduce", &[("fn", "moments_var"), ("axis", axis), ("keepdims", keepdims)], &[args.out_grads[1], x, mean])?;
        Ok(vec![Some(g.call("elemwise_add", &[], &[from_mean, from_var])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    // MXNet requires the axes (None is refused at the first call).
    let axis = attrs.ints(name, "axes")?.ok_or_else(|| param_err(name, "axes", "required: the axes to compute the moments over"))?;
    let axes = ReduceAxes { axis: Some(axis), keepdims: attrs.bool(name, "keepdims", false)?, exclude: false };
    Ok(Box::new(Moments { name, axes }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "moments",
    aliases: &[],
    doc: "The mean and variance of the data over `axes` (see module doc).",
    inputs: Arity::Fixed(&["data"]),
    params: &[
        param("axes", "Shape", "", "axes to compute the moments over"),
        param("keepdims", "boolean", "False", "keep the reduced axes with size 1"),
    ],
    create,
}];
