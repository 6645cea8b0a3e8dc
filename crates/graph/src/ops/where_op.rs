//! `where`: `x` where `condition` is non-zero, else `y`. `condition` has the shape of `x` or is
//! 1-d with the length of x's first axis (selecting whole rows), as in MXNet.

use rmx_engine::BoxError;
use rmx_kernels::{with_dtype, Element};

use crate::attrs::Attrs;
use crate::error::{same_dtype, shape_err, Result};
use crate::operator::{Arity, OpDef, Operator, Tensor, TensorDesc};

struct Where;

impl Operator for Where {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (c, x, y) = (&inputs[0], &inputs[1], &inputs[2]);
        let dtype = same_dtype("where", [x.dtype, y.dtype])?;
        if x.shape != y.shape {
            return Err(shape_err("where", format!("x {:?} and y {:?} must have the same shape", x.shape.as_slice(), y.shape.as_slice())));
        }
        let rows = c.shape.len() == 1 && x.shape.first() == Some(&c.shape[0]);
        if c.shape != x.shape && !rows {
            return Err(shape_err("where", format!("condition {:?} must have x's shape {:?} or be 1-d over its first axis", c.shape.as_slice(), x.shape.as_slice())));
        }
        Ok(vec![TensorDesc { shape: x.shape.clone(), dtype }])
    }

    fn compute(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (c, x, y) = (&inputs[0], &inputs[1], &inputs[2]);
        let cond: Vec<bool> = with_dtype!(c.dtype, C => c.data::<C>().iter().map(|v| v.to_f64() != 0.0).collect());
        let per = x.numel() / cond.len().max(1);
        let out = &mut outputs[0];
        with_dtype!(out.dtype, T => {
            let (xs, ys, o) = (x.data::<T>(), y.data::<T>(), out.data_mut::<T>());
            for (i, v) in o.iter_mut().enumerate() {
                *v = if cond[i / per] { xs[i] } else { ys[i] };
            }
        });
        Ok(())
    }
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "where",
    aliases: &[],
    doc: "Elements of x where condition is non-zero, else of y.",
    inputs: Arity::Fixed(&["condition", "x", "y"]),
    params: &[],
    create: |_: &'static str, _: &Attrs| Ok(Box::new(Where)),
}];
