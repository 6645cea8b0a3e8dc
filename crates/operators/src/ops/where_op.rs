//! `where`: `x` where `condition` is non-zero, else `y`. `condition` has the shape of `x` or is
//! 1-d with the length of x's first axis (selecting whole rows), as in MXNet. `_backward_where`
//! splits the output gradient between x and y by the condition; the condition gets none.

use rmx_engine::BoxError;
use rmx_kernels::elementwise::{select, select_backward};

use crate::attrs::Attrs;
use crate::error::{same_dtype, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, Arity, OpDef, Operator, Tensor, TensorDesc};

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

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        select(&inputs[0], &inputs[1], &inputs[2], &mut outputs[0])?;
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let d = g.op("_backward_where", &Attrs::new(), &[args.out_grads[0], args.inputs[0]])?;
        Ok(vec![None, Some(d[0]), Some(d[1])])
    }
}

/// `_backward_where`: `[out_grad, condition]` to `[x_grad, y_grad]`.
struct WhereBackward;

impl Operator for WhereBackward {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        Where.infer(&[inputs[1].clone(), inputs[0].clone(), inputs[0].clone()]).map(|o| vec![o[0].clone(), o[0].clone()])
    }

    fn num_outputs(&self) -> usize {
        2
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (first, second) = outputs.split_at_mut(1);
        select_backward(&inputs[0], &inputs[1], &mut first[0], &mut second[0])?;
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
}, OpDef {
    name: "_backward_where",
    aliases: &[],
    doc: "Gradient of where: [out_grad, condition] to [x_grad, y_grad].",
    inputs: Arity::Fixed(&["out_grad", "condition"]),
    params: &[],
    create: |_: &'static str, _: &Attrs| Ok(Box::new(WhereBackward)),
}];
