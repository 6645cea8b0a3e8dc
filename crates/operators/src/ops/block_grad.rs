//! `BlockGrad` (alias `stop_gradient`): the identity forward, through which no gradient passes.
//! Its input's gradient is an explicit `zeros_like` rather than `None`, so an argument reached
//! only through it still receives zeros, as MXNet gives it.

use rmx_engine::BoxError;
use rmx_kernels::copy;

use crate::attrs::Attrs;
use crate::error::Result;
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, Arity, OpDef, Operator, Tensor, TensorDesc};

struct BlockGrad;

impl Operator for BlockGrad {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        copy::dense(&inputs[0], &mut outputs[0])?;
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(g.call("zeros_like", &[], &[args.inputs[0]])?)])
    }
}

fn create(_name: &'static str, _attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(BlockGrad))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "BlockGrad",
    aliases: &["stop_gradient"],
    doc: "The input unchanged; no gradient flows back through it (its input gets zeros).",
    inputs: Arity::Fixed(&["data"]),
    params: &[],
    create,
}];
