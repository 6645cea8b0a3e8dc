//! The fused optimizer updates (`sgd_update`, `adam_update`, ...) against a plain-Rust reference
//! of MXNet 1.9.1's formulas (same order of operations, so the comparison is exact), over several
//! steps with random data and parameters, in place (`out=weight`) and into another array; and
//! against the values MXNet 1.9.1 itself produced (tests/fixtures/mxnet_optimizer_updates.npz,
//! written by make_optimizer_fixtures.py).

use std::collections::HashMap;
use std::ops::{Add, Div, Mul, Neg, Sub};

use rmx_engine::Context;
use rmx_graph::{invoke, lookup, Attrs, NDArray};
use rmx_kernels::{f16, DType, Element};

mod npz;
use npz::read_npz;

// ---------------------------------------------------------------------------------------------
// Arrays.

trait Bytes: Element {
    fn put(self, out: &mut Vec<u8>);
    fn take(b: &[u8]) -> Self;
}

impl Bytes for f32 {
    fn put(self, out: &mut Vec<u8>) {
        out.extend(self.to_le_bytes())
    }
    fn take(b: &[u8]) -> Self {
        f32::from_le_bytes(b.try_into().unwrap())
    }
}

impl Bytes for f64 {
    fn put(self, out: &mut Vec<u8>) {
        out.extend(self.to_le_bytes())
    }
    fn take(b: &[u8]) -> Self {
        f64::from_le_bytes(b.try_into().unwrap())
    }
}

impl Bytes for f16 {
    fn put(self, out: &mut Vec<u8>) {
        out.extend(self.to_bits().to_le_bytes())
    }
    fn take(b: &[u8]) -> Self {
        f16::from_bits(u16::from_le_bytes(b.try_into().unwrap()))
    }
}

fn nd<T: Bytes>(v: &[T]) -> NDArray {
    let mut bytes = Vec::new();
    v.iter().for_each(|x| x.put(&mut bytes));
    NDArray::from_bytes(&[v.len()], T::DTYPE, Context::cpu(0), &bytes).unwrap()
}

fn read<T: Bytes>(a: &NDArray) -> Vec<T> {
    assert_eq!(a.dtype(), T::DTYPE);
    let mut bytes = vec![0u8; a.nbytes()];
    a.read_into(&mut bytes).unwrap();
    bytes.chunks_exact(T::DTYPE.size()).map(T::take).collect()
}

/// Bitwise equality (so -0 ≠ 0 and NaN = NaN), with the first difference in the message.
fn same<T: Element>(got: &[T], want: &[T], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(a.to_f64().to_bits() == b.to_f64().to_bits(), "{what}: element {i}: got {a:?}, want {b:?}");
    }
}

fn random(n: usize, scale: f64, seed: u64) -> Vec<f64> {
    rmx_graph::testing::uniform(n, -scale, scale, seed)
}

// ---------------------------------------------------------------------------------------------
// The reference: MXNet 1.9.1's formulas, element by element, in its order of operations.

trait Num: Bytes + PartialOrd + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self> + Neg<Output = Self> {
    fn of(x: f32) -> Self;
    fn sqrt(self) -> Self;
    fn pow(self, e: Self) -> Self;
}

impl Num for f32 {
    fn of(x: f32) -> Self {
        x
    }
    fn sqrt(self) -> Self {
        f32::sqrt(self)
    }
    fn pow(self, e: Self) -> Self {
        self.powf(e)
    }
}

impl Num for f64 {
    fn of(x: f32) -> Self {
        x as f64
    }
    fn sqrt(self) -> Self {
        f64::sqrt(self)
    }
    fn pow(self, e: Self) -> Self {
        self.powf(e)
    }
}

/// Every parameter of every update, as MXNet's float fields hold them, with the defaults of `op`.
#[derive(Clone, Debug)]
struct P {
    lr: f32,
    wd: f32,
    rescale: f32,
    clip: f32,
    momentum: f32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    gamma1: f32,
    gamma2: f32,
    clip_weights: f32,
    lamda1: f32,
    beta: f32,
    wd_lh: f32,
    t: i32,
    ftml_epsilon: f64,
}

