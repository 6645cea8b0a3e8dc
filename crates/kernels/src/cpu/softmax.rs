//! Softmax and log-softmax along one axis on the host, in f64 whatever the element types, with
//! their backward. Positions `(o, i)` are independent, so `(n, inner)` blocks (one per `o`) run on
//! the rayon pool when the data is large; each position's values are summed in axis order.
//!
//! One loop serves `softmax` / `log_softmax` (which had it serial) and `SoftmaxActivation` (which
//! had it blocked, without a temperature): dividing by a temperature of 1 is exact and the
//! positions are independent, so both get the results their own loops gave, bit for bit.

use rayon::prelude::*;

use super::elementwise::PARALLEL_GRAIN;
use crate::softmax::SoftmaxPlan;
use crate::Element;

/// Runs `f(o, block of out, scratch)` for each `(n, inner)` block `o` of `out`, blocks in
/// parallel when `out` is large; `scratch` is a buffer reused across one thread's blocks.
fn by_block<Y: Send>(p: &SoftmaxPlan, out: &mut [Y], f: impl Fn(usize, &mut [Y], &mut Vec<f64>) + Sync) {
    let block = (p.n * p.inner).max(1);
    if out.len() <= PARALLEL_GRAIN {
        let mut scratch = Vec::new();
        out.chunks_mut(block).enumerate().for_each(|(o, b)| f(o, b, &mut scratch));
    } else {
        out.par_chunks_mut(block).enumerate().for_each_init(Vec::new, |scratch, (o, b)| f(o, b, scratch));
    }
}

/// `y = softmax(x / t)` (or its log) over the axis; `y` is overwritten.
pub fn forward<X: Element, Y: Element>(p: &SoftmaxPlan, x: &[X], y: &mut [Y]) {
    let (n, inner, block) = (p.n, p.inner, p.n * p.inner);
    by_block(p, y, |o, ys, row| {
        let xs = &x[o * block..][..block];
        row.clear();
        row.resize(n, 0.0);
        for i in 0..inner {
            let at = |r: usize| r * inner + i;
            for (r, v) in row.iter_mut().enumerate() {
                *v = xs[at(r)].to_f64() / p.temperature;
            }
            let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let sum: f64 = row.iter().map(|v| (v - m).exp()).sum();
            for (r, v) in row.iter().enumerate() {
                let y = if p.log { v - m - sum.ln() } else { (v - m).exp() / sum };
                ys[at(r)] = Y::from_f64(y);
            }
        }
    });
}

