//! UpSampling, Pad and LRN: forward against naive float64 loops and values MXNet 1.9.1 gives,
//! gradients against finite differences, and errors.

use rmx_graph::testing::{analytic_grads, array, check_gradient, uniform, values};
use rmx_graph::{invoke, lookup, Attrs, NDArray};
use rmx_kernels::Context;

fn run(op: &str, params: &[(&str, &str)], inputs: &[NDArray]) -> Vec<NDArray> {
    invoke(op, inputs, &Attrs::from_pairs(params.iter().copied()), None, Context::cpu(0)).unwrap_or_else(|e| panic!("{op} {params:?}: {e}"))
}

fn err(op: &str, params: &[(&str, &str)], inputs: &[NDArray]) -> String {
    match invoke(op, inputs, &Attrs::from_pairs(params.iter().copied()), None, Context::cpu(0)) {
        Ok(_) => panic!("{op} {params:?} should fail"),
        Err(e) => e.to_string(),
    }
}

fn rand(shape: &[usize], seed: u64) -> NDArray {
    array(shape, &uniform(shape.iter().product(), -1.0, 1.0, seed))
}

fn range(shape: &[usize], start: f64) -> NDArray {
    array(shape, &(0..shape.iter().product::<usize>()).map(|i| start + i as f64).collect::<Vec<_>>())
}

#[test]
fn upsampling_nearest_repeats_blocks_and_joins_inputs() {
    let a = range(&[1, 1, 2, 2], 0.0);
    let y = &run("UpSampling", &[("scale", "2"), ("sample_type", "nearest")], std::slice::from_ref(&a))[0];
    assert_eq!(y.shape(), &[1, 1, 4, 4]);
    assert_eq!(values(y), [0., 0., 1., 1., 0., 0., 1., 1., 2., 2., 3., 3., 2., 2., 3., 3.]);
    // Concat: the second input is already at the output size (scale 1) and follows along channels.
    let b = range(&[1, 2, 4, 4], 100.0);
    let y = &run("UpSampling", &[("scale", "2"), ("sample_type", "nearest"), ("num_args", "2")], &[a.clone(), b.clone()])[0];
    assert_eq!(y.shape(), &[1, 3, 4, 4]);
    let v = values(y);
    assert_eq!(&v[..4], &[0., 0., 1., 1.]);
    assert_eq!(v[16..], values(&b)[..]);
    // The first input sets the size: b is scaled by 2, a by 4 (MXNet: shape (1, 3, 8, 8)).
    let y = &run("UpSampling", &[("scale", "2"), ("sample_type", "nearest"), ("num_args", "2")], &[b.clone(), a.clone()])[0];
    assert_eq!(y.shape(), &[1, 3, 8, 8]);
    assert_eq!(&values(y)[128..136], &[0., 0., 0., 0., 1., 1., 1., 1.]);
    // Sum mode adds (MXNet: [[1,1,2,2],...]).
    let ones = array(&[1, 1, 4, 4], &[1.0; 16]);
    let y = &run("UpSampling", &[("scale", "2"), ("sample_type", "nearest"), ("num_args", "2"), ("multi_input_mode", "sum")], &[a.clone(), ones])[0];
    assert_eq!(&values(y)[..4], &[1., 1., 2., 2.]);
    // Gradient of the concatenation (MXNet: a.grad [[10, 18], [42, 50]], b.grad the second block).
    let bb = array(&[1, 1, 4, 4], &[1.0; 16]);
    let g = analytic_grads("UpSampling", &[("scale", "2"), ("sample_type", "nearest"), ("num_args", "2")], &[a, bb], &[range(&[1, 2, 4, 4], 0.0)], false);
    assert_eq!(g[0].as_ref().unwrap(), &[10., 18., 42., 50.]);
    assert_eq!(g[1].as_ref().unwrap(), &(16..32).map(f64::from).collect::<Vec<_>>());
}