impl P {
    fn new(op: &str, params: &[(&str, &str)]) -> P {
        let map: HashMap<&str, &str> = params.iter().copied().collect();
        let f = |k: &str, d: f32| map.get(k).map_or(d, |v| v.parse::<f32>().unwrap());
        let ftml = op == "ftml_update";
        P {
            lr: f("lr", f32::NAN),
            wd: f("wd", 0.0),
            rescale: f("rescale_grad", 1.0),
            clip: f(if ftml { "clip_grad" } else { "clip_gradient" }, -1.0),
            momentum: f("momentum", 0.0),
            beta1: f("beta1", if ftml { 0.6 } else { 0.9 }),
            beta2: f("beta2", 0.999),
            epsilon: f("epsilon", 1e-8),
            gamma1: f("gamma1", 0.95),
            gamma2: f("gamma2", 0.9),
            clip_weights: f("clip_weights", -1.0),
            lamda1: f("lamda1", 0.01),
            beta: f("beta", 1.0),
            wd_lh: f("wd_lh", 0.0),
            t: map.get("t").map_or(0, |v| v.parse().unwrap()),
            ftml_epsilon: map.get("epsilon").map_or(1e-8f32 as f64, |v| v.parse().unwrap()),
        }
    }
}

fn clipv<T: Num>(x: T, c: f32) -> T {
    let c = T::of(c);
    if x > c {
        c
    } else if x < -c {
        -c
    } else {
        x
    }
}

fn sgn<T: Num>(x: T) -> T {
    if x > T::of(0.0) {
        T::of(1.0)
    } else if x < T::of(0.0) {
        T::of(-1.0)
    } else {
        T::of(0.0)
    }
}

