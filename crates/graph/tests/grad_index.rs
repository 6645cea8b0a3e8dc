//! Gradients of the indexing operators: take, pick, where, Embedding (forward too), sort/topk;
//! indices, conditions and one-hot encodings get none.

use rmx_engine::Context;
use rmx_graph::testing::{analytic_grads, array, check_gradient, uniform, values};
use rmx_graph::{invoke, lookup, Attrs, NDArray};
use rmx_kernels::DType;

fn rand(shape: &[usize], seed: u64) -> NDArray {
    array(shape, &uniform(shape.iter().product(), -1.0, 1.0, seed))
}

fn run(op: &str, params: &[(&str, &str)], inputs: &[NDArray]) -> Result<Vec<NDArray>, String> {
    invoke(op, inputs, &Attrs::from_pairs(params.iter().copied()), None, Context::cpu(0)).map_err(|e| e.to_string())
}

#[test]
fn take_scatters_into_the_rows_it_read() {
    let a = rand(&[5, 3], 1);
    let idx = array(&[5], &[0.0, 2.0, 2.0, -1.0, 7.0]);
    check_gradient("take", &[], &[a.clone(), idx.clone()], &[1], false);
    check_gradient("take", &[("mode", "wrap")], &[a.clone(), idx.clone()], &[1], false);
    check_gradient("take", &[("axis", "1")], &[a.clone(), array(&[2, 2], &[2.0, 0.0, 0.0, 1.0])], &[1], false);
    check_gradient("take", &[("axis", "-1")], &[rand(&[2, 3, 4], 2), array(&[3], &[3.0, 3.0, 1.0])], &[1], false);
    // Naive: repeated and clipped indices add up (MXNet: 7 clips to 4, -1 to 0).
    let og = array(&[5, 3], &(0..15).map(|v| v as f64).collect::<Vec<_>>());
    let g = analytic_grads("take", &[], &[a, idx], &[og], false);
    assert!(g[1].is_none());
    let want = [9.0, 11.0, 13.0, 0.0, 0.0, 0.0, 9.0, 11.0, 13.0, 0.0, 0.0, 0.0, 12.0, 13.0, 14.0];
    assert_eq!(g[0].clone().unwrap(), want);
}

#[test]
fn pick_scatters_one_element_per_lane() {
    let x = rand(&[3, 4], 1);
    check_gradient("pick", &[], &[x.clone(), array(&[3], &[0.0, 3.0, 5.0])], &[1], false);
    check_gradient("pick", &[("axis", "0")], &[x.clone(), array(&[4], &[2.0, 0.0, 1.0, -1.0])], &[1], false);
    check_gradient("pick", &[("keepdims", "True")], &[x.clone(), array(&[3, 1], &[1.0, 1.0, 2.0])], &[1], false);
    check_gradient("pick", &[("axis", "1"), ("mode", "wrap")], &[rand(&[2, 3, 2], 2), array(&[2, 2], &[-1.0, 4.0, 0.0, 2.0])], &[1], false);
    let g = analytic_grads("pick", &[], &[x, array(&[3], &[5.0, -1.0, 1.0])], &[array(&[3], &[1.0, 2.0, 3.0])], false);
    assert_eq!(g[0].clone().unwrap(), vec![0., 0., 0., 1., 2., 0., 0., 0., 0., 3., 0., 0.]);
}

#[test]
fn where_splits_the_gradient_by_the_condition() {
    let (x, y) = (rand(&[3, 2], 1), rand(&[3, 2], 2));
    check_gradient("where", &[], &[array(&[3, 2], &[1., 0., 0., 2., 1., 0.]), x.clone(), y.clone()], &[0], false);
    check_gradient("where", &[], &[array(&[3], &[0., 1., 1.]), x.clone(), y.clone()], &[0], false);
    let g = analytic_grads("where", &[], &[array(&[3], &[0., 1., 0.]), x, y], &[array(&[3, 2], &[1., 2., 3., 4., 5., 6.])], false);
    assert!(g[0].is_none());
    assert_eq!(g[1].clone().unwrap(), vec![0., 0., 3., 4., 0., 0.]);
    assert_eq!(g[2].clone().unwrap(), vec![1., 2., 0., 0., 5., 6.]);
}

#[test]
fn one_hot_passes_no_gradient() {
    let g = analytic_grads("one_hot", &[("depth", "3"), ("dtype", "float64")], &[array(&[2], &[0.0, 2.0])], &[rand(&[2, 3], 1)], false);
    assert!(g[0].is_none());
}

const EMB: &[(&str, &str)] = &[("input_dim", "3"), ("output_dim", "2"), ("dtype", "float64")];