#[test]
fn upsampling_gradients_and_errors() {
    let (a, b) = (rand(&[2, 2, 2, 3], 1), rand(&[2, 1, 4, 6], 2));
    check_gradient("UpSampling", &[("scale", "3"), ("sample_type", "nearest")], std::slice::from_ref(&a), &[], false);
    check_gradient("UpSampling", &[("scale", "2"), ("sample_type", "nearest"), ("num_args", "2")], &[a.clone(), b.clone()], &[], false);
    let c = rand(&[2, 2, 4, 6], 3);
    check_gradient("UpSampling", &[("scale", "2"), ("sample_type", "nearest"), ("num_args", "2"), ("multi_input_mode", "sum")], &[a.clone(), c], &[], false);
    let near = [("scale", "2"), ("sample_type", "nearest"), ("num_args", "2")];
    assert!(err("UpSampling", &near, &[a.clone(), rand(&[2, 1, 3, 3], 4)]).contains("whole factor"));
    assert!(err("UpSampling", &[("scale", "2"), ("sample_type", "nearest"), ("num_args", "2"), ("multi_input_mode", "sum")], &[a.clone(), b]).contains("equal channels"));
    assert!(err("UpSampling", &[("scale", "2"), ("sample_type", "bilinear"), ("num_filter", "2")], std::slice::from_ref(&a)).contains("not supported"));
    assert!(err("UpSampling", &[("scale", "2")], std::slice::from_ref(&a)).contains("sample_type"));
    assert!(err("UpSampling", &[("scale", "2"), ("sample_type", "nearest")], &[rand(&[1, 2, 3], 5)]).contains("4-D"));
}

#[test]
fn pad_modes_match_mxnet() {
    let x = range(&[1, 1, 3, 4], 0.0);
    let width = ("pad_width", "(0,0,0,0,2,1,1,3)");
    let y = &run("Pad", &[("mode", "constant"), width, ("constant_value", "-1")], std::slice::from_ref(&x))[0];
    assert_eq!(y.shape(), &[1, 1, 6, 8]);
    let v = values(y);
    assert_eq!(&v[16..24], &[-1., 0., 1., 2., 3., -1., -1., -1.]);
    assert!(v[..16].iter().chain(&v[40..]).all(|&e| e == -1.0));
    let edge = values(&run("pad", &[("mode", "edge"), width], std::slice::from_ref(&x))[0]);
    assert_eq!(&edge[..8], &[0., 0., 1., 2., 3., 3., 3., 3.]);
    assert_eq!(&edge[40..], &[8., 8., 9., 10., 11., 11., 11., 11.]);
    let reflect = values(&run("Pad", &[("mode", "reflect"), width], std::slice::from_ref(&x))[0]);
    assert_eq!(&reflect[..8], &[9., 8., 9., 10., 11., 10., 9., 8.]);
    assert_eq!(&reflect[16..24], &[1., 0., 1., 2., 3., 2., 1., 0.]);
    // Gradients of all-ones through reflect and edge (MXNet's values).
    let ones = array(&[1, 1, 6, 8], &[1.0; 48]);
    let g = analytic_grads("Pad", &[("mode", "reflect"), width], std::slice::from_ref(&x), std::slice::from_ref(&ones), false);
    assert_eq!(g[0].as_ref().unwrap(), &[2., 3., 2., 1., 6., 9., 6., 3., 4., 6., 4., 2.]);
    let g = analytic_grads("Pad", &[("mode", "edge"), width], &[x], &[ones], false);
    assert_eq!(g[0].as_ref().unwrap(), &[6., 3., 3., 12., 2., 1., 1., 4., 4., 2., 2., 8.]);
}

