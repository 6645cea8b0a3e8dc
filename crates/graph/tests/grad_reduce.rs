//! Gradients of the reductions over every axis/keepdims/exclude combination, and the two
//! operators the gradient pass itself uses: `_sum_to_like` and `add_n` (forward and gradient).

use rmx_engine::Context;
use rmx_graph::testing::{analytic_grads, array, check_gradient, uniform, values};
use rmx_graph::{invoke, Attrs, NDArray};

fn rand(shape: &[usize], lo: f64, hi: f64, seed: u64) -> NDArray {
    array(shape, &uniform(shape.iter().product(), lo, hi, seed))
}

fn run(op: &str, params: &[(&str, &str)], inputs: &[NDArray]) -> Vec<NDArray> {
    invoke(op, inputs, &Attrs::from_pairs(params.iter().copied()), None, Context::cpu(0)).unwrap_or_else(|e| panic!("{op}: {e}"))
}

fn run_err(op: &str, params: &[(&str, &str)], inputs: &[NDArray]) -> String {
    match invoke(op, inputs, &Attrs::from_pairs(params.iter().copied()), None, Context::cpu(0)) {
        Ok(_) => panic!("{op} {params:?} should fail"),
        Err(e) => e.to_string(),
    }
}

const AXES: &[Option<&str>] = &[None, Some("0"), Some("1"), Some("-1"), Some("(0, 2)"), Some("()")];

/// Inputs where each reduction is smooth: no ties for max/min, no zeros for prod and norm.
fn input(op: &str, seed: u64) -> NDArray {
    let mut v = uniform(24, 0.5, 1.5, seed);
    if op != "prod" && op != "nanprod" {
        v.iter_mut().step_by(3).for_each(|x| *x = -*x);
    }
    array(&[2, 3, 4], &v)
}

#[test]
fn reductions_for_every_axis_keepdims_and_exclude() {
    for (k, op) in ["sum", "mean", "max", "min", "prod", "nansum", "nanprod"].iter().enumerate() {
        for axis in AXES {
            for keepdims in ["False", "True"] {
                for exclude in ["False", "True"] {
                    let mut params = vec![("keepdims", keepdims), ("exclude", exclude)];
                    if let Some(a) = axis {
                        params.push(("axis", a));
                    }
                    check_gradient(op, &params, &[input(op, k as u64)], &[], false);
                }
            }
        }
    }
}

#[test]
fn norms_of_order_one_and_two() {
    for ord in ["1", "2"] {
        for axis in AXES {
            for keepdims in ["False", "True"] {
                let mut params = vec![("ord", ord), ("keepdims", keepdims)];
                if let Some(a) = axis {
                    params.push(("axis", a));
                }
                check_gradient("norm", &params, &[input("norm", 3)], &[], false);
            }
        }
    }
}

#[test]
fn nan_reductions_give_nan_elements_no_gradient() {
    let x = array(&[2, 2], &[f64::NAN, 2.0, 3.0, 0.5]);
    let og = array(&[2], &[1.0, 10.0]);
    let g = analytic_grads("nansum", &[("axis", "1")], std::slice::from_ref(&x), std::slice::from_ref(&og), false);
    assert_eq!(g[0].clone().unwrap(), vec![0.0, 1.0, 10.0, 10.0]);
    let g = analytic_grads("nanprod", &[("axis", "1")], std::slice::from_ref(&x), &[og], false);
    assert_eq!(g[0].clone().unwrap(), vec![0.0, 1.0, 5.0, 30.0]);
    check_gradient("nansum", &[("axis", "0")], &[x], &[], false);
}

#[test]
fn max_sends_the_gradient_to_every_tied_maximum_as_mxnet() {
    let x = array(&[2, 3], &[1.0, 4.0, 4.0, 0.5, 2.0, 0.0]);
    let g = analytic_grads("max", &[("axis", "1")], &[x], &[array(&[2], &[1.0, 2.0])], false);
    assert_eq!(g[0].clone().unwrap(), vec![0.0, 1.0, 1.0, 0.0, 2.0, 0.0]);
}

#[test]
fn l2_norm_of_zero_has_zero_gradient() {
    let g = analytic_grads("norm", &[("axis", "1")], &[array(&[1, 3], &[0.0; 3])], &[array(&[1], &[1.0])], false);
    assert_eq!(g[0].clone().unwrap(), vec![0.0; 3]);
}

#[test]
fn argmax_and_argmin_pass_no_gradient() {
    for op in ["argmax", "argmin"] {
        let g = analytic_grads(op, &[("axis", "1")], &[rand(&[2, 3], -1.0, 1.0, 1)], &[rand(&[2], -1.0, 1.0, 2)], false);
        assert!(g[0].is_none());
    }
}