/// One step of the non-mp update `op`: the new weight; `s` (the states) updated. `inplace`: the
/// output is the weight's memory (NAG then reads the new weight for its momentum).
fn reference<T: Num>(op: &str, p: &P, w: &[T], g: &[T], s: &mut [Vec<T>], inplace: bool) -> Vec<T> {
    let (lr, wd, rs, one) = (T::of(p.lr), T::of(p.wd), T::of(p.rescale), T::of(1.0));
    let clips = p.clip >= 0.0;
    let cw = |x: T| if p.clip_weights >= 0.0 { clipv(x, p.clip_weights) } else { x };
    let mut out = Vec::with_capacity(w.len());
    for i in 0..w.len() {
        let (w, g) = (w[i], g[i]);
        let y = match op {
            "sgd_update" if clips => (one - lr * wd) * w - lr * clipv(rs * g, p.clip),
            "sgd_update" => (one - lr * wd) * w - (lr * rs) * g,
            "sgd_mom_update" => {
                let m = T::of(p.momentum);
                s[0][i] = if clips { m * s[0][i] - lr * wd * w - lr * clipv(rs * g, p.clip) } else { m * s[0][i] - lr * wd * w - lr * rs * g };
                w + s[0][i]
            }
            "nag_mom_update" => {
                let m = T::of(p.momentum);
                let gc = if clips { clipv(rs * g, p.clip) } else { rs * g };
                s[0][i] = m * s[0][i];
                let y = w - s[0][i] + (m + one) * (s[0][i] - lr * (gc + wd * w));
                let w_after = if inplace { y } else { w };
                s[0][i] = s[0][i] - lr * (gc + wd * w_after);
                y
            }
            "signsgd_update" => (one - lr * wd) * w - lr * sgn(g),
            "signum_update" => {
                let m = T::of(p.momentum);
                s[0][i] = if clips {
                    m * s[0][i] - (one - m) * wd * w - (one - m) * clipv(rs * g, p.clip)
                } else {
                    m * s[0][i] - (one - m) * wd * w - (one - m) * rs * g
                };
                (one - lr * T::of(p.wd_lh)) * w + lr * sgn(s[0][i])
            }
            "adam_update" => {
                let (b1, b2) = (T::of(p.beta1), T::of(p.beta2));
                let mut gr = g * rs + w * wd;
                if clips {
                    gr = clipv(gr, p.clip);
                }
                s[0][i] = b1 * s[0][i] + (one - b1) * gr;
                s[1][i] = b2 * s[1][i] + (one - b2) * gr * gr;
                w - lr * s[0][i] / (s[1][i].sqrt() + T::of(p.epsilon))
            }
            "rmsprop_update" | "rmspropalex_update" => {
                let g1 = T::of(p.gamma1);
                let mut gr = rs * g + wd * w;
                if clips {
                    gr = clipv(gr, p.clip);
                }
                if op == "rmsprop_update" {
                    s[0][i] = (one - g1) * (gr * gr) + g1 * s[0][i];
                    cw(w - lr * (gr / (s[0][i] + T::of(p.epsilon)).sqrt()))
                } else {
                    s[0][i] = (one - g1) * gr * gr + g1 * s[0][i];
                    s[1][i] = (one - g1) * gr + g1 * s[1][i];
                    s[2][i] = T::of(p.gamma2) * s[2][i] - (lr * gr / (s[0][i] - s[1][i] * s[1][i] + T::of(p.epsilon)).sqrt());
                    cw(w + s[2][i])
                }
            }
            "ftrl_update" => {
                let mut gr = g * rs;
                if clips {
                    gr = clipv(gr, p.clip);
                }
                s[0][i] = s[0][i] + (gr - ((s[1][i] + gr * gr).sqrt() - s[1][i].sqrt()) * w / lr);
                s[1][i] = s[1][i] + gr * gr;
                let z = s[0][i];
                let l1 = T::of(p.lamda1);
                let gt = if z > l1 || -z > l1 { one } else { T::of(0.0) };
                (sgn(z) * l1 - z) / ((T::of(p.beta) + s[1][i].sqrt()) / lr + wd) * gt
            }
            "ftml_update" => {
                let (b1, b2, t, eps) = (T::of(p.beta1), T::of(p.beta2), T::from_f64(p.t as f64), T::from_f64(p.ftml_epsilon));
                let gr = rs * g + wd * w;
                let gr = if clips { clipv(gr, p.clip) } else { gr };
                s[1][i] = b2 * s[1][i] + (one - b2) * (gr * gr);
                let d_t = (one - b1.pow(t)) / lr * ((s[1][i] / (one - b2.pow(t))).sqrt() + eps);
                s[2][i] = b1 * s[2][i] + (one - b1) * gr - (d_t - b1 * s[0][i]) * w;
                s[0][i] = d_t;
                -s[2][i] / d_t
            }
            _ => panic!("no reference for {op}"),
        };
        out.push(y);
    }
    out
}

/// Initial states of `op` (positive where they are squares), and their count.
fn initial_states(op: &str, n: usize, seed: u64) -> Vec<Vec<f64>> {
    let pos = |k: u64| random(n, 1.0, seed + k).iter().map(|x| x.abs() + 0.1).collect::<Vec<f64>>();
    let any = |k: u64| random(n, 0.5, seed + k);
    match op {
        "sgd_update" | "signsgd_update" => vec![],
        "sgd_mom_update" | "nag_mom_update" | "signum_update" => vec![any(1)],
        "adam_update" => vec![any(1), pos(2)],
        "rmsprop_update" => vec![pos(1)],
        "rmspropalex_update" => vec![pos(1), vec![0.0; n], any(3)],
        "ftrl_update" => vec![any(1), pos(2)],
        "ftml_update" => vec![pos(1), pos(2), any(3)],
        _ => panic!("{op}"),
    }
}

