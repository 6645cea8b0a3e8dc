//! Gradients of the shape operators (reshape family, transpose, broadcasting, tile, repeat,
//! concat/stack, split, slice) and the forward of `reshape_like`, which their gradients use.

use rmx_engine::Context;
use rmx_graph::testing::{analytic_grads, array, check_gradient, uniform, values};
use rmx_graph::{invoke, Attrs, NDArray};

fn rand(shape: &[usize], seed: u64) -> NDArray {
    array(shape, &uniform(shape.iter().product(), -1.0, 1.0, seed))
}

fn run(op: &str, params: &[(&str, &str)], inputs: &[NDArray]) -> Result<Vec<NDArray>, String> {
    invoke(op, inputs, &Attrs::from_pairs(params.iter().copied()), None, Context::cpu(0)).map_err(|e| e.to_string())
}

#[test]
fn reshape_flatten_expand_dims() {
    let x = rand(&[2, 3, 4], 1);
    for spec in ["(4, -1)", "(0, -1)", "(-1,)", "(-3, 4)", "(2, -4, 1, 3, 4)"] {
        check_gradient("Reshape", &[("shape", spec)], std::slice::from_ref(&x), &[], false);
    }
    check_gradient("reshape", &[("shape", "(-1, 0)"), ("reverse", "True")], std::slice::from_ref(&x), &[], false);
    check_gradient("Flatten", &[], std::slice::from_ref(&x), &[], false);
    check_gradient("flatten", &[], &[rand(&[5], 2)], &[], false);
    for axis in ["0", "2", "3", "-1", "-4"] {
        check_gradient("expand_dims", &[("axis", axis)], std::slice::from_ref(&x), &[], false);
    }
}

#[test]
fn reshape_like_follows_mxnet_ranges() {
    let shape = |l: &[usize], r: &[usize], p: &[(&str, &str)]| run("reshape_like", p, &[rand(l, 1), rand(r, 2)]).map(|o| o[0].shape().to_vec());
    assert_eq!(shape(&[15, 7], &[2, 3, 5], &[("lhs_begin", "0"), ("lhs_end", "1"), ("rhs_begin", "1"), ("rhs_end", "3")]), Ok(vec![3, 5, 7]));
    assert_eq!(shape(&[15, 7], &[2, 3, 5], &[("lhs_begin", "-2"), ("lhs_end", "-1"), ("rhs_begin", "-2")]), Ok(vec![3, 5, 7]));
    assert_eq!(shape(&[6, 5], &[2, 3, 5], &[("lhs_begin", "0"), ("lhs_end", "1"), ("rhs_end", "2")]), Ok(vec![2, 3, 5]));
    assert_eq!(shape(&[6, 5], &[3, 10], &[]), Ok(vec![3, 10]));
    let err = shape(&[6, 4], &[2, 3, 5], &[]).unwrap_err();
    assert!(err.contains("reshape_like") && err.contains("[6, 4]"), "{err}");
    let x = rand(&[6, 5], 3);
    let y = &run("reshape_like", &[], &[x.clone(), rand(&[3, 10], 4)]).unwrap()[0];
    assert_eq!(values(y), values(&x));
    check_gradient("reshape_like", &[("lhs_begin", "0"), ("lhs_end", "1"), ("rhs_end", "2")], &[x, rand(&[2, 3, 5], 5)], &[1], false);
}

#[test]
fn transpose_and_swapaxis() {
    let x = rand(&[2, 3, 4], 1);
    for axes in [None, Some("(1, 0, 2)"), Some("(2, 0, 1)"), Some("(-1, 0, 1)"), Some("()")] {
        let params: Vec<(&str, &str)> = axes.map(|a| ("axes", a)).into_iter().collect();
        check_gradient("transpose", &params, std::slice::from_ref(&x), &[], false);
    }
    for (a, b) in [("0", "2"), ("1", "-1"), ("1", "1")] {
        check_gradient("SwapAxis", &[("dim1", a), ("dim2", b)], std::slice::from_ref(&x), &[], false);
    }
}

#[test]
fn broadcasts_sum_back() {
    let x = rand(&[3, 1, 4], 1);
    check_gradient("broadcast_to", &[("shape", "(3, 5, 4)")], std::slice::from_ref(&x), &[], false);
    check_gradient("broadcast_to", &[("shape", "(2, 3, 5, 0)")], std::slice::from_ref(&x), &[], false);
    check_gradient("broadcast_axis", &[("axis", "1"), ("size", "5")], std::slice::from_ref(&x), &[], false);
    check_gradient("broadcast_axes", &[("axis", "(0, 1)"), ("size", "(2, 5)")], &[rand(&[1, 1, 4], 2)], &[], false);
    check_gradient("broadcast_like", &[], &[x.clone(), rand(&[2, 3, 5, 4], 3)], &[1], false);
    check_gradient("broadcast_like", &[("lhs_axes", "(1,)"), ("rhs_axes", "(0,)")], &[x.clone(), rand(&[6, 2], 3)], &[1], false);
    let g = analytic_grads("broadcast_like", &[], &[x, rand(&[3, 5, 4], 3)], &[rand(&[3, 5, 4], 4)], false);
    assert!(g[1].is_none());
}

