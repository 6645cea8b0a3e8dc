//! `LeakyReLU`, by `act_type`:
//! - `leaky` (default): `x > 0 ? x : slope·x`;
//! - `prelu`: `x > 0 ? x : γ_c·x` with the learned input `gamma` of shape `(C,)` (C = axis 1 of
//!   the data) or `(1,)`;
//! - `rrelu`: `x > 0 ? x : s·x`; in training each element draws `s` uniformly from
//!   `[lower_bound, upper_bound)` (the process random stream), otherwise `s = (lower + upper)/2`.
//!   The slopes are a second output, `mask`, which MXNet shows (`<name>_mask`); its backward reads
//!   them. (MXNet 1.9.1 leaves the mask unwritten at inference and crashes on imperative rrelu in
//!   training; rmx writes the slopes used in both cases.)
//! - `elu`: `x > 0 ? x : slope·(eˣ - 1)` (the `slope` parameter is ELU's alpha, default 0.25);
//! - `selu`: `λ·(x > 0 ? x : α(eˣ - 1))`, α ≈ 1.67326, λ ≈ 1.05070;
//! - `gelu`: `x·Φ(x) = x/2·(1 + erf(x/√2))`, the exact form (as MXNet 1.9.1, not the tanh one).
//!
//! The derivatives use `x > 0` strictly, so at 0 they take the negative branch's value
//! (`slope`, `γ`, `λα`), as MXNet's do. `_backward_LeakyReLU` takes `[out_grad, data]`, plus
//! `gamma` for prelu (and then returns gamma's gradient `Σ_{x≤0} dy·x` too) or `mask` for rrelu.

use rmx_engine::BoxError;
use rmx_kernels::leaky_relu::{self, Kind};
use rmx_kernels::Shape;