#[test]
fn embedding_matches_mxnet_forward_and_backward() {
    // Values from MXNet 1.9.1: 1.7 truncates to 1; -1 and 7 clip to 0 and 2.
    let data = array(&[5], &[0.0, 2.0, 7.0, -1.0, 1.7]);
    let w = array(&[3, 2], &[0., 1., 2., 3., 4., 5.]);
    let y = &run("Embedding", EMB, &[data.clone(), w.clone()]).unwrap()[0];
    assert_eq!(y.shape(), &[5, 2]);
    assert_eq!(values(y), vec![0., 1., 4., 5., 4., 5., 0., 1., 2., 3.]);
    let og = array(&[5, 2], &(0..10).map(|v| v as f64).collect::<Vec<_>>());
    let g = analytic_grads("Embedding", EMB, &[data, w], &[og], false);
    assert!(g[0].is_none());
    assert_eq!(g[1].clone().unwrap(), vec![6., 8., 8., 9., 6., 8.]);
}

#[test]
fn embedding_of_index_arrays_of_any_shape() {
    let data = array(&[2, 3], &[0.0, 4.0, 1.0, 1.0, 3.0, 0.0]);
    let params = [("input_dim", "5"), ("output_dim", "4"), ("dtype", "float64")];
    let w = rand(&[5, 4], 2);
    let y = &run("Embedding", &params, &[data.clone(), w.clone()]).unwrap()[0];
    assert_eq!(y.shape(), &[2, 3, 4]);
    let (wv, yv) = (values(&w), values(y));
    for (k, &i) in values(&data).iter().enumerate() {
        assert_eq!(&yv[k * 4..(k + 1) * 4], &wv[i as usize * 4..(i as usize + 1) * 4]);
    }
    check_gradient("Embedding", &params, &[data, w], &[0], false);
}

#[test]
fn embedding_completes_the_weight_shape_and_names_bad_inputs() {
    let op = lookup("Embedding").unwrap().instantiate(&Attrs::from_pairs([("input_dim", "10"), ("output_dim", "4")])).unwrap();
    let done = op.complete_inputs(&[Some([2usize, 3][..].into()), None]);
    assert_eq!(done[1].as_deref(), Some(&[10usize, 4][..]));
    assert_eq!(op.complete_dtypes(&[Some(DType::F64), None]), vec![Some(DType::F64), Some(DType::F32)]);
    let err = run("Embedding", EMB, &[array(&[2], &[0., 1.]), rand(&[4, 2], 1)]).err().unwrap();
    assert!(err.contains("Embedding") && err.contains("[4, 2]") && err.contains("[3, 2]"), "{err}");
    // As MXNet: the bound weight's dtype wins over the default `dtype` parameter.
    let out = run("Embedding", &[("input_dim", "3"), ("output_dim", "2")], &[array(&[2], &[0., 1.]), rand(&[3, 2], 1)]).unwrap();
    assert_eq!(out[0].dtype(), DType::F64);
    let err = run("Embedding", &[("output_dim", "2")], &[array(&[2], &[0., 1.]), rand(&[3, 2], 1)]).err().unwrap();
    assert!(err.contains("input_dim"), "{err}");
}

#[test]
fn sort_and_topk_values_send_the_gradient_back_to_each_source() {
    let x = rand(&[3, 4], 1);
    for params in [&[][..], &[("axis", "0")], &[("axis", "None")], &[("is_ascend", "False")]] {
        check_gradient("sort", params, std::slice::from_ref(&x), &[], false);
    }
    for params in [&[("k", "2"), ("ret_typ", "value")][..], &[("k", "2"), ("ret_typ", "both"), ("axis", "0"), ("dtype", "float64")], &[("k", "3"), ("ret_typ", "value"), ("is_ascend", "True")]] {
        check_gradient("topk", params, std::slice::from_ref(&x), &[], false);
    }
    // MXNet 1.9.1: topk(k=2, value) of [[1,-2,3],[0.5,4,4]] weighted by [[1,2],[3,4]].
    let x = array(&[2, 3], &[1., -2., 3., 0.5, 4., 4.]);
    let g = analytic_grads("topk", &[("k", "2"), ("ret_typ", "value")], &[x], &[array(&[2, 2], &[1., 2., 3., 4.])], false);
    assert_eq!(g[0].clone().unwrap(), vec![2., 0., 1., 0., 3., 4.]);
}

#[test]
fn indices_and_masks_pass_no_gradient() {
    let x = rand(&[3, 4], 1);
    for (op, params) in [("argsort", &[][..]), ("topk", &[("k", "2")][..]), ("topk", &[("k", "2"), ("ret_typ", "mask")][..])] {
        let shape = if op == "topk" && params.len() == 1 { [3, 2] } else { [3, 4] };
        let g = analytic_grads(op, params, std::slice::from_ref(&x), &[rand(&shape, 2)], false);
        assert!(g[0].is_none(), "{op} {params:?}");
    }
}