#[test]
fn tile_sums_over_the_repeats() {
    for (shape, reps) in [(&[2, 3][..], "(2,)"), (&[2, 3], "(2, 1, 3)"), (&[2, 3], "(3, 2)"), (&[4], "(2, 2)")] {
        check_gradient("tile", &[("reps", reps)], &[rand(shape, 1)], &[], false);
    }
    // Naive: d/dx sum(w * tile(x, 2)) for x (3,) = w[i] + w[i + 3].
    let g = analytic_grads("tile", &[("reps", "(2,)")], &[rand(&[3], 1)], &[array(&[6], &[1., 2., 3., 10., 20., 30.])], false);
    assert_eq!(g[0].clone().unwrap(), vec![11.0, 22.0, 33.0]);
}

#[test]
fn repeat_sums_over_the_repeats() {
    for axis in [None, Some("0"), Some("1"), Some("-1")] {
        let mut params = vec![("repeats", "3")];
        params.extend(axis.map(|a| ("axis", a)));
        check_gradient("repeat", &params, &[rand(&[2, 3], 1)], &[], false);
    }
    let g = analytic_grads("repeat", &[("repeats", "2")], &[rand(&[2], 1)], &[array(&[4], &[1., 2., 3., 4.])], false);
    assert_eq!(g[0].clone().unwrap(), vec![3.0, 7.0]);
}

#[test]
fn concat_and_stack_split_the_gradient() {
    let parts = [rand(&[2, 1, 3], 1), rand(&[2, 2, 3], 2), rand(&[2, 3, 3], 3)];
    check_gradient("Concat", &[("num_args", "3"), ("dim", "1")], &parts, &[], false);
    check_gradient("concat", &[("dim", "-1")], &[rand(&[2, 3, 1], 4), rand(&[2, 3, 2], 5)], &[], false);
    check_gradient("Concat", &[("dim", "0")], &[rand(&[1, 2], 4), rand(&[3, 2], 5)], &[], false);
    let same = [rand(&[2, 3], 6), rand(&[2, 3], 7), rand(&[2, 3], 8)];
    for axis in ["0", "1", "2", "-1"] {
        check_gradient("stack", &[("axis", axis)], &same, &[], false);
    }
}

#[test]
fn split_joins_the_gradients() {
    check_gradient("SliceChannel", &[("num_outputs", "3")], &[rand(&[2, 6], 1)], &[], false);
    check_gradient("split", &[("num_outputs", "2"), ("axis", "0")], &[rand(&[4, 3], 2)], &[], false);
    check_gradient("split", &[("num_outputs", "3"), ("axis", "-1"), ("squeeze_axis", "True")], &[rand(&[2, 3], 3)], &[], false);
    check_gradient("split", &[("num_outputs", "3"), ("axis", "0"), ("squeeze_axis", "True")], &[rand(&[3], 4)], &[], false);
    check_gradient("split", &[("num_outputs", "1")], &[rand(&[2, 3], 5)], &[], false);
}

#[test]
fn slices_scatter_the_gradient_into_zeros() {
    let x = rand(&[4, 5, 3], 1);
    let cases: &[&[(&str, &str)]] = &[
        &[("begin", "(1, 2)"), ("end", "(3, 5)")],
        &[("begin", "(None, 4)"), ("end", "(None, 0)"), ("step", "(2, -2)")],
        &[("begin", "(-1,)"), ("end", "(None,)"), ("step", "(-1,)")],
        &[("begin", "(0, 0, 1)"), ("end", "(4, 5, 2)")],
        &[("begin", "(2,)"), ("end", "(2,)")],
    ];
    for p in cases {
        check_gradient("slice", p, std::slice::from_ref(&x), &[], false);
    }
    check_gradient("crop", &[("begin", "(1,)"), ("end", "(3,)")], std::slice::from_ref(&x), &[], false);
    for (axis, begin, end) in [("1", "1", "None"), ("-1", "0", "2"), ("0", "-3", "-1")] {
        check_gradient("slice_axis", &[("axis", axis), ("begin", begin), ("end", end)], std::slice::from_ref(&x), &[], false);
    }
    let g = analytic_grads("slice_axis", &[("axis", "0"), ("begin", "1"), ("end", "2")], &[rand(&[3], 1)], &[array(&[1], &[5.0])], false);
    assert_eq!(g[0].clone().unwrap(), vec![0.0, 5.0, 0.0]);
}

#[test]
fn backward_kernels_check_the_gradient_shape() {
    let err = run("_backward_slice", &[("begin", "(1,)"), ("end", "(3,)")], &[rand(&[3], 1), rand(&[5], 2)]).err().unwrap();
    assert!(err.contains("_backward_slice") && err.contains("[3]"), "{err}");
    let err = run("_backward_tile", &[("reps", "(2,)")], &[rand(&[5], 1), rand(&[3], 2)]).err().unwrap();
    assert!(err.contains("_backward_tile"), "{err}");
    let err = run("_backward_Concat", &[("dim", "0")], &[rand(&[5], 1), rand(&[3], 2)]).err().unwrap();
    assert!(err.contains("num_args"), "{err}");
}
