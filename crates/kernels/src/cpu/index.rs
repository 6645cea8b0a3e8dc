//! Host loops of the index arithmetic primitives ([`crate::index`]).

use crate::dtype::Element;

pub fn values<T: Element>(y: &mut [T], values: &[f64]) {
    for (y, &v) in y.iter_mut().zip(values) {
        *y = T::from_f64(v);
    }
}

pub fn as_f64<T: Element>(x: &[T]) -> Vec<f64> {
    x.iter().map(|v| v.to_f64()).collect()
}

pub fn fill_element<T: Element, I: Element>(v: &[T], idx: &[I], cols: usize, y: &mut [T]) {
    if cols == 0 {
        return;
    }
    for (row, (&v, i)) in y.chunks_exact_mut(cols).zip(v.iter().zip(idx)) {
        let c = (i.to_f64() as i64).clamp(0, cols as i64 - 1) as usize;
        row[c] = v;
    }
}

/// Counts per bin between consecutive `edges`; `uniform` bins are found by arithmetic, others by
/// binary search. NaN is in no bin.
pub fn histogram<T: Element>(x: &[T], edges: &[f64], uniform: bool) -> Vec<f64> {
    let bins = edges.len().saturating_sub(1);
    let mut counts = vec![0f64; bins];
    if bins == 0 {
        return counts;
    }
    let (lo, hi) = (edges[0], edges[bins]);
    for v in x.iter().map(|v| v.to_f64()) {
        if !(lo..=hi).contains(&v) {
            continue;
        }
        let b = if uniform && hi > lo {
            (((v - lo) / (hi - lo) * bins as f64) as usize).min(bins - 1)
        } else {
            // The last edge <= v, the last bin holding its right edge.
            edges.partition_point(|&e| e <= v).saturating_sub(1).min(bins - 1)
        };
        counts[b] += 1.0;
    }
    counts
}

pub fn ravel<T: Element>(x: &[T], shape: &[usize], y: &mut [T]) {
    let n = y.len();
    for (j, y) in y.iter_mut().enumerate() {
        let mut flat = 0f64;
        for (d, &dim) in shape.iter().enumerate() {
            flat = flat * dim as f64 + x[d * n + j].to_f64().trunc();
        }
        *y = T::from_f64(flat);
    }
}

pub fn unravel<T: Element>(x: &[T], shape: &[usize], y: &mut [T]) {
    let n = x.len();
    for (j, v) in x.iter().enumerate() {
        let mut flat = v.to_f64().trunc() as i64;
        for (d, &dim) in shape.iter().enumerate().rev() {
            if dim == 0 {
                // An unbounded leading axis (a -1 in MXNet's shape) takes what is left.
                y[d * n + j] = T::from_f64(flat as f64);
                continue;
            }
            let dim = dim as i64;
            y[d * n + j] = T::from_f64(flat.rem_euclid(dim) as f64);
            flat = flat.div_euclid(dim);
        }
    }
}