/// `dx` from the output's gradient `g` and the output `y`: `y (g - Σ g·y) / t` for softmax,
/// `(g - exp(y) Σ g) / t` for log-softmax; `dx` is overwritten.
pub fn backward<X: Element, Y: Element>(p: &SoftmaxPlan, g: &[Y], y: &[Y], dx: &mut [X]) {
    let (n, inner, block, t) = (p.n, p.inner, p.n * p.inner, p.temperature);
    by_block(p, dx, |o, d, _| {
        let (gs, ys) = (&g[o * block..][..block], &y[o * block..][..block]);
        for i in 0..inner {
            let at = |r: usize| r * inner + i;
            if p.log {
                let sum: f64 = (0..n).map(|r| gs[at(r)].to_f64()).sum();
                for r in 0..n {
                    d[at(r)] = X::from_f64((gs[at(r)].to_f64() - ys[at(r)].to_f64().exp() * sum) / t);
                }
            } else {
                let dot: f64 = (0..n).map(|r| gs[at(r)].to_f64() * ys[at(r)].to_f64()).sum();
                for r in 0..n {
                    d[at(r)] = X::from_f64(ys[at(r)].to_f64() * (gs[at(r)].to_f64() - dot) / t);
                }
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(outer: usize, n: usize, inner: usize, temperature: f64, log: bool) -> SoftmaxPlan {
        SoftmaxPlan { outer, n, inner, temperature, log }
    }

    /// Deterministic values in about [-3, 3).
    fn values(len: usize) -> Vec<f64> {
        (0..len).map(|j| ((j * 7919) % 601) as f64 / 100.0 - 3.0).collect()
    }

    #[test]
    fn forward_matches_the_formula_serially_and_in_parallel() {
        // The second geometry is large enough for the threaded path.
        for (outer, n, inner) in [(2, 3, 4), (3, 4, 3000)] {
            let x = values(outer * n * inner);
            for (t, log) in [(1.0, false), (2.5, false), (0.5, true)] {
                let p = plan(outer, n, inner, t, log);
                let mut y = vec![0f64; x.len()];
                forward(&p, &x, &mut y);
                for o in 0..outer {
                    for i in 0..inner {
                        let at = |r: usize| (o * n + r) * inner + i;
                        let s: f64 = (0..n).map(|r| (x[at(r)] / t).exp()).sum();
                        for r in 0..n {
                            let want = if log { x[at(r)] / t - s.ln() } else { (x[at(r)] / t).exp() / s };
                            assert!((y[at(r)] - want).abs() < 1e-12, "{outer}x{n}x{inner} t={t} log={log}");
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn backward_matches_the_formulas_and_writes_the_input_s_dtype() {
        let (outer, n, inner) = (2, 5, 3);
        let g = values(outer * n * inner);
        for log in [false, true] {
            let p = plan(outer, n, inner, 2.0, log);
            let x: Vec<f64> = values(outer * n * inner).iter().map(|v| v * 0.5).collect();
            let mut y = vec![0f64; x.len()];
            forward(&p, &x, &mut y);
            let mut dx = vec![0f32; x.len()];
            backward(&p, &g, &y, &mut dx);
            for o in 0..outer {
                for i in 0..inner {
                    let at = |r: usize| (o * n + r) * inner + i;
                    let sum: f64 = (0..n).map(|r| g[at(r)]).sum();
                    let dot: f64 = (0..n).map(|r| g[at(r)] * y[at(r)]).sum();
                    for r in 0..n {
                        let want = if log { (g[at(r)] - y[at(r)].exp() * sum) / 2.0 } else { y[at(r)] * (g[at(r)] - dot) / 2.0 };
                        assert_eq!(dx[at(r)], want as f32);
                    }
                }
            }
        }
    }
}

/// Class labels as row indices (truncated toward zero); one outside `[0, classes)` is an error.
pub fn class_labels<L: Element>(label: &[L], classes: usize) -> crate::KernelResult<Vec<usize>> {
    label
        .iter()
        .map(|v| {
            let c = v.to_f64() as i64;
            if c < 0 || c as usize >= classes {
                return Err(crate::KernelError::Index { message: format!("softmax_cross_entropy: label {c} is out of range for {classes} classes") });
            }
            Ok(c as usize)
        })
        .collect()
}

/// `log Σ exp(row)`, shifted by the row's maximum.
fn log_sum_exp<X: Element>(row: &[X]) -> f64 {
    let m = row.iter().map(|v| v.to_f64()).fold(f64::NEG_INFINITY, f64::max);
    m + row.iter().map(|v| (v.to_f64() - m).exp()).sum::<f64>().ln()
}

/// The smallest probability a row's loss takes the log of, as MXNet 1.9.1 (each row's loss is at
/// most `-ln 1e-8` ≈ 18.42; the gradient is not capped, as MXNet's).
const MIN_PROBABILITY: f64 = 1e-8;

/// `Σ_i -ln max(softmax(x_i)[label_i], 1e-8)`, rows in order.
pub fn cross_entropy<X: Element>(x: &[X], classes: usize, labels: &[usize]) -> f64 {
    let cap = -MIN_PROBABILITY.ln();
    x.chunks(classes.max(1)).zip(labels).map(|(row, &c)| (log_sum_exp(row) - row[c].to_f64()).min(cap)).sum()
}

pub fn cross_entropy_backward<X: Element>(g: f64, x: &[X], classes: usize, labels: &[usize], dx: &mut [X]) {
    for ((row, d), &c) in x.chunks(classes.max(1)).zip(dx.chunks_mut(classes.max(1))).zip(labels) {
        let lse = log_sum_exp(row);
        for (j, (v, o)) in row.iter().zip(d.iter_mut()).enumerate() {
            let p = (v.to_f64() - lse).exp();
            *o = X::from_f64(g * (p - (j == c) as u8 as f64));
        }
    }
}
