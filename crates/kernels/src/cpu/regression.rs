//! The regression loss heads' gradient on the host: the head's gradient function zipped over the
//! output and the label (threaded by `elementwise::zip`), then scaled in a second, serial pass
//! (skipped when the scale is 1, so that those gradients are exactly the function's).

use super::elementwise::zip;
use crate::{BinaryFn, Float};

/// `dx = G(out, label)·scale`.
pub fn backward<T: Float, G: BinaryFn>(out: &[T], label: &[T], scale: f64, dx: &mut [T]) {
    zip::<T, G>(out, label, dx);
    if scale != 1.0 {
        let s = T::from_f64(scale);
        dx.iter_mut().for_each(|v| *v *= s);
    }
}
