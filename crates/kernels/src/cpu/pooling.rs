//! The host's pooling loops: each plane (one channel of one image) pooled on its own, planes in
//! parallel (rayon), windows in row-major output order.

use rayon::prelude::*;

use super::pooling2d::{self, Reduce};
use crate::float::Float;
use crate::pooling::{PoolKind as Kind, PoolPlan};
use crate::window::Geometry;

/// One axis's windows, worked out once per call rather than once per output position: for
/// each output index, the input range `lo..hi` it covers (clipped to the input) and its length
/// clipped to the padded input instead (the divisor for `count_include_pad`).
type Axis = Vec<(usize, usize, usize)>;

fn axis(g: &Geometry, i: usize) -> Axis {
    (0..g.output[i])
        .map(|o| {
            let start = (o * g.stride[i]) as isize - g.pad[i] as isize;
            let end = start + g.kernel[i] as isize;
            // Where windows may reach for `count_include_pad`: the input plus the padding after
            // it (as wide as the padding before; 1 on the filler axes of 1-D and 2-D windows).
            let limit = (g.input[i] + g.pad[i]) as isize;
            let padded = (end.min(limit) - start).max(0) as usize;
            let lo = start.max(0) as usize;
            let hi = (end.min(g.input[i] as isize).max(0) as usize).max(lo);
            (lo, hi, padded)
        })
        .collect()
}

/// Every output position's window, in row-major output order: `f(lo, hi, count)`.
struct Windows([Axis; 3]);

impl Windows {
    fn new(g: &Geometry) -> Self {
        Windows([axis(g, 0), axis(g, 1), axis(g, 2)])
    }

    #[inline]
    fn each(&self, count_include_pad: bool, mut f: impl FnMut([usize; 3], [usize; 3], usize)) {
        for &(z0, z1, zp) in &self.0[0] {
            for &(y0, y1, yp) in &self.0[1] {
                for &(x0, x1, xp) in &self.0[2] {
                    let count = if count_include_pad { zp * yp * xp } else { (z1 - z0) * (y1 - y0) * (x1 - x0) };
                    f([z0, y0, x0], [z1, y1, x1], count);
                }
            }
        }
    }
}

/// Calls `f(index)` for each input index of the window `lo..hi` (per axis), in row-major order.
#[inline]
fn each_in<F: FnMut(usize)>(input: [usize; 3], lo: [usize; 3], hi: [usize; 3], mut f: F) {
    for z in lo[0]..hi[0] {
        for y in lo[1]..hi[1] {
            let row = (z * input[1] + y) * input[2];
            for x in lo[2]..hi[2] {
                f(row + x);
            }
        }
    }
}

/// `x^p`, exact for the common small powers.
#[inline]
fn lp_pow<T: Float>(x: T, p: f64) -> T {
    match p {
        1.0 => x,
        2.0 => x * x,
        3.0 => x * x * x,
        _ => x.powf(T::from_f64(p)),
    }
}

#[inline]
fn lp_root<T: Float>(s: T, p: f64) -> T {
    match p {
        1.0 => s,
        2.0 => s.sqrt(),
        3.0 => s.cbrt(),
        _ => s.powf(T::from_f64(1.0 / p)),
    }
}

/// One plane. Padding never wins a max (an all-padding window gives the lowest finite value)
/// and adds zeros to sums; an empty window averages to 0.
/// The 2-D loops' reduction for `plan`, where they apply (a 2-D window, not Lp).
fn plane_2d(plan: &PoolPlan) -> Option<Reduce> {
    let g = &plan.geom;
    if g.input[0] != 1 || g.output[0] != 1 || g.kernel[0] != 1 || g.pad[0] != 0 {
        return None;
    }
    match plan.kind {
        Kind::Max => Some(Reduce::Max),
        Kind::Sum => Some(Reduce::Sum),
        Kind::Avg => Some(Reduce::Avg(plan.count_include_pad)),
        Kind::Lp(_) => None,
    }
}

