//! `_sum_to_like` (`data`, `like`): `data` summed down to `like`'s shape, the gradient of
//! broadcasting. `like` must broadcast to `data`: the leading axes `like` lacks are summed away,
//! and axes where `like` has 1 are summed keeping the 1: `rmx_kernels::reduce::reduce_to` with
//! [`Sum`], the primitive the backward kernels of broadcasting operators share.

use rmx_engine::BoxError;
use rmx_kernels::reduce::reduce_to;
use rmx_kernels::DType;

use super::reduce::Sum;
use crate::attrs::Attrs;
use crate::error::{dtype_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, Arity, OpDef, Operator, Tensor, TensorDesc};

use rmx_kernels::sums_to;


struct SumToLike;

impl Operator for SumToLike {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (data, like) = (&inputs[0], &inputs[1]);
        if data.dtype == DType::Bool {
            return Err(dtype_err("_sum_to_like", "bool arrays cannot be summed; cast them first"));
        }
        if !sums_to(&data.shape, &like.shape) {
            return Err(shape_err(
                "_sum_to_like",
                format!("data of shape {:?} does not sum down to like's shape {:?} (like must broadcast to data)", data.shape.as_slice(), like.shape.as_slice()),
            ));
        }
        Ok(vec![TensorDesc { shape: like.shape.clone(), dtype: data.dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        reduce_to::<Sum>(&inputs[0], &mut outputs[0])?;
        Ok(())
    }

    /// `data` gets the gradient broadcast back; `like` gives only its shape.
    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let dx = g.call("broadcast_like", &[], &[args.out_grads[0], args.inputs[0]])?;
        Ok(vec![Some(dx), None])
    }
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "_sum_to_like",
    aliases: &[],
    doc: "`data` summed down to the shape of `like` (the gradient of broadcasting).",
    inputs: Arity::Fixed(&["data", "like"]),
    params: &[],
    create: |_: &'static str, _: &Attrs| Ok(Box::new(SumToLike)),
}];
