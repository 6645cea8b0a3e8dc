//! 2-D pooling planes (every Pooling of a convnet): the general loops of `pooling` with the
//! depth axis gone and each window row read as a slice, so the compiler sees plain loops. Same
//! visiting order as the general path, so results are identical bit for bit.

use super::simd::multiversion;
use crate::float::Float;

/// One axis's windows: `(lo, hi, padded length)` per output index (see `pooling::axis`).
pub type Axis = [(usize, usize, usize)];

/// What a window of a 2-D plane computes.
#[derive(Clone, Copy)]
pub enum Reduce {
    Max,
    Sum,
    /// The mean over the window clipped to the input, or with `true` to the padded input.
    Avg(bool),
}

#[inline]
fn count(r: Reduce, (y0, y1, yp): (usize, usize, usize), (x0, x1, xp): (usize, usize, usize)) -> usize {
    match r {
        Reduce::Avg(true) => yp * xp,
        _ => (y1 - y0) * (x1 - x0),
    }
}

/// Whether every window is the 2x2 block at `(2 * oy, 2 * ox)`: kernel 2, stride 2, no padding,
/// the most common pooling of all, which gets loops over whole rows the compiler vectorizes.
fn blocks_2x2(rows: &Axis, cols: &Axis) -> bool {
    let exact = |a: &Axis| a.iter().enumerate().all(|(i, &(lo, hi, _))| lo == 2 * i && hi == 2 * i + 2);
    exact(rows) && exact(cols)
}

/// Where the gradient of a max goes: the first element, replaced only by a later one that is
/// greater (a tie keeps the earlier one, a NaN never replaces), as in the general loop; written
/// as selects rather than branches.
#[inline(always)]
fn first_max<T: Float>(v: [T; 4]) -> [bool; 4] {
    let g1 = v[1] > v[0];
    let m = if g1 { v[1] } else { v[0] };
    let g2 = v[2] > m;
    let m = if g2 { v[2] } else { m };
    let g3 = v[3] > m;
    [!(g1 || g2 || g3), g1 && !(g2 || g3), g2 && !g3, g3]
}

multiversion! {
    /// `y = pool(x)` for one plane of width `iw`.
    pub fn forward<T: Float>(r: Reduce, rows: &Axis, cols: &Axis, iw: usize, x: &[T], y: &mut [T]) => forward_body
}

#[inline(always)]
fn forward_body<T: Float>(r: Reduce, rows: &Axis, cols: &Axis, iw: usize, x: &[T], y: &mut [T]) {
    let ow = cols.len();
    if matches!(r, Reduce::Max) && blocks_2x2(rows, cols) && ow > 0 {
        for (oy, out) in y.chunks_exact_mut(ow).enumerate() {
            let (r0, r1) = (&x[2 * oy * iw..][..2 * ow], &x[(2 * oy + 1) * iw..][..2 * ow]);
            for ((o, a), b) in out.iter_mut().zip(r0.chunks_exact(2)).zip(r1.chunks_exact(2)) {
                // From LOWEST, as the general loop: a NaN never wins.
                let mut m = T::LOWEST;
                for v in [a[0], a[1], b[0], b[1]] {
                    m = if v > m { v } else { m };
                }
                *o = m;
            }
        }
        return;
    }
    let mut out = y.iter_mut();
    for &wy in rows {
        for &wx in cols {
            let Some(o) = out.next() else { return };
            let (lo, hi) = (wx.0, wx.1);
            *o = match r {
                Reduce::Max => {
                    let mut m = T::LOWEST;
                    for h in wy.0..wy.1 {
                        for &v in &x[h * iw + lo..h * iw + hi] {
                            if v > m {
                                m = v;
                            }
                        }
                    }
                    m
                }
                Reduce::Sum | Reduce::Avg(_) => {
                    let mut s = T::ZERO;
                    for h in wy.0..wy.1 {
                        for &v in &x[h * iw + lo..h * iw + hi] {
                            s += v;
                        }
                    }
                    match (r, count(r, wy, wx)) {
                        (Reduce::Sum, _) => s,
                        (_, 0) => T::ZERO,
                        (_, c) => s / T::from_f64(c as f64),
                    }
                }
            };
        }
    }
}

multiversion! {
    /// `dx` (overwritten) for one plane: max routes each gradient to its window's first
    /// maximum, sum and avg spread it.
    pub fn backward<T: Float>(r: Reduce, rows: &Axis, cols: &Axis, iw: usize, dy: &[T], x: &[T], dx: &mut [T]) => backward_body
}

