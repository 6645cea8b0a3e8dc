//! The normalizations by a row's own mean and standard deviation (biased variance, `eps` added
//! under the root), then a scale `gamma` and shift `beta`, as MXNet 1.9.1 has them:
//! - `LayerNorm`: along `axis`, `gamma`/`beta` of the axis's length;
//! - `GroupNorm`: the channels (axis 1) split into `num_groups` groups, each group of each sample
//!   with its spatial positions one row; `gamma`/`beta` one per group (1.9.1's shape, `(num_groups,)`);
//! - `InstanceNorm`: each channel of each sample one row; `gamma`/`beta` one per channel.
//!
//! Outputs: `out`, then the hidden `mean` and `std` (`√(var + eps)`), shown by LayerNorm and
//! GroupNorm when `output_mean_var`. `_backward_<op>` takes `[out_grad, data, gamma, mean, std,
//! mean_grad, std_grad]` and gives the data, gamma and beta gradients. The statistics' gradients
//! reach the data too (MXNet 1.9.1 drops them; finite differences side with rmx).

use rmx_engine::BoxError;
use rmx_kernels::layer_norm::{self, Affine, LayerNormPlan};
use rmx_kernels::Shape;

use super::axes::axis;
use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

#[derive(Clone, Copy)]
enum Kind {
    Layer { axis: i64 },
    Group { num_groups: usize },
    Instance,
}

struct Norm {
    name: &'static str,
    kind: Kind,
    eps: f64,
    output_mean_var: bool,
    backward: bool,
}

impl Norm {
    /// The data as rows, and the statistics' shape.
    fn plan(&self, shape: &[usize]) -> Result<(LayerNormPlan, Shape)> {
        let p = |s: &[usize]| s.iter().product::<usize>();
        let eps = self.eps;
        let groups = match self.kind {
            Kind::Layer { axis: a } => {
                let a = axis(self.name, "axis", a, shape.len())?;
                let mut stats: Shape = shape.into();
                stats[a] = 1;
                let plan = LayerNormPlan { outer: p(&shape[..a]), n: shape[a], inner: p(&shape[a + 1..]), eps, affine: Affine::AlongRow };
                return Ok((plan, stats));
            }
            Kind::Group { num_groups } => num_groups,
            Kind::Instance => *shape.get(1).unwrap_or(&0),
        };
        let min_ndim = 3;
        if shape.len() < min_ndim {
            return Err(shape_err(self.name, format!("data has shape {shape:?}; expected (batch, channel, ...) with at least {min_ndim} axes")));
        }
        if groups == 0 || shape[1] % groups != 0 {
            return Err(param_err(self.name, "num_groups", format!("{groups} groups do not divide the {} channels of data {shape:?}", shape[1])));
        }
        let plan = LayerNormPlan { outer: shape[0] * groups, n: shape[1] / groups * p(&shape[2..]), inner: 1, eps, affine: Affine::PerRow(groups) };
        Ok((plan, [shape[0], groups][..].into()))
    }
}

