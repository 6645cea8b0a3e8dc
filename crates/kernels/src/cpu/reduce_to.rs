//! Reducing an array down to a shape that broadcasts to it: the gradient of broadcasting
//! (`_sum_to_like`, the backward kernels of broadcasting operators, tile and repeat), made as a
//! few `(outer, len, inner)` reductions without a transposed copy.

use crate::dtype::Element;
use crate::layout::sums_to;

use super::reduce::{reduce, ReduceFn};

/// Reduces dense `x` of shape `from` down to `to` (which must broadcast to `from`), into dense `y`.
/// Size-1 axes are dropped and adjacent axes of one kind merged, leaving alternating runs of kept
/// and reduced axes; each reduced run is then one `(outer, len, inner)` reduction, the last first,
/// so no transposed copy is made (an NCHW bias gradient is two passes, the first the big one).
pub fn reduce_to<T: Element, R: ReduceFn>(x: &[T], from: &[usize], to: &[usize], y: &mut [T]) {
    debug_assert!(sums_to(from, to));
    let pad = from.len() - to.len();
    // (size, summed) for each axis of size > 1, adjacent axes of one kind merged.
    let mut runs: Vec<(usize, bool)> = Vec::new();
    for (d, &n) in from.iter().enumerate() {
        if n == 1 {
            continue;
        }
        let summed = d < pad || to[d - pad] == 1;
        match runs.last_mut() {
            Some((size, kind)) if *kind == summed => *size *= n,
            _ => runs.push((n, summed)),
        }
    }
    let mut current: Option<Vec<T>> = None;
    loop {
        let Some(j) = runs.iter().rposition(|&(_, summed)| summed) else {
            // Nothing (left) to sum: the data is already laid out as `to`.
            y.copy_from_slice(current.as_deref().unwrap_or(x));
            return;
        };
        let outer: usize = runs[..j].iter().map(|r| r.0).product();
        let inner: usize = runs[j + 1..].iter().map(|r| r.0).product();
        let len = runs[j].0;
        runs.remove(j);
        if j > 0 && j < runs.len() && !runs[j - 1].1 && !runs[j].1 {
            runs[j - 1].0 *= runs[j].0;
            runs.remove(j);
        }
        let src = current.as_deref().unwrap_or(x);
        if !runs.iter().any(|r| r.1) {
            reduce::<T, R>(src, outer, len, inner, y);
            return;
        }
        let mut next = vec![T::default(); outer * inner];
        reduce::<T, R>(src, outer, len, inner, &mut next);
        current = Some(next);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sum;
    impl ReduceFn for Sum {
        const CUDA_STEP: &'static str = "acc + x";
        const INIT: f64 = 0.0;
        fn step(a: f64, x: f64) -> f64 {
            a + x
        }
        const INIT_INT: i64 = 0;
        fn step_int(a: i64, x: i64) -> i64 {
            a.wrapping_add(x)
        }
    }

    #[test]
    fn sums_leading_and_size_one_axes() {
        // (2, 3, 4) down to (3, 1): sum over axis 0 and axis 2.
        let x: Vec<i64> = (0..24).collect();
        let mut y = vec![0i64; 3];
        reduce_to::<i64, Sum>(&x, &[2, 3, 4], &[3, 1], &mut y);
        for (j, &v) in y.iter().enumerate() {
            let want: i64 = (0..2).flat_map(|i| (0..4).map(move |k| (i * 12 + j * 4 + k) as i64)).sum();
            assert_eq!(v, want);
        }
        assert!(sums_to(&[2, 3, 4], &[3, 1]) && !sums_to(&[2, 3], &[2]));
    }
}
