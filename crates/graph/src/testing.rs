//! Gradient checks for operator tests: an operator's `gradient`, run eagerly in float64,
//! against central finite differences of its forward computation.

use rand::{Rng, SeedableRng};
use rmx_engine::Context;
use rmx_kernels::DType;

use rmx_operators::attrs::Attrs;
use crate::grad::{EagerBuilder, GradArgs, GradBuilder, Value};
use crate::invoke::invoke_with;
use crate::ndarray::NDArray;
use rmx_operators::operator::OpCtx;
use rmx_operators::registry::lookup;

/// A float64 array from values.
pub fn array(shape: &[usize], values: &[f64]) -> NDArray {
    assert_eq!(shape.iter().product::<usize>(), values.len(), "values do not fill the shape");
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    NDArray::from_bytes(shape, DType::F64, Context::cpu(0), &bytes).unwrap()
}

/// A float64 array's values (waits for it).
pub fn values(a: &NDArray) -> Vec<f64> {
    assert_eq!(a.dtype(), DType::F64, "values() reads float64 arrays");
    let mut bytes = vec![0u8; a.nbytes()];
    a.read_into(&mut bytes).unwrap();
    bytes.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
}

/// Uniform values in `[lo, hi)` from a seed.
pub fn uniform(n: usize, lo: f64, hi: f64, seed: u64) -> Vec<f64> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    (0..n).map(|_| rng.random_range(lo..hi)).collect()
}

fn forward(op: &str, attrs: &Attrs, inputs: &[NDArray], is_train: bool) -> Vec<NDArray> {
    invoke_with(op, inputs, attrs, None, Context::cpu(0), OpCtx { is_train, ..Default::default() }).unwrap_or_else(|e| panic!("{op} forward: {e}"))
}

/// The gradients `op`'s `gradient` gives for `inputs` when its outputs' gradients are
/// `out_grads` (one per output, hidden ones included); `None` where no gradient flows.
pub fn analytic_grads(op: &str, params: &[(&str, &str)], inputs: &[NDArray], out_grads: &[NDArray], is_train: bool) -> Vec<Option<Vec<f64>>> {
    let attrs = Attrs::from_pairs(params.iter().copied());
    let def = lookup(op).unwrap();
    let instance = def.instantiate(&attrs).unwrap();
    let outputs = forward(op, &attrs, inputs, is_train);
    let mut g = EagerBuilder::new(Context::cpu(0));
    let ins: Vec<Value> = inputs.iter().map(|a| g.add(a.clone())).collect();
    let outs: Vec<Value> = outputs.into_iter().map(|a| g.add(a)).collect();
    let ograds: Vec<Value> = out_grads.iter().map(|a| g.add(a.clone())).collect();
    let args = GradArgs { op: def.name, attrs: &attrs, inputs: &ins, outputs: &outs, out_grads: &ograds };
    let grads = instance.gradient(&mut g as &mut dyn GradBuilder, &args).unwrap_or_else(|e| panic!("{op} gradient: {e}"));
    assert_eq!(grads.len(), inputs.len(), "{op}: gradient gave {} entries for {} inputs", grads.len(), inputs.len());
    grads.iter().map(|v| v.map(|v| values(g.get(v)))).collect()
}

/// Checks `op`'s gradient for every input not in `skip` against central differences of
/// `sum_k <w_k, output_k>` with random projections `w_k` of the visible outputs (hidden
/// outputs get zero gradients). Inputs are float64; `eps` is the difference step.
pub fn check_gradient(op: &str, params: &[(&str, &str)], inputs: &[NDArray], skip: &[usize], is_train: bool) {
    let attrs = Attrs::from_pairs(params.iter().copied());
    let instance = lookup(op).unwrap().instantiate(&attrs).unwrap();
    let visible = instance.num_visible_outputs();
    let outputs = forward(op, &attrs, inputs, is_train);
    let proj: Vec<NDArray> = outputs
        .iter()
        .enumerate()
        .map(|(k, o)| {
            let w = if k < visible { uniform(o.numel(), -1.0, 1.0, 7 + k as u64) } else { vec![0.0; o.numel()] };
            array(o.shape(), &w)
        })
        .collect();
    let weights: Vec<Vec<f64>> = proj.iter().map(values).collect();
    let objective = |ins: &[NDArray]| -> f64 {
        let outs = forward(op, &attrs, ins, is_train);
        outs.iter().zip(&weights).take(visible).map(|(o, w)| values(o).iter().zip(w).map(|(a, b)| a * b).sum::<f64>()).sum()
    };
    let analytic = analytic_grads(op, params, inputs, &proj, is_train);
    let eps = 1e-6;
    for (i, input) in inputs.iter().enumerate() {
        if skip.contains(&i) {
            continue;
        }
        let grad = analytic[i].as_ref().unwrap_or_else(|| panic!("{op}: no gradient for input {i}"));
        let base = values(input);
        for j in 0..base.len() {
            let probe = |delta: f64| {
                let mut v = base.clone();
                v[j] += delta;
                let mut ins = inputs.to_vec();
                ins[i] = array(input.shape(), &v);
                objective(&ins)
            };
            let numeric = (probe(eps) - probe(-eps)) / (2.0 * eps);
            let tol = 1e-5 + 1e-4 * numeric.abs().max(grad[j].abs());
            assert!(
                (grad[j] - numeric).abs() <= tol,
                "{op} {params:?}: d/d input {i} [{j}]: analytic {} numeric {numeric} (input shape {:?})",
                grad[j],
                input.shape()
            );
        }
    }
}
