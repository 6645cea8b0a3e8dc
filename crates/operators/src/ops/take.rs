//! `take`: slices of `a` along `axis` at `indices` (any shape; output shape is a's with that axis
//! replaced by the indices' shape). `mode`: `clip` (default) clamps, `wrap` wraps, `raise` fails
//! at run time, where the index values are first known, so the error surfaces at the next wait.
//! `pick`: one element per position along `axis`, chosen by `index`.
//! Gradients: `_backward_take` / `_backward_pick` scatter-add the output gradient into zeros of
//! the data's shape at the (resolved) indices; the indices get none.

use rmx_engine::BoxError;
use rmx_kernels::gather::{self, IndexMode, TakePlan};
use rmx_kernels::Shape;

use super::axes::{axis, split_around};
use crate::attrs::Attrs;
use crate::error::{shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Take {
    name: &'static str,
    backward: bool,
    axis: i64,
    mode: IndexMode,
    pick: bool,
    keepdims: bool,
}

impl Operator for Take {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if self.backward {
            // [out_grad, indices, data]
            let out = &self.infer_forward(&inputs[2].shape, &inputs[1].shape)?;
            if inputs[0].shape != *out {
                return Err(shape_err(self.name, format!("out_grad has shape {:?}, the result {:?}", inputs[0].shape.as_slice(), out.as_slice())));
            }
            return Ok(vec![TensorDesc { shape: inputs[2].shape.clone(), dtype: inputs[0].dtype }]);
        }
        Ok(vec![TensorDesc { shape: self.infer_forward(&inputs[0].shape, &inputs[1].shape)?, dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            // The gather's adjoint: the gradient added where each value was read from.
            let plan = self.plan(&outputs[0].shape)?;
            gather::take_backward(&plan, &inputs[0], &inputs[1], &mut outputs[0])?;
            return Ok(());
        }
        let plan = self.plan(&inputs[0].shape)?;
        gather::take(&plan, &inputs[0], &inputs[1], &mut outputs[0])?;
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        let name = if self.pick { "_backward_pick" } else { "_backward_take" };
        let axis = self.axis.to_string();
        let dx = match self.name {
            "choose_element_0index" | "batch_take" => g.call(name, &[("axis", &axis)], &[args.out_grads[0], args.inputs[1], args.inputs[0]])?,
            _ => g.op1(name, args.attrs, &[args.out_grads[0], args.inputs[1], args.inputs[0]])?,
        };
        Ok(vec![Some(dx), None])
    }
}

impl Take {
    fn infer_forward(&self, a: &Shape, idx: &Shape) -> Result<Shape> {
        let ax = axis(self.name, "axis", self.axis, a.len())?;
        if a[ax] == 0 {
            return Err(shape_err(self.name, format!("cannot index an empty axis of shape {:?}", a.as_slice())));
        }
        let shape: Shape = if self.pick {
            let mut want: Shape = a.clone();
            want.remove(ax);
            let mut kept = a.clone();
            kept[ax] = 1;
            if idx.as_slice() != want.as_slice() && idx.as_slice() != kept.as_slice() {
                return Err(shape_err(self.name, format!("index shape {:?} must be data shape {:?} without axis {ax}", idx.as_slice(), a.as_slice())));
            }
            if self.keepdims { kept } else if want.is_empty() { Shape::from_slice(&[1]) } else { want }
        } else {
            a[..ax].iter().chain(idx.iter()).chain(&a[ax + 1..]).copied().collect()
        };
        Ok(shape)
    }

    /// The geometry around the axis of `data` (the data's shape: the input forward, the
    /// output backward).
    fn plan(&self, data: &[usize]) -> Result<TakePlan> {
        let ax = axis(self.name, "axis", self.axis, data.len())?;
        let (outer, n, inner) = split_around(data, ax, ax);
        Ok(TakePlan { op: self.name, outer, n, inner, mode: self.mode, pick: self.pick })
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let pick = matches!(name, "pick" | "_backward_pick" | "choose_element_0index" | "batch_take");
    let mode = match attrs.choice(name, "mode", "clip", &["clip", "wrap", "raise"])? {
        "wrap" => IndexMode::Wrap,
        "raise" => IndexMode::Raise,
        _ => IndexMode::Clip,
    };
    // The legacy pairs: one element of each row of a matrix (MXNet's batch_take clips, as pick does).
    let default_axis = if name == "batch_take" { 1 } else if pick { -1 } else { 0 };
    let backward = name.starts_with("_backward");
    Ok(Box::new(Take { name, backward, axis: attrs.int(name, "axis", default_axis)?, mode, pick, keepdims: attrs.bool(name, "keepdims", false)? }))
}

const TAKE_PARAMS: &[crate::operator::ParamDoc] =
    &[param("axis", "int", "0", "the axis to index"), param("mode", "{'clip', 'wrap', 'raise'}", "clip", "out-of-range indices")];
const PICK_PARAMS: &[crate::operator::ParamDoc] = &[
    param("axis", "int", "-1", "the axis to pick along"),
    param("keepdims", "boolean", "False", "keep the axis with size 1"),
    param("mode", "{'clip', 'wrap'}", "clip", "out-of-range indices"),
];

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "take",
        aliases: &[],
        doc: "Slices of `a` along `axis` at `indices`.",
        inputs: Arity::Fixed(&["a", "indices"]),
        params: TAKE_PARAMS,
        create,
    },
    OpDef {
        name: "pick",
        aliases: &[],
        doc: "One element per position along `axis`, chosen by `index`.",
        inputs: Arity::Fixed(&["data", "index"]),
        params: PICK_PARAMS,
        create,
    },
    OpDef {
        name: "choose_element_0index",
        aliases: &[],
        doc: "lhs[i, rhs[i]] for each row i of a matrix (legacy; pick along the last axis).",
        inputs: Arity::Fixed(&["lhs", "rhs"]),
        params: &[],
        create,
    },
    OpDef {
        name: "batch_take",
        aliases: &[],
        doc: "a[i, indices[i]] for each row i of a matrix (deprecated in MXNet; pick along axis 1).",
        inputs: Arity::Fixed(&["a", "indices"]),
        params: &[],
        create,
    },
    OpDef {
        name: "_backward_take",
        aliases: &[],
        doc: "Gradient of take: [out_grad, indices, a] to a's gradient.",
        inputs: Arity::Fixed(&["out_grad", "indices", "a"]),
        params: TAKE_PARAMS,
        create,
    },
    OpDef {
        name: "_backward_pick",
        aliases: &[],
        doc: "Gradient of pick: [out_grad, index, data] to data's gradient.",
        inputs: Arity::Fixed(&["out_grad", "index", "data"]),
        params: PICK_PARAMS,
        create,
    },
];
