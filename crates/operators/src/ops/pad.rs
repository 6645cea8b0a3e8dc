//! `Pad` (`pad`): pads the spatial axes of 4-D or 5-D data; `pad_width` gives (before, after)
//! per axis, `2 * ndim` values whose first four (batch and channel) must be 0, as MXNet. Modes:
//! `constant` fills with `constant_value`, `edge` repeats the border element, `reflect` mirrors
//! without repeating the border (`x[-1] = x[1]`), so its pads must be smaller than the axis.
//! `_backward_Pad(out_grad)` sums each output gradient back into the element it copies.

use rmx_engine::BoxError;
use rmx_kernels::pad::{self, PadMode as Mode, PadPlan};
use rmx_kernels::Shape;

use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

struct Pad {
    name: &'static str,
    /// The mode, `pad_width` and `constant_value`.
    plan: PadPlan,
    backward: bool,
}

impl Pad {
    /// Checks the input shape and returns the padded one.
    fn padded(&self, x: &[usize]) -> Result<Shape> {
        if x.len() != 4 && x.len() != 5 {
            return Err(shape_err(self.name, format!("only 4-D or 5-D data can be padded, got shape {x:?}")));
        }
        if self.plan.width.len() != 2 * x.len() {
            return Err(param_err(self.name, "pad_width", format!("needs {} values (before, after per axis) for data of shape {x:?}, got {}", 2 * x.len(), self.plan.width.len())));
        }
        if self.plan.width[..4].iter().any(|&w| w != 0) {
            return Err(param_err(self.name, "pad_width", format!("the batch and channel axes cannot be padded: the first four values must be 0, got {:?}", self.plan.width)));
        }
        let mut out = Shape::new();
        for (i, &n) in x.iter().enumerate() {
            let (lo, hi) = (self.plan.width[2 * i], self.plan.width[2 * i + 1]);
            let bad = match self.plan.mode {
                Mode::Reflect => (lo > 0 || hi > 0) && (lo >= n || hi >= n),
                Mode::Edge => (lo > 0 || hi > 0) && n == 0,
                Mode::Constant => false,
            };
            if bad {
                return Err(param_err(self.name, "pad_width", format!("{:?} padding of ({lo}, {hi}) does not fit axis {i} of size {n} (reflect needs pads smaller than the axis)", self.plan.mode)));
            }
            out.push(n + lo + hi);
        }
        Ok(out)
    }

    /// The data shape whose padding is `out` (for the backward, which sees only `out_grad`).
    fn unpadded(&self, out: &[usize]) -> Result<Shape> {
        let x: Option<Shape> = if self.plan.width.len() == 2 * out.len() {
            out.iter().enumerate().map(|(i, &n)| n.checked_sub(self.plan.width[2 * i] + self.plan.width[2 * i + 1])).collect()
        } else {
            None
        };
        let x = x.ok_or_else(|| shape_err(self.name, format!("out_grad of shape {out:?} is not a padding by {:?}", self.plan.width)))?;
        self.padded(&x)?;
        Ok(x)
    }

    fn run(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            pad::backward(&self.plan, &inputs[0], &mut outputs[0])?;
        } else {
            pad::forward(&self.plan, &inputs[0], &mut outputs[0])?;
        }
        Ok(())
    }
}

impl Operator for Pad {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let dtype = float_dtype(self.name, [inputs[0].dtype])?;
        let shape = if self.backward { self.unpadded(&inputs[0].shape)? } else { self.padded(&inputs[0].shape)? };
        Ok(vec![TensorDesc { shape, dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        self.run(inputs, outputs)
    }

    fn input_names(&self) -> Option<Vec<&'static str>> {
        Some(vec![if self.backward { "out_grad" } else { "data" }])
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(g.op1("_backward_Pad", args.attrs, &[args.out_grads[0]])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let mode = match attrs.get("mode").ok_or_else(|| param_err(name, "mode", "required ('constant', 'edge' or 'reflect')"))? {
        "constant" => Mode::Constant,
        "edge" => Mode::Edge,
        "reflect" => Mode::Reflect,
        other => return Err(param_err(name, "mode", format!("expected 'constant', 'edge' or 'reflect', got {other:?}"))),
    };
    let width = attrs.ints(name, "pad_width")?.ok_or_else(|| param_err(name, "pad_width", "required"))?;
    if width.iter().any(|&w| w < 0) {
        return Err(param_err(name, "pad_width", format!("pads must be non-negative, got {width:?}")));
    }
    let plan = PadPlan { mode, width: width.into_iter().map(|w| w as usize).collect(), value: attrs.f64(name, "constant_value", 0.0)? };
    Ok(Box::new(Pad {
        name,
        plan,
        backward: name.starts_with("_backward"),
    }))
}

const PARAMS: &[ParamDoc] = &[
    param("mode", "{'constant', 'edge', 'reflect'}", "", "how the padding is filled"),
    param("pad_width", "Shape(tuple)", "", "(before, after) per axis; the first four must be 0"),
    param("constant_value", "double", "0", "the fill of constant mode"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "Pad", aliases: &["pad"], doc: "Pads the spatial axes of 4-D or 5-D data (see module doc).", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef { name: "_backward_Pad", aliases: &[], doc: "Gradient of Pad's data from out_grad.", inputs: Arity::Fixed(&["out_grad"]), params: PARAMS, create },
];
