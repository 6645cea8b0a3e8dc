//! `L2Normalization`: the data divided by its L2 norm `√(Σx² + eps)`, taken per sample over
//! everything else (`mode='instance'`), per sample and spatial position over the channels
//! (`'channel'`), or per sample and channel over the spatial positions (`'spatial'`), as MXNet
//! 1.9.1. Outputs `out` and the hidden `norm`. `_backward_L2Normalization` takes
//! `[out_grad, out, norm]`.

use rmx_engine::BoxError;
use rmx_kernels::layer_norm::{self, Affine, LayerNormPlan};
use rmx_kernels::Shape;

use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::{shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Instance,
    Channel,
    Spatial,
}

struct L2Normalization {
    name: &'static str,
    mode: Mode,
    eps: f64,
    backward: bool,
}

impl L2Normalization {
    /// The rows normalized, and the norm's shape.
    fn plan(&self, shape: &[usize]) -> Result<(LayerNormPlan, Shape)> {
        let min_ndim = if self.mode == Mode::Instance { 2 } else { 3 };
        if shape.len() < min_ndim {
            return Err(shape_err(self.name, format!("data has shape {shape:?}; this mode needs (batch, channel{}) with at least {min_ndim} axes", if min_ndim == 3 { ", spatial..." } else { "" })));
        }
        let (n, c, spatial) = (shape[0], shape[1], shape[2..].iter().product::<usize>());
        let plan = |outer, len, inner| LayerNormPlan { outer, n: len, inner, eps: self.eps, affine: Affine::AlongRow };
        Ok(match self.mode {
            Mode::Instance => (plan(n, c * spatial, 1), [n][..].into()),
            Mode::Channel => (plan(n, c, spatial), [&shape[..1], &shape[2..]].concat().as_slice().into()),
            Mode::Spatial => (plan(n * c, spatial, 1), [n, c][..].into()),
        })
    }
}

impl Operator for L2Normalization {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let dtype = float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        if self.backward {
            let (og, out, norm) = (&inputs[0], &inputs[1], &inputs[2]);
            let (_, norm_shape) = self.plan(&out.shape)?;
            if og.shape != out.shape || norm.shape != norm_shape {
                return Err(shape_err(self.name, format!("out_grad {:?}, out {:?} and norm {:?} do not match", og.shape.as_slice(), out.shape.as_slice(), norm.shape.as_slice())));
            }
            return Ok(vec![out.clone()]);
        }
        let (_, norm) = self.plan(&inputs[0].shape)?;
        Ok(vec![inputs[0].clone(), TensorDesc { shape: norm, dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (p, _) = self.plan(&inputs[self.backward as usize].shape)?;
        if self.backward {
            layer_norm::l2_backward(&p, &inputs[0], &inputs[1], &inputs[2], &mut outputs[0])?;
        } else {
            let [y, norm] = outputs else { unreachable!("L2Normalization has two outputs") };
            layer_norm::l2_forward(&p, &inputs[0], y, norm)?;
        }
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        if self.backward { 1 } else { 2 }
    }

    fn num_visible_outputs(&self) -> usize {
        1
    }

    fn output_names(&self) -> Vec<String> {
        vec!["output".into(), "norm".into()]
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let dx = g.op1("_backward_L2Normalization", args.attrs, &[args.out_grads[0], args.outputs[0], args.outputs[1]])?;
        Ok(vec![Some(dx)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let mode = match attrs.choice(name, "mode", "instance", &["instance", "channel", "spatial"])? {
        "instance" => Mode::Instance,
        "channel" => Mode::Channel,
        _ => Mode::Spatial,
    };
    Ok(Box::new(L2Normalization { name, mode, eps: attrs.f64(name, "eps", 1e-10)?, backward: name.starts_with("_backward_") }))
}

const PARAMS: &[crate::operator::ParamDoc] = &[
    param("eps", "float", "1e-10", "added to the sum of squares before the square root"),
    param("mode", "{'channel', 'instance', 'spatial'}", "'instance'", "what each norm is taken over"),
];

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "L2Normalization",
        aliases: &[],
        doc: "The data divided by its L2 norm per instance, channel or spatial map (see module doc).",
        inputs: Arity::Fixed(&["data"]),
        params: PARAMS,
        create,
    },
    OpDef {
        name: "_backward_L2Normalization",
        aliases: &[],
        doc: "L2Normalization's data gradient from [out_grad, out, norm].",
        inputs: Arity::Fixed(&["out_grad", "out", "norm"]),
        params: PARAMS,
        create,
    },
];
