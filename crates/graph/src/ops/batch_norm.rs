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
use rmx_kernels::Shape;

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

#[cfg(test)]
mod tests {
    use crate::invoke::{invoke, invoke_with};
    use crate::testing::{analytic_grads, array, check_gradient, uniform, values};
    use crate::{Attrs, NDArray, OpCtx};
    use rmx_engine::Context;

    /// Per-channel statistics of `x` (shape `(o, c, i)`) computed naively.
    fn stats(x: &[f64], o: usize, c: usize, i: usize) -> (Vec<f64>, Vec<f64>) {
        let m = (o * i) as f64;
        let at = |a: usize, ch: usize, b: usize| x[(a * c + ch) * i + b];
        let mut mean = vec![0.0; c];
        let mut var = vec![0.0; c];
        for ch in 0..c {
            for a in 0..o {
                for b in 0..i {
                    mean[ch] += at(a, ch, b) / m;
                }
            }
            for a in 0..o {
                for b in 0..i {
                    var[ch] += (at(a, ch, b) - mean[ch]).powi(2) / m;
                }
            }
        }
        (mean, var)
    }

    fn inputs(shape: &[usize], c: usize, seed: u64) -> Vec<NDArray> {
        let n: usize = shape.iter().product();
        vec![
            array(shape, &uniform(n, -2.0, 3.0, seed)),
            array(&[c], &uniform(c, 0.5, 1.5, seed + 1)),
            array(&[c], &uniform(c, -0.5, 0.5, seed + 2)),
            array(&[c], &uniform(c, -0.2, 0.2, seed + 3)),
            array(&[c], &uniform(c, 0.5, 2.0, seed + 4)),
        ]
    }

    #[test]
    fn training_forward_normalizes_with_batch_statistics_and_updates_moving_ones() {
        // (shape, axis, (outer, channels, inner))
        // The last case is large enough for the parallel paths.
        for (shape, ax, (o, c, i)) in [(vec![4, 3, 5], "1", (4, 3, 5)), (vec![2, 3, 4], "-1", (6, 4, 1)), (vec![6, 2], "1", (6, 2, 1)), (vec![9, 4, 1000], "1", (9, 4, 1000))] {
            for fix_gamma in ["True", "False"] {
                let ins = inputs(&shape, c, 7);
                let (xv, gv, bv, mmv, mvv) = (values(&ins[0]), values(&ins[1]), values(&ins[2]), values(&ins[3]), values(&ins[4]));
                let attrs = Attrs::from_pairs([("axis", ax), ("fix_gamma", fix_gamma), ("output_mean_var", "True"), ("eps", "0.01"), ("momentum", "0.8")]);
                let outs = invoke_with("BatchNorm", &ins, &attrs, None, Context::cpu(0), OpCtx { is_train: true, ..Default::default() }).unwrap();
                let (mean, var) = stats(&xv, o, c, i);
                let y = values(&outs[0]);
                for (j, v) in y.iter().enumerate() {
                    let ch = (j / i) % c;
                    let gamma = if fix_gamma == "True" { 1.0 } else { gv[ch] };
                    let want = (xv[j] - mean[ch]) / (var[ch] + 0.01).sqrt() * gamma + bv[ch];
                    assert!((v - want).abs() < 1e-10, "{shape:?} axis {ax}: {v} vs {want}");
                }
                let inv: Vec<f64> = var.iter().map(|v| 1.0 / (v + 0.01).sqrt()).collect();
                values(&outs[1]).iter().zip(&mean).for_each(|(a, b)| assert!((a - b).abs() < 1e-12));
                values(&outs[2]).iter().zip(&inv).for_each(|(a, b)| assert!((a - b).abs() < 1e-10));
                for (got, (old, batch)) in values(&ins[3]).iter().zip(mmv.iter().zip(&mean)) {
                    assert!((got - (old * 0.8 + batch * 0.2)).abs() < 1e-12);
                }
                for (got, (old, batch)) in values(&ins[4]).iter().zip(mvv.iter().zip(&var)) {
                    assert!((got - (old * 0.8 + batch * 0.2)).abs() < 1e-12, "biased variance");
                }
            }
        }
    }

    #[test]
    fn inference_and_global_stats_use_the_moving_statistics_and_leave_them() {
        for (is_train, params) in [(false, vec![("fix_gamma", "False")]), (true, vec![("fix_gamma", "False"), ("use_global_stats", "True")])] {
            let ins = inputs(&[3, 2, 2], 2, 3);
            let (xv, gv, bv, mm, mv) = (values(&ins[0]), values(&ins[1]), values(&ins[2]), values(&ins[3]), values(&ins[4]));
            let outs = invoke_with("BatchNorm", &ins, &Attrs::from_pairs(params.iter().copied()), None, Context::cpu(0), OpCtx { is_train, ..Default::default() }).unwrap();
            for (j, v) in values(&outs[0]).iter().enumerate() {
                let c = (j / 2) % 2;
                let want = (xv[j] - mm[c]) / (mv[c] + 1e-3).sqrt() * gv[c] + bv[c];
                assert!((v - want).abs() < 1e-12);
            }
            assert_eq!(values(&outs[1]), mm);
            assert_eq!((values(&ins[3]), values(&ins[4])), (mm, mv));
        }
    }

