//! Host loops of the array-creating operators that are not a plain fill: evenly spaced values
//! (`arange`) and a diagonal of ones (`eye`).

use crate::dtype::Element;

/// `y[i] = start + step * (i / repeat)`, computed in `f64`.
pub fn arange<T: Element>(y: &mut [T], start: f64, step: f64, repeat: usize) {
    for (i, v) in y.iter_mut().enumerate() {
        *v = T::from_f64(start + step * (i / repeat) as f64);
    }
}

/// `y[r, c] = 1` where `c - r == k`, else 0, for a row-major `y` with `cols` columns.
pub fn eye<T: Element>(y: &mut [T], cols: usize, k: i64) {
    for (i, v) in y.iter_mut().enumerate() {
        let (r, c) = ((i / cols) as i64, (i % cols) as i64);
        *v = T::from_f64(if c - r == k { 1.0 } else { 0.0 });
    }
}
