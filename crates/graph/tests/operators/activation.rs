//! `activation`: tests through the imperative path (moved from the operator's file when the operators
//! became their own crate; they need `invoke` and `NDArray`, which live above it).

const ACT_TYPES: &[&str] = &["relu", "sigmoid", "tanh", "softrelu", "softsign"];

use rmx_graph::invoke;
use rmx_graph::testing::{array, check_gradient, uniform, values};
use rmx_graph::Attrs;
use rmx_engine::Context;

fn reference(act: &str, x: f64) -> f64 {
    match act {
        "relu" => x.max(0.0),
        "sigmoid" => 1.0 / (1.0 + (-x).exp()),
        "tanh" => x.tanh(),
        "softrelu" => (1.0 + x.exp()).ln(),
        _ => x / (1.0 + x.abs()),
    }
}

#[test]
fn forward_matches_the_formulas() {
    let x = uniform(40, -4.0, 4.0, 3);
    for act in ACT_TYPES {
        let y = &invoke("Activation", &[array(&[5, 8], &x)], &Attrs::from_pairs([("act_type", *act)]), None, Context::cpu(0)).unwrap()[0];
        for (a, &v) in values(y).iter().zip(&x) {
            assert!((a - reference(act, v)).abs() < 1e-12, "{act}({v}) = {a}");
        }
    }
    // Large inputs: softrelu returns x itself (no overflow), sigmoid saturates.
    let y = &invoke("Activation", &[array(&[2], &[30.0, 800.0])], &Attrs::from_pairs([("act_type", "softrelu")]), None, Context::cpu(0)).unwrap()[0];
    assert_eq!(values(y), vec![30.0, 800.0]);
}

#[test]
fn gradients_match_finite_differences() {
    // Away from relu's kink at 0.
    let x: Vec<f64> = uniform(12, 0.1, 3.0, 5).iter().enumerate().map(|(i, v)| if i % 2 == 0 { -v } else { *v }).collect();
    for act in ACT_TYPES {
        check_gradient("Activation", &[("act_type", act)], &[array(&[3, 4], &x)], &[], false);
    }
}

#[test]
fn unknown_or_missing_act_type_is_refused() {
    let x = array(&[2], &[1.0, 2.0]);
    let err = invoke("Activation", std::slice::from_ref(&x), &Attrs::from_pairs([("act_type", "gelu")]), None, Context::cpu(0)).err().unwrap().to_string();
    assert!(err.contains("act_type") && err.contains("softsign"), "{err}");
    let err = invoke("Activation", &[x], &Attrs::new(), None, Context::cpu(0)).err().unwrap().to_string();
    assert!(err.contains("act_type") && err.contains("required"), "{err}");
}