    #[test]
    fn gradients_match_finite_differences_in_training() {
        for (shape, c, params) in [
            (vec![3, 2, 2], 2, vec![("fix_gamma", "False")]),
            (vec![3, 2, 2], 2, vec![]),
            (vec![2, 2, 3], 3, vec![("fix_gamma", "False"), ("axis", "-1"), ("eps", "0.1")]),
            (vec![4, 3], 3, vec![("fix_gamma", "False")]),
            (vec![3, 2, 2], 2, vec![("fix_gamma", "False"), ("use_global_stats", "True")]),
        ] {
            check_gradient("BatchNorm", &params, &inputs(&shape, c, 5), &[3, 4], true);
        }
        // Outside training the statistics are constants: the affine gradient.
        check_gradient("BatchNorm", &[("fix_gamma", "False"), ("use_global_stats", "True")], &inputs(&[2, 3, 2], 3, 6), &[3, 4], false);
    }

    #[test]
    fn training_gradient_matches_the_closed_form_on_large_data() {
        let (o, c, i) = (5, 3, 3000);
        let shape = [o, c, i];
        let ins = inputs(&shape, c, 11);
        let (xv, gv) = (values(&ins[0]), values(&ins[1]));
        let dy = uniform(o * c * i, -1.0, 1.0, 12);
        let og = [array(&shape, &dy), array(&[c], &[0.0; 3]), array(&[c], &[0.0; 3])];
        let g = analytic_grads("BatchNorm", &[("fix_gamma", "False")], &ins, &og, true);
        let (mean, var) = stats(&xv, o, c, i);
        let m = (o * i) as f64;
        for ch in 0..c {
            let s = 1.0 / (var[ch] + 1e-3).sqrt();
            let idx: Vec<usize> = (0..o).flat_map(|a| (0..i).map(move |b| (a * c + ch) * i + b)).collect();
            let xhat = |j: usize| (xv[j] - mean[ch]) * s;
            let sum_dy: f64 = idx.iter().map(|&j| dy[j]).sum();
            let sum_dy_xhat: f64 = idx.iter().map(|&j| dy[j] * xhat(j)).sum();
            assert!((g[2].as_ref().unwrap()[ch] - sum_dy).abs() < 1e-9);
            assert!((g[1].as_ref().unwrap()[ch] - sum_dy_xhat).abs() < 1e-9);
            for &j in &idx {
                let want = gv[ch] * s * (dy[j] - sum_dy / m - xhat(j) * sum_dy_xhat / m);
                assert!((g[0].as_ref().unwrap()[j] - want).abs() < 1e-12);
            }
        }
    }

    #[test]
    fn fixed_gamma_is_ignored_and_gets_a_zero_gradient() {
        let mut ins = inputs(&[4, 2], 2, 9);
        let y1 = values(&invoke_with("BatchNorm", &ins, &Attrs::new(), None, Context::cpu(0), OpCtx { is_train: true, ..Default::default() }).unwrap()[0]);
        ins[1] = array(&[2], &[5.0, -3.0]);
        let y2 = values(&invoke_with("BatchNorm", &ins, &Attrs::new(), None, Context::cpu(0), OpCtx { is_train: true, ..Default::default() }).unwrap()[0]);
        assert_eq!(y1, y2);
        let og = [array(&[4, 2], &uniform(8, -1.0, 1.0, 1)), array(&[2], &[0.0; 2]), array(&[2], &[0.0; 2])];
        let g = analytic_grads("BatchNorm", &[], &ins, &og, true);
        assert_eq!(g[1].as_ref().unwrap(), &vec![0.0, 0.0]);
        assert!(g[3].is_none() && g[4].is_none());
    }

    #[test]
    fn shapes_complete_and_mismatches_name_the_input() {
        let def = crate::lookup("BatchNorm").unwrap();
        let op = def.instantiate(&Attrs::from_pairs([("output_mean_var", "True")])).unwrap();
        let got = op.complete_inputs(&[Some([2usize, 5, 3][..].into()), None, None, None, None]);
        assert!(got[1..].iter().all(|s| s.as_deref() == Some(&[5usize][..])));
        assert_eq!((op.num_outputs(), op.output_names()), (3, vec!["output".to_string(), "mean".into(), "var".into()]));
        assert_eq!(op.mutated_inputs(), vec![3, 4]);
        assert_eq!(def.instantiate(&Attrs::new()).unwrap().num_visible_outputs(), 1);
        let mut ins = inputs(&[2, 3], 3, 1);
        ins[4] = array(&[2], &[1.0, 1.0]);
        let err = invoke("BatchNorm", &ins, &Attrs::new(), None, Context::cpu(0)).err().unwrap().to_string();
        assert!(err.contains("BatchNorm") && err.contains("'moving_var'") && err.contains("[3]"), "{err}");
        let err = invoke("BatchNorm", &inputs(&[2, 3], 3, 1), &Attrs::from_pairs([("axis", "2")]), None, Context::cpu(0)).err().unwrap().to_string();
        assert!(err.contains("axis"), "{err}");
    }
}
