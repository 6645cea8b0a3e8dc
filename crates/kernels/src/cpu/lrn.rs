//! The host's local response normalization loops: images in parallel (rayon), channels
//! within an image in order, each channel's window summed lowest channel first.

use rayon::prelude::*;

use crate::float::Float;
use crate::lrn::LrnPlan;

/// Channels of the window around `c` among `channels`.
fn window(p: &LrnPlan, c: usize, channels: usize) -> std::ops::Range<usize> {
    c.saturating_sub(p.half)..(c + p.half + 1).min(channels)
}

/// The elements of one image and of one channel's plane, for data of shape `shape`.
fn sizes(shape: &[usize]) -> (usize, usize) {
    let image: usize = shape[1..].iter().product();
    (image, image / shape[1].max(1))
}

/// `y` and `norm` from `x` (of shape `shape`); `x: None` means `x` is `y` (in place).
pub fn forward<T: Float>(p: &LrnPlan, shape: &[usize], x: Option<&[T]>, y: &mut [T], norm: &mut [T]) {
    let (image, inner) = sizes(shape);
    if image == 0 || inner == 0 {
        return;
    }
    let images = y.par_chunks_mut(image).zip(norm.par_chunks_mut(image)).enumerate();
    images.for_each(|(b, (y, n))| forward_image(p, x.map(|x| &x[b * image..][..image]), n, y, inner));
}

/// `dx` from `dy`, `x` (of shape `shape`) and the forward's `norm`.
pub fn backward<T: Float>(p: &LrnPlan, shape: &[usize], dy: &[T], x: &[T], norm: &[T], dx: &mut [T]) {
    let (image, inner) = sizes(shape);
    if image == 0 || inner == 0 {
        return;
    }
    dx.par_chunks_mut(image).enumerate().for_each_init(
        || vec![T::ZERO; image],
        |t, (b, dx)| {
            let at = b * image..(b + 1) * image;
            backward_image(p, &dy[at.clone()], &x[at.clone()], &norm[at], dx, t, inner);
        },
    );
}

/// One image (`channels x inner`): every channel's `norm` first, then `y` pointwise, so
/// that `y` may be written over `x` (`x: None`, the planner's in-place choice).
fn forward_image<T: Float>(p: &LrnPlan, x: Option<&[T]>, norm: &mut [T], y: &mut [T], inner: usize) {
    let channels = norm.len() / inner;
    let (k, s, nb) = (T::from_f64(p.knorm), T::from_f64(p.scale), T::from_f64(-p.beta));
    let xs: &[T] = x.unwrap_or(y);
    for c in 0..channels {
        let nc = &mut norm[c * inner..][..inner];
        nc.fill(T::ZERO);
        for w in window(p, c, channels) {
            for (n, &v) in nc.iter_mut().zip(&xs[w * inner..][..inner]) {
                *n += v * v;
            }
        }
        nc.iter_mut().for_each(|n| *n = k + s * *n);
    }
    match x {
        Some(x) => y.iter_mut().zip(x).zip(norm.iter()).for_each(|((yv, &xv), &n)| *yv = xv * n.powf(nb)),
        None => y.iter_mut().zip(norm.iter()).for_each(|(yv, &n)| *yv *= n.powf(nb)),
    }
}

/// One image's `dx` from `dy`, `x` and the forward's `norm`; `t` is scratch of `x`'s size:
/// `dx_j = dy_j n_j^-beta - 2 beta scale * x_j * sum_{c near j} dy_c x_c n_c^(-beta-1)`.
fn backward_image<T: Float>(p: &LrnPlan, dy: &[T], x: &[T], norm: &[T], dx: &mut [T], t: &mut [T], inner: usize) {
    let channels = x.len() / inner;
    let (nb, nb1) = (T::from_f64(-p.beta), T::from_f64(-p.beta - 1.0));
    let coef = T::from_f64(-2.0 * p.beta * p.scale);
    // t_c = dy_c x_c n_c^(-beta-1)
    for (((t, &g), &v), &n) in t.iter_mut().zip(dy).zip(x).zip(norm) {
        *t = g * v * n.powf(nb1);
    }
    for c in 0..channels {
        let dxc = &mut dx[c * inner..][..inner];
        dxc.fill(T::ZERO);
        for w in window(p, c, channels) {
            for (d, &tv) in dxc.iter_mut().zip(&t[w * inner..][..inner]) {
                *d += tv;
            }
        }
        let at = c * inner..(c + 1) * inner;
        for (((d, &g), &v), &n) in dxc.iter_mut().zip(&dy[at.clone()]).zip(&x[at.clone()]).zip(&norm[at]) {
            *d = g * n.powf(nb) + coef * v * *d;
        }
    }
}
