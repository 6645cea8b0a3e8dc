//! Gradients of the elementwise families (two-input, broadcast, scalar, one-input math) against
//! central differences, on random float64 inputs; piecewise-constant operators give no gradient.

use rmx_engine::Context;
use rmx_graph::testing::{analytic_grads, array, check_gradient, uniform, values};
use rmx_graph::{invoke, Attrs, NDArray};
use rmx_kernels::DType;

fn rand(shape: &[usize], lo: f64, hi: f64, seed: u64) -> NDArray {
    array(shape, &uniform(shape.iter().product(), lo, hi, seed))
}

/// Operands for `op` away from its kinks and outside its poles.
fn operands(op: &str, l: &[usize], r: &[usize], seed: u64) -> Vec<NDArray> {
    match op {
        // Positive bases; a mod b away from b's multiples for most draws.
        _ if op.ends_with("power") => vec![rand(l, 0.5, 2.0, seed), rand(r, -1.5, 1.5, seed + 1)],
        _ if op.ends_with("mod") => vec![rand(l, 0.1, 3.0, seed), rand(r, 0.7, 1.3, seed + 1)],
        _ => vec![rand(l, -2.0, 2.0, seed), rand(r, 0.5, 2.0, seed + 1)],
    }
}

const ARITH: &[&str] = &["add", "sub", "mul", "div", "mod", "power", "maximum", "minimum", "hypot"];

#[test]
fn elemwise_binary_gradients() {
    for (k, f) in ARITH.iter().enumerate() {
        let op = match *f {
            "add" | "sub" | "mul" | "div" => format!("elemwise_{f}"),
            _ => format!("_{f}"),
        };
        for shape in [&[2, 3][..], &[5]] {
            check_gradient(&op, &[], &operands(&op, shape, shape, 10 + k as u64), &[], false);
        }
    }
}

#[test]
fn broadcast_binary_gradients_sum_back_to_each_shape() {
    let pairs: &[(&[usize], &[usize])] = &[
        (&[3, 1, 4], &[1, 5, 1]),
        (&[2, 3], &[3]),
        (&[4], &[2, 3, 4]),
        (&[2, 3], &[2, 3]),
        (&[2, 1, 3, 1], &[4, 1, 2]),
        (&[1], &[2, 2]),
    ];
    for (k, f) in ARITH.iter().enumerate() {
        let op = format!("broadcast_{f}");
        for (p, (l, r)) in pairs.iter().enumerate() {
            check_gradient(&op, &[], &operands(&op, l, r, 100 + 10 * k as u64 + p as u64), &[], false);
        }
    }
}

#[test]
fn broadcast_gradient_matches_a_naive_sum() {
    // d/dl sum(w * (l * r)) for l (3,1,4), r (1,5,1): dl[i,0,k] = sum_j w[i,j,k] r[j].
    let (l, r) = (rand(&[3, 1, 4], -1.0, 1.0, 1), rand(&[1, 5, 1], -1.0, 1.0, 2));
    let w = rand(&[3, 5, 4], -1.0, 1.0, 3);
    let g = analytic_grads("broadcast_mul", &[], &[l.clone(), r.clone()], std::slice::from_ref(&w), false);
    let (lv, rv, wv) = (values(&l), values(&r), values(&w));
    let (dl, dr) = (g[0].clone().unwrap(), g[1].clone().unwrap());
    for i in 0..3 {
        for k in 0..4 {
            let want: f64 = (0..5).map(|j| wv[i * 20 + j * 4 + k] * rv[j]).sum();
            assert!((dl[i * 4 + k] - want).abs() < 1e-12);
        }
    }
    for j in 0..5 {
        let want: f64 = (0..3).flat_map(|i| (0..4).map(move |k| (i, k))).map(|(i, k)| wv[i * 20 + j * 4 + k] * lv[i * 4 + k]).sum();
        assert!((dr[j] - want).abs() < 1e-12);
    }
}

