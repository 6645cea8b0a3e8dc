//! `Flatten` (`flatten`): `(d0, d1, ..., dn)` to `(d0, d1 * ... * dn)`, the layout fully
//! connected layers expect. A 1-d input becomes `(d0, 1)`.

use rmx_engine::BoxError;
use rmx_kernels::copy;

use super::reshape_like::reshape_grad;
use crate::attrs::Attrs;
use crate::error::Result;
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Flatten;

impl Operator for Flatten {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let s = &inputs[0].shape;
        let first = s.first().copied().unwrap_or(1);
        let rest: usize = s.iter().skip(1).product();
        Ok(vec![TensorDesc::new(&[first, rest], inputs[0].dtype)])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        copy::dense(&inputs[0], &mut outputs[0])?;
        Ok(())
    }

    /// The output may be the input's buffer: the elements do not change.
    fn inplace_option(&self) -> Vec<(usize, usize)> {
        vec![(0, 0)]
    }

    /// Shape-only: the gradient is the output gradient in the input's shape.
    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(reshape_grad(g, args)?)])
    }
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "Flatten",
    aliases: &["flatten"],
    doc: "Collapses every axis but the first.",
    inputs: Arity::Fixed(&["data"]),
    params: &[],
    create: |_: &'static str, _: &Attrs| Ok(Box::new(Flatten)),
}];