/// Runs `steps` updates of `op` with rmx and with the reference, comparing weights and states
/// after each; `inplace` calls with `out=weight`, else into a new array each step.
fn check_steps<T: Num>(op: &str, params: &[(&str, &str)], n: usize, steps: usize, inplace: bool, seed: u64) {
    let p = P::new(op, params);
    let attrs = Attrs::from_pairs(params.iter().copied());
    let conv = |v: Vec<f64>| v.into_iter().map(T::from_f64).collect::<Vec<T>>();
    let mut w_ref = conv(random(n, 1.0, seed));
    let mut s_ref: Vec<Vec<T>> = initial_states(op, n, seed).into_iter().map(conv).collect();
    let mut weight = nd(&w_ref);
    let states: Vec<NDArray> = s_ref.iter().map(|s| nd(s)).collect();
    for step in 0..steps {
        let mut gv = random(n, 2.0, seed + 10 + step as u64);
        gv[step % n] = 0.0;
        let g = conv(gv);
        let mut inputs = vec![weight.clone(), nd(&g)];
        inputs.extend(states.iter().cloned());
        let out = if inplace { weight.clone() } else { nd(&vec![T::of(0.0); n]) };
        let got = invoke(op, &inputs, &attrs, Some(vec![out.clone()]), Context::cpu(0)).unwrap().remove(0);
        w_ref = reference(op, &p, &w_ref, &g, &mut s_ref, inplace);
        let what = format!("{op} {params:?} {} n={n} step {step} inplace={inplace}", T::DTYPE.name());
        same(&read::<T>(&got), &w_ref, &format!("{what}: weight"));
        if inplace {
            same(&read::<T>(&weight), &w_ref, &format!("{what}: weight array itself"));
        }
        for (k, (s, r)) in states.iter().zip(&s_ref).enumerate() {
            same(&read::<T>(s), r, &format!("{what}: state {k}"));
        }
        weight = out;
    }
}

/// Parameter sets per operator: MXNet's defaults (with `lr`), every parameter set without
/// clipping, the same clipping at 0.3, and clipping at 0 (which clips every gradient to 0).
fn param_sets(op: &str) -> Vec<Vec<(&'static str, &'static str)>> {
    let sgd = [("lr", "0.05"), ("wd", "0.01"), ("rescale_grad", "0.7")];
    let mom = [("lr", "0.05"), ("momentum", "0.8"), ("wd", "0.01"), ("rescale_grad", "0.7")];
    let (defaults, full): (Vec<_>, Vec<_>) = match op {
        "sgd_update" => (vec![("lr", "0.1")], sgd.to_vec()),
        "sgd_mom_update" => (vec![("lr", "0.1"), ("momentum", "0.9")], mom.to_vec()),
        "nag_mom_update" => (vec![("lr", "0.1"), ("momentum", "0.9"), ("wd", "0.05")], mom.to_vec()),
        "signsgd_update" => (vec![("lr", "0.1")], vec![("lr", "0.05"), ("wd", "0.01"), ("rescale_grad", "-2")]),
        "signum_update" => (vec![("lr", "0.1"), ("momentum", "0.9")], [&mom[..], &[("wd_lh", "0.02")]].concat()),
        "adam_update" => (vec![("lr", "0.01")], vec![("lr", "0.05"), ("beta1", "0.8"), ("beta2", "0.99"), ("epsilon", "1e-6"), ("wd", "0.01"), ("rescale_grad", "0.7")]),
        "rmsprop_update" => {
            (vec![("lr", "0.01")], vec![("lr", "0.05"), ("gamma1", "0.9"), ("epsilon", "1e-6"), ("wd", "0.01"), ("rescale_grad", "0.7"), ("clip_weights", "0.8")])
        }
        "rmspropalex_update" => (
            vec![("lr", "0.01")],
            vec![("lr", "0.05"), ("gamma1", "0.9"), ("gamma2", "0.8"), ("epsilon", "1e-6"), ("wd", "0.01"), ("rescale_grad", "0.7"), ("clip_weights", "0.8")],
        ),
        "ftrl_update" => (vec![("lr", "0.1")], vec![("lr", "0.05"), ("lamda1", "0.3"), ("beta", "0.5"), ("wd", "0.01"), ("rescale_grad", "0.7")]),
        "ftml_update" => (
            vec![("lr", "0.1"), ("t", "1")],
            vec![("lr", "0.05"), ("beta1", "0.5"), ("beta2", "0.99"), ("epsilon", "1e-6"), ("t", "3"), ("wd", "0.01"), ("rescale_grad", "0.7")],
        ),
        _ => panic!("{op}"),
    };
    let clip_key = if op == "ftml_update" { "clip_grad" } else { "clip_gradient" };
    let with = |v: &'static str| [&full[..], &[(clip_key, v)]].concat();
    vec![defaults, full.clone(), with("0.3"), with("0")]
}

