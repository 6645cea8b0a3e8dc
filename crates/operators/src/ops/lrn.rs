//! `LRN`: local response normalization across channels (axis 1),
//! `y_c = x_c * n_c^-beta` with `n_c = knorm + alpha / nsize * sum_{|c' - c| <= (nsize-1)/2} x_c'^2`
//! (the sum is clipped at the channel ends; MXNet 1.9.1 scales by `alpha / nsize` and, for an
//! even `nsize`, still sums `(nsize-1)/2` channels on each side). Like MXNet it has a hidden
//! second output, `n` (`tmp_norm`). `_backward_LRN(out_grad, data, tmp_norm)` is exact:
//! `dx_j = dy_j n_j^-beta - 2 beta alpha / nsize * x_j * sum_{c near j} dy_c x_c n_c^(-beta-1)`.

use rmx_engine::BoxError;
use rmx_kernels::lrn::{self, LrnPlan};

use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

struct Lrn {
    name: &'static str,
    /// The window (`(nsize-1)/2` channels each side), `alpha / nsize`, `beta` and `knorm`.
    plan: LrnPlan,
    backward: bool,
}

impl Lrn {
    fn run(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            lrn::backward(&self.plan, &inputs[0], &inputs[1], &inputs[2], &mut outputs[0])?;
        } else {
            let (y, norm) = outputs.split_at_mut(1);
            lrn::forward(&self.plan, &inputs[0], &mut y[0], &mut norm[0])?;
        }
        Ok(())
    }
}

impl Operator for Lrn {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let want = if self.backward { 3 } else { 1 };
        if inputs.len() != want {
            return Err(shape_err(self.name, format!("takes {want} inputs, got {}", inputs.len())));
        }
        float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        let data = if self.backward { &inputs[1] } else { &inputs[0] };
        if data.shape.len() < 2 {
            return Err(shape_err(self.name, format!("data needs a channel axis (axis 1), got shape {:?}", data.shape.as_slice())));
        }
        if self.backward {
            if inputs.iter().any(|d| d.shape != data.shape) {
                return Err(shape_err(self.name, "out_grad, data and tmp_norm must have one shape"));
            }
            return Ok(vec![data.clone()]);
        }
        Ok(vec![data.clone(), data.clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        self.run(inputs, outputs)
    }

    fn num_outputs(&self) -> usize {
        if self.backward { 1 } else { 2 }
    }

    /// The output over the data (the norms are all made before any output element).
    fn inplace_option(&self) -> Vec<(usize, usize)> {
        if self.backward { Vec::new() } else { vec![(0, 0)] }
    }

    fn num_visible_outputs(&self) -> usize {
        1
    }

    fn input_names(&self) -> Option<Vec<&'static str>> {
        Some(if self.backward { vec!["out_grad", "data", "tmp_norm"] } else { vec!["data"] })
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(g.op1("_backward_LRN", args.attrs, &[args.out_grads[0], args.inputs[0], args.outputs[1]])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let nsize = attrs.opt_int(name, "nsize")?.ok_or_else(|| param_err(name, "nsize", "required"))?;
    if nsize < 1 {
        return Err(param_err(name, "nsize", format!("must be positive, got {nsize}")));
    }
    let plan = LrnPlan {
        half: (nsize as usize - 1) / 2,
        scale: attrs.f64(name, "alpha", 1e-4)? / nsize as f64,
        beta: attrs.f64(name, "beta", 0.75)?,
        knorm: attrs.f64(name, "knorm", 2.0)?,
    };
    Ok(Box::new(Lrn {
        name,
        plan,
        backward: name.starts_with("_backward"),
    }))
}

const PARAMS: &[ParamDoc] = &[
    param("nsize", "int", "", "channels in the normalization window"),
    param("alpha", "float", "0.0001", "scale of the sum of squares (divided by nsize)"),
    param("beta", "float", "0.75", "exponent"),
    param("knorm", "float", "2", "additive constant"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "LRN", aliases: &[], doc: "Local response normalization across channels (see module doc).", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef {
        name: "_backward_LRN",
        aliases: &[],
        doc: "Gradient of LRN's data from (out_grad, data, tmp_norm).",
        inputs: Arity::Fixed(&["out_grad", "data", "tmp_norm"]),
        params: PARAMS,
        create,
    },
];