fn forward_plane<T: Float>(plan: &PoolPlan, windows: &Windows, x: &[T], y: &mut [T]) {
    let w = &plan.geom;
    if let Some(r) = plane_2d(plan) {
        return pooling2d::forward(r, &windows.0[1], &windows.0[2], w.input[2], x, y);
    }
    let mut out = y.iter_mut();
    windows.each(plan.count_include_pad, |lo, hi, count| {
        let Some(out) = out.next() else { return };
        *out = match plan.kind {
            Kind::Max => {
                let mut m = T::LOWEST;
                each_in(w.input, lo, hi, |i| {
                    if x[i] > m {
                        m = x[i]
                    }
                });
                m
            }
            Kind::Sum | Kind::Avg => {
                let mut s = T::ZERO;
                each_in(w.input, lo, hi, |i| s += x[i]);
                match plan.kind {
                    Kind::Avg if count == 0 => T::ZERO,
                    Kind::Avg => s / T::from_f64(count as f64),
                    _ => s,
                }
            }
            Kind::Lp(p) => {
                let mut s = T::ZERO;
                each_in(w.input, lo, hi, |i| s += lp_pow(x[i], p));
                lp_root(s, p)
            }
        };
    });
}

/// One plane's gradient: max routes each gradient to the first maximum of its window, avg and
/// sum spread it, Lp scales it by `(x / y)^(p - 1)` (nothing where `y` is 0).
fn backward_plane<T: Float>(plan: &PoolPlan, windows: &Windows, dy: &[T], x: &[T], dx: &mut [T]) {
    let w = &plan.geom;
    if let Some(r) = plane_2d(plan) {
        return pooling2d::backward(r, &windows.0[1], &windows.0[2], w.input[2], dy, x, dx);
    }
    dx.fill(T::ZERO);
    let mut grads = dy.iter();
    windows.each(plan.count_include_pad, |lo, hi, count| {
        let Some(&g) = grads.next() else { return };
        match plan.kind {
            Kind::Max => {
                let (mut m, mut at) = (T::LOWEST, None);
                each_in(w.input, lo, hi, |i| {
                    if x[i] > m || at.is_none() {
                        (m, at) = (x[i], Some(i));
                    }
                });
                if let Some(i) = at {
                    dx[i] += g;
                }
            }
            Kind::Sum => each_in(w.input, lo, hi, |i| dx[i] += g),
            Kind::Avg if count == 0 => {}
            Kind::Avg => {
                let share = g / T::from_f64(count as f64);
                each_in(w.input, lo, hi, |i| dx[i] += share);
            }
            Kind::Lp(p) => {
                let mut s = T::ZERO;
                each_in(w.input, lo, hi, |i| s += lp_pow(x[i], p));
                let y = lp_root(s, p);
                if y != T::ZERO {
                    each_in(w.input, lo, hi, |i| dx[i] += g * lp_pow(x[i] / y, p - 1.0));
                }
            }
        }
    });
}

/// `y = pool(x)`, planes in parallel; an empty input or output plane gives zeros.
pub fn forward<T: Float>(plan: &PoolPlan, x: &[T], y: &mut [T]) {
    let (isz, osz) = (plan.geom.input_size(), plan.geom.output_size());
    if plan.planes() == 0 || isz == 0 || osz == 0 {
        y.fill(T::ZERO);
        return;
    }
    let windows = Windows::new(&plan.geom);
    y.par_chunks_mut(osz).zip(x.par_chunks(isz)).for_each(|(y, x)| forward_plane(plan, &windows, x, y));
}

/// `dx` from `dy` and `x`, planes in parallel; an empty input or output plane gives zeros.
pub fn backward<T: Float>(plan: &PoolPlan, dy: &[T], x: &[T], dx: &mut [T]) {
    let (isz, osz) = (plan.geom.input_size(), plan.geom.output_size());
    if plan.planes() == 0 || isz == 0 || osz == 0 {
        dx.fill(T::ZERO);
        return;
    }
    let windows = Windows::new(&plan.geom);
    dx.par_chunks_mut(isz).zip(x.par_chunks(isz)).zip(dy.par_chunks(osz)).for_each(|((dx, x), dy)| backward_plane(plan, &windows, dy, x, dx));
}
