//! Host loops of [`crate::correlation`]: FlowNet's correlation of two NCHW feature maps.

use crate::correlation::CorrPlan;
use crate::dtype::Element;

/// The element at `(c, y, x)` of the zero-padded map `b` of `a` (NCHW, batch `n`).
#[inline]
fn at<T: Element>(a: &[T], p: &CorrPlan, n: usize, c: usize, y: isize, x: isize) -> f64 {
    let (y, x) = (y - p.pad as isize, x - p.pad as isize);
    if y < 0 || x < 0 || y >= p.h as isize || x >= p.w as isize {
        return 0.0;
    }
    a[((n * p.c + c) * p.h + y as usize) * p.w + x as usize].to_f64()
}

/// For each output element: the batch, its displacement's channel, and the patch corners.
fn each(p: &CorrPlan, mut f: impl FnMut(usize, usize, isize, isize, isize, isize)) {
    let r = (p.max_disp / p.stride2) as isize;
    let grid = 2 * r as usize + 1;
    for n in 0..p.n {
        for tc in 0..grid * grid {
            let (dx, dy) = (((tc % grid) as isize - r) * p.stride2 as isize, ((tc / grid) as isize - r) * p.stride2 as isize);
            for i in 0..p.out_h {
                for j in 0..p.out_w {
                    let (x1, y1) = ((j * p.stride1 + p.max_disp) as isize, (i * p.stride1 + p.max_disp) as isize);
                    let idx = ((n * grid * grid + tc) * p.out_h + i) * p.out_w + j;
                    f(n, idx, x1, y1, x1 + dx, y1 + dy);
                }
            }
        }
    }
}

pub fn forward<T: Element>(p: &CorrPlan, a: &[T], b: &[T], y: &mut [T]) {
    let norm = (p.kernel * p.kernel * p.c) as f64;
    each(p, |n, idx, x1, y1, x2, y2| {
        let mut acc = 0.0;
        for h in 0..p.kernel as isize {
            for w in 0..p.kernel as isize {
                for c in 0..p.c {
                    let (u, v) = (at(a, p, n, c, y1 + h, x1 + w), at(b, p, n, c, y2 + h, x2 + w));
                    acc += if p.multiply { u * v } else { (u - v).abs() };
                }
            }
        }
        y[idx] = T::from_f64(acc / norm);
    });
}

/// Adds `g` at `(c, y, x)` of the padded map when it lies inside the unpadded one.
#[inline]
fn add<T: Element>(d: &mut [T], p: &CorrPlan, n: usize, c: usize, y: isize, x: isize, g: f64) {
    let (y, x) = (y - p.pad as isize, x - p.pad as isize);
    if y >= 0 && x >= 0 && y < p.h as isize && x < p.w as isize {
        let i = ((n * p.c + c) * p.h + y as usize) * p.w + x as usize;
        d[i] = T::from_f64(d[i].to_f64() + g);
    }
}

pub fn backward<T: Element>(p: &CorrPlan, dy: &[T], a: &[T], b: &[T], da: &mut [T], db: &mut [T]) {
    da.iter_mut().chain(db.iter_mut()).for_each(|v| *v = T::from_f64(0.0));
    let norm = (p.kernel * p.kernel * p.c) as f64;
    each(p, |n, idx, x1, y1, x2, y2| {
        let g = dy[idx].to_f64() / norm;
        for h in 0..p.kernel as isize {
            for w in 0..p.kernel as isize {
                for c in 0..p.c {
                    let (u, v) = (at(a, p, n, c, y1 + h, x1 + w), at(b, p, n, c, y2 + h, x2 + w));
                    let (gu, gv) = if p.multiply { (g * v, g * u) } else { let s = (u - v).signum() * g; (s, -s) };
                    add(da, p, n, c, y1 + h, x1 + w, gu);
                    add(db, p, n, c, y2 + h, x2 + w, gv);
                }
            }
        }
    });
}
