//! `softmax_output`: tests through the imperative path (moved from the operator's file when the operators
//! became their own crate; they need `invoke` and `NDArray`, which live above it).

use rmx_graph::invoke;
use rmx_graph::testing::{analytic_grads, array, uniform, values};
use rmx_graph::Attrs;
use rmx_engine::Context;

/// Softmax over the classes of `(outer, classes, inner)` blocks, naively.
fn softmax(x: &[f64], outer: usize, classes: usize, inner: usize) -> Vec<f64> {
    let mut y = vec![0.0; x.len()];
    for o in 0..outer {
        for i in 0..inner {
            let at = |r: usize| (o * classes + r) * inner + i;
            let m = (0..classes).map(|r| x[at(r)]).fold(f64::MIN, f64::max);
            let s: f64 = (0..classes).map(|r| (x[at(r)] - m).exp()).sum();
            for r in 0..classes {
                y[at(r)] = (x[at(r)] - m).exp() / s;
            }
        }
    }
    y
}

fn grads(params: &[(&str, &str)], x: &[f64], shape: &[usize], label: &[f64], label_shape: &[usize]) -> Vec<f64> {
    // The incoming gradient is 3s: a loss head ignores it.
    let og = array(shape, &vec![3.0; x.len()]);
    let g = analytic_grads("SoftmaxOutput", params, &[array(shape, x), array(label_shape, label)], &[og], true);
    assert!(g[1].is_none());
    g[0].clone().unwrap()
}

fn close(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(b) {
        assert!((x - y).abs() < 1e-12, "{a:?}\n{b:?}");
    }
}

#[test]
fn forward_is_softmax_over_the_mode_s_axis() {
    let x = uniform(24, -3.0, 3.0, 1);
    for (params, label_shape, (o, c, i)) in [
        (vec![], vec![2], (2, 12, 1)),
        (vec![("preserve_shape", "True")], vec![2, 3], (6, 4, 1)),
        (vec![("multi_output", "True")], vec![2, 4], (2, 3, 4)),
    ] {
        let y = &invoke("SoftmaxOutput", &[array(&[2, 3, 4], &x), array(&label_shape, &vec![0.0; label_shape.iter().product()])], &Attrs::from_pairs(params), None, Context::cpu(0)).unwrap()[0];
        close(&values(y), &softmax(&x, o, c, i));
    }
    // Large enough for the parallel path.
    let x = uniform(2 * 3 * 6000, -3.0, 3.0, 2);
    let y = &invoke("SoftmaxOutput", &[array(&[2, 3, 6000], &x), array(&[2, 6000], &[0.0; 12000])], &Attrs::from_pairs([("multi_output", "True")]), None, Context::cpu(0)).unwrap()[0];
    close(&values(y), &softmax(&x, 2, 3, 6000));
}

#[test]
fn index_label_gradient_with_each_normalization() {
    let (n, c) = (5, 4);
    let x = uniform(n * c, -2.0, 2.0, 2);
    let label = [1.0, 3.0, -1.0, 0.0, 3.0];
    let p = softmax(&x, n, c, 1);
    for (norm, use_ignore, divisor) in [("null", false, 1.0), ("batch", true, 5.0), ("valid", true, 4.0), ("valid", false, 4.0)] {
        let got = grads(&[("normalization", norm), ("use_ignore", if use_ignore { "True" } else { "False" }), ("grad_scale", "2")], &x, &[n, c], &label, &[n]);
        let mut want = vec![0.0; n * c];
        for (o, &l) in label.iter().enumerate() {
            for r in 0..c {
                let t = if r as f64 == l { 1.0 } else { 0.0 };
                want[o * c + r] = if use_ignore && l == -1.0 { 0.0 } else { (p[o * c + r] - t) * 2.0 / divisor };
            }
        }
        close(&got, &want);
    }
}

