//! `batch_norm`: tests through the imperative path (moved from the operator's file when the operators
//! became their own crate; they need `invoke` and `NDArray`, which live above it).

use rmx_graph::{invoke, invoke_with};
use rmx_graph::testing::{analytic_grads, array, check_gradient, uniform, values};
use rmx_graph::{Attrs, NDArray, OpCtx};
use rmx_engine::Context;

/// Per-channel statistics of `x` (shape `(o, c, i)`) computed naively.
fn stats(x: &[f64], o: usize, c: usize, i: usize) -> (Vec<f64>, Vec<f64>) {
    let m = (o * i) as f64;
    let at = |a: usize, ch: usize, b: usize| x[(a * c + ch) * i + b];
    let mut mean = vec![0.0; c];
    let mut var = vec![0.0; c];
    for ch in 0..c {
        for a in 0..o {
            for b in 0..i {
                mean[ch] += at(a, ch, b) / m;
            }
        }
        for a in 0..o {
            for b in 0..i {
                var[ch] += (at(a, ch, b) - mean[ch]).powi(2) / m;
            }
        }
    }
    (mean, var)
}

fn inputs(shape: &[usize], c: usize, seed: u64) -> Vec<NDArray> {
    let n: usize = shape.iter().product();
    vec![
        array(shape, &uniform(n, -2.0, 3.0, seed)),
        array(&[c], &uniform(c, 0.5, 1.5, seed + 1)),
        array(&[c], &uniform(c, -0.5, 0.5, seed + 2)),
        array(&[c], &uniform(c, -0.2, 0.2, seed + 3)),
        array(&[c], &uniform(c, 0.5, 2.0, seed + 4)),
    ]
}

#[test]
fn training_forward_normalizes_with_batch_statistics_and_updates_moving_ones() {
    // (shape, axis, (outer, channels, inner))
    // The last case is large enough for the parallel paths.
    for (shape, ax, (o, c, i)) in [(vec![4, 3, 5], "1", (4, 3, 5)), (vec![2, 3, 4], "-1", (6, 4, 1)), (vec![6, 2], "1", (6, 2, 1)), (vec![9, 4, 1000], "1", (9, 4, 1000))] {
        for fix_gamma in ["True", "False"] {
            let ins = inputs(&shape, c, 7);
            let (xv, gv, bv, mmv, mvv) = (values(&ins[0]), values(&ins[1]), values(&ins[2]), values(&ins[3]), values(&ins[4]));
            let attrs = Attrs::from_pairs([("axis", ax), ("fix_gamma", fix_gamma), ("output_mean_var", "True"), ("eps", "0.01"), ("momentum", "0.8")]);
            let outs = invoke_with("BatchNorm", &ins, &attrs, None, Context::cpu(0), OpCtx { is_train: true, ..Default::default() }).unwrap();
            let (mean, var) = stats(&xv, o, c, i);
            let y = values(&outs[0]);
            for (j, v) in y.iter().enumerate() {
                let ch = (j / i) % c;
                let gamma = if fix_gamma == "True" { 1.0 } else { gv[ch] };
                let want = (xv[j] - mean[ch]) / (var[ch] + 0.01).sqrt() * gamma + bv[ch];
                assert!((v - want).abs() < 1e-10, "{shape:?} axis {ax}: {v} vs {want}");
            }
            let inv: Vec<f64> = var.iter().map(|v| 1.0 / (v + 0.01).sqrt()).collect();
            values(&outs[1]).iter().zip(&mean).for_each(|(a, b)| assert!((a - b).abs() < 1e-12));
            values(&outs[2]).iter().zip(&inv).for_each(|(a, b)| assert!((a - b).abs() < 1e-10));
            for (got, (old, batch)) in values(&ins[3]).iter().zip(mmv.iter().zip(&mean)) {
                assert!((got - (old * 0.8 + batch * 0.2)).abs() < 1e-12);
            }
            for (got, (old, batch)) in values(&ins[4]).iter().zip(mvv.iter().zip(&var)) {
                assert!((got - (old * 0.8 + batch * 0.2)).abs() < 1e-12, "biased variance");
            }
        }
    }
}

#[test]
fn inference_and_global_stats_use_the_moving_statistics_and_leave_them() {
    for (is_train, params) in [(false, vec![("fix_gamma", "False")]), (true, vec![("fix_gamma", "False"), ("use_global_stats", "True")])] {
        let ins = inputs(&[3, 2, 2], 2, 3);
        let (xv, gv, bv, mm, mv) = (values(&ins[0]), values(&ins[1]), values(&ins[2]), values(&ins[3]), values(&ins[4]));
        let outs = invoke_with("BatchNorm", &ins, &Attrs::from_pairs(params.iter().copied()), None, Context::cpu(0), OpCtx { is_train, ..Default::default() }).unwrap();
        for (j, v) in values(&outs[0]).iter().enumerate() {
            let c = (j / 2) % 2;
            let want = (xv[j] - mm[c]) / (mv[c] + 1e-3).sqrt() * gv[c] + bv[c];
            assert!((v - want).abs() < 1e-12);
        }
        assert_eq!(values(&outs[1]), mm);
        assert_eq!((values(&ins[3]), values(&ins[4])), (mm, mv));
    }
}

