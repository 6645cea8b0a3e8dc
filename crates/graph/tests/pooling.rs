//! Pooling: forward against naive float64 loops over every convention and pool type, values
//! MXNet 1.9.1 gives, gradients against finite differences, and errors.

use rmx_graph::testing::{array, check_gradient, uniform, values};
use rmx_graph::{invoke, Attrs, NDArray};
use rmx_kernels::Context;

fn run(params: &[(&str, &str)], x: &NDArray) -> NDArray {
    invoke("Pooling", std::slice::from_ref(x), &Attrs::from_pairs(params.iter().copied()), None, Context::cpu(0)).unwrap_or_else(|e| panic!("{params:?}: {e}")).remove(0)
}

fn err(params: &[(&str, &str)], x: &NDArray) -> String {
    match invoke("Pooling", std::slice::from_ref(x), &Attrs::from_pairs(params.iter().copied()), None, Context::cpu(0)) {
        Ok(_) => panic!("{params:?} should fail"),
        Err(e) => e.to_string(),
    }
}

/// 2-D pooling by the definition: every window position, padding included, of each plane.
#[allow(clippy::too_many_arguments)]
fn naive(x: &[f64], shape: [usize; 4], k: [usize; 2], s: [usize; 2], p: [usize; 2], full: bool, kind: &str, include_pad: bool) -> (Vec<f64>, [usize; 2]) {
    let [n, c, h, w] = shape;
    let size = |i: usize, len: usize| {
        let span = len + 2 * p[i] - k[i];
        1 + if full { span.div_ceil(s[i]) } else { span / s[i] }
    };
    let (oh, ow) = (size(0, h), size(1, w));
    let mut y = Vec::new();
    for plane in 0..n * c {
        for a in 0..oh {
            for b in 0..ow {
                let (mut vals, mut in_padded) = (Vec::new(), 0);
                for u in 0..k[0] {
                    for v in 0..k[1] {
                        let (r, q) = ((a * s[0] + u) as isize - p[0] as isize, (b * s[1] + v) as isize - p[1] as isize);
                        if r < (h + p[0]) as isize && q < (w + p[1]) as isize {
                            in_padded += 1;
                        }
                        if r >= 0 && q >= 0 && (r as usize) < h && (q as usize) < w {
                            vals.push(x[(plane * h + r as usize) * w + q as usize]);
                        }
                    }
                }
                let sum: f64 = vals.iter().sum();
                y.push(match kind {
                    "max" => vals.iter().copied().fold(f64::MIN, f64::max),
                    "sum" => sum,
                    "lp" => vals.iter().map(|v| v * v).sum::<f64>().sqrt(),
                    _ => {
                        let count = if include_pad { in_padded } else { vals.len() };
                        if count == 0 { 0.0 } else { sum / count as f64 }
                    }
                });
            }
        }
    }
    (y, [oh, ow])
}

#[test]
fn two_d_pooling_matches_the_definition() {
    let shape = [2, 3, 7, 6];
    let xv = uniform(shape.iter().product(), -1.0, 1.0, 3);
    let x = array(&shape, &xv);
    let windows = [([3, 3], [2, 2], [0, 0]), ([2, 2], [2, 2], [1, 1]), ([3, 2], [3, 2], [1, 0]), ([3, 3], [1, 1], [1, 1]), ([2, 3], [1, 2], [0, 1])];
    for (k, s, p) in windows {
        for full in [false, true] {
            for kind in ["max", "avg", "sum", "lp"] {
                for include_pad in [true, false] {
                    let t = |v: [usize; 2]| format!("({},{})", v[0], v[1]);
                    let (kt, st, pt) = (t(k), t(s), t(p));
                    let params = [
                        ("kernel", kt.as_str()), ("stride", st.as_str()), ("pad", pt.as_str()), ("pool_type", kind), ("p_value", "2"),
                        ("pooling_convention", if full { "full" } else { "valid" }), ("count_include_pad", if include_pad { "True" } else { "False" }),
                    ];
                    let y = run(&params, &x);
                    let (want, [oh, ow]) = naive(&xv, shape, k, s, p, full, kind, include_pad);
                    assert_eq!(y.shape(), &[2, 3, oh, ow], "{params:?}");
                    let got = values(&y);
                    for (i, (a, b)) in got.iter().zip(&want).enumerate() {
                        assert!((a - b).abs() < 1e-12, "{params:?} [{i}]: {a} vs {b}");
                    }
                }
            }
        }
    }
}

