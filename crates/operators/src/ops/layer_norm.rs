//! `LayerNorm`: each slice along `axis` normalized by its own mean and standard deviation
//! (biased variance, `eps` added under the root), then scaled by `gamma` and shifted by `beta`
//! (both of the axis's length). Outputs: `out`, then the hidden `mean` and `std`
//! (`√(var + eps)`, the data's shape with the axis of size 1), shown when `output_mean_var`, as
//! MXNet 1.9.1 has them. `_backward_LayerNorm` takes `[out_grad, data, gamma, mean, std]` and
//! gives the data, gamma and beta gradients.

use rmx_engine::BoxError;
use rmx_kernels::layer_norm::{self, LayerNormPlan};
use rmx_kernels::Shape;

use super::axes::axis;
use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::{shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

struct LayerNorm {
    name: &'static str,
    axis: i64,
    eps: f64,
    output_mean_var: bool,
    backward: bool,
}

impl LayerNorm {
    fn plan(&self, shape: &[usize]) -> Result<LayerNormPlan> {
        let a = axis(self.name, "axis", self.axis, shape.len())?;
        let p = |s: &[usize]| s.iter().product::<usize>();
        Ok(LayerNormPlan { outer: p(&shape[..a]), n: shape[a], inner: p(&shape[a + 1..]), eps: self.eps })
    }

    fn stats_shape(&self, shape: &[usize]) -> Result<Shape> {
        let a = axis(self.name, "axis", self.axis, shape.len())?;
        let mut s: Shape = shape.into();
        s[a] = 1;
        Ok(s)
    }
}

impl Operator for LayerNorm {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let dtype = float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        let data = if self.backward { &inputs[1] } else { &inputs[0] };
        let n = self.plan(&data.shape)?.n;
        let params = if self.backward { &inputs[2..3] } else { &inputs[1..3] };
        for (d, name) in params.iter().zip(["gamma", "beta"]) {
            if d.shape.as_slice() != [n] {
                return Err(shape_err(self.name, format!("input '{name}' has shape {:?}, expected [{n}] (the data's axis {})", d.shape.as_slice(), self.axis)));
            }
        }
        if self.backward {
            if inputs[0].shape != data.shape {
                return Err(shape_err(self.name, format!("out_grad has shape {:?}, the data {:?}", inputs[0].shape.as_slice(), data.shape.as_slice())));
            }
            let vec = TensorDesc::new(&[n], dtype);
            return Ok(vec![data.clone(), vec.clone(), vec]);
        }
        let stats = TensorDesc { shape: self.stats_shape(&data.shape)?, dtype };
        Ok(vec![data.clone(), stats.clone(), stats])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            let p = self.plan(&inputs[1].shape)?;
            let [dx, dgamma, dbeta] = outputs else { unreachable!("_backward_LayerNorm has three outputs") };
            layer_norm::backward(&p, &inputs[0], &inputs[1], &inputs[2], &inputs[3], &inputs[4], dx, dgamma, dbeta)?;
        } else {
            let p = self.plan(&inputs[0].shape)?;
            let [y, mean, std] = outputs else { unreachable!("LayerNorm has three outputs") };
            layer_norm::forward(&p, &inputs[0], &inputs[1], &inputs[2], y, mean, std)?;
        }
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        3
    }

    fn num_visible_outputs(&self) -> usize {
        if self.output_mean_var || self.backward { 3 } else { 1 }
    }

    fn output_names(&self) -> Vec<String> {
        let names: &[&str] = match (self.backward, self.output_mean_var) {
            (true, _) => &["output0", "output1", "output2"],
            (false, true) => &["output", "mean", "std"],
            (false, false) => &["output"],
        };
        names.iter().map(|s| s.to_string()).collect()
    }

    /// `gamma` and `beta` from the data's axis.
    fn complete_inputs(&self, known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        if self.backward {
            return Vec::new();
        }
        let Some(Ok(p)) = known.first().and_then(|s| s.as_ref()).map(|s| self.plan(s)) else { return Vec::new() };
        let v: Shape = [p.n][..].into();
        vec![None, Some(v.clone()), Some(v)]
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let ins = [args.out_grads[0], args.inputs[0], args.inputs[1], args.outputs[1], args.outputs[2]];
        let grads = g.op("_backward_LayerNorm", args.attrs, &ins)?;
        Ok(vec![Some(grads[0]), Some(grads[1]), Some(grads[2])])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(LayerNorm {
        name,
        axis: attrs.int(name, "axis", -1)?,
        eps: attrs.f64(name, "eps", 1e-5)?,
        output_mean_var: attrs.bool(name, "output_mean_var", false)?,
        backward: name.starts_with("_backward_"),
    }))
}

const PARAMS: &[ParamDoc] = &[
    param("axis", "int", "-1", "the axis normalized over"),
    param("eps", "float", "1e-05", "added to the variance before the square root"),
    param("output_mean_var", "boolean", "False", "also output the mean and the standard deviation"),
];

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "LayerNorm",
        aliases: &[],
        doc: "Layer normalization along `axis` (see module doc).",
        inputs: Arity::Fixed(&["data", "gamma", "beta"]),
        params: PARAMS,
        create,
    },
    OpDef {
        name: "_backward_LayerNorm",
        aliases: &[],
        doc: "LayerNorm's data, gamma and beta gradients from the output's and the forward statistics.",
        inputs: Arity::Fixed(&["out_grad", "data", "gamma", "mean", "std"]),
        params: PARAMS,
        create,
    },
];
