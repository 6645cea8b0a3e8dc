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

#[cfg(test)]
mod tests {
    use crate::invoke::{invoke, invoke_with};
    use crate::testing::{analytic_grads, array, check_gradient, uniform, values};
    use crate::{Attrs, OpCtx};
    use rmx_engine::Context;

    /// Inputs away from the kink at 0 (finite differences straddle it otherwise).
    fn signed(n: usize, seed: u64) -> Vec<f64> {
        uniform(n, 0.05, 2.5, seed).iter().enumerate().map(|(i, v)| if (i + seed as usize) % 3 == 0 { *v } else { -v }).collect()
    }

    fn erf(x: f64) -> f64 {
        // Abramowitz-Stegun 7.1.26 is too coarse; integrate exp(-t²) by Simpson's rule.
        let n = 2000;
        let h = x / n as f64;
        let f = |t: f64| (-t * t).exp();
        let mut s = f(0.0) + f(x);
        for i in 1..n {
            s += f(i as f64 * h) * if i % 2 == 1 { 4.0 } else { 2.0 };
        }
        s * h / 3.0 * 2.0 / std::f64::consts::PI.sqrt()
    }

    #[test]
    fn forward_matches_the_formulas() {
        let x = signed(24, 1);
        let (a, l) = (1.673_263_242_354_377_3, 1.050_700_987_355_480_5);
        for (act, slope, f) in [
            ("leaky", 0.1, &(|x: f64| if x > 0.0 { x } else { 0.1 * x }) as &dyn Fn(f64) -> f64),
            ("elu", 0.7, &|x: f64| if x > 0.0 { x } else { 0.7 * (x.exp() - 1.0) }),
            ("selu", 0.25, &|x: f64| l * if x > 0.0 { x } else { a * (x.exp() - 1.0) }),
            ("gelu", 0.25, &|x: f64| 0.5 * x * (1.0 + erf(x / 2f64.sqrt()))),
            ("rrelu", 0.25, &|x: f64| if x > 0.0 { x } else { (0.125 + 0.334) / 2.0 * x }),
        ] {
            let s = slope.to_string();
            let outs = invoke("LeakyReLU", &[array(&[4, 6], &x)], &Attrs::from_pairs([("act_type", act), ("slope", &s)]), None, Context::cpu(0)).unwrap();
            for (got, &v) in values(&outs[0]).iter().zip(&x) {
                assert!((got - f(v)).abs() < 1e-9, "{act}({v}) = {got}, want {}", f(v));
            }
        }
    }

    #[test]
    fn large_inputs_take_the_parallel_path() {
        let n = 50000;
        let x = signed(n, 4);
        let y = values(&invoke("LeakyReLU", &[array(&[n], &x)], &Attrs::from_pairs([("act_type", "elu")]), None, Context::cpu(0)).unwrap()[0]);
        y.iter().zip(&x).for_each(|(y, &x)| assert!((y - if x > 0.0 { x } else { 0.25 * (x.exp() - 1.0) }).abs() < 1e-12));
        let gamma = [0.1, 0.2, 0.3, 0.4];
        let g = analytic_grads("LeakyReLU", &[("act_type", "prelu")], &[array(&[10, 4, 1250], &x), array(&[4], &gamma)], &[array(&[10, 4, 1250], &vec![1.0; n])], false);
        let mut dgamma = [0.0; 4];
        for (j, (&x, d)) in x.iter().zip(g[0].as_ref().unwrap()).enumerate() {
            let c = (j / 1250) % 4;
            assert_eq!(*d, if x > 0.0 { 1.0 } else { gamma[c] });
            if x <= 0.0 {
                dgamma[c] += x;
            }
        }
        g[1].as_ref().unwrap().iter().zip(dgamma).for_each(|(a, b)| assert!((a - b).abs() < 1e-9));
    }

    #[test]
    fn prelu_gamma_broadcasts_over_axis_1_or_is_one_value() {
        let x = [-1.0, 2.0, -3.0, -4.0, 5.0, -6.0];
        let y = &invoke("LeakyReLU", &[array(&[2, 3], &x), array(&[3], &[0.1, 0.2, 0.3])], &Attrs::from_pairs([("act_type", "prelu")]), None, Context::cpu(0)).unwrap()[0];
        let want = [-0.1, 2.0, -0.9, -0.4, 5.0, -1.8];
        values(y).iter().zip(want).for_each(|(a, b)| assert!((a - b).abs() < 1e-12));
        let y = &invoke("LeakyReLU", &[array(&[1, 2, 3], &x), array(&[1], &[0.5])], &Attrs::from_pairs([("act_type", "prelu")]), None, Context::cpu(0)).unwrap()[0];
        assert_eq!(values(y), vec![-0.5, 2.0, -1.5, -2.0, 5.0, -3.0]);
        // Gamma per channel of a (N, C, W) array: channel = (i / W) % C.
        let x3 = [-1.0; 8];
        let y = &invoke("LeakyReLU", &[array(&[2, 2, 2], &x3), array(&[2], &[0.1, 0.2])], &Attrs::from_pairs([("act_type", "prelu")]), None, Context::cpu(0)).unwrap()[0];
        assert_eq!(values(y), vec![-0.1, -0.1, -0.2, -0.2, -0.1, -0.1, -0.2, -0.2]);
    }

