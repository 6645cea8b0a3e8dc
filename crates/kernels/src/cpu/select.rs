//! `where`'s host loops: pick each element from `x` or `y` by a condition that has `x`'s shape
//! or is 1-d over its first axis (one flag per row), and split a gradient the same way.

use crate::dtype::Element;

/// The condition as booleans (any non-zero is true), in its own dtype `C`.
pub fn condition<C: Element>(c: &[C]) -> Vec<bool> {
    c.iter().map(|v| v.to_f64() != 0.0).collect()
}

/// How many elements of an `n`-element operand each condition flag selects.
fn per(cond: &[bool], n: usize) -> usize {
    n / cond.len().max(1)
}

/// `out = cond ? x : y`.
pub fn select<T: Element>(cond: &[bool], x: &[T], y: &[T], out: &mut [T]) {
    let per = per(cond, x.len());
    for (i, v) in out.iter_mut().enumerate() {
        *v = if cond[i / per] { x[i] } else { y[i] };
    }
}

/// `(dx, dy) = cond ? (g, 0) : (0, g)`.
pub fn select_backward<T: Element>(cond: &[bool], g: &[T], dx: &mut [T], dy: &mut [T]) {
    let per = per(cond, g.len());
    for (i, ((&v, a), b)) in g.iter().zip(dx.iter_mut()).zip(dy.iter_mut()).enumerate() {
        (*a, *b) = if cond[i / per] { (v, T::default()) } else { (T::default(), v) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_flags_select_whole_rows() {
        let cond = condition(&[0i32, 3]);
        let (x, y) = ([1f64, 2.0, 3.0, 4.0], [-1f64, -2.0, -3.0, -4.0]);
        let mut out = [0f64; 4];
        select(&cond, &x, &y, &mut out);
        assert_eq!(out, [-1.0, -2.0, 3.0, 4.0]);
        let (mut dx, mut dy) = ([9f64; 4], [9f64; 4]);
        select_backward(&cond, &x, &mut dx, &mut dy);
        assert_eq!((dx, dy), ([0.0, 0.0, 3.0, 4.0], [1.0, 2.0, 0.0, 0.0]));
    }
}
