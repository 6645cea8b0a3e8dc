//! Host loops of `layer_norm`: rows in parallel (each row's statistics in float64, in a fixed
//! order), the parameter gradients summed row by row in a fixed order so results repeat exactly.

use rayon::prelude::*;

use crate::layer_norm::LayerNormPlan;
use crate::Float;

/// Element `j` of row `r` (`r = o·inner + i`).
#[inline(always)]
fn at(p: &LayerNormPlan, r: usize, j: usize) -> usize {
    let (o, i) = (r / p.inner, r % p.inner);
    (o * p.n + j) * p.inner + i
}

pub fn forward<T: Float>(p: &LayerNormPlan, x: &[T], gamma: &[T], beta: &[T], y: &mut [T], mean: &mut [T], std: &mut [T]) {
    let rows = p.outer * p.inner;
    let stats: Vec<(f64, f64)> = (0..rows)
        .into_par_iter()
        .map(|r| {
            let n = p.n as f64;
            let m = (0..p.n).map(|j| x[at(p, r, j)].to_f64()).sum::<f64>() / n;
            let var = (0..p.n).map(|j| (x[at(p, r, j)].to_f64() - m).powi(2)).sum::<f64>() / n;
            (m, (var + p.eps).sqrt())
        })
        .collect();
    for (r, &(m, s)) in stats.iter().enumerate() {
        mean[r] = T::from_f64(m);
        std[r] = T::from_f64(s);
        for j in 0..p.n {
            let k = at(p, r, j);
            y[k] = T::from_f64((x[k].to_f64() - m) / s * gamma[j].to_f64() + beta[j].to_f64());
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub fn backward<T: Float>(p: &LayerNormPlan, dy: &[T], x: &[T], gamma: &[T], mean: &[T], std: &[T], dx: &mut [T], dgamma: &mut [T], dbeta: &mut [T]) {
    let rows = p.outer * p.inner;
    let mut dg = vec![0f64; p.n];
    let mut db = vec![0f64; p.n];
    for r in 0..rows {
        let (m, s) = (mean[r].to_f64(), std[r].to_f64());
        let xhat = |j: usize| (x[at(p, r, j)].to_f64() - m) / s;
        // g' = dy·γ; dx = (g' - mean(g') - x̂·mean(g'·x̂)) / σ.
        let (mut sum_g, mut sum_gx) = (0f64, 0f64);
        for j in 0..p.n {
            let d = dy[at(p, r, j)].to_f64();
            let g = d * gamma[j].to_f64();
            sum_g += g;
            sum_gx += g * xhat(j);
            dg[j] += d * xhat(j);
            db[j] += d;
        }
        let n = p.n as f64;
        for j in 0..p.n {
            let k = at(p, r, j);
            let g = dy[k].to_f64() * gamma[j].to_f64();
            dx[k] = T::from_f64((g - sum_g / n - xhat(j) * sum_gx / n) / s);
        }
    }
    for j in 0..p.n {
        dgamma[j] = T::from_f64(dg[j]);
        dbeta[j] = T::from_f64(db[j]);
    }
}
