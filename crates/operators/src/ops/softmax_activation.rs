//! `SoftmaxActivation`: softmax over the last axis (`mode='instance'`, the default: MXNet reads
//! the data as 2-d rows of its last axis) or over axis 1 (`mode='channel'`, for `(n, c, ...)`
//! feature maps). Deprecated in MXNet in favour of `softmax`, but still common.
//! `_backward_SoftmaxActivation` takes `[out_grad, output]`: `dx = y·(dy - Σ dy·y)` over the axis.

use rmx_engine::BoxError;
use rmx_kernels::softmax::{self, SoftmaxPlan};

use super::axes::split_around;
use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::{shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

struct SoftmaxActivation {
    name: &'static str,
    channel: bool,
    backward: bool,
}

impl SoftmaxActivation {
    /// `(outer, n, inner)` around the softmax axis.
    fn geometry(&self, shape: &[usize]) -> Result<(usize, usize, usize)> {
        match (self.channel, shape.len()) {
            (_, 0) | (true, 1) => Err(shape_err(self.name, format!("input 'data' of shape {shape:?} has no {} axis", if self.channel { "channel (1)" } else { "last" }))),
            (true, _) => Ok(split_around(shape, 1, 1)),
            (false, n) => Ok(split_around(shape, n - 1, n - 1)),
        }
    }
}

impl Operator for SoftmaxActivation {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        self.geometry(&inputs[0].shape)?;
        if self.backward && inputs[0].shape != inputs[1].shape {
            return Err(shape_err(self.name, format!("out_grad has shape {:?}, the output {:?}", inputs[0].shape.as_slice(), inputs[1].shape.as_slice())));
        }
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (outer, n, inner) = self.geometry(&inputs[0].shape)?;
        let p = SoftmaxPlan { outer, n, inner, temperature: 1.0, log: false };
        if self.backward {
            softmax::backward(&p, &inputs[0], &inputs[1], &mut outputs[0])?;
        } else {
            softmax::forward(&p, &inputs[0], &mut outputs[0])?;
        }
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(g.op1("_backward_SoftmaxActivation", args.attrs, &[args.out_grads[0], args.outputs[0]])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let channel = attrs.choice(name, "mode", "instance", &["instance", "channel"])? == "channel";
    Ok(Box::new(SoftmaxActivation { name, channel, backward: name.starts_with("_backward_") }))
}

const PARAMS: &[ParamDoc] = &[param("mode", "{'channel', 'instance'}", "'instance'", "softmax over the last axis (instance) or axis 1 (channel)")];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "SoftmaxActivation", aliases: &[], doc: "Softmax over the last axis or the channel axis (see module doc).", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef {
        name: "_backward_SoftmaxActivation",
        aliases: &[],
        doc: "SoftmaxActivation's input gradient from the output's and the output.",
        inputs: Arity::Fixed(&["out_grad", "output"]),
        params: PARAMS,
        create,
    },
];
