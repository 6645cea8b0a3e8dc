//! `dropout`: tests through the imperative path (moved from the operator's file when the operators
//! became their own crate; they need `invoke` and `NDArray`, which live above it).

use rmx_graph::{invoke, invoke_with};
use rmx_graph::testing::{analytic_grads, array, check_gradient, uniform, values};
use rmx_graph::{Attrs, OpCtx};
use rmx_engine::Context;

fn run(params: &[(&str, &str)], x: &[f64], shape: &[usize], is_train: bool) -> (Vec<f64>, Vec<f64>) {
    let outs = invoke_with("Dropout", &[array(shape, x)], &Attrs::from_pairs(params.iter().copied()), None, Context::cpu(0), OpCtx { is_train, ..Default::default() }).unwrap();
    (values(&outs[0]), values(&outs[1]))
}

#[test]
fn identity_outside_training_in_training_mode() {
    let x = uniform(12, -1.0, 1.0, 1);
    let (y, mask) = run(&[("p", "0.7")], &x, &[3, 4], false);
    assert_eq!((y, mask), (x.clone(), vec![1.0; 12]));
    check_gradient("Dropout", &[("p", "0.7")], &[array(&[3, 4], &x)], &[], false);
    // p = 0 keeps everything even in training.
    assert_eq!(run(&[("p", "0")], &x, &[3, 4], true).0, x);
}

#[test]
fn training_drops_a_fraction_p_and_scales_the_rest() {
    // Large enough for the parallel path.
    let n = 40000;
    let x = uniform(n, 0.5, 1.5, 2);
    for (p, mode, train) in [(0.3, "training", true), (0.5, "always", false)] {
        let ps = p.to_string();
        let (y, mask) = run(&[("p", &ps), ("mode", mode)], &x, &[n], train);
        let scale = 1.0 / (1.0 - p);
        assert!(mask.iter().all(|&m| m == 0.0 || (m - scale).abs() < 1e-12));
        assert!(y.iter().zip(&x).zip(&mask).all(|((y, x), m)| (y - x * m).abs() < 1e-12));
        let dropped = mask.iter().filter(|&&m| m == 0.0).count() as f64 / n as f64;
        assert!((dropped - p).abs() < 0.02, "dropped {dropped}, p {p}");
    }
    // Dropping everything gives zeros, not NaN.
    let (y, _) = run(&[("p", "1")], &x[..10], &[10], true);
    assert_eq!(y, vec![0.0; 10]);
}

#[test]
fn axes_share_one_draw() {
    let x = vec![1.0; 40 * 3 * 5];
    let (_, mask) = run(&[("axes", "(1,)")], &x, &[40, 3, 5], true);
    for i in 0..40 {
        for k in 0..5 {
            let m = mask[i * 15 + k];
            assert!((0..3).all(|j| mask[i * 15 + j * 5 + k] == m));
        }
    }
    assert!(mask.contains(&0.0) && mask.contains(&2.0));
}

#[test]
fn gradient_is_the_output_gradient_times_the_mask() {
    let n = 5000;
    let g = analytic_grads("Dropout", &[("p", "0.25")], &[array(&[n], &vec![1.0; n])], &[array(&[n], &vec![3.0; n]), array(&[n], &vec![0.0; n])], true)[0].clone().unwrap();
    assert!(g.iter().all(|&v| v == 0.0 || (v - 4.0).abs() < 1e-12));
    let dropped = g.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
    assert!((dropped - 0.25).abs() < 0.03, "dropped {dropped}");
}

#[test]
fn bad_p_and_axes_are_refused() {
    let x = array(&[2, 2], &[0.0; 4]);
    let err = invoke("Dropout", std::slice::from_ref(&x), &Attrs::from_pairs([("p", "1.5")]), None, Context::cpu(0)).err().unwrap().to_string();
    assert!(err.contains("Dropout") && err.contains("'p'"), "{err}");
    let err = invoke("Dropout", &[x], &Attrs::from_pairs([("axes", "(3,)")]), None, Context::cpu(0)).err().unwrap().to_string();
    assert!(err.contains("axes") && err.contains("out of range"), "{err}");
    let op = rmx_graph::lookup("Dropout").unwrap().instantiate(&Attrs::new()).unwrap();
    assert_eq!((op.num_outputs(), op.num_visible_outputs()), (2, 1));
}