    #[test]
    fn gradients_match_finite_differences() {
        let x = array(&[2, 3, 2], &signed(12, 2));
        for act in ["leaky", "elu", "selu", "gelu", "rrelu"] {
            check_gradient("LeakyReLU", &[("act_type", act), ("slope", "0.3")], std::slice::from_ref(&x), &[], false);
        }
        check_gradient("LeakyReLU", &[("act_type", "prelu")], &[x.clone(), array(&[3], &[0.1, 0.4, -0.2])], &[], false);
        check_gradient("LeakyReLU", &[("act_type", "prelu")], &[x, array(&[1], &[0.3])], &[], false);
    }

    #[test]
    fn derivative_at_zero_takes_the_negative_branch() {
        let x = array(&[1], &[0.0]);
        let dy = [array(&[1], &[1.0])];
        let g = |act: &str| analytic_grads("LeakyReLU", &[("act_type", act)], std::slice::from_ref(&x), &dy, false)[0].clone().unwrap()[0];
        assert_eq!(g("leaky"), 0.25);
        assert_eq!(g("elu"), 0.25);
        assert!((g("selu") - 1.758_099_340_847_376_6).abs() < 1e-12);
        assert_eq!(g("gelu"), 0.5);
    }

    #[test]
    fn rrelu_in_training_draws_slopes_in_range_and_its_gradient_uses_them() {
        let n = 2000;
        let x = array(&[n], &vec![-1.0; n]);
        let attrs = Attrs::from_pairs([("act_type", "rrelu"), ("lower_bound", "0.1"), ("upper_bound", "0.3")]);
        let outs = invoke_with("LeakyReLU", std::slice::from_ref(&x), &attrs, None, Context::cpu(0), OpCtx { is_train: true, ..Default::default() }).unwrap();
        let (y, mask) = (values(&outs[0]), values(&outs[1]));
        assert!(mask.iter().all(|s| (0.1..0.3).contains(s)));
        assert!(y.iter().zip(&mask).all(|(y, s)| *y == -s));
        let mean = mask.iter().sum::<f64>() / n as f64;
        assert!((mean - 0.2).abs() < 0.01, "mean slope {mean}");
        let dy = [array(&[n], &vec![2.0; n]), array(&[n], &vec![0.0; n])];
        let g = analytic_grads("LeakyReLU", &[("act_type", "rrelu"), ("lower_bound", "0.1"), ("upper_bound", "0.3")], &[x], &dy, true)[0].clone().unwrap();
        assert!(g.iter().all(|v| (0.2..0.6).contains(v)));
    }

    #[test]
    fn bad_gamma_and_act_type_are_refused() {
        let x = array(&[2, 3], &[0.0; 6]);
        let err = invoke("LeakyReLU", &[x.clone(), array(&[2], &[0.0; 2])], &Attrs::from_pairs([("act_type", "prelu")]), None, Context::cpu(0)).err().unwrap().to_string();
        assert!(err.contains("LeakyReLU") && err.contains("'gamma'") && err.contains("[3]"), "{err}");
        let err = invoke("LeakyReLU", &[x], &Attrs::from_pairs([("act_type", "swish")]), None, Context::cpu(0)).err().unwrap().to_string();
        assert!(err.contains("act_type"), "{err}");
        let def = crate::lookup("LeakyReLU").unwrap();
        let prelu = def.instantiate(&Attrs::from_pairs([("act_type", "prelu")])).unwrap();
        assert_eq!(prelu.input_names(), Some(vec!["data", "gamma"]));
        assert_eq!(prelu.complete_inputs(&[Some([4usize, 5, 3][..].into()), None])[1].as_deref(), Some(&[5usize][..]));
        let rrelu = def.instantiate(&Attrs::from_pairs([("act_type", "rrelu")])).unwrap();
        assert_eq!((rrelu.num_outputs(), rrelu.output_names()), (2, vec!["output".to_string(), "mask".to_string()]));
    }
}
