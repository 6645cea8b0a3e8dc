//! `block_grad`: tests through the imperative path (moved from the operator's file when the operators
//! became their own crate; they need `invoke` and `NDArray`, which live above it).

use rmx_graph::invoke;
use rmx_graph::testing::{analytic_grads, array, values};
use rmx_graph::Attrs;
use rmx_engine::Context;

#[test]
fn identity_forward_and_zero_gradient() {
    let x = array(&[2, 2], &[1.0, -2.0, 3.0, 4.0]);
    let y = &invoke("stop_gradient", std::slice::from_ref(&x), &Attrs::new(), None, Context::cpu(0)).unwrap()[0];
    assert_eq!(values(y), vec![1.0, -2.0, 3.0, 4.0]);
    let g = analytic_grads("BlockGrad", &[], &[x], &[array(&[2, 2], &[5.0; 4])], false);
    assert_eq!(g[0].as_ref().unwrap(), &vec![0.0; 4]);
}
