//! `leaky_relu`: tests through the imperative path (moved from the operator's file when the operators
//! became their own crate; they need `invoke` and `NDArray`, which live above it).

use rmx_graph::{invoke, invoke_with};
use rmx_graph::testing::{analytic_grads, array, check_gradient, uniform, values};
use rmx_graph::{Attrs, OpCtx};
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
    let def = rmx_graph::lookup("LeakyReLU").unwrap();
    let prelu = def.instantiate(&Attrs::from_pairs([("act_type", "prelu")])).unwrap();
    assert_eq!(prelu.input_names(), Some(vec!["data", "gamma"]));
    assert_eq!(prelu.complete_inputs(&[Some([4usize, 5, 3][..].into()), None])[1].as_deref(), Some(&[5usize][..]));
    let rrelu = def.instantiate(&Attrs::from_pairs([("act_type", "rrelu")])).unwrap();
    assert_eq!((rrelu.num_outputs(), rrelu.output_names()), (2, vec!["output".to_string(), "mask".to_string()]));
}
