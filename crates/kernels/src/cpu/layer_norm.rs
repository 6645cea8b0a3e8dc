//! Host loops of `layer_norm`: rows in parallel (each row's statistics in float64, in a fixed
//! order), the parameter gradients summed row by row in a fixed order so results repeat exactly.

use rayon::prelude::*;

use crate::layer_norm::{Affine, LayerNormPlan};
use crate::Float;

/// Element `j` of row `r` (`r = o·inner + i`).
#[inline(always)]
fn at(p: &LayerNormPlan, r: usize, j: usize) -> usize {
    let (o, i) = (r / p.inner, r % p.inner);
    (o * p.n + j) * p.inner + i
}

/// The `γ`/`β` index of element `j` of row `r`.
#[inline(always)]
fn param(p: &LayerNormPlan, r: usize, j: usize) -> usize {
    match p.affine {
        Affine::AlongRow => j,
        Affine::PerRow(k) => r % k,
    }
}

/// Each row's `f(row)`, rows in parallel, in row order.
fn per_row<R: Send>(p: &LayerNormPlan, f: impl Fn(usize) -> R + Sync + Send) -> Vec<R> {
    (0..p.rows()).into_par_iter().map(f).collect()
}

pub fn forward<T: Float>(p: &LayerNormPlan, x: &[T], gamma: &[T], beta: &[T], y: &mut [T], mean: &mut [T], std: &mut [T]) {
    let stats = per_row(p, |r| {
        let n = p.n as f64;
        let m = (0..p.n).map(|j| x[at(p, r, j)].to_f64()).sum::<f64>() / n;
        let var = (0..p.n).map(|j| (x[at(p, r, j)].to_f64() - m).powi(2)).sum::<f64>() / n;
        (m, (var + p.eps).sqrt())
    });
    for (r, &(m, s)) in stats.iter().enumerate() {
        mean[r] = T::from_f64(m);
        std[r] = T::from_f64(s);
        for j in 0..p.n {
            let (k, c) = (at(p, r, j), param(p, r, j));
            y[k] = T::from_f64((x[k].to_f64() - m) / s * gamma[c].to_f64() + beta[c].to_f64());
        }
    }
}

/// `inputs`: `[dy, x, γ, mean, std, dmean, dstd]`.
pub fn backward<T: Float>(p: &LayerNormPlan, inputs: [&[T]; 7], dx: &mut [T], dgamma: &mut [T], dbeta: &mut [T]) {
    let [dy, x, gamma, mean, std, dmean, dstd] = inputs;
    let mut dg = vec![0f64; p.params()];
    let mut db = vec![0f64; p.params()];
    for r in 0..p.rows() {
        let (m, s) = (mean[r].to_f64(), std[r].to_f64());
        let xhat = |j: usize| (x[at(p, r, j)].to_f64() - m) / s;
        // g' = dy·γ; dx = (g' - mean(g') - x̂·mean(g'·x̂)) / σ, plus the statistics' own
        // gradients: ∂μ/∂x = 1/n, ∂σ/∂x = x̂/n.
        let (dm, ds) = (dmean[r].to_f64(), dstd[r].to_f64());
        let (mut sum_g, mut sum_gx) = (0f64, 0f64);
        for j in 0..p.n {
            let (d, c) = (dy[at(p, r, j)].to_f64(), param(p, r, j));
            let g = d * gamma[c].to_f64();
            sum_g += g;
            sum_gx += g * xhat(j);
            dg[c] += d * xhat(j);
            db[c] += d;
        }
        let n = p.n as f64;
        for j in 0..p.n {
            let k = at(p, r, j);
            let g = dy[k].to_f64() * gamma[param(p, r, j)].to_f64();
            dx[k] = T::from_f64((g - sum_g / n - xhat(j) * sum_gx / n) / s + (dm + ds * xhat(j)) / n);
        }
    }
    for c in 0..p.params() {
        dgamma[c] = T::from_f64(dg[c]);
        dbeta[c] = T::from_f64(db[c]);
    }
}

pub fn l2_forward<T: Float>(p: &LayerNormPlan, x: &[T], y: &mut [T], norm: &mut [T]) {
    let norms = per_row(p, |r| ((0..p.n).map(|j| x[at(p, r, j)].to_f64().powi(2)).sum::<f64>() + p.eps).sqrt());
    for (r, &s) in norms.iter().enumerate() {
        norm[r] = T::from_f64(s);
        for j in 0..p.n {
            let k = at(p, r, j);
            y[k] = T::from_f64(x[k].to_f64() / s);
        }
    }
}

pub fn l2_backward<T: Float>(p: &LayerNormPlan, dy: &[T], y: &[T], norm: &[T], dx: &mut [T]) {
    let dots = per_row(p, |r| (0..p.n).map(|j| dy[at(p, r, j)].to_f64() * y[at(p, r, j)].to_f64()).sum::<f64>());
    for (r, &dot) in dots.iter().enumerate() {
        let s = norm[r].to_f64();
        for j in 0..p.n {
            let k = at(p, r, j);
            dx[k] = T::from_f64((dy[k].to_f64() - y[k].to_f64() * dot) / s);
        }
    }
}
