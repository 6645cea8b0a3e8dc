//! `Cast` (`cast`): the elements converted to `dtype` (C's conversion: floats truncate toward
//! zero into integers, integers wrap). The gradient is the output gradient cast back to the input's
//! dtype (`_backward_Cast`, which takes the input for its dtype).

use rmx_engine::BoxError;
use rmx_kernels::elementwise::cast;
use rmx_kernels::DType;

use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Cast {
    dtype: DType,
}

impl Operator for Cast {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        Ok(vec![TensorDesc { shape: inputs[0].shape.clone(), dtype: self.dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        cast(&inputs[0], &mut outputs[0])?;
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(g.op1("_backward_Cast", args.attrs, &[args.out_grads[0], args.inputs[0]])?)])
    }
}

/// `_backward_Cast`: `[out_grad, data]` to out_grad in data's dtype.
struct CastBackward;

impl Operator for CastBackward {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if inputs[0].shape != inputs[1].shape {
            return Err(shape_err("_backward_Cast", format!("out_grad {:?} and data {:?} differ in shape", inputs[0].shape.as_slice(), inputs[1].shape.as_slice())));
        }
        Ok(vec![inputs[1].clone()])
    }

    fn compute(&self, ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        Cast { dtype: outputs[0].dtype }.compute(ctx, &inputs[..1], outputs)
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    if attrs.get("dtype").is_none() {
        return Err(param_err(name, "dtype", "required"));
    }
    Ok(Box::new(Cast { dtype: attrs.dtype(name, "dtype", DType::F32)? }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "Cast",
    aliases: &["cast"],
    doc: "The input converted to `dtype`.",
    inputs: Arity::Fixed(&["data"]),
    params: &[param("dtype", "dtype", "", "the target dtype")],
    create,
}, OpDef {
    name: "_backward_Cast",
    aliases: &[],
    doc: "Gradient of Cast: [out_grad, data] to out_grad cast to data's dtype.",
    inputs: Arity::Fixed(&["out_grad", "data"]),
    params: &[param("dtype", "dtype", "", "as Cast's (unused: the data's dtype decides)")],
    create: |_: &'static str, _: &Attrs| Ok(Box::new(CastBackward)),
}];
