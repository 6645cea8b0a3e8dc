//! `where`: `x` where `condition` is non-zero, else `y`. `condition` has the shape of `x` or is
//! 1-d with the length of x's first axis (selecting whole rows), as in MXNet. `_backward_where`
//! splits the output gradient between x and y by the condition; the condition gets none.

use rmx_engine::BoxError;
use rmx_kernels::{with_dtype, Element};

use crate::attrs::Attrs;
use crate::error::{same_dtype, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, Arity, OpDef, Operator, Tensor, TensorDesc};

/// The condition as booleans, and how many elements of x each one selects.
fn condition(c: &Tensor, n: usize) -> (Vec<bool>, usize) {
    let cond: Vec<bool> = with_dtype!(c.dtype, C => c.data::<C>().iter().map(|v| v.to_f64() != 0.0).collect());
    let per = n / cond.len().max(1);
    (cond, per)
}

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
        let (c, x, y) = (&inputs[0], &inputs[1], &inputs[2]);
        let (cond, per) = condition(c, x.numel());
        let out = &mut outputs[0];
        with_dtype!(out.dtype, T => {
            let (xs, ys, o) = (x.data::<T>(), y.data::<T>(), out.data_mut::<T>());
            for (i, v) in o.iter_mut().enumerate() {
                *v = if cond[i / per] { xs[i] } else { ys[i] };
            }
        });
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
        let og = &inputs[0];
        let (cond, per) = condition(&inputs[1], og.numel());
        let (first, second) = outputs.split_at_mut(1);
        with_dtype!(og.dtype, T => {
            let (g, dx, dy) = (og.data::<T>(), first[0].data_mut::<T>(), second[0].data_mut::<T>());
            for (i, ((&v, a), b)) in g.iter().zip(dx.iter_mut()).zip(dy.iter_mut()).enumerate() {
                (*a, *b) = if cond[i / per] { (v, T::default()) } else { (T::default(), v) };
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
}, OpDef {
    name: "_backward_where",
    aliases: &[],
    doc: "Gradient of where: [out_grad, condition] to [x_grad, y_grad].",
    inputs: Arity::Fixed(&["out_grad", "condition"]),
    params: &[],
    create: |_: &'static str, _: &Attrs| Ok(Box::new(WhereBackward)),
}];