#[test]
fn gradients_match_finite_differences_in_training() {
    for (shape, c, params) in [
        (vec![3, 2, 2], 2, vec![("fix_gamma", "False")]),
        (vec![3, 2, 2], 2, vec![]),
        (vec![2, 2, 3], 3, vec![("fix_gamma", "False"), ("axis", "-1"), ("eps", "0.1")]),
        (vec![4, 3], 3, vec![("fix_gamma", "False")]),
        (vec![3, 2, 2], 2, vec![("fix_gamma", "False"), ("use_global_stats", "True")]),
    ] {
        check_gradient("BatchNorm", &params, &inputs(&shape, c, 5), &[3, 4], true);
    }
    // Outside training the statistics are constants: the affine gradient.
    check_gradient("BatchNorm", &[("fix_gamma", "False"), ("use_global_stats", "True")], &inputs(&[2, 3, 2], 3, 6), &[3, 4], false);
}

#[test]
fn training_gradient_matches_the_closed_form_on_large_data() {
    let (o, c, i) = (5, 3, 3000);
    let shape = [o, c, i];
    let ins = inputs(&shape, c, 11);
    let (xv, gv) = (values(&ins[0]), values(&ins[1]));
    let dy = uniform(o * c * i, -1.0, 1.0, 12);
    let og = [array(&shape, &dy), array(&[c], &[0.0; 3]), array(&[c], &[0.0; 3])];
    let g = analytic_grads("BatchNorm", &[("fix_gamma", "False")], &ins, &og, true);
    let (mean, var) = stats(&xv, o, c, i);
    let m = (o * i) as f64;
    for ch in 0..c {
        let s = 1.0 / (var[ch] + 1e-3).sqrt();
        let idx: Vec<usize> = (0..o).flat_map(|a| (0..i).map(move |b| (a * c + ch) * i + b)).collect();
        let xhat = |j: usize| (xv[j] - mean[ch]) * s;
        let sum_dy: f64 = idx.iter().map(|&j| dy[j]).sum();
        let sum_dy_xhat: f64 = idx.iter().map(|&j| dy[j] * xhat(j)).sum();
        assert!((g[2].as_ref().unwrap()[ch] - sum_dy).abs() < 1e-9);
        assert!((g[1].as_ref().unwrap()[ch] - sum_dy_xhat).abs() < 1e-9);
        for &j in &idx {
            let want = gv[ch] * s * (dy[j] - sum_dy / m - xhat(j) * sum_dy_xhat / m);
            assert!((g[0].as_ref().unwrap()[j] - want).abs() < 1e-12);
        }
    }
}

#[test]
fn fixed_gamma_is_ignored_and_gets_a_zero_gradient() {
    let mut ins = inputs(&[4, 2], 2, 9);
    let y1 = values(&invoke_with("BatchNorm", &ins, &Attrs::new(), None, Context::cpu(0), OpCtx { is_train: true, ..Default::default() }).unwrap()[0]);
    ins[1] = array(&[2], &[5.0, -3.0]);
    let y2 = values(&invoke_with("BatchNorm", &ins, &Attrs::new(), None, Context::cpu(0), OpCtx { is_train: true, ..Default::default() }).unwrap()[0]);
    assert_eq!(y1, y2);
    let og = [array(&[4, 2], &uniform(8, -1.0, 1.0, 1)), array(&[2], &[0.0; 2]), array(&[2], &[0.0; 2])];
    let g = analytic_grads("BatchNorm", &[], &ins, &og, true);
    assert_eq!(g[1].as_ref().unwrap(), &vec![0.0, 0.0]);
    assert!(g[3].is_none() && g[4].is_none());
}

#[test]
fn shapes_complete_and_mismatches_name_the_input() {
    let def = rmx_graph::lookup("BatchNorm").unwrap();
    let op = def.instantiate(&Attrs::from_pairs([("output_mean_var", "True")])).unwrap();
    let got = op.complete_inputs(&[Some([2usize, 5, 3][..].into()), None, None, None, None]);
    assert!(got[1..].iter().all(|s| s.as_deref() == Some(&[5usize][..])));
    assert_eq!((op.num_outputs(), op.output_names()), (3, vec!["output".to_string(), "mean".into(), "var".into()]));
    assert_eq!(op.mutated_inputs(), vec![3, 4]);
    assert_eq!(def.instantiate(&Attrs::new()).unwrap().num_visible_outputs(), 1);
    let mut ins = inputs(&[2, 3], 3, 1);
    ins[4] = array(&[2], &[1.0, 1.0]);
    let err = invoke("BatchNorm", &ins, &Attrs::new(), None, Context::cpu(0)).err().unwrap().to_string();
    assert!(err.contains("BatchNorm") && err.contains("'moving_var'") && err.contains("[3]"), "{err}");
    let err = invoke("BatchNorm", &inputs(&[2, 3], 3, 1), &Attrs::from_pairs([("axis", "2")]), None, Context::cpu(0)).err().unwrap().to_string();
    assert!(err.contains("axis"), "{err}");
}
