//! `reshape_like` (`lhs`, `rhs`): lhs's elements in rhs's shape; with `lhs_begin`/`lhs_end` and
//! `rhs_begin`/`rhs_end` (None: the ends; negative: from the end), only lhs's axes
//! `[lhs_begin, lhs_end)` are replaced by rhs's `[rhs_begin, rhs_end)`. The gradient of every
//! shape-only operator (`Reshape`, `Flatten`, `expand_dims`): the output gradient reshaped like
//! the input.

use rmx_engine::BoxError;
use rmx_kernels::{copy, Shape};

use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct ReshapeLike {
    lhs: (Option<i64>, Option<i64>),
    rhs: (Option<i64>, Option<i64>),
}

/// `[begin, end)` of an `ndim`-axis shape, negatives counting from the end.
fn range(key: &str, (b, e): (Option<i64>, Option<i64>), ndim: usize) -> Result<(usize, usize)> {
    let n = ndim as i64;
    let norm = |v: i64, which: &str| {
        let v = if v < 0 { v + n } else { v };
        if v < 0 || v > n {
            return Err(param_err("reshape_like", &format!("{key}_{which}"), format!("{v} is out of range for {ndim} axes")));
        }
        Ok(v as usize)
    };
    let (b, e) = (b.map_or(Ok(0), |v| norm(v, "begin"))?, e.map_or(Ok(ndim), |v| norm(v, "end"))?);
    if b > e {
        return Err(param_err("reshape_like", &format!("{key}_begin"), format!("{b} is after {key}_end {e}")));
    }
    Ok((b, e))
}

impl Operator for ReshapeLike {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (l, r) = (&inputs[0].shape, &inputs[1].shape);
        let (lb, le) = range("lhs", self.lhs, l.len())?;
        let (rb, re) = range("rhs", self.rhs, r.len())?;
        let shape: Shape = l[..lb].iter().chain(&r[rb..re]).chain(&l[le..]).copied().collect();
        if shape.iter().product::<usize>() != l.iter().product::<usize>() {
            return Err(shape_err("reshape_like", format!("cannot reshape lhs of shape {:?} to {:?}: the sizes differ", l.as_slice(), shape.as_slice())));
        }
        Ok(vec![TensorDesc { shape, dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        copy::dense(&inputs[0], &mut outputs[0])?;
        Ok(())
    }

    /// `lhs` gets the gradient in its own shape; `rhs` gives only its shape.
    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(reshape_grad(g, args)?), None])
    }
}

/// The gradient of a shape-only operator: the output gradient in the first input's shape.
pub fn reshape_grad(g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Value> {
    g.call("reshape_like", &[], &[args.out_grads[0], args.inputs[0]])
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(ReshapeLike {
        lhs: (attrs.opt_int(name, "lhs_begin")?, attrs.opt_int(name, "lhs_end")?),
        rhs: (attrs.opt_int(name, "rhs_begin")?, attrs.opt_int(name, "rhs_end")?),
    }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "reshape_like",
    aliases: &[],
    doc: "lhs's elements in rhs's shape (or with lhs's axes [lhs_begin, lhs_end) replaced by rhs's [rhs_begin, rhs_end)).",
    inputs: Arity::Fixed(&["lhs", "rhs"]),
    params: &[
        param("lhs_begin", "int or None", "None", "first lhs axis replaced"),
        param("lhs_end", "int or None", "None", "end of the replaced lhs axes"),
        param("rhs_begin", "int or None", "None", "first rhs axis used"),
        param("rhs_end", "int or None", "None", "end of the rhs axes used"),
    ],
    create,
}];
