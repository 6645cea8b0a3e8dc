//! `regression_output`: tests through the imperative path (moved from the operator's file when the operators
//! became their own crate; they need `invoke` and `NDArray`, which live above it).

use rmx_graph::invoke;
use rmx_graph::testing::{analytic_grads, array, uniform, values};
use rmx_graph::Attrs;
use rmx_engine::Context;

#[test]
fn forward_and_scaled_gradients_match_the_formulas() {
    for (shape, label_shape, per_sample) in [(vec![4], vec![4], 1.0), (vec![4, 1], vec![4], 1.0), (vec![4, 3], vec![4, 3], 3.0), (vec![2, 3, 2], vec![2, 6], 6.0)] {
        let n: usize = shape.iter().product();
        let x = uniform(n, -2.0, 2.0, 1);
        let label = uniform(n, -1.0, 1.0, 2);
        for op in ["LinearRegressionOutput", "LogisticRegressionOutput", "MAERegressionOutput"] {
            let ins = [array(&shape, &x), array(&label_shape, &label)];
            let y = values(&invoke(op, &ins, &Attrs::from_pairs([("grad_scale", "2.5")]), None, Context::cpu(0)).unwrap()[0]);
            let want_y: Vec<f64> = x.iter().map(|&v| if op.starts_with("Logistic") { 1.0 / (1.0 + (-v).exp()) } else { v }).collect();
            y.iter().zip(&want_y).for_each(|(a, b)| assert!((a - b).abs() < 1e-12));
            // The incoming gradient (7s) is ignored.
            let g = analytic_grads(op, &[("grad_scale", "2.5")], &ins, &[array(&shape, &vec![7.0; n])], true);
            assert!(g[1].is_none());
            for (j, got) in g[0].as_ref().unwrap().iter().enumerate() {
                let d = want_y[j] - label[j];
                let base = if op.starts_with("MAE") { d.signum() } else { d };
                assert!((got - base * 2.5 / per_sample).abs() < 1e-12, "{op} {shape:?}: {got}");
            }
        }
    }
}

#[test]
fn label_shape_completes_and_must_fit() {
    let def = rmx_graph::lookup("LinearRegressionOutput").unwrap();
    let op = def.instantiate(&Attrs::new()).unwrap();
    assert_eq!(op.complete_inputs(&[Some([4usize, 1][..].into()), None])[1].as_deref(), Some(&[4usize][..]));
    assert_eq!(op.complete_inputs(&[Some([4usize, 3][..].into()), None])[1].as_deref(), Some(&[4usize, 3][..]));
    let err = invoke("MAERegressionOutput", &[array(&[4, 3], &[0.0; 12]), array(&[3, 4], &[0.0; 12])], &Attrs::new(), None, Context::cpu(0)).err().unwrap().to_string();
    assert!(err.contains("MAERegressionOutput") && err.contains("'label'"), "{err}");
}