const OPS: [&str; 10] =
    ["sgd_update", "sgd_mom_update", "nag_mom_update", "signsgd_update", "signum_update", "adam_update", "rmsprop_update", "rmspropalex_update", "ftrl_update", "ftml_update"];

#[test]
fn updates_match_the_reference_step_by_step() {
    for (k, op) in OPS.iter().enumerate() {
        for (j, params) in param_sets(op).iter().enumerate() {
            let seed = 100 * k as u64 + 10 * j as u64;
            for inplace in [true, false] {
                check_steps::<f32>(op, params, 13, 4, inplace, seed);
                check_steps::<f64>(op, params, 13, 4, inplace, seed + 1);
            }
        }
    }
}

#[test]
fn large_updates_split_across_threads_match_the_reference() {
    // Above the parallel grain (32768) and not a multiple of it.
    for (k, op) in OPS.iter().enumerate() {
        let params = &param_sets(op)[1];
        check_steps::<f32>(op, params, 70_001, 2, true, 7 + k as u64);
        check_steps::<f64>(op, params, 70_001, 1, false, 8 + k as u64);
    }
}

#[test]
fn nag_momentum_reads_the_new_weight_only_in_place() {
    // MXNet reads the weight for the momentum's weight decay after writing the output.
    let params = [("lr", "0.1"), ("momentum", "0.9"), ("wd", "0.5")];
    let attrs = Attrs::from_pairs(params);
    let (w, g, m) = (vec![1.0f64, -2.0], vec![0.5f64, 0.25], vec![0.1f64, -0.1]);
    let mut moms = Vec::new();
    for inplace in [true, false] {
        let weight = nd(&w);
        let mom = nd(&m);
        let out = if inplace { weight.clone() } else { nd(&[0.0f64; 2]) };
        invoke("nag_mom_update", &[weight.clone(), nd(&g), mom.clone()], &attrs, Some(vec![out.clone()]), Context::cpu(0)).unwrap();
        let y = read::<f64>(&out);
        let (lr, wd, mo) = (0.1f32 as f64, 0.5, 0.9f32 as f64);
        for i in 0..2 {
            let m1 = mo * m[i];
            let w_read = if inplace { y[i] } else { w[i] };
            assert_eq!(read::<f64>(&mom)[i], m1 - lr * (g[i] + wd * w_read));
        }
        moms.push(read::<f64>(&mom));
    }
    assert_ne!(moms[0], moms[1]);
}

// ---------------------------------------------------------------------------------------------
// Mixed precision.

