//! The host's pooling loops: each plane (one channel of one image) pooled on its own, planes in
//! parallel (rayon), windows in row-major output order.

use rayon::prelude::*;

use crate::float::Float;
use crate::pooling::{PoolKind as Kind, PoolPlan};
use crate::window::Geometry;

/// Output position `o`'s window clipped to the input, and its averaging divisor.
#[inline]
fn window(g: &Geometry, o: [usize; 3], count_include_pad: bool) -> ([usize; 3], [usize; 3], usize) {
    let (mut lo, mut hi, mut padded) = ([0; 3], [0; 3], 1);
    for i in 0..3 {
        let start = (o[i] * g.stride[i]) as isize - g.pad[i] as isize;
        let end = start + g.kernel[i] as isize;
        // Where windows may reach for `count_include_pad`: the input plus the padding after it
        // (as wide as the padding before; 1 on the filler axes of 1-D and 2-D windows).
        let limit = g.input[i] + g.pad[i];
        padded *= (end.min(limit as isize) - start).max(0) as usize;
        lo[i] = start.max(0) as usize;
        hi[i] = (end.min(g.input[i] as isize).max(0) as usize).max(lo[i]);
    }
    let count = if count_include_pad { padded } else { (0..3).map(|i| hi[i] - lo[i]).product() };
    (lo, hi, count)
}

fn positions(g: &Geometry) -> impl Iterator<Item = [usize; 3]> {
    let [a, b, c] = g.output;
    (0..a).flat_map(move |z| (0..b).flat_map(move |y| (0..c).map(move |x| [z, y, x])))
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
fn forward_plane<T: Float>(plan: &PoolPlan, x: &[T], y: &mut [T]) {
    let w = &plan.geom;
    for (o, out) in positions(w).zip(y.iter_mut()) {
        let (lo, hi, count) = window(w, o, plan.count_include_pad);
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
    }
}

/// One plane's gradient: max routes each gradient to the first maximum of its window, avg and
/// sum spread it, Lp scales it by `(x / y)^(p - 1)` (nothing where `y` is 0).
fn backward_plane<T: Float>(plan: &PoolPlan, dy: &[T], x: &[T], dx: &mut [T]) {
    let w = &plan.geom;
    dx.fill(T::ZERO);
    for (o, &g) in positions(w).zip(dy) {
        let (lo, hi, count) = window(w, o, plan.count_include_pad);
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
    }
}

/// `y = pool(x)`, planes in parallel; an empty input or output plane gives zeros.
pub fn forward<T: Float>(plan: &PoolPlan, x: &[T], y: &mut [T]) {
    let (isz, osz) = (plan.geom.input_size(), plan.geom.output_size());
    if plan.planes() == 0 || isz == 0 || osz == 0 {
        y.fill(T::ZERO);
        return;
    }
    y.par_chunks_mut(osz).zip(x.par_chunks(isz)).for_each(|(y, x)| forward_plane(plan, x, y));
}

/// `dx` from `dy` and `x`, planes in parallel; an empty input or output plane gives zeros.
pub fn backward<T: Float>(plan: &PoolPlan, dy: &[T], x: &[T], dx: &mut [T]) {
    let (isz, osz) = (plan.geom.input_size(), plan.geom.output_size());
    if plan.planes() == 0 || isz == 0 || osz == 0 {
        dx.fill(T::ZERO);
        return;
    }
    dx.par_chunks_mut(isz).zip(x.par_chunks(isz)).zip(dy.par_chunks(osz)).for_each(|((dx, x), dy)| backward_plane(plan, dy, x, dx));
}
