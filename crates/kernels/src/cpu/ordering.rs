//! The host's ordering: every lane ranked with a stable sort (`total_cmp` for floats, so NaN
//! sorts last ascending; exact `i64` comparison for integers), then written out as the
//! primitive's [`crate::ordering::Ret`] asks.

use crate::ordering::{OrderPlan, Ret};
use crate::{Class, Element};

/// Every lane ranked: the first k positions' values and indices, and the top-k mask.
pub struct Ranking {
    /// The input as integers, for integer dtypes (compared and copied exactly).
    pub ints: Option<Vec<i64>>,
    pub top_vals: Vec<f64>,
    pub top_idx: Vec<f64>,
    /// Empty unless the plan asks for the mask.
    pub mask: Vec<f64>,
}

/// Ranks every lane of `x` as `p` describes.
pub fn rank<T: Element>(p: &OrderPlan, x: &[T]) -> Ranking {
    let (outer, n, inner, k) = (p.outer, p.n, p.inner, p.k);
    let vals: Vec<f64> = x.iter().map(|v| v.to_f64()).collect();
    // Integers compare exactly (int64 beyond 2**53 would tie as floats).
    let ints: Option<Vec<i64>> = (T::CLASS == Class::Int).then(|| x.iter().map(|v| v.to_i64()).collect());
    let mut order: Vec<usize> = Vec::with_capacity(n);
    let (mut top_vals, mut top_idx) = (vec![0.0; outer * k * inner], vec![0.0; outer * k * inner]);
    let mut mask = vec![0.0; if p.ret == Ret::Mask { x.len() } else { 0 }];
    for o in 0..outer {
        for i in 0..inner {
            let at = |r: usize| vals[(o * n + r) * inner + i];
            order.clear();
            order.extend(0..n);
            let cmp = |a: &usize, b: &usize| match &ints {
                Some(iv) => iv[(o * n + a) * inner + i].cmp(&iv[(o * n + b) * inner + i]),
                None => at(*a).total_cmp(&at(*b)),
            };
            if p.ascend {
                order.sort_by(cmp);
            } else {
                order.sort_by(|a, b| cmp(b, a));
            }
            for (q, &r) in order.iter().take(k).enumerate() {
                top_vals[(o * k + q) * inner + i] = at(r);
                top_idx[(o * k + q) * inner + i] = r as f64;
                if !mask.is_empty() {
                    mask[(o * n + r) * inner + i] = 1.0;
                }
            }
        }
    }
    Ranking { ints, top_vals, top_idx, mask }
}

/// `y` = `v` converted to `T`.
pub fn write<T: Element>(v: &[f64], y: &mut [T]) {
    for (d, &s) in y.iter_mut().zip(v) {
        *d = T::from_f64(s);
    }
}

/// The top values of an integer input, copied exactly by index from its integers `iv`.
pub fn copy_ints<T: Element>(p: &OrderPlan, iv: &[i64], top_idx: &[f64], y: &mut [T]) {
    let (n, inner, k) = (p.n, p.inner, p.k);
    for (o, (d, &r)) in y.iter_mut().zip(top_idx).enumerate() {
        let (b, i) = (o / (k * inner), o % inner);
        *d = T::from_i64(iv[(b * n + r as usize) * inner + i]);
    }
}

/// `d` zeroed, then each `g[at]` written back to the position `top_idx[at]` ranked there.
pub fn scatter<T: Element>(p: &OrderPlan, top_idx: &[f64], g: &[T], d: &mut [T]) {
    let (n, inner, k) = (p.n, p.inner, p.k);
    d.fill(T::default());
    for (at, &r) in top_idx.iter().enumerate() {
        let (o, i) = (at / (k * inner), at % inner);
        d[(o * n + r as usize) * inner + i] = g[at];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(k: usize, ascend: bool, ret: Ret) -> OrderPlan {
        OrderPlan { outer: 1, n: 4, inner: 1, k, ascend, ret }
    }

    #[test]
    fn stable_with_nan_last_and_exact_integers() {
        let r = rank(&plan(4, true, Ret::Values), &[2f32, f32::NAN, 1., 2.]);
        assert_eq!(r.top_idx, [2., 0., 3., 1.]);
        let big = [i64::MAX, i64::MAX - 1, 0, -1];
        let r = rank(&plan(2, false, Ret::Mask), &big);
        assert_eq!(r.top_idx, [0., 1.]);
        assert_eq!(r.mask, [1., 1., 0., 0.]);
        let mut y = [0i64; 2];
        copy_ints(&plan(2, false, Ret::Values), r.ints.as_deref().unwrap(), &r.top_idx, &mut y);
        assert_eq!(y, [i64::MAX, i64::MAX - 1]);
    }

    #[test]
    fn scatter_sends_each_gradient_home() {
        let mut d = [7f32; 4];
        scatter(&plan(2, false, Ret::Values), &[3., 1.], &[10., 20.], &mut d);
        assert_eq!(d, [0., 20., 0., 10.]);
    }
}