#[test]
fn multi_output_divides_by_positions() {
    let (n, c, d) = (2, 3, 4);
    let x = uniform(n * c * d, -2.0, 2.0, 3);
    let label = [0.0, 2.0, 1.0, 7.0, 2.0, 2.0, 0.0, 1.0];
    let p = softmax(&x, n, c, d);
    for (norm, divisor) in [("null", 4.0), ("batch", 8.0), ("valid", 5.0)] {
        // ignore_label 2 counts out of "valid" whether or not use_ignore is set; smoothing is off.
        let got = grads(&[("multi_output", "True"), ("normalization", norm), ("ignore_label", "2"), ("smooth_alpha", "0.2")], &x, &[n, c, d], &label, &[n, 1, d]);
        let mut want = vec![0.0; x.len()];
        for o in 0..n {
            for i in 0..d {
                for r in 0..c {
                    let j = (o * c + r) * d + i;
                    let t = if label[o * d + i] == r as f64 { 1.0 } else { 0.0 };
                    want[j] = (p[j] - t) / divisor;
                }
            }
        }
        close(&got, &want);
    }
}

#[test]
fn smoothing_and_probability_labels() {
    let (n, c) = (3, 4);
    let x = uniform(n * c, -2.0, 2.0, 4);
    let p = softmax(&x, n, c, 1);
    let got = grads(&[("smooth_alpha", "0.3")], &x, &[n, c], &[2.0, 0.0, 9.0], &[n]);
    let want: Vec<f64> = (0..n * c).map(|j| p[j] - if (j / c == 0 && j % c == 2) || (j / c == 1 && j % c == 0) { 0.7 } else { 0.1 }).collect();
    close(&got, &want);
    // Probabilities: no normalization, ignoring or smoothing; grad_scale applies.
    let target = uniform(n * c, 0.0, 1.0, 5);
    let got = grads(&[("normalization", "batch"), ("use_ignore", "True"), ("ignore_label", "0"), ("grad_scale", "0.5"), ("smooth_alpha", "0.1")], &x, &[n, c], &target, &[n, c]);
    close(&got, &p.iter().zip(&target).map(|(p, t)| (p - t) * 0.5).collect::<Vec<_>>());
}

#[test]
fn out_grad_multiplies_by_the_incoming_gradient() {
    let x = uniform(6, -1.0, 1.0, 6);
    let p = softmax(&x, 2, 3, 1);
    let og = uniform(6, -1.0, 1.0, 7);
    let g = analytic_grads("SoftmaxOutput", &[("out_grad", "True")], &[array(&[2, 3], &x), array(&[2], &[0.0, 2.0])], &[array(&[2, 3], &og)], true);
    let want: Vec<f64> = (0..6).map(|j| (p[j] - if j == 0 || j == 5 { 1.0 } else { 0.0 }) * og[j]).collect();
    close(g[0].as_ref().unwrap(), &want);
}

#[test]
fn label_shapes_complete_and_bad_ones_are_named() {
    let def = rmx_graph::lookup("Softmax").unwrap();
    let complete = |params: &[(&str, &str)], data: &[usize]| def.instantiate(&Attrs::from_pairs(params.iter().copied())).unwrap().complete_inputs(&[Some(data.into()), None])[1].clone().unwrap().to_vec();
    assert_eq!(complete(&[], &[4, 5]), vec![4]);
    assert_eq!(complete(&[], &[4, 5, 6]), vec![4, 5]);
    assert_eq!(complete(&[("multi_output", "True")], &[4, 5, 6, 7]), vec![4, 42]);
    assert_eq!(complete(&[("preserve_shape", "True")], &[4, 5, 6]), vec![4, 5]);
    let err = invoke("SoftmaxOutput", &[array(&[2, 3], &[0.0; 6]), array(&[3], &[0.0; 3])], &Attrs::new(), None, Context::cpu(0)).err().unwrap().to_string();
    assert!(err.contains("SoftmaxOutput") && err.contains("'label'") && err.contains("[2]"), "{err}");
}
