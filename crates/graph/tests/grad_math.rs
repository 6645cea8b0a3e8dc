//! Gradients of dot/batch_dot (every transpose flag and rank), softmax/log_softmax, Cast, clip,
//! and the operators with nothing to differentiate (creation, random draws).

use rmx_engine::Context;
use rmx_graph::grad::{EagerBuilder, GradArgs, GradBuilder, Value};
use rmx_graph::testing::{analytic_grads, array, check_gradient, uniform, values};
use rmx_graph::{invoke, lookup, Attrs, NDArray, Result};
use rmx_kernels::DType;

fn rand(shape: &[usize], seed: u64) -> NDArray {
    array(shape, &uniform(shape.iter().product(), -1.0, 1.0, seed))
}

const FLAGS: &[(&str, &str)] = &[("False", "False"), ("True", "False"), ("False", "True"), ("True", "True")];

#[test]
fn dot_for_every_transpose_flag_and_rank() {
    // Logical (m, k) · (k, n) with m=3, k=4, n=2 as stored under each flag.
    for &(ta, tb) in FLAGS {
        let a = if ta == "True" { [4, 3] } else { [3, 4] };
        let b = if tb == "True" { [2, 4] } else { [4, 2] };
        check_gradient("dot", &[("transpose_a", ta), ("transpose_b", tb)], &[rand(&a, 1), rand(&b, 2)], &[], false);
    }
    check_gradient("dot", &[], &[rand(&[4], 1), rand(&[4], 2)], &[], false);
    check_gradient("dot", &[], &[rand(&[4], 1), rand(&[4, 3], 2)], &[], false);
    check_gradient("dot", &[], &[rand(&[2, 4], 1), rand(&[4], 2)], &[], false);
    check_gradient("dot", &[("transpose_b", "True")], &[rand(&[4], 1), rand(&[3, 4], 2)], &[], false);
    // N-d: (2, 3, 4) · (4, 2, 3), and the same with both operands stored transposed.
    check_gradient("dot", &[], &[rand(&[2, 3, 4], 1), rand(&[4, 2, 3], 2)], &[], false);
    check_gradient("dot", &[("transpose_a", "True"), ("transpose_b", "True")], &[rand(&[4, 2, 3], 1), rand(&[2, 3, 4], 2)], &[], false);
}

#[test]
fn dot_gradient_matches_the_matrix_formulas() {
    // dA = dC · Bᵀ, dB = Aᵀ · dC, by naive loops.
    let (a, b, dc) = (rand(&[3, 4], 1), rand(&[4, 2], 2), rand(&[3, 2], 3));
    let g = analytic_grads("dot", &[], &[a.clone(), b.clone()], std::slice::from_ref(&dc), false);
    let (av, bv, cv) = (values(&a), values(&b), values(&dc));
    let (da, db) = (g[0].clone().unwrap(), g[1].clone().unwrap());
    for i in 0..3 {
        for p in 0..4 {
            let want: f64 = (0..2).map(|j| cv[i * 2 + j] * bv[p * 2 + j]).sum();
            assert!((da[i * 4 + p] - want).abs() < 1e-12);
        }
    }
    for p in 0..4 {
        for j in 0..2 {
            let want: f64 = (0..3).map(|i| av[i * 4 + p] * cv[i * 2 + j]).sum();
            assert!((db[p * 2 + j] - want).abs() < 1e-12);
        }
    }
}

#[test]
fn batch_dot_for_every_transpose_flag() {
    for &(ta, tb) in FLAGS {
        let a = if ta == "True" { [2, 4, 3] } else { [2, 3, 4] };
        let b = if tb == "True" { [2, 5, 4] } else { [2, 4, 5] };
        check_gradient("batch_dot", &[("transpose_a", ta), ("transpose_b", tb)], &[rand(&a, 1), rand(&b, 2)], &[], false);
    }
}

#[test]
fn softmax_and_log_softmax_over_any_axis_and_temperature() {
    let x = rand(&[2, 3, 4], 1);
    for op in ["softmax", "log_softmax"] {
        for axis in ["-1", "0", "1"] {
            for t in ["1", "2.5", "0.7"] {
                check_gradient(op, &[("axis", axis), ("temperature", t)], std::slice::from_ref(&x), &[], false);
            }
        }
        check_gradient(op, &[], &[rand(&[5], 2)], &[], false);
    }
}

