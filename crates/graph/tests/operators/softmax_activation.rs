//! `softmax_activation`: tests through the imperative path (moved from the operator's file when the operators
//! became their own crate; they need `invoke` and `NDArray`, which live above it).

use rmx_graph::invoke;
use rmx_graph::testing::{array, check_gradient, uniform, values};
use rmx_graph::Attrs;
use rmx_engine::Context;

#[test]
fn instance_mode_uses_the_last_axis_and_channel_mode_axis_1() {
    let x: Vec<f64> = (0..8).map(f64::from).collect();
    let run = |mode: &str| values(&invoke("SoftmaxActivation", &[array(&[2, 2, 2], &x)], &Attrs::from_pairs([("mode", mode)]), None, Context::cpu(0)).unwrap()[0]);
    let (a, b) = (1.0 / (1.0 + 1f64.exp()), 1.0 / (1.0 + (-1f64).exp()));
    let (c, d) = (1.0 / (1.0 + 2f64.exp()), 1.0 / (1.0 + (-2f64).exp()));
    let close = |got: Vec<f64>, want: [f64; 8]| got.iter().zip(want).for_each(|(g, w)| assert!((g - w).abs() < 1e-12, "{got:?}"));
    close(run("instance"), [a, b, a, b, a, b, a, b]);
    close(run("channel"), [c, c, d, d, c, c, d, d]);
}

#[test]
fn large_channel_softmax_matches_naive_loops() {
    let (n, c, w) = (3, 4, 3000);
    let x = uniform(n * c * w, -3.0, 3.0, 8);
    let y = values(&invoke("SoftmaxActivation", &[array(&[n, c, w], &x)], &Attrs::from_pairs([("mode", "channel")]), None, Context::cpu(0)).unwrap()[0]);
    for a in 0..n {
        for k in 0..w {
            let at = |r: usize| (a * c + r) * w + k;
            let s: f64 = (0..c).map(|r| x[at(r)].exp()).sum();
            (0..c).for_each(|r| assert!((y[at(r)] - x[at(r)].exp() / s).abs() < 1e-12));
        }
    }
}

#[test]
fn gradients_match_finite_differences() {
    let x = array(&[2, 3, 4], &uniform(24, -2.0, 2.0, 3));
    for mode in ["instance", "channel"] {
        check_gradient("SoftmaxActivation", &[("mode", mode)], std::slice::from_ref(&x), &[], false);
    }
    check_gradient("SoftmaxActivation", &[], &[array(&[5], &uniform(5, -2.0, 2.0, 4))], &[], false);
}

#[test]
fn channel_mode_needs_two_axes() {
    let err = invoke("SoftmaxActivation", &[array(&[3], &[0.0; 3])], &Attrs::from_pairs([("mode", "channel")]), None, Context::cpu(0)).err().unwrap().to_string();
    assert!(err.contains("SoftmaxActivation") && err.contains("channel"), "{err}");
}
