//! `broadcast_to` (to `shape`, where 0 keeps the input's size), `broadcast_like` (to the second
//! input's shape, or on `lhs_axes` to the sizes of its `rhs_axes`) and `broadcast_axis` (`axis` of size 1 stretched to `size`): a read with
//! stride 0 along stretched axes. The gradient sums back (`_sum_to_like`); `broadcast_like`'s rhs
//! gives only its shape.

use rmx_engine::BoxError;
use rmx_kernels::{copy, Shape};

use super::axes::axis;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

enum Target {
    Shape(Vec<i64>),
    /// The second input's shape, or only its `rhs_axes` sizes on `lhs_axes`.
    Like(Option<(Vec<i64>, Vec<i64>)>),
    Axes(Vec<i64>, Vec<i64>),
}

struct BroadcastTo {
    name: &'static str,
    target: Target,
}

impl BroadcastTo {
    fn out_shape(&self, inputs: &[TensorDesc]) -> Result<Shape> {
        let src = &inputs[0].shape;
        let target: Shape = match &self.target {
            Target::Like(None) => inputs[1].shape.clone(),
            Target::Like(Some((lhs_axes, rhs_axes))) => {
                if lhs_axes.len() != rhs_axes.len() {
                    return Err(param_err(self.name, "lhs_axes", format!("{lhs_axes:?} and rhs_axes {rhs_axes:?} must have the same length")));
                }
                let mut t = src.clone();
                for (&l, &r) in lhs_axes.iter().zip(rhs_axes) {
                    let l = axis(self.name, "lhs_axes", l, src.len())?;
                    t[l] = inputs[1].shape[axis(self.name, "rhs_axes", r, inputs[1].shape.len())?];
                }
                t
            }
            Target::Shape(s) => {
                if s.len() < src.len() {
                    return Err(shape_err(self.name, format!("cannot broadcast {:?} to fewer dimensions {s:?}", src.as_slice())));
                }
                let pad = s.len() - src.len();
                s.iter().enumerate().map(|(i, &d)| if d == 0 && i >= pad { src[i - pad] } else { d.max(0) as usize }).collect()
            }
            Target::Axes(ax, sizes) => {
                let mut t = src.clone();
                for (&a, &n) in ax.iter().zip(sizes) {
                    let a = axis(self.name, "axis", a, src.len())?;
                    if src[a] != 1 {
                        return Err(param_err(self.name, "axis", format!("axis {a} has size {}, not 1", src[a])));
                    }
                    t[a] = n as usize;
                }
                t
            }
        };
        let pad = target.len() - src.len().min(target.len());
        let fits = src.len() <= target.len() && src.iter().enumerate().all(|(i, &d)| d == 1 || d == target[i + pad]);
        if !fits {
            return Err(shape_err(self.name, format!("cannot broadcast shape {:?} to {:?}", src.as_slice(), target.as_slice())));
        }
        Ok(target)
    }
}

impl Operator for BroadcastTo {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        Ok(vec![TensorDesc { shape: self.out_shape(inputs)?, dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        copy::broadcast(&inputs[0], &mut outputs[0])?;
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let dx = g.sum_to_like(args.out_grads[0], args.inputs[0])?;
        Ok(if args.inputs.len() == 2 { vec![Some(dx), None] } else { vec![Some(dx)] })
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let target = match name {
        "broadcast_like" => match (attrs.ints(name, "lhs_axes")?, attrs.ints(name, "rhs_axes")?) {
            (Some(l), Some(r)) => Target::Like(Some((l, r))),
            (None, None) => Target::Like(None),
            _ => return Err(param_err(name, "lhs_axes", "lhs_axes and rhs_axes go together")),
        },
        "broadcast_axis" => Target::Axes(attrs.ints(name, "axis")?.unwrap_or_default(), attrs.ints(name, "size")?.unwrap_or_default()),
        _ => Target::Shape(attrs.ints(name, "shape")?.ok_or_else(|| param_err(name, "shape", "required"))?),
    };
    Ok(Box::new(BroadcastTo { name, target }))
}

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "broadcast_to",
        aliases: &[],
        doc: "Broadcasts to `shape` (0 keeps the input's size).",
        inputs: Arity::Fixed(&["data"]),
        params: &[param("shape", "Shape", "()", "the target shape")],
        create,
    },
    OpDef {
        name: "broadcast_like",
        aliases: &[],
        doc: "Broadcasts `lhs` to the shape of `rhs`.",
        inputs: Arity::Fixed(&["lhs", "rhs"]),
        params: &[param("lhs_axes", "Shape or None", "None", "axes of lhs to stretch"), param("rhs_axes", "Shape or None", "None", "the axes of rhs whose sizes they take")],
        create,
    },
    OpDef {
        name: "broadcast_axis",
        aliases: &["broadcast_axes"],
        doc: "Stretches axes of size 1 to `size`.",
        inputs: Arity::Fixed(&["data"]),
        params: &[param("axis", "Shape", "()", "axes to stretch"), param("size", "Shape", "()", "their new sizes")],
        create,
    },
];