/// Runs `steps` of the mp_ variant of `base` with weights of type `W` and float32 states.
fn check_mixed<W: Bytes>(base: &str, params: &[(&str, &str)], n: usize, steps: usize, inplace: bool, seed: u64) {
    let op = format!("mp_{base}");
    let p = P::new(base, params);
    let attrs = Attrs::from_pairs(params.iter().copied());
    let w0: Vec<W> = random(n, 1.0, seed).into_iter().map(W::from_f64).collect();
    let mut master: Vec<f32> = w0.iter().map(|w| w.to_f32()).collect();
    let mut s_ref: Vec<Vec<f32>> = initial_states(base, n, seed).into_iter().map(|v| v.into_iter().map(|x| x as f32).collect()).collect();
    let mut weight = nd(&w0);
    let states: Vec<NDArray> = s_ref.iter().map(|s| nd(s)).chain([nd(&master)]).collect();
    for step in 0..steps {
        let g: Vec<W> = random(n, 2.0, seed + 10 + step as u64).into_iter().map(W::from_f64).collect();
        let g32: Vec<f32> = g.iter().map(|x| x.to_f32()).collect();
        let mut inputs = vec![weight.clone(), nd(&g)];
        inputs.extend(states.iter().cloned());
        let out = if inplace { weight.clone() } else { nd(&vec![W::from_f64(0.0); n]) };
        let got = invoke(&op, &inputs, &attrs, Some(vec![out.clone()]), Context::cpu(0)).unwrap().remove(0);
        // The master weight moves as the float32 update with the new weight read back (NAG).
        master = reference(base, &p, &master, &g32, &mut s_ref, true);
        let what = format!("{op} {} step {step}", W::DTYPE.name());
        let want: Vec<W> = master.iter().map(|&x| W::from_f32(x)).collect();
        same(&read::<W>(&got), &want, &format!("{what}: weight"));
        same(&read::<f32>(states.last().unwrap()), &master, &format!("{what}: weight32"));
        for (k, (s, r)) in states.iter().zip(&s_ref).enumerate() {
            same(&read::<f32>(s), r, &format!("{what}: state {k}"));
        }
        weight = out;
    }
}

#[test]
fn mixed_precision_updates_move_the_float32_master_weight() {
    for (k, base) in ["sgd_update", "sgd_mom_update", "nag_mom_update"].iter().enumerate() {
        for (j, params) in param_sets(base).iter().enumerate() {
            let seed = 1000 + 10 * k as u64 + j as u64;
            check_mixed::<f16>(base, params, 11, 3, true, seed);
            check_mixed::<f16>(base, params, 11, 2, false, seed);
            check_mixed::<f32>(base, params, 11, 2, true, seed);
            check_mixed::<f64>(base, params, 11, 2, false, seed);
        }
        check_mixed::<f16>(base, &param_sets(base)[1], 40_000, 2, true, 2000 + k as u64);
    }
}

// ---------------------------------------------------------------------------------------------
// MXNet 1.9.1's own values.

/// Checks one fixture case: from its stored initial weight and states, each step's output and
/// states must be MXNet's, bit for bit. `rows` are the case's vectors in the fixture's order.
fn check_fixture_case<W: Bytes, S: Bytes>(case: &serde_json::Value, rows: Vec<&[f64]>) {
    let op = case["op"].as_str().unwrap();
    let params: Vec<(String, String)> = case["params"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string())).collect();
    let attrs = Attrs::from_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let (count, steps, alias) = (case["states"].as_u64().unwrap() as usize, case["steps"].as_u64().unwrap() as usize, case["alias"].as_bool().unwrap());
    let what = |step: usize, part: &str| format!("MXNet fixture {op} {params:?} {} alias={alias}: step {step}: {part}", case["dtype"]);
    let w_of = |r: &[f64]| r.iter().map(|&x| W::from_f64(x)).collect::<Vec<W>>();
    let s_of = |r: &[f64]| r.iter().map(|&x| S::from_f64(x)).collect::<Vec<S>>();
    let mut weight = nd(&w_of(rows[0]));
    let states: Vec<NDArray> = rows[1..1 + count].iter().map(|r| nd(&s_of(r))).collect();
    let mut row = 1 + count;
    for step in 0..steps {
        let grad = nd(&w_of(rows[row]));
        let mut inputs = vec![weight.clone(), grad];
        inputs.extend(states.iter().cloned());
        let out = if alias { weight.clone() } else { nd(&vec![W::from_f64(0.0); rows[0].len()]) };
        invoke(op, &inputs, &attrs, Some(vec![out.clone()]), Context::cpu(0)).unwrap_or_else(|e| panic!("{}: {e}", what(step, "call")));
        same(&read::<W>(&out), &w_of(rows[row + 1]), &what(step, "weight"));
        for (k, s) in states.iter().enumerate() {
            same(&read::<S>(s), &s_of(rows[row + 2 + k]), &what(step, &format!("state {k}")));
        }
        weight = out;
        row += 2 + count;
    }
    assert_eq!(row, rows.len());
}

