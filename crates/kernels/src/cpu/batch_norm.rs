//! Batch normalization on the host: per-channel sums over `(outer, channels, inner)` blocks,
//! the normalizing pass, the moving statistics' update and the backward. Statistics are
//! accumulated in f64 whatever the element type; channels (for the sums) and rows of `inner`
//! elements (for the elementwise passes) run on the rayon pool when the data is large.

use rayon::prelude::*;

use super::elementwise::PARALLEL_GRAIN;
use crate::batch_norm::BatchNormPlan;
use crate::float::Float;

/// Which statistics the forward normalizes with.
pub enum Statistics<'a, T> {
    /// The batch's mean and biased variance; the moving statistics move toward them.
    Batch { moving_mean: &'a mut [T], moving_var: &'a mut [T] },
    /// These (the moving statistics, in inference or with `use_global_stats`), only read.
    Given { mean: &'a [T], var: &'a [T] },
}

/// `Σ f(c, j)` over the indices `j` of each channel `c`'s elements, channels in parallel when
/// the data is large.
fn channel_sums(p: &BatchNormPlan, f: impl Fn(usize, usize) -> f64 + Sync) -> Vec<f64> {
    let (outer, channels, inner) = (p.outer, p.channels, p.inner);
    let sum = |c: usize| {
        let mut s = 0.0;
        for o in 0..outer {
            let base = (o * channels + c) * inner;
            for j in base..base + inner {
                s += f(c, j);
            }
        }
        s
    };
    if outer * channels * inner <= PARALLEL_GRAIN {
        (0..channels).map(sum).collect()
    } else {
        (0..channels).into_par_iter().map(sum).collect()
    }
}

/// Writes `y[j] = f(c, j)` for every element `j` of channel `c`, in parallel over rows when the
/// data is large.
fn for_each<T: Send>(p: &BatchNormPlan, y: &mut [T], f: impl Fn(usize, usize) -> T + Sync) {
    let (channels, inner) = (p.channels, p.inner.max(1));
    let rows_per_task = (PARALLEL_GRAIN / inner).max(1);
    let task = |t: usize, chunk: &mut [T]| {
        for (r, row) in chunk.chunks_mut(inner).enumerate() {
            let row_index = t * rows_per_task + r;
            let (c, base) = (row_index % channels, row_index * inner);
            for (i, v) in row.iter_mut().enumerate() {
                *v = f(c, base + i);
            }
        }
    };
    if y.len() <= PARALLEL_GRAIN {
        y.chunks_mut(rows_per_task * inner).enumerate().for_each(|(t, chunk)| task(t, chunk));
    } else {
        y.par_chunks_mut(rows_per_task * inner).enumerate().for_each(|(t, chunk)| task(t, chunk));
    }
}

/// The forward (see `crate::batch_norm::forward`); `y`, `mean_out` and `inv_std_out` are
/// overwritten.
#[allow(clippy::too_many_arguments)]
pub fn forward<T: Float>(p: &BatchNormPlan, x: &[T], gamma: &[T], beta: &[T], stats: Statistics<T>, y: &mut [T], mean_out: &mut [T], inv_std_out: &mut [T]) {
    let (mean, var): (Vec<f64>, Vec<f64>) = match &stats {
        Statistics::Batch { .. } => {
            let m = p.count().max(1) as f64;
            let mean: Vec<f64> = channel_sums(p, |_, j| x[j].to_f64()).iter().map(|s| s / m).collect();
            let sq = channel_sums(p, |c, j| {
                let d = x[j].to_f64() - mean[c];
                d * d
            });
            (mean, sq.iter().map(|s| s / m).collect())
        }
        Statistics::Given { mean, var } => (mean.iter().map(|v| v.to_f64()).collect(), var.iter().map(|v| v.to_f64()).collect()),
    };
    let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + p.eps).sqrt()).collect();
    let scale: Vec<T> = (0..p.channels).map(|c| T::from_f64(p.gamma(gamma, c) * inv_std[c])).collect();
    let shift: Vec<T> = (0..p.channels).map(|c| T::from_f64(beta[c].to_f64() - mean[c] * p.gamma(gamma, c) * inv_std[c])).collect();
    for_each(p, y, |c, j| x[j] * scale[c] + shift[c]);
    for (dst, src) in mean_out.iter_mut().zip(&mean) {
        *dst = T::from_f64(*src);
    }
    for (dst, src) in inv_std_out.iter_mut().zip(&inv_std) {
        *dst = T::from_f64(*src);
    }
    if let Statistics::Batch { moving_mean, moving_var } = stats {
        let k = p.momentum;
        for (moving, batch) in [(moving_mean, &mean), (moving_var, &var)] {
            for (m, b) in moving.iter_mut().zip(batch) {
                *m = T::from_f64(m.to_f64() * k + b * (1.0 - k));
            }
        }
    }
}

/// The backward (see `crate::batch_norm::backward`), from the forward's statistics widened to
/// f64; `dx`, `dgamma` and `dbeta` are overwritten.
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Float>(p: &BatchNormPlan, batch_stats: bool, dy: &[T], x: &[T], gamma: &[T], mean: &[f64], inv_std: &[f64], dx: &mut [T], dgamma: &mut [T], dbeta: &mut [T]) {
    let sum_dy = channel_sums(p, |_, j| dy[j].to_f64());
    let sum_dy_xc = channel_sums(p, |c, j| dy[j].to_f64() * (x[j].to_f64() - mean[c]));
    let m = p.count().max(1) as f64;
    // dx = a·dy - b - k·(x - μ), per channel.
    let a: Vec<f64> = (0..p.channels).map(|c| p.gamma(gamma, c) * inv_std[c]).collect();
    let (b, k): (Vec<f64>, Vec<f64>) = if !batch_stats {
        (vec![0.0; p.channels], vec![0.0; p.channels])
    } else {
        (0..p.channels).map(|c| (a[c] * sum_dy[c] / m, a[c] * inv_std[c] * inv_std[c] * sum_dy_xc[c] / m)).unzip()
    };
    for_each(p, dx, |c, j| T::from_f64(a[c] * dy[j].to_f64() - b[c] - k[c] * (x[j].to_f64() - mean[c])));
    for (c, v) in dgamma.iter_mut().enumerate() {
        *v = if p.fix_gamma { T::ZERO } else { T::from_f64(sum_dy_xc[c] * inv_std[c]) };
    }
    for (v, s) in dbeta.iter_mut().zip(&sum_dy) {
        *v = T::from_f64(*s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(outer: usize, channels: usize, inner: usize) -> BatchNormPlan {
        BatchNormPlan { outer, channels, inner, eps: 1e-3, momentum: 0.9, fix_gamma: false }
    }

    #[test]
    fn serial_and_parallel_passes_visit_each_channel_s_elements() {
        // The second geometry is large enough for the threaded paths.
        for p in [plan(3, 2, 5), plan(9, 4, 1000)] {
            let n = p.outer * p.channels * p.inner;
            let sums = channel_sums(&p, |c, j| (c * 1_000_000 + j) as f64);
            let mut y = vec![0usize; n];
            for_each(&p, &mut y, |c, _| c);
            for (j, &c) in y.iter().enumerate() {
                assert_eq!(c, (j / p.inner) % p.channels);
            }
            for (c, s) in sums.iter().enumerate() {
                let want: f64 = (0..n).filter(|j| (j / p.inner) % p.channels == c).map(|j| (c * 1_000_000 + j) as f64).sum();
                assert_eq!(*s, want);
            }
        }
    }
}
