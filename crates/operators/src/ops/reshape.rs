//! `Reshape` (`reshape`): the same elements in a new shape, with MXNet's special values:
//! 0 copies a dimension, -1 infers one, -2 copies the rest, -3 merges two, -4 splits one into
//! the next two values; `reverse` resolves them right to left. `NDArray.reshape` uses
//! [`reshape_target`] to make a view instead of a copy.

use rmx_engine::BoxError;
use rmx_kernels::{copy, Shape};

use crate::attrs::Attrs;
use super::reshape_like::reshape_grad;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

/// The output shape of reshaping `input` to `spec`.
pub fn reshape_target(op: &str, input: &[usize], spec: &[i64], reverse: bool) -> Result<Shape> {
    if reverse {
        let rin: Vec<usize> = input.iter().rev().copied().collect();
        // MXNet reverses the spec as written, -4's operands included.
        let rspec: Vec<i64> = spec.iter().rev().copied().collect();
        let mut out = reshape_target(op, &rin, &rspec, false)?;
        out.reverse();
        return Ok(out);
    }
    let bad = |m: String| shape_err(op, format!("cannot reshape {input:?} to {spec:?}: {m}"));
    let mut out: Vec<i64> = Vec::new();
    let (mut i, mut s) = (0usize, 0usize);
    let mut infer_at: Option<usize> = None;
    while s < spec.len() {
        match spec[s] {
            0 => {
                out.push(*input.get(i).ok_or_else(|| bad("0 refers past the input's dimensions".into()))? as i64);
                i += 1;
            }
            -1 => {
                if infer_at.replace(out.len()).is_some() {
                    return Err(bad("more than one -1".into()));
                }
                out.push(-1);
                i += 1;
            }
            -2 => {
                out.extend(input[i.min(input.len())..].iter().map(|&d| d as i64));
                i = input.len();
            }
            -3 => {
                let (a, b) = (input.get(i), input.get(i + 1));
                let (a, b) = a.zip(b).ok_or_else(|| bad("-3 needs two input dimensions".into()))?;
                let ab = a.checked_mul(*b).and_then(|v| i64::try_from(v).ok()).ok_or_else(|| bad("-3 merges dimensions too large to multiply".into()))?;
                out.push(ab);
                i += 2;
            }
            -4 => {
                let d = *input.get(i).ok_or_else(|| bad("-4 refers past the input's dimensions".into()))? as i64;
                let (p, q) = (*spec.get(s + 1).ok_or_else(|| bad("-4 needs two values after it".into()))?, *spec.get(s + 2).ok_or_else(|| bad("-4 needs two values after it".into()))?);
                let (p, q) = match (p, q) {
                    (-1, q) if q > 0 => (d / q, q),
                    (p, -1) if p > 0 => (p, d / p),
                    (p, q) => (p, q),
                };
                if p.checked_mul(q) != Some(d) {
                    return Err(bad(format!("-4 splits {d} into {p} x {q}")));
                }
                out.push(p);
                out.push(q);
                s += 2;
                i += 1;
            }
            d if d > 0 => {
                out.push(d);
                i += 1;
            }
            d => return Err(param_err(op, "shape", format!("invalid value {d}"))),
        }
        s += 1;
    }
    // Checked products throughout: a shape whose element count wraps is refused, never accepted.
    let too_large = || bad("the element count overflows".into());
    let total: usize = input.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(too_large)?;
    if let Some(at) = infer_at {
        let known: i64 = out.iter().enumerate().filter(|(k, _)| *k != at).try_fold(1i64, |a, (_, &d)| a.checked_mul(d)).ok_or_else(too_large)?;
        if known <= 0 || total as i64 % known != 0 {
            return Err(bad("the -1 dimension does not divide evenly".into()));
        }
        out[at] = total as i64 / known;
    }
    let shape: Shape = out.iter().map(|&d| d as usize).collect();
    if shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) != Some(total) {
        return Err(bad(format!("{} elements cannot fill {:?}", total, shape.as_slice())));
    }
    Ok(shape)
}

struct Reshape {
    name: &'static str,
    spec: Vec<i64>,
    reverse: bool,
}

impl Operator for Reshape {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let shape = reshape_target(self.name, &inputs[0].shape, &self.spec, self.reverse)?;
        Ok(vec![TensorDesc { shape, dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        // Nothing moves when the memory planner put the output over the input.
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

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let spec = match attrs.ints(name, "shape")? {
        Some(s) => s,
        None => attrs.ints(name, "target_shape")?.ok_or_else(|| param_err(name, "shape", "required"))?,
    };
    Ok(Box::new(Reshape { name, spec, reverse: attrs.bool(name, "reverse", false)? }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "Reshape",
    aliases: &["reshape"],
    doc: "The input's elements in a new shape (special values 0, -1, -2, -3, -4; see MXNet).",
    inputs: Arity::Fixed(&["data"]),
    params: &[
        param("shape", "Shape", "()", "the target shape, with special values"),
        param("reverse", "boolean", "False", "resolve special values right to left"),
        param("target_shape", "Shape", "()", "deprecated form of shape"),
        param("keep_highest", "boolean", "False", "deprecated; ignored"),
    ],
    create,
}];
