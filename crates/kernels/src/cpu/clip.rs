//! `clip`'s host loop: every element limited to `[lo, hi]`, NaN passed through.

use crate::dtype::Element;

/// `y = min(max(x, lo), hi)`, comparing in `f64` (so integer bounds are exact).
pub fn clip<T: Element>(x: &[T], lo: f64, hi: f64, y: &mut [T]) {
    let (lo_t, hi_t) = (T::from_f64(lo), T::from_f64(hi));
    for (o, &x) in y.iter_mut().zip(x) {
        // NaN passes through, as in NumPy.
        *o = if x.to_f64() < lo { lo_t } else if x.to_f64() > hi { hi_t } else { x };
    }
}
