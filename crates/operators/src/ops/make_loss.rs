//! `MakeLoss` (alias `make_loss`): turns any expression into a loss head. The forward is the
//! identity; the backward ignores the gradient arriving from above and gives every element
//! `grad_scale / norm`, `norm` being 1 (`normalization='null'`), the first axis (`'batch'`), or
//! the number of elements above `valid_thresh` (`'valid'`, at least 1), as MXNet 1.9.1 does.
//! `_backward_MakeLoss` takes `[output]`.

use rmx_engine::BoxError;
use rmx_kernels::make_loss::{self, Normalization};

use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::Result;
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

struct MakeLoss {
    name: &'static str,
    grad_scale: f64,
    valid_thresh: f64,
    normalization: Normalization,
    backward: bool,
}

impl Operator for MakeLoss {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        float_dtype(self.name, [inputs[0].dtype])?;
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            make_loss::backward(self.grad_scale, self.normalization, self.valid_thresh, &inputs[0], &mut outputs[0])?;
        } else {
            make_loss::forward(&inputs[0], &mut outputs[0])?;
        }
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(g.op1("_backward_MakeLoss", args.attrs, &[args.outputs[0]])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let normalization = match attrs.choice(name, "normalization", "null", &["null", "batch", "valid"])? {
        "null" => Normalization::Null,
        "batch" => Normalization::Batch,
        _ => Normalization::Valid,
    };
    Ok(Box::new(MakeLoss {
        name,
        grad_scale: attrs.f64(name, "grad_scale", 1.0)?,
        valid_thresh: attrs.f64(name, "valid_thresh", 0.0)?,
        normalization,
        backward: name.starts_with("_backward_"),
    }))
}

const PARAMS: &[ParamDoc] = &[
    param("grad_scale", "float", "1", "the gradient given to every element"),
    param("valid_thresh", "float", "0", "elements above it count as valid ('valid' normalization)"),
    param("normalization", "{'batch', 'null', 'valid'}", "'null'", "what the gradient is divided by"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "MakeLoss", aliases: &["make_loss"], doc: "Identity whose gradient is a constant: a loss head (see module doc).", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef { name: "_backward_MakeLoss", aliases: &[], doc: "MakeLoss's constant gradient, shaped like its output.", inputs: Arity::Fixed(&["output"]), params: PARAMS, create },
];