use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{param, Arity, OpCtx, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

const ACT_TYPES: &[&str] = &["leaky", "prelu", "rrelu", "elu", "selu", "gelu"];

struct LeakyReLU {
    name: &'static str,
    kind: Kind,
    slope: f64,
    lower: f64,
    upper: f64,
    backward: bool,
}

impl LeakyReLU {
    fn infer_gamma(&self, data: &[usize], gamma: &[usize]) -> Result<()> {
        let ok = gamma == [1] || (data.len() >= 2 && gamma == [data[1]]);
        if !ok {
            let want = if data.len() >= 2 { format!("[{}] (axis 1 of the data) or [1]", data[1]) } else { "[1]".into() };
            return Err(shape_err(self.name, format!("input 'gamma' has shape {gamma:?}, expected {want} for data of shape {data:?}")));
        }
        Ok(())
    }

    /// Inputs `[data, (gamma)]`; outputs `[out, (mask)]`.
    fn run_forward(&self, is_train: bool, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (x, gamma) = (&inputs[0], inputs.get(1));
        match outputs {
            [y, mask] if self.kind == Kind::RRelu => {
                // Training draws the slopes from the process random stream (the push holds its
                // variable); inference uses their mean.
                let mut rng = is_train.then(crate::rng::lock);
                leaky_relu::rrelu_forward(self.lower, self.upper, rng.as_deref_mut(), x, y, mask)?;
            }
            [y, ..] => leaky_relu::forward(self.kind, self.slope, x, gamma, y)?,
            [] => unreachable!("LeakyReLU has an output"),
        }
        Ok(())
    }

    /// Inputs `[out_grad, data, (gamma | mask)]`; outputs `[d_data, (d_gamma)]`.
    fn run_backward(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (dx, dgamma) = outputs.split_at_mut(1);
        leaky_relu::backward(self.kind, self.slope, &inputs[0], &inputs[1], inputs.get(2), &mut dx[0], dgamma.first_mut())?;
        Ok(())
    }
}

impl Operator for LeakyReLU {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        let data = if self.backward { &inputs[1] } else { &inputs[0] };
        if self.kind == Kind::PRelu {
            self.infer_gamma(&data.shape, &inputs[inputs.len() - 1].shape)?;
        }
        if self.backward {
            for (i, what) in [(0, "out_grad"), (2, "mask")] {
                if (i == 0 || self.kind == Kind::RRelu) && inputs[i].shape != data.shape {
                    return Err(shape_err(self.name, format!("input '{what}' has shape {:?}, the data {:?}", inputs[i].shape.as_slice(), data.shape.as_slice())));
                }
            }
            let mut outs = vec![data.clone()];
            if self.kind == Kind::PRelu {
                outs.push(inputs[2].clone());
            }
            return Ok(outs);
        }
        Ok(vec![data.clone(); self.num_outputs()])
    }

    fn compute(&self, ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            self.run_backward(inputs, outputs)
        } else {
            self.run_forward(ctx.is_train, inputs, outputs)
        }
    }

    fn uses_rng(&self) -> bool {
        self.kind == Kind::RRelu && !self.backward
    }

    fn num_outputs(&self) -> usize {
        match (self.backward, self.kind) {
            (false, Kind::RRelu) | (true, Kind::PRelu) => 2,
            _ => 1,
        }
    }

    fn output_names(&self) -> Vec<String> {
        match (self.backward, self.kind) {
            (false, Kind::RRelu) => vec!["output".into(), "mask".into()],
            (false, _) => vec!["output".into()],
            (true, _) => (0..self.num_outputs()).map(|i| format!("output{i}")).collect(),
        }
    }

    fn input_init(&self, name: &str) -> Option<&'static str> {
        (name == "gamma").then_some("[\"Constant\", {\"value\": 0.25}]")
    }

    fn input_names(&self) -> Option<Vec<&'static str>> {
        Some(match (self.backward, self.kind) {
            (false, Kind::PRelu) => vec!["data", "gamma"],
            (false, _) => vec!["data"],
            (true, Kind::PRelu) => vec!["out_grad", "data", "gamma"],
            (true, Kind::RRelu) => vec!["out_grad", "data", "mask"],
            (true, _) => vec!["out_grad", "data"],
        })
    }

    fn complete_inputs(&self, known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        match (self.backward, self.kind, known.first()) {
            (false, Kind::PRelu, Some(Some(d))) if d.len() >= 2 => vec![None, Some(Shape::from_slice(&[d[1]]))],
            _ => Vec::new(),
        }
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let (dy, x) = (args.out_grads[0], args.inputs[0]);
        let grads = match self.kind {
            Kind::PRelu => g.op("_backward_LeakyReLU", args.attrs, &[dy, x, args.inputs[1]])?,
            Kind::RRelu => g.op("_backward_LeakyReLU", args.attrs, &[dy, x, args.outputs[1]])?,
            _ => g.op("_backward_LeakyReLU", args.attrs, &[dy, x])?,
        };
        Ok(grads.into_iter().map(Some).collect())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let kind = match attrs.choice(name, "act_type", "leaky", ACT_TYPES)? {
        "leaky" => Kind::Leaky,
        "prelu" => Kind::PRelu,
        "rrelu" => Kind::RRelu,
        "elu" => Kind::Elu,
        "selu" => Kind::Selu,
        _ => Kind::Gelu,
    };
    let (lower, upper) = (attrs.f64(name, "lower_bound", 0.125)?, attrs.f64(name, "upper_bound", 0.334)?);
    if kind == Kind::RRelu && lower > upper {
        return Err(param_err(name, "upper_bound", format!("must not be below lower_bound ({lower}), got {upper}")));
    }
    Ok(Box::new(LeakyReLU { name, kind, slope: attrs.f64(name, "slope", 0.25)?, lower, upper, backward: name.starts_with("_backward_") }))
}

const PARAMS: &[ParamDoc] = &[
    param("act_type", "{'elu', 'gelu', 'leaky', 'prelu', 'rrelu', 'selu'}", "'leaky'", "the activation function"),
    param("slope", "float", "0.25", "negative slope of leaky; alpha of elu"),
    param("lower_bound", "float", "0.125", "lowest random slope of rrelu"),
    param("upper_bound", "float", "0.334", "highest random slope of rrelu"),
];

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "LeakyReLU",
        aliases: &[],
        doc: "Leaky, parametric, randomized, exponential, scaled exponential or Gaussian-error rectifier (see module doc).",
        inputs: Arity::Fixed(&["data", "gamma"]),
        params: PARAMS,
        create,
    },
    OpDef {
        name: "_backward_LeakyReLU",
        aliases: &[],
        doc: "LeakyReLU's input gradient (and prelu's gamma gradient) from the output's.",
        inputs: Arity::Fixed(&["out_grad", "data", "gamma"]),
        params: PARAMS,
        create,
    },
];