#[test]
fn updates_reproduce_mxnet_1_9_1() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/mxnet_optimizer_updates.npz");
    let arrays = read_npz(&path);
    let store = |name: &str, size: usize| -> Vec<f64> {
        let bytes = &arrays[name].2;
        if size == 4 { bytes.chunks_exact(4).map(|b| f32::take(b) as f64).collect() } else { bytes.chunks_exact(8).map(f64::take).collect() }
    };
    let (f32s, f64s) = (store("float32", 4), store("float64", 8));
    let meta: serde_json::Value = serde_json::from_slice(&arrays["meta"].2).unwrap();
    let cases = meta.as_array().unwrap();
    assert!(cases.len() >= 70);
    let mut seen = std::collections::BTreeSet::new();
    for case in cases {
        let (count, steps) = (case["states"].as_u64().unwrap() as usize, case["steps"].as_u64().unwrap() as usize);
        let (n, offset) = (case["n"].as_u64().unwrap() as usize, case["offset"].as_u64().unwrap() as usize);
        let values = if case["store"] == "float32" { &f32s } else { &f64s };
        let len = n * (1 + count + steps * (2 + count));
        let rows: Vec<&[f64]> = values[offset..offset + len].chunks(n).collect();
        match (case["dtype"].as_str().unwrap(), case["state_dtype"].as_str().unwrap()) {
            ("float32", "float32") => check_fixture_case::<f32, f32>(case, rows),
            ("float64", "float64") => check_fixture_case::<f64, f64>(case, rows),
            ("float16", "float32") => check_fixture_case::<f16, f32>(case, rows),
            ("float64", "float32") => check_fixture_case::<f64, f32>(case, rows),
            other => panic!("fixture dtypes {other:?}"),
        }
        seen.insert(case["op"].as_str().unwrap().to_string());
    }
    assert_eq!(seen.len(), 13, "{seen:?}");
}

// ---------------------------------------------------------------------------------------------
// Contract and errors.

#[test]
fn operators_declare_their_states_and_in_place_output() {
    for (op, inputs) in [
        ("sgd_update", vec!["weight", "grad"]),
        ("sgd_mom_update", vec!["weight", "grad", "mom"]),
        ("mp_sgd_update", vec!["weight", "grad", "weight32"]),
        ("mp_sgd_mom_update", vec!["weight", "grad", "mom", "weight32"]),
        ("nag_mom_update", vec!["weight", "grad", "mom"]),
        ("mp_nag_mom_update", vec!["weight", "grad", "mom", "weight32"]),
        ("adam_update", vec!["weight", "grad", "mean", "var"]),
        ("rmsprop_update", vec!["weight", "grad", "n"]),
        ("rmspropalex_update", vec!["weight", "grad", "n", "g", "delta"]),
        ("ftrl_update", vec!["weight", "grad", "z", "n"]),
        ("signsgd_update", vec!["weight", "grad"]),
        ("signum_update", vec!["weight", "grad", "mom"]),
        ("ftml_update", vec!["weight", "grad", "d", "v", "z"]),
    ] {
        let def = lookup(op).unwrap();
        match def.inputs {
            rmx_graph::Arity::Fixed(names) => assert_eq!(names, inputs.as_slice(), "{op}"),
            _ => panic!("{op}"),
        }
        let attrs = Attrs::from_pairs([("lr", "0.1"), ("t", "1")].into_iter().filter(|(k, _)| *k != "t" || op == "ftml_update"));
        let u = def.instantiate(&attrs).unwrap();
        assert_eq!(u.num_outputs(), 1);
        assert_eq!(u.mutated_inputs(), (2..inputs.len()).collect::<Vec<_>>(), "{op}");
        assert_eq!(u.inplace_option(), vec![(0, 0)]);
        let known: Vec<Option<rmx_kernels::Shape>> = (0..inputs.len()).map(|i| (i == 1).then(|| [3usize, 2][..].into())).collect();
        assert!(u.complete_inputs(&known).iter().all(|s| s.as_deref() == Some(&[3usize, 2][..])));
        let dtypes = u.complete_dtypes(&(0..inputs.len()).map(|i| (i == 0).then_some(DType::F16)).collect::<Vec<_>>());
        let want_state = if op.starts_with("mp_") { DType::F32 } else { DType::F16 };
        assert_eq!(dtypes[1], Some(DType::F16));
        assert!(dtypes[2..].iter().all(|d| *d == Some(want_state)), "{op}: {dtypes:?}");
    }
}