#[test]
fn pad_gradients_5d_and_errors() {
    let x = rand(&[1, 2, 3, 4], 7);
    for mode in ["constant", "edge", "reflect"] {
        check_gradient("Pad", &[("mode", mode), ("pad_width", "(0,0,0,0,1,2,3,1)"), ("constant_value", "0.5")], std::slice::from_ref(&x), &[], false);
    }
    let x5 = rand(&[1, 1, 2, 3, 3], 8);
    let y = &run("Pad", &[("mode", "edge"), ("pad_width", "(0,0,0,0,1,1,1,1,1,1)")], std::slice::from_ref(&x5))[0];
    assert_eq!(y.shape(), &[1, 1, 4, 5, 5]);
    assert_eq!(values(y)[0], values(&x5)[0]);
    check_gradient("Pad", &[("mode", "reflect"), ("pad_width", "(0,0,0,0,1,0,2,1,0,2)")], &[x5], &[], false);
    let x = rand(&[1, 1, 3, 4], 9);
    assert!(err("Pad", &[("mode", "constant"), ("pad_width", "(0,0,1,1,1,1,1,1)")], std::slice::from_ref(&x)).contains("first four"));
    assert!(err("Pad", &[("mode", "constant"), ("pad_width", "(0,0,0,0,1,1)")], std::slice::from_ref(&x)).contains("needs 8 values"));
    assert!(err("Pad", &[("mode", "reflect"), ("pad_width", "(0,0,0,0,3,3,0,0)")], std::slice::from_ref(&x)).contains("smaller"));
    assert!(err("Pad", &[("pad_width", "(0,0,0,0,1,1,1,1)")], std::slice::from_ref(&x)).contains("'mode'"));
    assert!(err("Pad", &[("mode", "constant"), ("pad_width", "(0,0,1,1)")], &[rand(&[2, 3], 1)]).contains("4-D or 5-D"));
}

/// LRN by its definition, with MXNet's window of (nsize-1)/2 channels each side and alpha/nsize.
fn naive_lrn(x: &[f64], shape: &[usize], nsize: usize, alpha: f64, beta: f64, knorm: f64) -> Vec<f64> {
    let (n, c) = (shape[0], shape[1]);
    let inner: usize = shape[2..].iter().product();
    let half = (nsize - 1) / 2;
    let mut y = vec![0.0; x.len()];
    for b in 0..n {
        for ch in 0..c {
            for i in 0..inner {
                let lo = ch.saturating_sub(half);
                let hi = (ch + half).min(c - 1);
                let s: f64 = (lo..=hi).map(|w| x[(b * c + w) * inner + i].powi(2)).sum();
                let at = (b * c + ch) * inner + i;
                y[at] = x[at] / (knorm + alpha / nsize as f64 * s).powf(beta);
            }
        }
    }
    y
}

#[test]
fn lrn_matches_the_definition_and_has_a_hidden_norm() {
    for (shape, nsize, alpha, beta, knorm) in [(vec![2, 5, 2, 3], 3, 0.3, 0.75, 2.0), (vec![1, 6, 4], 4, 0.5, 0.5, 1.0), (vec![2, 4, 1, 1], 5, 1e-4, 0.75, 2.0), (vec![1, 3, 2, 2], 1, 0.2, 1.5, 1.0)] {
        let xv = uniform(shape.iter().product(), -2.0, 2.0, nsize as u64);
        let (a, b, k, n) = (alpha.to_string(), beta.to_string(), knorm.to_string(), nsize.to_string());
        let params = [("nsize", n.as_str()), ("alpha", a.as_str()), ("beta", b.as_str()), ("knorm", k.as_str())];
        let outs = run("LRN", &params, &[array(&shape, &xv)]);
        assert_eq!(outs.len(), 2, "output and hidden tmp_norm");
        let want = naive_lrn(&xv, &shape, nsize, alpha, beta, knorm);
        for (g, w) in values(&outs[0]).iter().zip(&want) {
            assert!((g - w).abs() < 1e-12, "{params:?}: {g} vs {w}");
        }
        check_gradient("LRN", &params, &[array(&shape, &xv)], &[], false);
    }
    let lrn = lookup("LRN").unwrap().instantiate(&Attrs::from_pairs([("nsize", "3")])).unwrap();
    assert_eq!((lrn.num_outputs(), lrn.num_visible_outputs()), (2, 1));
    assert!(err("LRN", &[], &[rand(&[1, 3, 2, 2], 1)]).contains("'nsize'"));
    assert!(err("LRN", &[("nsize", "3")], &[rand(&[3], 1)]).contains("channel axis"));
}
