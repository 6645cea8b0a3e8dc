//! `fully_connected`: tests through the imperative path (moved from the operator's file when the operators
//! became their own crate; they need `invoke` and `NDArray`, which live above it).

use rmx_graph::invoke;
use rmx_graph::testing::{analytic_grads, array, check_gradient, uniform, values};
use rmx_graph::Attrs;
use rmx_engine::Context;

fn reference(x: &[f64], w: &[f64], b: Option<&[f64]>, rows: usize, cols: usize, nh: usize) -> Vec<f64> {
    let mut y = vec![0.0; rows * nh];
    for r in 0..rows {
        for j in 0..nh {
            let mut s = b.map_or(0.0, |b| b[j]);
            for k in 0..cols {
                s += x[r * cols + k] * w[j * cols + k];
            }
            y[r * nh + j] = s;
        }
    }
    y
}

#[test]
fn forward_matches_naive_product_flattened_or_on_last_axis() {
    for (shape, flatten, nh, no_bias) in [
        (vec![4, 3], true, 5, false),
        (vec![2, 3, 4], true, 3, true),
        (vec![2, 3, 4], false, 2, false),
        (vec![7], true, 3, false),
        (vec![7], false, 4, true),
    ] {
        let (rows, cols) = if flatten { (shape[0], shape[1..].iter().product()) } else { (shape[..shape.len() - 1].iter().product(), *shape.last().unwrap()) };
        let x = uniform(rows * cols, -1.0, 1.0, 1);
        let w = uniform(nh * cols, -1.0, 1.0, 2);
        let b = uniform(nh, -1.0, 1.0, 3);
        let mut ins = vec![array(&shape, &x), array(&[nh, cols], &w)];
        if !no_bias {
            ins.push(array(&[nh], &b));
        }
        let nhs = nh.to_string();
        let attrs = Attrs::from_pairs([("num_hidden", nhs.as_str()), ("flatten", if flatten { "True" } else { "False" }), ("no_bias", if no_bias { "True" } else { "False" })]);
        let y = &invoke("FullyConnected", &ins, &attrs, None, Context::cpu(0)).unwrap()[0];
        let mut want_shape = if flatten { vec![shape[0]] } else { shape[..shape.len() - 1].to_vec() };
        want_shape.push(nh);
        assert_eq!(y.shape(), want_shape.as_slice());
        let want = reference(&x, &w, (!no_bias).then_some(&b[..]), rows, cols, nh);
        for (a, e) in values(y).iter().zip(&want) {
            assert!((a - e).abs() < 1e-12, "{shape:?}: {a} vs {e}");
        }
    }
}

#[test]
fn float32_forward_agrees_with_float64() {
    let x: Vec<f32> = uniform(6 * 5, -1.0, 1.0, 4).iter().map(|&v| v as f32).collect();
    let w: Vec<f32> = uniform(3 * 5, -1.0, 1.0, 5).iter().map(|&v| v as f32).collect();
    let b: Vec<f32> = vec![0.5, -0.25, 1.0];
    let bytes = |v: &[f32]| v.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>();
    let mk = |s: &[usize], v: &[f32]| rmx_graph::NDArray::from_bytes(s, rmx_kernels::DType::F32, Context::cpu(0), &bytes(v)).unwrap();
    let y = &invoke("FullyConnected", &[mk(&[6, 5], &x), mk(&[3, 5], &w), mk(&[3], &b)], &Attrs::from_pairs([("num_hidden", "3")]), None, Context::cpu(0)).unwrap()[0];
    let mut out = vec![0u8; y.nbytes()];
    y.read_into(&mut out).unwrap();
    let got: Vec<f32> = out.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    let f64s = |v: &[f32]| v.iter().map(|&f| f as f64).collect::<Vec<_>>();
    let want = reference(&f64s(&x), &f64s(&w), Some(&f64s(&b)), 6, 5, 3);
    for (a, e) in got.iter().zip(&want) {
        assert!((*a as f64 - e).abs() < 1e-5);
    }
}

#[test]
fn gradients_match_finite_differences() {
    for (shape, params) in [
        (vec![3, 4], vec![("num_hidden", "2")]),
        (vec![2, 2, 3], vec![("num_hidden", "3"), ("no_bias", "True")]),
        (vec![2, 2, 3], vec![("num_hidden", "2"), ("flatten", "False")]),
    ] {
        let no_bias = params.iter().any(|p| p.0 == "no_bias");
        let flatten = !params.iter().any(|p| p.0 == "flatten");
        let nh: usize = params[0].1.parse().unwrap();
        let cols = if flatten { shape[1..].iter().product() } else { *shape.last().unwrap() };
        let n: usize = shape.iter().product();
        let mut ins = vec![array(&shape, &uniform(n, -1.0, 1.0, 11)), array(&[nh, cols], &uniform(nh * cols, -1.0, 1.0, 12))];
        if !no_bias {
            ins.push(array(&[nh], &uniform(nh, -1.0, 1.0, 13)));
        }
        check_gradient("FullyConnected", &params, &ins, &[], false);
    }
}

#[test]
fn bias_gradient_sums_rows() {
    let ins = [array(&[2, 2], &[1.0, 2.0, 3.0, 4.0]), array(&[1, 2], &[1.0, 1.0]), array(&[1], &[0.0])];
    let g = analytic_grads("FullyConnected", &[("num_hidden", "1")], &ins, &[array(&[2, 1], &[2.0, 5.0])], false);
    assert_eq!(g[2].as_ref().unwrap(), &vec![7.0]);
    assert_eq!(g[1].as_ref().unwrap(), &vec![17.0, 24.0]);
}

#[test]
fn bad_weight_shape_and_missing_num_hidden_are_named() {
    let ins = [array(&[2, 3], &[0.0; 6]), array(&[4, 2], &[0.0; 8]), array(&[4], &[0.0; 4])];
    let err = invoke("FullyConnected", &ins, &Attrs::from_pairs([("num_hidden", "4")]), None, Context::cpu(0)).err().unwrap().to_string();
    assert!(err.contains("FullyConnected") && err.contains("'weight'") && err.contains("[4, 3]"), "{err}");
    let err = invoke("FullyConnected", &ins, &Attrs::new(), None, Context::cpu(0)).err().unwrap().to_string();
    assert!(err.contains("num_hidden") && err.contains("required"), "{err}");
}

#[test]
fn weight_and_bias_shapes_complete_from_data() {
    let def = rmx_graph::lookup("FullyConnected").unwrap();
    let op = def.instantiate(&Attrs::from_pairs([("num_hidden", "5")])).unwrap();
    let got = op.complete_inputs(&[Some([2usize, 3, 4][..].into()), None, None]);
    assert_eq!(got[1].as_deref(), Some(&[5usize, 12][..]));
    assert_eq!(got[2].as_deref(), Some(&[5usize][..]));
    let op = def.instantiate(&Attrs::from_pairs([("num_hidden", "5"), ("flatten", "False"), ("no_bias", "True")])).unwrap();
    assert_eq!(op.input_names(), Some(vec!["data", "weight"]));
    let got = op.complete_inputs(&[Some([2usize, 3, 4][..].into()), None]);
    assert_eq!(got, vec![None, Some([5usize, 4][..].into())]);
}