/// Naive `sum_to`: every element of `from` added into the element of `to` it broadcasts from.
fn naive_sum_to(x: &[f64], from: &[usize], to: &[usize]) -> Vec<f64> {
    let pad = from.len() - to.len();
    let mut y = vec![0.0; to.iter().product()];
    for (i, v) in x.iter().enumerate() {
        let (mut rem, mut at, mut stride) = (i, 0, 1);
        for d in (0..from.len()).rev() {
            let idx = rem % from[d];
            rem /= from[d];
            if d >= pad {
                let n = to[d - pad];
                if n != 1 {
                    at += idx * stride;
                }
                stride *= n;
            }
        }
        y[at] += v;
    }
    y
}

const SUM_TO: &[(&[usize], &[usize])] = &[
    (&[3, 5, 4], &[3, 1, 4]),
    (&[3, 5, 4], &[1, 5, 1]),
    (&[3, 5, 4], &[5, 1]),
    (&[3, 5, 4], &[4]),
    (&[3, 5, 4], &[1]),
    (&[2, 3, 4, 5], &[1, 3, 1, 1]),
    (&[2, 3, 4, 5], &[2, 1, 4, 1]),
    (&[2, 1, 4], &[1, 1, 4]),
    (&[3, 4], &[3, 4]),
    (&[2, 0, 3], &[2, 1, 3]),
];

#[test]
fn sum_to_like_matches_a_naive_sum() {
    for (k, &(from, to)) in SUM_TO.iter().enumerate() {
        let x = rand(from, -1.0, 1.0, k as u64);
        let like = array(to, &vec![0.0; to.iter().product()]);
        let y = &run("_sum_to_like", &[], &[x.clone(), like])[0];
        assert_eq!(y.shape(), to);
        let (got, want) = (values(y), naive_sum_to(&values(&x), from, to));
        assert!(got.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-12), "{from:?} -> {to:?}: {got:?} vs {want:?}");
    }
}

#[test]
fn sum_to_like_gradient_broadcasts_back() {
    for &(from, to) in &SUM_TO[..4] {
        let like = array(to, &vec![0.0; to.iter().product()]);
        check_gradient("_sum_to_like", &[], &[rand(from, -1.0, 1.0, 5), like], &[1], false);
    }
}

#[test]
fn sum_to_like_refuses_shapes_that_do_not_broadcast() {
    let err = run_err("_sum_to_like", &[], &[rand(&[3, 4], 0.0, 1.0, 1), rand(&[2, 4], 0.0, 1.0, 1)]);
    assert!(err.contains("_sum_to_like") && err.contains("[3, 4]") && err.contains("[2, 4]"), "{err}");
}

#[test]
fn add_n_sums_every_input_and_passes_the_gradient_to_each() {
    for n in [1, 2, 5] {
        let xs: Vec<NDArray> = (0..n).map(|k| rand(&[3, 7], -1.0, 1.0, k as u64)).collect();
        let num = n.to_string();
        let y = &run("add_n", &[("num_args", &num)], &xs)[0];
        let want: Vec<f64> = (0..21).map(|i| xs.iter().map(|x| values(x)[i]).sum()).collect();
        assert!(values(y).iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-12));
        check_gradient("add_n", &[("num_args", &num)], &xs, &[], false);
    }
    let alias = &run("ElementWiseSum", &[], &[rand(&[2], 0.0, 1.0, 1), rand(&[2], 0.0, 1.0, 1)])[0];
    assert_eq!(values(alias), values(&rand(&[2], 0.0, 1.0, 1)).iter().map(|v| 2.0 * v).collect::<Vec<_>>());
}

#[test]
fn add_n_over_a_large_array_matches_the_naive_sum() {
    let n = 100_003;
    let xs: Vec<NDArray> = (0..3).map(|k| rand(&[n], -1.0, 1.0, k)).collect();
    let y = values(&run("add_n", &[], &xs)[0]);
    let vs: Vec<Vec<f64>> = xs.iter().map(values).collect();
    assert!((0..n).all(|i| (y[i] - (vs[0][i] + vs[1][i] + vs[2][i])).abs() < 1e-12));
}

#[test]
fn add_n_names_mismatched_shapes_and_counts() {
    let err = run_err("add_n", &[], &[rand(&[2, 3], 0.0, 1.0, 1), rand(&[3, 2], 0.0, 1.0, 1)]);
    assert!(err.contains("add_n") && err.contains("arg1"), "{err}");
    let err = run_err("add_n", &[("num_args", "3")], &[rand(&[2], 0.0, 1.0, 1), rand(&[2], 0.0, 1.0, 1)]);
    assert!(err.contains("num_args"), "{err}");
}

#[test]
fn norm_gradient_comes_back_in_the_input_dtype_with_out_dtype() {
    let x = array(&[2, 2], &[3.0, 4.0, -6.0, 8.0]);
    let bytes: Vec<u8> = [1.0f32, 2.0].iter().flat_map(|v| v.to_le_bytes()).collect();
    let og = NDArray::from_bytes(&[2], rmx_kernels::DType::F32, Context::cpu(0), &bytes).unwrap();
    let g = analytic_grads("norm", &[("axis", "1"), ("out_dtype", "float32")], &[x], &[og], false);
    let got = g[0].clone().unwrap();
    let want = [0.6, 0.8, -1.2, 1.6];
    assert!(got.iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-6), "{got:?}");
}