#[inline(always)]
fn backward_body<T: Float>(r: Reduce, rows: &Axis, cols: &Axis, iw: usize, dy: &[T], x: &[T], dx: &mut [T]) {
    dx.fill(T::ZERO);
    let ow = cols.len();
    if matches!(r, Reduce::Max) && blocks_2x2(rows, cols) && ow > 0 {
        for (oy, g) in dy.chunks_exact(ow).enumerate() {
            let (r0, r1) = (&x[2 * oy * iw..][..2 * ow], &x[(2 * oy + 1) * iw..][..2 * ow]);
            let (d0, rest) = dx[2 * oy * iw..].split_at_mut(iw);
            let d1 = &mut rest[..2 * ow];
            for (((&g, a), b), (e0, e1)) in g.iter().zip(r0.chunks_exact(2)).zip(r1.chunks_exact(2)).zip(d0[..2 * ow].chunks_exact_mut(2).zip(d1.chunks_exact_mut(2))) {
                let [w0, w1, w2, w3] = first_max([a[0], a[1], b[0], b[1]]);
                let pick = |won: bool| if won { g } else { T::ZERO };
                (e0[0], e0[1], e1[0], e1[1]) = (pick(w0), pick(w1), pick(w2), pick(w3));
            }
        }
        return;
    }
    let mut grads = dy.iter();
    for &wy in rows {
        for &wx in cols {
            let Some(&g) = grads.next() else { return };
            let (lo, hi) = (wx.0, wx.1);
            match r {
                Reduce::Max => {
                    let (mut m, mut at) = (T::LOWEST, usize::MAX);
                    for h in wy.0..wy.1 {
                        for (i, &v) in x[h * iw + lo..h * iw + hi].iter().enumerate() {
                            if v > m || at == usize::MAX {
                                (m, at) = (v, h * iw + lo + i);
                            }
                        }
                    }
                    if at != usize::MAX {
                        dx[at] += g;
                    }
                }
                Reduce::Sum | Reduce::Avg(_) => {
                    let share = match (r, count(r, wy, wx)) {
                        (Reduce::Sum, _) => g,
                        (_, 0) => continue,
                        (_, c) => g / T::from_f64(c as f64),
                    };
                    for h in wy.0..wy.1 {
                        dx[h * iw + lo..h * iw + hi].iter_mut().for_each(|d| *d += share);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The general loops' rules, window by window: the max starts from LOWEST (a NaN never
    /// wins); the gradient goes to the first element, replaced only by a greater later one.
    fn reference(x: &[f32], ih: usize, iw: usize, dy: &[f32]) -> (Vec<f32>, Vec<f32>) {
        let (oh, ow) = (ih / 2, iw / 2);
        let (mut y, mut dx) = (vec![0.0; oh * ow], vec![0.0; ih * iw]);
        for oy in 0..oh {
            for ox in 0..ow {
                let idx = [2 * oy * iw + 2 * ox, 2 * oy * iw + 2 * ox + 1, (2 * oy + 1) * iw + 2 * ox, (2 * oy + 1) * iw + 2 * ox + 1];
                let (mut m, mut at) = (f32::MIN, None);
                for &i in &idx {
                    if x[i] > m {
                        m = x[i];
                    }
                }
                let mut best = f32::MIN;
                for &i in &idx {
                    if x[i] > best || at.is_none() {
                        (best, at) = (x[i], Some(i));
                    }
                }
                y[oy * ow + ox] = m;
                dx[at.unwrap()] += dy[oy * ow + ox];
            }
        }
        (y, dx)
    }

    #[test]
    fn blocks_2x2_follow_the_general_rules_with_ties_and_nans() {
        let (ih, iw) = (6, 7); // an odd width leaves a column no window reads
        let mut x: Vec<f32> = (0..ih * iw).map(|i| ((i * 5) % 7) as f32 - 3.0).collect();
        x[0] = f32::NAN; // first of its window
        x[iw + 3] = f32::NAN; // last of its window
        x[2 * iw + 4] = 9.0; // ties below
        x[2 * iw + 5] = 9.0;
        x[4 * iw] = f32::NAN;
        x[4 * iw + 1] = f32::NAN;
        x[5 * iw] = f32::NAN;
        x[5 * iw + 1] = f32::NAN; // an all-NaN window
        let axis = |n: usize| -> Vec<(usize, usize, usize)> { (0..n / 2).map(|i| (2 * i, 2 * i + 2, 2)).collect() };
        let (rows, cols) = (axis(ih), axis(iw));
        let dy: Vec<f32> = (0..rows.len() * cols.len()).map(|i| i as f32 + 1.0).collect();
        let (want_y, want_dx) = reference(&x, ih, iw, &dy);
        let mut y = vec![0.0; dy.len()];
        forward(Reduce::Max, &rows, &cols, iw, &x, &mut y);
        let mut dx = vec![f32::NAN; x.len()];
        backward(Reduce::Max, &rows, &cols, iw, &dy, &x, &mut dx);
        assert_eq!(y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), want_y.iter().map(|v| v.to_bits()).collect::<Vec<_>>());
        assert_eq!(dx, want_dx);
    }
}