#[test]
fn ties_of_maximum_and_minimum_go_to_lhs_as_mxnet() {
    let (a, b) = (array(&[2], &[1.0, 2.0]), array(&[2], &[1.0, 3.0]));
    let og = array(&[2], &[1.0, 1.0]);
    let max = analytic_grads("_maximum", &[], &[a.clone(), b.clone()], std::slice::from_ref(&og), false);
    assert_eq!((max[0].clone().unwrap(), max[1].clone().unwrap()), (vec![1.0, 0.0], vec![0.0, 1.0]));
    let min = analytic_grads("broadcast_minimum", &[], &[a, b], &[og], false);
    assert_eq!((min[0].clone().unwrap(), min[1].clone().unwrap()), (vec![1.0, 1.0], vec![0.0, 0.0]));
}

#[test]
fn comparisons_and_logic_pass_no_gradient() {
    for op in ["_equal", "broadcast_greater", "_lesser_equal", "broadcast_logical_and", "_logical_xor", "_greater_scalar", "_logical_or_scalar"] {
        let scalar = op.ends_with("_scalar");
        let inputs = if scalar { vec![rand(&[2, 2], -1.0, 1.0, 1)] } else { vec![rand(&[2, 2], -1.0, 1.0, 1), rand(&[2, 2], -1.0, 1.0, 2)] };
        let params: &[(&str, &str)] = if scalar { &[("scalar", "0.5")] } else { &[] };
        let og = rand(&[2, 2], -1.0, 1.0, 3);
        let g = analytic_grads(op, params, &inputs, &[og], false);
        assert!(g.iter().all(Option::is_none), "{op}");
    }
}

#[test]
fn scalar_gradients() {
    let ops = [
        "_plus_scalar", "_minus_scalar", "_rminus_scalar", "_mul_scalar", "_div_scalar", "_rdiv_scalar", "_mod_scalar", "_rmod_scalar",
        "_power_scalar", "_rpower_scalar", "_maximum_scalar", "_minimum_scalar", "_hypot_scalar",
    ];
    for (k, op) in ops.iter().enumerate() {
        for scalar in ["1.7", "-0.6", "2"] {
            if scalar == "-0.6" && (op.contains("power") || op.contains("mod")) {
                continue;
            }
            let x = rand(&[2, 3], 0.3, 2.5, 20 + k as u64);
            check_gradient(op, &[("scalar", scalar)], &[x], &[], false);
        }
    }
}

#[test]
fn rmod_and_rpower_gradients_match_mxnet_values() {
    // MXNet 1.9.1: d(7 % x)/dx = -floor(7 / x); d(2 ** x)/dx = 2 ** x * ln 2.
    let x = array(&[2], &[3.0, 2.0]);
    let og = array(&[2], &[1.0, 1.0]);
    let g = analytic_grads("_rmod_scalar", &[("scalar", "7")], std::slice::from_ref(&x), std::slice::from_ref(&og), false);
    assert_eq!(g[0].clone().unwrap(), vec![-2.0, -3.0]);
    let g = analytic_grads("_rpower_scalar", &[("scalar", "2")], &[x], &[og], false);
    let want = [8.0 * 2f64.ln(), 4.0 * 2f64.ln()];
    assert!(g[0].clone().unwrap().iter().zip(want).all(|(a, b)| (a - b).abs() < 1e-12));
}

/// (op, low, high): a domain where the function is smooth.
const UNARY: &[(&str, f64, f64)] = &[
    ("abs", 0.2, 2.0), ("negative", -2.0, 2.0), ("square", -2.0, 2.0), ("exp", -2.0, 2.0), ("expm1", -1.0, 1.0),
    ("log", 0.3, 3.0), ("log2", 0.3, 3.0), ("log10", 0.3, 3.0), ("log1p", -0.5, 2.0), ("sqrt", 0.3, 3.0),
    ("rsqrt", 0.3, 3.0), ("cbrt", 0.3, 3.0), ("rcbrt", 0.3, 3.0), ("reciprocal", 0.3, 3.0), ("sin", -3.0, 3.0),
    ("cos", -3.0, 3.0), ("tan", -1.2, 1.2), ("arcsin", -0.9, 0.9), ("arccos", -0.9, 0.9), ("arctan", -3.0, 3.0),
    ("sinh", -2.0, 2.0), ("cosh", -2.0, 2.0), ("tanh", -2.0, 2.0), ("arcsinh", -2.0, 2.0), ("arccosh", 1.2, 3.0),
    ("arctanh", -0.9, 0.9), ("degrees", -2.0, 2.0), ("radians", -2.0, 2.0), ("sigmoid", -3.0, 3.0),
    ("relu", -2.0, 2.0), ("softsign", -2.0, 2.0), ("_copy", -2.0, 2.0), ("identity", -2.0, 2.0),
];

