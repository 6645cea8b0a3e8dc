//! MakeLoss on the host: the identity, and the constant gradient (the `'valid'` count is one
//! serial pass; the fill is `elementwise::fill`).

use super::elementwise::fill;
use crate::float::Float;
use crate::make_loss::Normalization;

/// `y = x`.
pub fn forward<T: Float>(xs: &[T], y: &mut [T]) {
    y.copy_from_slice(xs);
}

/// `y = grad_scale / norm` everywhere; `shape` and `xs` are the forward's output.
pub fn backward<T: Float>(grad_scale: f64, normalization: Normalization, valid_thresh: f64, shape: &[usize], xs: &[T], y: &mut [T]) {
    let norm = match normalization {
        Normalization::Null => 1,
        Normalization::Batch => shape.first().copied().unwrap_or(1),
        Normalization::Valid => xs.iter().filter(|v| v.to_f64() > valid_thresh).count(),
    };
    fill(y, T::from_f64(grad_scale / norm.max(1) as f64));
}
