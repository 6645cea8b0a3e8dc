//! `make_loss`: tests through the imperative path (moved from the operator's file when the operators
//! became their own crate; they need `invoke` and `NDArray`, which live above it).

use rmx_graph::invoke;
use rmx_graph::testing::{analytic_grads, array, values};
use rmx_graph::Attrs;
use rmx_engine::Context;

#[test]
fn identity_forward_and_constant_gradient() {
    let x = [0.5, -1.0, 2.0, 0.1, 0.0, 3.0];
    let y = &invoke("make_loss", &[array(&[2, 3], &x)], &Attrs::new(), None, Context::cpu(0)).unwrap()[0];
    assert_eq!(values(y), x.to_vec());
    for (norm, thresh, each) in [("null", "0", 2.0), ("batch", "0", 1.0), ("valid", "0.2", 2.0 / 3.0), ("valid", "5", 2.0)] {
        let params = [("grad_scale", "2"), ("normalization", norm), ("valid_thresh", thresh)];
        // The incoming gradient (9s) is ignored.
        let g = analytic_grads("MakeLoss", &params, &[array(&[2, 3], &x)], &[array(&[2, 3], &[9.0; 6])], true);
        assert!(g[0].as_ref().unwrap().iter().all(|v| (v - each).abs() < 1e-12), "{norm}: {:?}", g[0]);
    }
}

#[test]
fn bad_normalization_is_refused() {
    let err = invoke("MakeLoss", &[array(&[1], &[0.0])], &Attrs::from_pairs([("normalization", "mean")]), None, Context::cpu(0)).err().unwrap().to_string();
    assert!(err.contains("MakeLoss") && err.contains("normalization"), "{err}");
}
