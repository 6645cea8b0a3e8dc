//! `BatchNorm`: per channel `c` (axis `axis`, default 1),
//! `y = (x - μ_c) / √(σ²_c + eps) · γ_c + β_c`.
//! In training (and not `use_global_stats`) μ and σ² are the batch's mean and biased variance,
//! and the moving statistics (inputs `moving_mean`, `moving_var`, which the operator writes) move
//! toward them: `moving = moving·momentum + batch·(1 - momentum)`, with the biased variance, as
//! MXNet 1.9.1 does. Otherwise μ and σ² are the moving statistics. With `fix_gamma` (the
//! default) γ is taken as 1 whatever its value, and its gradient is 0.
//!
//! Outputs: `out`, then the hidden `mean` and `var`, shown when `output_mean_var`. Like MXNet
//! 1.9.1, `var` holds the inverse standard deviation `1 / √(σ² + eps)`, not the variance, and
//! both describe the statistics used (the moving ones outside training).
//!
//! Differences from MXNet 1.9.1, checked against it: MXNet's CPU kernel updates the moving
//! statistics in the backward pass, rmx in the training forward (as cuDNN and PyTorch do); they
//! agree whenever a training forward is followed by its backward. The backward ignores the
//! gradients of `mean` and `var`, as MXNet's does. It uses the batch-statistics formula unless
//! `use_global_stats` (the affine one then), so a gradient taken after an inference-mode forward
//! without `use_global_stats` is not the one MXNet gives.
//!
//! `_backward_BatchNorm` takes `[out_grad, data, gamma, mean, var]` (the forward's hidden outputs)
//! and returns the gradients of data, gamma and beta: with `x̂ = (x - μ)·s`, `s = 1/√(σ² + eps)`,
//! `m` elements per channel, `dβ = Σ dy`, `dγ = Σ dy·x̂`, and
//! `dx = γ s (dy - dβ/m - x̂ dγ/m)` with batch statistics, `dx = γ s dy` with global ones.

use rmx_engine::BoxError;
use rmx_kernels::batch_norm::{self, BatchNormPlan};
use rmx_kernels::{DType, Shape};