fn call(op: &str, params: &[(&str, &str)], inputs: &[NDArray]) -> String {
    match invoke(op, inputs, &Attrs::from_pairs(params.iter().copied()), None, Context::cpu(0)) {
        Ok(_) => "ok".into(),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_shapes_dtypes_and_parameters_are_refused_clearly() {
    let (w, g) = (nd(&[1.0f32, 2.0, 3.0]), nd(&[0.1f32, 0.2, 0.3]));
    let err = call("adam_update", &[("lr", "0.1")], &[w.clone(), g.clone(), nd(&[0f32; 3]), nd(&[0f32; 2])]);
    assert!(err.contains("adam_update") && err.contains("'var'") && err.contains("[2]") && err.contains("[3]"), "{err}");
    let err = call("sgd_update", &[], &[w.clone(), g.clone()]);
    assert!(err.contains("'lr'") && err.contains("required"), "{err}");
    let err = call("sgd_update", &[("lr", "0.1"), ("momentum", "0.9")], &[w.clone(), g.clone()]);
    assert!(err.contains("'momentum'"), "{err}");
    let err = call("sgd_mom_update", &[("lr", "0.1")], &[w.clone(), g.clone(), nd(&[0f64; 3])]);
    assert!(err.contains("sgd_mom_update") && err.contains("float64"), "{err}");
    let err = call("sgd_update", &[("lr", "0.1")], &[nd(&[f16::ONE; 3]), nd(&[f16::ONE; 3])]);
    assert!(err.contains("float16") && err.contains("mp_"), "{err}");
    let (w16, g16) = (nd(&[f16::ONE; 3]), nd(&[f16::ONE; 3]));
    let err = call("mp_sgd_mom_update", &[("lr", "0.1")], &[w16.clone(), g16.clone(), nd(&[0f64; 3]), nd(&[0f32; 3])]);
    assert!(err.contains("'mom'") && err.contains("float32"), "{err}");
    assert_eq!(call("mp_sgd_mom_update", &[("lr", "0.1")], &[w16, g16, nd(&[0f32; 3]), nd(&[0f32; 3])]), "ok");
    let ftml = |params: &[(&str, &str)]| call("ftml_update", params, &[w.clone(), g.clone(), nd(&[1f32; 3]), nd(&[1f32; 3]), nd(&[0f32; 3])]);
    assert!(ftml(&[("lr", "0.1")]).contains("'t'"));
    let err = ftml(&[("lr", "0.1"), ("t", "1"), ("beta1", "1.5")]);
    assert!(err.contains("'beta1'") && err.contains("[0, 1]"), "{err}");
    assert!(call("adam_update", &[("lr", "0.1"), ("lazy_update", "maybe")], &[w.clone(), g.clone(), nd(&[0f32; 3]), nd(&[1f32; 3])]).contains("'lazy_update'"));
    // clip_gradient=0 clips every gradient to 0 (MXNet's test is clip >= 0): only weight decay moves.
    let out = invoke("sgd_update", &[w.clone(), g.clone()], &Attrs::from_pairs([("lr", "0.5"), ("wd", "0.1"), ("clip_gradient", "0")]), None, Context::cpu(0)).unwrap();
    let decay = 1.0f32 - 0.5f32 * 0.1f32;
    same(&read::<f32>(&out[0]), &[decay, 2.0 * decay, 3.0 * decay], "clip_gradient=0");
}