#[test]
fn shapes_and_values_mxnet_gives() {
    // Output shapes from MXNet 1.9.1 for data (2, 3, 7, 6).
    let x = array(&[2, 3, 7, 6], &uniform(252, -1.0, 1.0, 1));
    for (k, s, p, conv, want) in [
        ("(3,3)", "(2,2)", "(0,0)", "full", [3, 3]),
        ("(2,2)", "(2,2)", "(1,1)", "full", [5, 4]),
        ("(2,2)", "(2,2)", "(1,1)", "valid", [4, 4]),
        ("(3,3)", "()", "()", "valid", [5, 4]),
    ] {
        let y = run(&[("kernel", k), ("stride", s), ("pad", p), ("pooling_convention", conv)], &x);
        assert_eq!(y.shape(), &[2, 3, want[0], want[1]], "{k} {s} {p} {conv}");
    }
    assert_eq!(run(&[("kernel", "(3,3)"), ("global_pool", "True"), ("pool_type", "avg")], &x).shape(), &[2, 3, 1, 1]);
    assert_eq!(run(&[("global_pool", "True")], &x).shape(), &[2, 3, 1, 1]);
    // Full-convention average of ones with padding: windows past the input give 0.
    let ones = array(&[1, 1, 5, 5], &[1.0; 25]);
    let y = values(&run(&[("kernel", "(2,2)"), ("stride", "(2,2)"), ("pad", "(1,1)"), ("pool_type", "avg"), ("pooling_convention", "full")], &ones));
    let row = [0.5, 1.0, 1.0, 0.0];
    let want: Vec<f64> = [[0.25, 0.5, 0.5, 0.0], row, row, [0.0; 4]].concat();
    assert_eq!(y, want);
    // Padding never wins a max; an all-padding window gives the lowest finite value.
    let neg = array(&[1, 1, 5, 5], &[-1.0; 25]);
    let y = values(&run(&[("kernel", "(2,2)"), ("stride", "(2,2)"), ("pad", "(1,1)"), ("pooling_convention", "full")], &neg));
    assert_eq!(&y[..3], &[-1.0; 3]);
    assert_eq!(y[3], f64::MIN);
    // Lp with p = 3 is the cube root of the sum of cubes.
    let twos = array(&[1, 1, 2, 2], &[2.0; 4]);
    let y = values(&run(&[("kernel", "(2,2)"), ("pool_type", "lp"), ("p_value", "3")], &twos));
    assert!((y[0] - 32f64.cbrt()).abs() < 1e-12);
    // 1-D: full convention, global sum, and 'same' (ceil(in / stride) outputs).
    let x1 = array(&[1, 2, 5], &(0..10).map(f64::from).collect::<Vec<_>>());
    assert_eq!(values(&run(&[("kernel", "(2,)"), ("stride", "(2,)"), ("pooling_convention", "full")], &x1)), [1.0, 3.0, 4.0, 6.0, 8.0, 9.0]);
    assert_eq!(values(&run(&[("global_pool", "True"), ("pool_type", "sum")], &x1)), [10.0, 35.0]);
    let same = run(&[("kernel", "(3,)"), ("stride", "(2,)"), ("pooling_convention", "same")], &x1);
    assert_eq!(same.shape(), &[1, 2, 3]);
    assert_eq!(values(&same), [1.0, 3.0, 4.0, 6.0, 8.0, 9.0]);
    // 3-D.
    let x3 = array(&[1, 1, 4, 4, 4], &(0..64).map(f64::from).collect::<Vec<_>>());
    let y = run(&[("kernel", "(2,2,2)"), ("stride", "(2,2,2)")], &x3);
    assert_eq!(y.shape(), &[1, 1, 2, 2, 2]);
    assert_eq!(values(&y)[0], 21.0);
}

#[test]
fn pooling_gradients() {
    let x = array(&[2, 2, 5, 4], &uniform(80, -1.0, 1.0, 9));
    for (kind, k, s, p, conv, include) in [
        ("max", "(2,2)", "(2,2)", "(0,0)", "valid", "True"),
        ("max", "(3,2)", "(2,1)", "(1,1)", "full", "True"),
        ("avg", "(3,3)", "(2,2)", "(1,1)", "valid", "True"),
        ("avg", "(2,3)", "(2,2)", "(1,1)", "full", "False"),
        ("sum", "(2,2)", "(1,2)", "(1,0)", "full", "True"),
        ("lp", "(2,2)", "(1,1)", "(0,0)", "valid", "True"),
    ] {
        let params = [("pool_type", kind), ("kernel", k), ("stride", s), ("pad", p), ("pooling_convention", conv), ("count_include_pad", include), ("p_value", "3")];
        check_gradient("Pooling", &params, std::slice::from_ref(&x), &[], false);
    }
    let x1 = array(&[2, 2, 7], &uniform(28, -1.0, 1.0, 10));
    check_gradient("Pooling", &[("pool_type", "avg"), ("kernel", "(3,)"), ("stride", "(2,)"), ("pad", "(1,)")], std::slice::from_ref(&x1), &[], false);
    check_gradient("Pooling", &[("pool_type", "max"), ("kernel", "(3,)"), ("stride", "(2,)"), ("pooling_convention", "same")], &[x1], &[], false);
    check_gradient("Pooling", &[("pool_type", "avg"), ("global_pool", "True")], std::slice::from_ref(&x), &[], false);
    check_gradient("Pooling", &[("pool_type", "lp"), ("p_value", "2"), ("kernel", "(2,2)"), ("stride", "(2,2)")], &[x], &[], false);
    // A tie sends the gradient to the first maximum only (as MXNet).
    let t = array(&[1, 1, 2, 2], &[1.0, 1.0, 0.0, 1.0]);
    let g = rmx_graph::testing::analytic_grads("Pooling", &[("kernel", "(2,2)")], &[t], &[array(&[1, 1, 1, 1], &[1.0])], false);
    assert_eq!(g[0].as_ref().unwrap(), &[1.0, 0.0, 0.0, 0.0]);
}

#[test]
fn bad_parameters_are_named() {
    let x = array(&[1, 1, 5, 5], &[1.0; 25]);
    assert!(err(&[("kernel", "(6,6)")], &x).contains("exceeds"));
    assert!(err(&[("pool_type", "max")], &x).contains("'kernel'"));
    assert!(err(&[("kernel", "(2,2)"), ("pool_type", "lp")], &x).contains("p_value"));
    assert!(err(&[("kernel", "(2,2)"), ("pooling_convention", "same")], &x).contains("1-D max"));
    assert!(err(&[("kernel", "(2,)")], &x).contains("3-D"));
    assert!(err(&[("kernel", "(2,2)"), ("layout", "NHWC")], &x).contains("layout"));
    assert!(err(&[("kernel", "(2,2)"), ("pool_type", "median")], &x).contains("pool_type"));
}
