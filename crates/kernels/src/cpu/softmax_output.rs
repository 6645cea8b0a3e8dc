//! SoftmaxOutput on the host: its forward softmax, blocked for the cache (a block is one sample's
//! `(classes, inner)` values; blocks run on the rayon pool when the data is large), and its
//! cross-entropy gradient from labels already widened to f64.

use rayon::prelude::*;

use super::elementwise::PARALLEL_GRAIN;
use crate::float::Float;
use crate::softmax_output::{Normalization, SoftmaxOutputPlan};

/// `y = softmax(x)` over the classes of one block's positions. `y` first holds `exp(x - max)`
/// (the maximum per position), then is divided by the sums; `scratch` holds `2·inner` floats.
/// The exponentials are rounded to `T` before the multiplication by the sums' reciprocals, as
/// they always were here: keeping that keeps the results bit for bit.
fn softmax_block<T: Float>(inner: usize, x: &[T], y: &mut [T], scratch: &mut Vec<f64>) {
    scratch.clear();
    scratch.extend(x[..inner].iter().map(|v| v.to_f64()));
    scratch.resize(2 * inner, 0.0);
    let (max, sum) = scratch.split_at_mut(inner);
    for row in x.chunks_exact(inner).skip(1) {
        for (m, v) in max.iter_mut().zip(row) {
            *m = m.max(v.to_f64());
        }
    }
    for (y_row, x_row) in y.chunks_exact_mut(inner).zip(x.chunks_exact(inner)) {
        for (((y, v), m), s) in y_row.iter_mut().zip(x_row).zip(max.iter()).zip(sum.iter_mut()) {
            let e = (v.to_f64() - m).exp();
            *y = T::from_f64(e);
            *s += e;
        }
    }
    for s in sum.iter_mut() {
        *s = 1.0 / *s;
    }
    for y_row in y.chunks_exact_mut(inner) {
        for (y, s) in y_row.iter_mut().zip(sum.iter()) {
            *y = T::from_f64(y.to_f64() * s);
        }
    }
}

/// `y = softmax(x)` over the classes of each position, blocks in parallel when large.
pub fn forward<T: Float>(p: &SoftmaxOutputPlan, x: &[T], y: &mut [T]) {
    let (block, inner) = ((p.classes * p.inner).max(1), p.inner.max(1));
    if y.len() <= PARALLEL_GRAIN {
        let mut scratch = Vec::new();
        y.chunks_mut(block).zip(x.chunks(block)).for_each(|(y, x)| softmax_block(inner, x, y, &mut scratch));
    } else {
        y.par_chunks_mut(block).zip(x.par_chunks(block)).for_each_init(Vec::new, |scratch, (y, x)| softmax_block(inner, x, y, scratch));
    }
}

/// What the class-index gradient is divided by.
fn divisor(p: &SoftmaxOutputPlan, labels: &[f64]) -> f64 {
    match p.normalization {
        Normalization::Valid => {
            let ignore = p.ignore_label as i64;
            labels.iter().filter(|&&l| l as i64 != ignore).count().max(1) as f64
        }
        Normalization::Null if p.multi_output => p.inner as f64,
        Normalization::Null => 1.0,
        Normalization::Batch => (p.outer * if p.multi_output { p.inner } else { 1 }) as f64,
    }
}

/// `dx` from the softmax output `p`, the labels (as f64) and, with `out_grad`, the output's
/// gradient; `dx` is overwritten.
pub fn backward<T: Float>(plan: &SoftmaxOutputPlan, p: &[T], labels: &[f64], prob: bool, og: Option<&[T]>, dx: &mut [T]) {
    let scale_by = |j: usize, v: f64| T::from_f64(match og {
        Some(og) => v * og[j].to_f64(),
        None => v,
    });
    if prob {
        for (j, (d, (&p, &l))) in dx.iter_mut().zip(p.iter().zip(labels)).enumerate() {
            *d = scale_by(j, (p.to_f64() - l) * plan.grad_scale);
        }
        return;
    }
    let scale = plan.grad_scale / divisor(plan, labels);
    let alpha = if plan.multi_output || plan.classes < 2 { 0.0 } else { plan.smooth_alpha };
    let (on, off) = (1.0 - alpha, if alpha > 0.0 { alpha / (plan.classes - 1) as f64 } else { 0.0 });
    let ignore = plan.ignore_label as i64;
    for o in 0..plan.outer {
        for i in 0..plan.inner {
            let label = labels[o * plan.inner + i] as i64;
            let ignored = plan.use_ignore && label == ignore;
            for r in 0..plan.classes {
                let j = (o * plan.classes + r) * plan.inner + i;
                dx[j] = if ignored {
                    T::ZERO
                } else {
                    let target = if r as i64 == label { on } else { off };
                    scale_by(j, (p[j].to_f64() - target) * scale)
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocked_softmax_rows_sum_to_one_serially_and_in_parallel() {
        // (outer, classes, inner); the second is large enough for the threaded path.
        for (outer, classes, inner) in [(2, 3, 4), (2, 3, 6000)] {
            let p = SoftmaxOutputPlan { outer, classes, inner, grad_scale: 1.0, ignore_label: -1.0, use_ignore: false, multi_output: true, normalization: Normalization::Null, smooth_alpha: 0.0 };
            let x: Vec<f64> = (0..outer * classes * inner).map(|j| ((j * 7919) % 601) as f64 / 100.0 - 3.0).collect();
            let mut y = vec![0f64; x.len()];
            forward(&p, &x, &mut y);
            for o in 0..outer {
                for i in 0..inner {
                    let at = |r: usize| (o * classes + r) * inner + i;
                    let m = (0..classes).map(|r| x[at(r)]).fold(f64::MIN, f64::max);
                    let s: f64 = (0..classes).map(|r| (x[at(r)] - m).exp()).sum();
                    (0..classes).for_each(|r| assert!((y[at(r)] - (x[at(r)] - m).exp() / s).abs() < 1e-12));
                }
            }
        }
    }

    #[test]
    fn valid_normalization_counts_labels_other_than_ignore_label() {
        let mut p = SoftmaxOutputPlan { outer: 4, classes: 3, inner: 1, grad_scale: 1.0, ignore_label: 2.0, use_ignore: false, multi_output: false, normalization: Normalization::Valid, smooth_alpha: 0.0 };
        assert_eq!(divisor(&p, &[2.0, 0.0, 2.9, 1.0]), 2.0);
        assert_eq!(divisor(&p, &[2.0; 4]), 1.0);
        p.normalization = Normalization::Batch;
        assert_eq!(divisor(&p, &[0.0; 4]), 4.0);
    }
}