impl Operator for Norm {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let dtype = float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        let data = if self.backward { &inputs[1] } else { &inputs[0] };
        let (plan, stats) = self.plan(&data.shape)?;
        let n = plan.params();
        let params = if self.backward { &inputs[2..3] } else { &inputs[1..3] };
        for (d, name) in params.iter().zip(["gamma", "beta"]) {
            if d.shape.as_slice() != [n] {
                return Err(shape_err(self.name, format!("input '{name}' has shape {:?}, expected [{n}] for data {:?}", d.shape.as_slice(), data.shape.as_slice())));
            }
        }
        if self.backward {
            if inputs[0].shape != data.shape || inputs[5].shape != stats || inputs[6].shape != stats {
                return Err(shape_err(self.name, format!("out_grad {:?} and the statistics' gradients {:?}, {:?} do not fit data {:?}", inputs[0].shape.as_slice(), inputs[5].shape.as_slice(), inputs[6].shape.as_slice(), data.shape.as_slice())));
            }
            let vec = TensorDesc::new(&[n], dtype);
            return Ok(vec![data.clone(), vec.clone(), vec]);
        }
        let stats = TensorDesc { shape: stats, dtype };
        Ok(vec![data.clone(), stats.clone(), stats])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            let (p, _) = self.plan(&inputs[1].shape)?;
            let [dx, dgamma, dbeta] = outputs else { unreachable!("a normalization's backward has three outputs") };
            let [dy, x, gamma, mean, std, dmean, dstd] = inputs else { unreachable!("a normalization's backward has seven inputs") };
            layer_norm::backward(&p, [dy, x, gamma, mean, std, dmean, dstd], dx, dgamma, dbeta)?;
        } else {
            let (p, _) = self.plan(&inputs[0].shape)?;
            let [y, mean, std] = outputs else { unreachable!("a normalization has three outputs") };
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

    /// `gamma` and `beta` from the data's shape.
    fn complete_inputs(&self, known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        if self.backward {
            return Vec::new();
        }
        let Some(Ok((p, _))) = known.first().and_then(|s| s.as_ref()).map(|s| self.plan(s)) else { return Vec::new() };
        let v: Shape = [p.params()][..].into();
        vec![None, Some(v.clone()), Some(v)]
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let ins = [args.out_grads[0], args.inputs[0], args.inputs[1], args.outputs[1], args.outputs[2], args.out_grads[1], args.out_grads[2]];
        let backward = match self.kind {
            Kind::Layer { .. } => "_backward_LayerNorm",
            Kind::Group { .. } => "_backward_GroupNorm",
            Kind::Instance => "_backward_InstanceNorm",
        };
        let grads = g.op(backward, args.attrs, &ins)?;
        Ok(vec![Some(grads[0]), Some(grads[1]), Some(grads[2])])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let kind = match name.trim_start_matches("_backward_") {
        "LayerNorm" => Kind::Layer { axis: attrs.int(name, "axis", -1)? },
        "GroupNorm" => match attrs.int(name, "num_groups", 1)? {
            g if g >= 1 => Kind::Group { num_groups: g as usize },
            g => return Err(param_err(name, "num_groups", format!("must be at least 1, got {g}"))),
        },
        _ => Kind::Instance,
    };
    let eps = attrs.f64(name, "eps", if matches!(kind, Kind::Instance) { 1e-3 } else { 1e-5 })?;
    let output_mean_var = !matches!(kind, Kind::Instance) && attrs.bool(name, "output_mean_var", false)?;
    Ok(Box::new(Norm { name, kind, eps, output_mean_var, backward: name.starts_with("_backward_") }))
}

const LAYER_PARAMS: &[ParamDoc] = &[
    param("axis", "int", "-1", "the axis normalized over"),
    param("eps", "float", "1e-05", "added to the variance before the square root"),
    param("output_mean_var", "boolean", "False", "also output the mean and the standard deviation"),
];
const GROUP_PARAMS: &[ParamDoc] = &[
    param("num_groups", "int", "1", "the number of channel groups"),
    param("eps", "float", "1e-05", "added to the variance before the square root"),
    param("output_mean_var", "boolean", "False", "also output the mean and the standard deviation"),
];
const INSTANCE_PARAMS: &[ParamDoc] = &[param("eps", "float", "0.001", "added to the variance before the square root")];

macro_rules! norm_defs {
    ($($name:literal, $backward:literal, $params:expr, $doc:literal;)*) => {
        pub static DEFS: &[OpDef] = &[$(
            OpDef { name: $name, aliases: &[], doc: $doc, inputs: Arity::Fixed(&["data", "gamma", "beta"]), params: $params, create },
            OpDef {
                name: $backward, aliases: &[],
                doc: "The data, gamma and beta gradients from the output's and the forward statistics.",
                inputs: Arity::Fixed(&["out_grad", "data", "gamma", "mean", "std", "mean_grad", "std_grad"]), params: $params, create,
            },
        )*];
    };
}

norm_defs! {
    "LayerNorm", "_backward_LayerNorm", LAYER_PARAMS, "Layer normalization along `axis` (see module doc).";
    "GroupNorm", "_backward_GroupNorm", GROUP_PARAMS, "Group normalization over channel groups (see module doc).";
    "InstanceNorm", "_backward_InstanceNorm", INSTANCE_PARAMS, "Instance normalization per sample and channel (see module doc).";
}
