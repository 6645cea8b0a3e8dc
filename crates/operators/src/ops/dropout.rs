//! `Dropout`: in training (or always, with `mode='always'`) each element is kept with probability
//! `1 - p` and scaled by `1 / (1 - p)`, else zeroed; otherwise the output is the input. With
//! `axes`, one draw is shared along those axes (the mask is constant along them), as in
//! variational dropout. The second, hidden output `mask` holds the factor applied to each element
//! (0 or `1 / (1 - p)`, and 1 when not dropping), so the gradient is `out_grad * mask`: one
//! `elemwise_mul`, which needs no kernel of its own. Draws come from the process random stream.
//!
//! `p = 1` drops everything: output and gradient are 0 (MXNet 1.9.1 returns NaN there, `0 · ∞`).

use rmx_engine::BoxError;
use rmx_kernels::dropout;

use super::axes::axis;
use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::{param_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{param, Arity, OpCtx, OpDef, Operator, Tensor, TensorDesc};

struct Dropout {
    name: &'static str,
    p: f64,
    always: bool,
    axes: Vec<i64>,
}

impl Dropout {
    /// Which axes of a `ndim`-d input share one draw.
    fn shared_axes(&self, ndim: usize) -> Result<Vec<bool>> {
        let mut shared = vec![false; ndim];
        for &a in &self.axes {
            shared[axis(self.name, "axes", a, ndim)?] = true;
        }
        Ok(shared)
    }
}

impl Operator for Dropout {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        float_dtype(self.name, [inputs[0].dtype])?;
        for &a in &self.axes {
            axis(self.name, "axes", a, inputs[0].shape.len())?;
        }
        Ok(vec![inputs[0].clone(), inputs[0].clone()])
    }

    fn compute(&self, ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let x = &inputs[0];
        let [y, mask] = outputs else { unreachable!("Dropout has two outputs") };
        let dropping = (self.always || ctx.is_train) && self.p > 0.0;
        if !dropping {
            dropout::identity(x, y, mask)?;
            return Ok(());
        }
        let shared = self.shared_axes(x.shape.len())?;
        // The push holds the random stream's variable; the lock is released after the draw.
        dropout::draw_mask(self.p, &shared, &mut crate::rng::lock(), mask)?;
        dropout::apply(x, mask, y)?;
        Ok(())
    }

    fn uses_rng(&self) -> bool {
        true
    }

    fn num_outputs(&self) -> usize {
        2
    }

    fn num_visible_outputs(&self) -> usize {
        1
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(g.mul(args.out_grads[0], args.outputs[1])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let p = attrs.f64(name, "p", 0.5)?;
    if !(0.0..=1.0).contains(&p) {
        return Err(param_err(name, "p", format!("must be in [0, 1], got {p}")));
    }
    let always = attrs.choice(name, "mode", "training", &["training", "always"])? == "always";
    Ok(Box::new(Dropout { name, p, always, axes: attrs.ints(name, "axes")?.unwrap_or_default() }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "Dropout",
    aliases: &[],
    doc: "Zeroes elements with probability p and scales the rest by 1/(1-p), in training (see module doc).",
    inputs: Arity::Fixed(&["data"]),
    params: &[
        param("p", "float", "0.5", "the fraction of elements dropped"),
        param("mode", "{'always', 'training'}", "'training'", "drop only in training, or always"),
        param("axes", "Shape(tuple)", "()", "axes along which one draw is shared"),
        param("cudnn_off", "boolean or None", "False", "accepted for compatibility"),
    ],
    create,
}];
