//! Batch normalization on the host: per-channel sums over `(outer, channels, inner)` blocks,
//! the normalizing pass, the moving statistics' update and the backward. Statistics are
//! accumulated in f64 whatever the element type; channels (for the sums) and rows of `inner`
//! elements (for the elementwise passes) run on the rayon pool when the data is large.

use rayon::prelude::*;

use super::elementwise::PARALLEL_GRAIN;
use super::simd::multiversion;
use crate::batch_norm::BatchNormPlan;
use crate::float::Float;

/// Which statistics the forward normalizes with.
pub enum Statistics<'a, T> {
    /// The batch's mean and biased variance; the moving statistics move toward them.
    Batch { moving_mean: &'a mut [T], moving_var: &'a mut [T] },
    /// These (the moving statistics, in inference or with `use_global_stats`), only read.
    Given { mean: &'a [T], var: &'a [T] },
}

/// Per channel `c`, the sums `row(c, base)` returns for each of its rows (the `inner`
/// elements from `base`), added in the rows' order; channels in parallel when the data is large.
fn channel_sums<const K: usize>(p: &BatchNormPlan, row: impl Fn(usize, usize) -> [f64; K] + Sync) -> Vec<[f64; K]> {
    let (outer, channels, inner) = (p.outer, p.channels, p.inner);
    let sum = |c: usize| {
        let mut s = [0.0; K];
        for o in 0..outer {
            for (acc, v) in s.iter_mut().zip(row(c, (o * channels + c) * inner)) {
                *acc += v;
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

/// Calls `f(c, base, row)` for every row of `y` (`inner` elements from `base`, of channel
/// `c`), in parallel over rows when the data is large.
fn for_rows<T: Send>(p: &BatchNormPlan, y: &mut [T], f: impl Fn(usize, usize, &mut [T]) + Sync) {
    let (channels, inner) = (p.channels, p.inner.max(1));
    let rows_per_task = (PARALLEL_GRAIN / inner).max(1);
    let task = |t: usize, chunk: &mut [T]| {
        for (r, row) in chunk.chunks_mut(inner).enumerate() {
            let row_index = t * rows_per_task + r;
            f(row_index % channels, row_index * inner, row);
        }
    };
    if y.len() <= PARALLEL_GRAIN {
        y.chunks_mut(rows_per_task * inner).enumerate().for_each(|(t, chunk)| task(t, chunk));
    } else {
        y.par_chunks_mut(rows_per_task * inner).enumerate().for_each(|(t, chunk)| task(t, chunk));
    }
}

/// Eight f64 lanes added in a fixed order.
#[inline(always)]
fn fold(a: [f64; LANES]) -> f64 {
    ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]))
}

/// Row sums run in eight independent lanes so that the f64 adds vectorize instead of waiting
/// on one another; the lanes' order is fixed, so results do not depend on the machine.
const LANES: usize = 8;

multiversion! {
    /// One row's `[Σ x, 0]`, or with `mean` given its `[0, Σ (x - mean)²]`.
    fn row_moments<T: Float>(x: &[T], mean: Option<f64>) -> [f64; 2] => row_moments_body
}

#[inline(always)]
fn row_moments_body<T: Float>(x: &[T], mean: Option<f64>) -> [f64; 2] {
    let mut acc = [0.0; LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    match mean {
        None => {
            for ch in chunks {
                for l in 0..LANES {
                    acc[l] += ch[l].to_f64();
                }
            }
            [tail.iter().fold(fold(acc), |s, v| s + v.to_f64()), 0.0]
        }
        Some(m) => {
            for ch in chunks {
                for l in 0..LANES {
                    let d = ch[l].to_f64() - m;
                    acc[l] += d * d;
                }
            }
            [0.0, tail.iter().fold(fold(acc), |s, v| s + (v.to_f64() - m) * (v.to_f64() - m))]
        }
    }
}

multiversion! {
    /// `[Σ dy, Σ dy·(x - mean)]` of one row.
    fn row_grad_sums<T: Float>(dy: &[T], x: &[T], mean: f64) -> [f64; 2] => row_grad_sums_body
}

#[inline(always)]
fn row_grad_sums_body<T: Float>(dy: &[T], x: &[T], mean: f64) -> [f64; 2] {
    let (mut a, mut b) = ([0.0; LANES], [0.0; LANES]);
    let (dc, xc) = (dy.chunks_exact(LANES), x.chunks_exact(LANES));
    let tails = dc.remainder().iter().zip(xc.remainder());
    for (d, v) in dc.zip(xc) {
        for l in 0..LANES {
            let g = d[l].to_f64();
            a[l] += g;
            b[l] += g * (v[l].to_f64() - mean);
        }
    }
    tails.fold([fold(a), fold(b)], |[s, t], (d, v)| [s + d.to_f64(), t + d.to_f64() * (v.to_f64() - mean)])
}

multiversion! {
    /// `y = x·scale + shift` over one row.
    fn row_affine<T: Float>(x: &[T], scale: T, shift: T, y: &mut [T]) => row_affine_body
}

#[inline(always)]
fn row_affine_body<T: Float>(x: &[T], scale: T, shift: T, y: &mut [T]) {
    for (v, &xv) in y.iter_mut().zip(x) {
        *v = xv * scale + shift;
    }
}

multiversion! {
    /// `dx = a·dy - b - k·(x - mean)` over one row, in f64.
    fn row_backward<T: Float>(dy: &[T], x: &[T], coef: [f64; 4], dx: &mut [T]) => row_backward_body
}

#[inline(always)]
fn row_backward_body<T: Float>(dy: &[T], x: &[T], [a, b, k, mean]: [f64; 4], dx: &mut [T]) {
    for ((v, &g), &xv) in dx.iter_mut().zip(dy).zip(x) {
        *v = T::from_f64(a * g.to_f64() - b - k * (xv.to_f64() - mean));
    }
}

/// The forward (see `crate::batch_norm::forward`); `y`, `mean_out` and `inv_std_out` are
/// overwritten.
#[allow(clippy::too_many_arguments)]
pub fn forward<T: Float>(p: &BatchNormPlan, x: &[T], gamma: &[T], beta: &[T], stats: Statistics<T>, y: &mut [T], mean_out: &mut [T], inv_std_out: &mut [T]) {
    let inner = p.inner;
    let (mean, var): (Vec<f64>, Vec<f64>) = match &stats {
        Statistics::Batch { .. } => {
            let m = p.count().max(1) as f64;
            let mean: Vec<f64> = channel_sums(p, |_, b| row_moments(&x[b..b + inner], None)).iter().map(|s| s[0] / m).collect();
            let sq = channel_sums(p, |c, b| row_moments(&x[b..b + inner], Some(mean[c])));
            (mean, sq.iter().map(|s| s[1] / m).collect())
        }
        Statistics::Given { mean, var } => (mean.iter().map(|v| v.to_f64()).collect(), var.iter().map(|v| v.to_f64()).collect()),
    };
    let inv_std: Vec<f64> = var.iter().map(|v| 1.0 / (v + p.eps).sqrt()).collect();
    let scale: Vec<T> = (0..p.channels).map(|c| T::from_f64(p.gamma(gamma, c) * inv_std[c])).collect();
    let shift: Vec<T> = (0..p.channels).map(|c| T::from_f64(beta[c].to_f64() - mean[c] * p.gamma(gamma, c) * inv_std[c])).collect();
    for_rows(p, y, |c, b, row| row_affine(&x[b..b + row.len()], scale[c], shift[c], row));
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
    let inner = p.inner;
    let sums = channel_sums(p, |c, b| row_grad_sums(&dy[b..b + inner], &x[b..b + inner], mean[c]));
    let (sum_dy, sum_dy_xc): (Vec<f64>, Vec<f64>) = sums.iter().map(|s| (s[0], s[1])).unzip();
    let m = p.count().max(1) as f64;
    // dx = a·dy - b - k·(x - μ), per channel.
    let a: Vec<f64> = (0..p.channels).map(|c| p.gamma(gamma, c) * inv_std[c]).collect();
    let (b, k): (Vec<f64>, Vec<f64>) = if !batch_stats {
        (vec![0.0; p.channels], vec![0.0; p.channels])
    } else {
        (0..p.channels).map(|c| (a[c] * sum_dy[c] / m, a[c] * inv_std[c] * inv_std[c] * sum_dy_xc[c] / m)).unzip()
    };
    for_rows(p, dx, |c, o, row| {
        let n = row.len();
        row_backward(&dy[o..o + n], &x[o..o + n], [a[c], b[c], k[c], mean[c]], row)
    });
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
            let sums = channel_sums(&p, |c, b| [(b..b + p.inner).map(|j| (c * 1_000_000 + j) as f64).sum::<f64>()]);
            let mut y = vec![0usize; n];
            for_rows(&p, &mut y, |c, _, row| row.fill(c));
            for (j, &c) in y.iter().enumerate() {
                assert_eq!(c, (j / p.inner) % p.channels);
            }
            for (c, s) in sums.iter().enumerate() {
                let want: f64 = (0..n).filter(|j| (j / p.inner) % p.channels == c).map(|j| (c * 1_000_000 + j) as f64).sum();
                assert_eq!(s[0], want);
            }
        }
    }
}