#[test]
fn cast_sends_the_gradient_back_in_the_input_dtype() {
    let x = rand(&[2, 3], 1);
    check_gradient("Cast", &[("dtype", "float64")], std::slice::from_ref(&x), &[], false);
    let bytes: Vec<u8> = [1.5f32, -2.0, 0.25, 4.0, 8.0, 0.5].iter().flat_map(|v| v.to_le_bytes()).collect();
    let og = NDArray::from_bytes(&[2, 3], DType::F32, Context::cpu(0), &bytes).unwrap();
    let g = analytic_grads("cast", &[("dtype", "float32")], &[x], &[og], false);
    assert_eq!(g[0].clone().unwrap(), vec![1.5, -2.0, 0.25, 4.0, 8.0, 0.5]);
}

#[test]
fn clip_passes_the_gradient_inside_the_bounds_included() {
    let x = array(&[6], &[-0.9, -0.3, 0.1, 0.45, 0.8, -0.6]);
    check_gradient("clip", &[("a_min", "-0.5"), ("a_max", "0.5")], &[x], &[], false);
    // MXNet 1.9.1: clip(x, 0.5, 3) of [1, -2, 3, 0.5, 4, 4].
    let x = array(&[6], &[1., -2., 3., 0.5, 4., 4.]);
    let g = analytic_grads("clip", &[("a_min", "0.5"), ("a_max", "3")], &[x], &[array(&[6], &[1.0; 6])], false);
    assert_eq!(g[0].clone().unwrap(), vec![1., 0., 1., 1., 0., 0.]);
}

/// `op`'s gradient as a `Result` (analytic_grads panics on errors).
fn gradient_of(op: &str, params: &[(&str, &str)], inputs: &[NDArray]) -> Result<Vec<Option<Value>>> {
    let attrs = Attrs::from_pairs(params.iter().copied());
    let def = lookup(op)?;
    let instance = def.instantiate(&attrs)?;
    let outputs = invoke(op, inputs, &attrs, None, Context::cpu(0))?;
    let mut g = EagerBuilder::new(Context::cpu(0));
    let ins: Vec<Value> = inputs.iter().map(|a| g.add(a.clone())).collect();
    let outs: Vec<Value> = outputs.into_iter().map(|a| g.add(a)).collect();
    let ograds = outs.clone();
    instance.gradient(&mut g as &mut dyn GradBuilder, &GradArgs { op: def.name, attrs: &attrs, inputs: &ins, outputs: &outs, out_grads: &ograds })
}

#[test]
fn creation_and_random_draws_have_nothing_to_differentiate() {
    assert_eq!(gradient_of("zeros_like", &[], &[rand(&[2], 1)]).unwrap(), vec![None]);
    assert_eq!(gradient_of("ones_like", &[], &[rand(&[2], 1)]).unwrap(), vec![None]);
    assert!(gradient_of("_zeros", &[("shape", "(2,)")], &[]).unwrap().is_empty());
    assert!(gradient_of("_random_uniform", &[("shape", "(2,)")], &[]).unwrap().is_empty());
    let err = gradient_of("_shuffle", &[], &[rand(&[3], 1)]).unwrap_err();
    assert!(err.to_string().contains("_shuffle"), "{err}");
}

#[test]
fn backward_kernels_refuse_a_gradient_of_their_own() {
    type Case = (&'static str, Vec<(&'static str, &'static str)>, Vec<NDArray>);
    let cases: Vec<Case> = vec![
        ("_backward_clip", vec![("a_min", "0"), ("a_max", "1")], vec![rand(&[3], 1), rand(&[3], 2)]),
        ("_backward_dot", vec![], vec![rand(&[3, 2], 1), rand(&[3, 4], 2), rand(&[4, 2], 3)]),
        ("_backward_slice", vec![("begin", "(1,)"), ("end", "(3,)")], vec![rand(&[2], 1), rand(&[5], 2)]),
        ("_backward_softmax", vec![], vec![rand(&[3], 1), rand(&[3], 2), rand(&[3], 3)]),
        ("_backward_unary", vec![("fn", "exp")], vec![rand(&[3], 1), rand(&[3], 2), rand(&[3], 3)]),
        ("_backward_binary", vec![("fn", "mul")], vec![rand(&[3], 1), rand(&[3], 2), rand(&[3], 3)]),
    ];
    for (op, params, inputs) in cases {
        let err = gradient_of(op, &params, &inputs).unwrap_err();
        assert!(err.to_string().contains("no gradient"), "{op}: {err}");
    }
}
