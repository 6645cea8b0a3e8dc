//! `softmax_cross_entropy(data, label)`: the cross entropy of the softmax of each row of `data`
//! (`(batch, classes)`) against its class `label` (`(batch,)`), summed over the batch into one
//! element, as MXNet 1.9.1. The gradient, `_backward_softmax_cross_entropy`
//! (`[out_grad, data, label]`), is `out_grad·(softmax(data) - onehot(label))`; the labels get none.

use rmx_engine::BoxError;
use rmx_kernels::softmax;

use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::{shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, Arity, OpDef, Operator, Tensor, TensorDesc};

struct SoftmaxCrossEntropy {
    name: &'static str,
    backward: bool,
}

impl Operator for SoftmaxCrossEntropy {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (data, label) = if self.backward { (&inputs[1], &inputs[2]) } else { (&inputs[0], &inputs[1]) };
        let dtype = float_dtype(self.name, [data.dtype])?;
        if data.shape.len() != 2 || label.shape.as_slice() != [data.shape[0]] {
            return Err(shape_err(self.name, format!("data must be (batch, classes) and label (batch,); got {:?} and {:?}", data.shape.as_slice(), label.shape.as_slice())));
        }
        if self.backward {
            return Ok(vec![data.clone()]);
        }
        Ok(vec![TensorDesc::new(&[1], dtype)])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            softmax::cross_entropy_backward(&inputs[0], &inputs[1], &inputs[2], &mut outputs[0])?;
        } else {
            softmax::cross_entropy(&inputs[0], &inputs[1], &mut outputs[0])?;
        }
        Ok(())
    }

    /// The label's shape from the data's.
    fn complete_inputs(&self, known: &[Option<rmx_kernels::Shape>]) -> Vec<Option<rmx_kernels::Shape>> {
        match known.first() {
            Some(Some(d)) if !self.backward && d.len() == 2 => vec![None, Some([d[0]][..].into())],
            _ => Vec::new(),
        }
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        let dx = g.call("_backward_softmax_cross_entropy", &[], &[args.out_grads[0], args.inputs[0], args.inputs[1]])?;
        Ok(vec![Some(dx), None])
    }
}

fn create(name: &'static str, _attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(SoftmaxCrossEntropy { name, backward: name.starts_with("_backward_") }))
}

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "softmax_cross_entropy",
        aliases: &[],
        doc: "The softmax cross entropy of each row against its label, summed over the batch (see module doc).",
        inputs: Arity::Fixed(&["data", "label"]),
        params: &[],
        create,
    },
    OpDef {
        name: "_backward_softmax_cross_entropy",
        aliases: &[],
        doc: "Gradient of softmax_cross_entropy: [out_grad, data, label] to data_grad.",
        inputs: Arity::Fixed(&["out_grad", "data", "label"]),
        params: &[],
        create,
    },
];