use super::axes::{axis, split_around};
use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::{shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{param, Arity, OpCtx, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

const INPUTS: [&str; 5] = ["data", "gamma", "beta", "moving_mean", "moving_var"];

struct BatchNorm {
    name: &'static str,
    eps: f64,
    momentum: f64,
    fix_gamma: bool,
    use_global_stats: bool,
    output_mean_var: bool,
    axis: i64,
    backward: bool,
}

impl BatchNorm {
    /// The data of `shape` as `(outer, channels, inner)` blocks around the axis, and the
    /// settings: the kernel's description of the work.
    fn plan(&self, shape: &[usize]) -> Result<BatchNormPlan> {
        let a = axis(self.name, "axis", self.axis, shape.len())?;
        let (outer, channels, inner) = split_around(shape, a, a);
        Ok(BatchNormPlan { outer, channels, inner, eps: self.eps, momentum: self.momentum, fix_gamma: self.fix_gamma })
    }

    fn check_channels(&self, channels: usize, names: &[&str], descs: &[TensorDesc]) -> Result<()> {
        for (name, d) in names.iter().zip(descs) {
            if d.shape.as_slice() != [channels] {
                return Err(shape_err(self.name, format!("input '{name}' has shape {:?}, expected [{channels}] (the data's channels)", d.shape.as_slice())));
            }
        }
        Ok(())
    }

    /// Inputs `[data, gamma, beta, moving_mean, moving_var]`; outputs `[out, mean, inv_std]`.
    fn run_forward(&self, is_train: bool, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let p = self.plan(&inputs[0].shape)?;
        let [y, mean, inv_std] = outputs else { unreachable!("BatchNorm has three outputs") };
        let batch_stats = is_train && !self.use_global_stats;
        batch_norm::forward(&p, batch_stats, &inputs[0], &inputs[1], &inputs[2], &inputs[3], &inputs[4], y, mean, inv_std)?;
        Ok(())
    }

    /// Inputs `[out_grad, data, gamma, mean, inv_std]`; outputs `[d_data, d_gamma, d_beta]`.
    fn run_backward(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let p = self.plan(&inputs[1].shape)?;
        let [dx, dgamma, dbeta] = outputs else { unreachable!("_backward_BatchNorm has three outputs") };
        batch_norm::backward(&p, !self.use_global_stats, &inputs[0], &inputs[1], &inputs[2], &inputs[3], &inputs[4], dx, dgamma, dbeta)?;
        Ok(())
    }
}

impl Operator for BatchNorm {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let dtype = float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        let data = if self.backward { &inputs[1] } else { &inputs[0] };
        let c = self.plan(&data.shape)?.channels;
        let channels = TensorDesc::new(&[c], dtype);
        if self.backward {
            if inputs[0].shape != data.shape {
                return Err(shape_err(self.name, format!("input 'out_grad' has shape {:?}, the data {:?}", inputs[0].shape.as_slice(), data.shape.as_slice())));
            }
            self.check_channels(c, &["gamma", "mean", "var"], &inputs[2..])?;
        } else {
            self.check_channels(c, &INPUTS[1..], &inputs[1..])?;
        }
        Ok(vec![data.clone(), channels.clone(), channels])
    }

    fn compute(&self, ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            self.run_backward(inputs, outputs)
        } else {
            self.run_forward(ctx.is_train, inputs, outputs)
        }
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
            (false, true) => &["output", "mean", "var"],
            (false, false) => &["output"],
        };
        names.iter().map(|s| s.to_string()).collect()
    }

    fn input_init(&self, name: &str) -> Option<&'static str> {
        match name {
            "moving_mean" => Some("[\"zero\", {}]"),
            "moving_var" => Some("[\"one\", {}]"),
            _ => None,
        }
    }

    /// float16 data keeps float32 parameters and statistics, as MXNet's BatchNorm does.
    fn complete_dtypes(&self, known: &[Option<DType>]) -> Vec<Option<DType>> {
        let first = known.iter().flatten().next().copied();
        known
            .iter()
            .enumerate()
            .map(|(i, k)| k.or(match (i, first) {
                (0, f) => f,
                (_, Some(DType::F16)) => Some(DType::F32),
                (_, f) => f,
            }))
            .collect()
    }

    fn mutated_inputs(&self) -> Vec<usize> {
        if self.backward { Vec::new() } else { vec![3, 4] }
    }

    fn complete_inputs(&self, known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        match (self.backward, known.first()) {
            (false, Some(Some(d))) => match self.plan(d) {
                Ok(p) => {
                    let c = Some(Shape::from_slice(&[p.channels]));
                    vec![None, c.clone(), c.clone(), c.clone(), c]
                }
                Err(_) => Vec::new(),
            },
            _ => Vec::new(),
        }
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let ins = [args.out_grads[0], args.inputs[0], args.inputs[1], args.outputs[1], args.outputs[2]];
        let grads = g.op("_backward_BatchNorm", args.attrs, &ins)?;
        Ok(vec![Some(grads[0]), Some(grads[1]), Some(grads[2]), None, None])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(BatchNorm {
        name,
        eps: attrs.f64(name, "eps", 1e-3)?,
        momentum: attrs.f64(name, "momentum", 0.9)?,
        fix_gamma: attrs.bool(name, "fix_gamma", true)?,
        use_global_stats: attrs.bool(name, "use_global_stats", false)?,
        output_mean_var: attrs.bool(name, "output_mean_var", false)?,
        axis: attrs.int(name, "axis", 1)?,
        backward: name.starts_with("_backward_"),
    }))
}

const PARAMS: &[ParamDoc] = &[
    param("eps", "double", "0.001", "added to the variance before the square root"),
    param("momentum", "float", "0.9", "weight of the old moving statistics in their update"),
    param("fix_gamma", "boolean", "True", "take gamma as 1 (its gradient is then 0)"),
    param("use_global_stats", "boolean", "False", "normalize with the moving statistics in training too"),
    param("output_mean_var", "boolean", "False", "also output the mean and the inverse standard deviation"),
    param("axis", "int", "1", "the channel axis"),
    param("cudnn_off", "boolean", "False", "accepted for compatibility"),
    param("min_calib_range", "float or None", "None", "accepted for compatibility (quantization)"),
    param("max_calib_range", "float or None", "None", "accepted for compatibility (quantization)"),
];

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "BatchNorm",
        aliases: &[],
        doc: "Batch normalization over every axis but `axis` (see module doc).",
        inputs: Arity::Fixed(&INPUTS),
        params: PARAMS,
        create,
    },
    OpDef {
        name: "_backward_BatchNorm",
        aliases: &[],
        doc: "BatchNorm's data, gamma and beta gradients from the output's and the forward statistics.",
        inputs: Arity::Fixed(&["out_grad", "data", "gamma", "mean", "var"]),
        params: PARAMS,
        create,
    },
];
