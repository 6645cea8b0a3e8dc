//! `clip`: every element limited to `[a_min, a_max]`. Its gradient (`_backward_clip`) passes where
//! `a_min <= x <= a_max` (bounds included, as MXNet) and is 0 outside.

use rmx_engine::BoxError;
use rmx_kernels::elementwise::{self, Ternary};
use rmx_kernels::Element;

use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Clip {
    backward: bool,
    lo: f64,
    hi: f64,
}

impl Operator for Clip {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if self.backward && (inputs[0].shape != inputs[1].shape || inputs[0].dtype != inputs[1].dtype) {
            return Err(shape_err("_backward_clip", format!("out_grad {:?} and data {:?} must have one shape and dtype", inputs[0].shape.as_slice(), inputs[1].shape.as_slice())));
        }
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            elementwise::map3(&inputs[0], &inputs[1], &inputs[1], &mut outputs[0], self)?;
        } else {
            elementwise::clip(&inputs[0], self.lo, self.hi, &mut outputs[0])?;
        }
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        Ok(vec![Some(g.op1("_backward_clip", args.attrs, &[args.out_grads[0], args.inputs[0]])?)])
    }
}

/// The gradient over `(out_grad, data, data)`: `out_grad` where `a_min <= data <= a_max`, else 0.
impl Ternary for Clip {
    fn formula<T: Element>(&self) -> impl Fn(T, T, T) -> T + Sync + '_ {
        let (lo, hi) = (self.lo, self.hi);
        move |g: T, x: T, _| if x.to_f64() < lo || x.to_f64() > hi { T::default() } else { g }
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let lo = attrs.required_f64(name, "a_min")?;
    let hi = attrs.required_f64(name, "a_max")?;
    if lo > hi {
        return Err(param_err(name, "a_min", format!("{lo} is greater than a_max {hi}")));
    }
    Ok(Box::new(Clip { backward: name == "_backward_clip", lo, hi }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "clip",
    aliases: &[],
    doc: "Limits every element to [a_min, a_max].",
    inputs: Arity::Fixed(&["data"]),
    params: &[param("a_min", "float", "", "lower bound"), param("a_max", "float", "", "upper bound")],
    create,
}, OpDef {
    name: "_backward_clip",
    aliases: &[],
    doc: "Gradient of clip: [out_grad, data] to out_grad where a_min <= data <= a_max, else 0.",
    inputs: Arity::Fixed(&["out_grad", "data"]),
    params: &[param("a_min", "float", "", "as clip's"), param("a_max", "float", "", "as clip's")],
    create,
}];