#[test]
fn unary_gradients() {
    for (k, &(op, lo, hi)) in UNARY.iter().enumerate() {
        for shape in [&[7][..], &[2, 2, 2]] {
            let mut v = uniform(shape.iter().product(), lo, hi, 40 + k as u64);
            if op == "abs" || op == "relu" {
                // Both sides of the kink.
                v.iter_mut().step_by(2).for_each(|x| *x = -*x);
            }
            check_gradient(op, &[], &[array(shape, &v)], &[], false);
        }
    }
}

#[test]
fn rounding_sign_and_logic_pass_no_gradient() {
    for op in ["sign", "round", "rint", "fix", "floor", "ceil", "trunc", "logical_not"] {
        let g = analytic_grads(op, &[], &[rand(&[3], -2.0, 2.0, 1)], &[rand(&[3], -1.0, 1.0, 2)], false);
        assert!(g[0].is_none(), "{op}");
    }
}

fn f32_array(shape: &[usize], v: &[f64]) -> NDArray {
    let bytes: Vec<u8> = v.iter().flat_map(|x| (*x as f32).to_le_bytes()).collect();
    NDArray::from_bytes(shape, DType::F32, Context::cpu(0), &bytes).unwrap()
}

fn f32_values(a: &NDArray) -> Vec<f64> {
    let mut bytes = vec![0u8; a.nbytes()];
    a.read_into(&mut bytes).unwrap();
    bytes.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap()) as f64).collect()
}

#[test]
fn backward_kernels_run_in_float32() {
    let ctx = Context::cpu(0);
    let (g, x) = (uniform(6, -1.0, 1.0, 1), uniform(6, 0.5, 2.0, 2));
    let y: Vec<f64> = x.iter().map(|v| v.ln()).collect();
    let attrs = Attrs::from_pairs([("fn", "log")]);
    let out = &invoke("_backward_unary", &[f32_array(&[6], &g), f32_array(&[6], &x), f32_array(&[6], &y)], &attrs, None, ctx).unwrap()[0];
    for ((d, g), x) in f32_values(out).iter().zip(&g).zip(&x) {
        assert!((d - g / x).abs() < 1e-6);
    }
    let attrs = Attrs::from_pairs([("fn", "mul")]);
    let outs = invoke("_backward_binary", &[f32_array(&[2, 3], &g), f32_array(&[2, 1], &x[..2]), f32_array(&[3], &x[..3])], &attrs, None, ctx).unwrap();
    let (dl, dr) = (f32_values(&outs[0]), f32_values(&outs[1]));
    for i in 0..2 {
        let want: f64 = (0..3).map(|j| g[i * 3 + j] * x[j]).sum();
        assert!((dl[i] - want).abs() < 1e-5);
    }
    for j in 0..3 {
        let want: f64 = (0..2).map(|i| g[i * 3 + j] * x[i]).sum();
        assert!((dr[j] - want).abs() < 1e-5);
    }
}

#[test]
fn backward_kernels_name_bad_functions_and_shapes() {
    let ctx = Context::cpu(0);
    let a = rand(&[2], 0.0, 1.0, 1);
    let err = invoke("_backward_unary", &[a.clone(), a.clone(), a.clone()], &Attrs::from_pairs([("fn", "floor")]), None, ctx).err().unwrap();
    assert!(err.to_string().contains("floor"), "{err}");
    let b = rand(&[3], 0.0, 1.0, 1);
    let err = invoke("_backward_binary", &[a.clone(), a, b], &Attrs::from_pairs([("fn", "mul")]), None, ctx).err().unwrap();
    assert!(err.to_string().contains("_backward_binary"), "{err}");
}
