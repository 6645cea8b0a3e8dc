//! The host's padding loops: each plane (one channel of one image) copied through per-axis
//! coordinate maps, planes in parallel (rayon). The backward is the copy's adjoint.

use rayon::prelude::*;

use crate::float::Float;
use crate::pad::{PadMode as Mode, PadPlan};

/// Where one plane's output elements come from.
struct Map {
    /// For each output coordinate of each spatial axis (as three), the input coordinate it
    /// copies, or `None` in constant padding.
    axes: [Vec<Option<usize>>; 3],
    ih: usize,
    iw: usize,
}

impl Map {
    fn new(plan: &PadPlan, x: &[usize]) -> Self {
        let spatial = &x[2..];
        let lead = 3 - spatial.len();
        let axes = std::array::from_fn(|a| {
            if a < lead {
                return vec![Some(0)];
            }
            let i = a - lead + 2;
            let (n, lo, hi) = (x[i] as isize, plan.width[2 * i] as isize, plan.width[2 * i + 1] as isize);
            (-lo..n + hi)
                .map(|j| match plan.mode {
                    _ if (0..n).contains(&j) => Some(j as usize),
                    Mode::Constant => None,
                    Mode::Edge => Some(j.clamp(0, n - 1) as usize),
                    Mode::Reflect if j < 0 => Some((-j) as usize),
                    Mode::Reflect => Some((2 * (n - 1) - j) as usize),
                })
                .collect()
        });
        Map { axes, ih: x[x.len() - 2], iw: x[x.len() - 1] }
    }

    /// Visits (output index, input index if any) over one plane, row by row.
    fn visit(&self, f: &mut dyn FnMut(usize, Option<usize>)) {
        let [md, mh, mw] = &self.axes;
        let (ih, iw) = (self.ih, self.iw);
        let mut o = 0;
        for z in md {
            for y in mh {
                let row = z.zip(*y).map(|(z, y)| (z * ih + y) * iw);
                for x in mw {
                    f(o, row.zip(*x).map(|(r, x)| r + x));
                    o += 1;
                }
            }
        }
    }
}

/// Elements of one plane of `s`.
fn plane(s: &[usize]) -> usize {
    s[2..].iter().product::<usize>()
}

/// `y = pad(x)`, for `x` of shape `xshape` and `y` of `oshape`.
pub fn forward<T: Float>(plan: &PadPlan, xshape: &[usize], oshape: &[usize], x: &[T], y: &mut [T]) {
    let (ip, op) = (plane(xshape), plane(oshape));
    if ip == 0 && op == 0 {
        return;
    }
    let map = Map::new(plan, xshape);
    let fill = T::from_f64(plan.value);
    if ip == 0 {
        y.fill(fill);
        return;
    }
    y.par_chunks_mut(op).zip(x.par_chunks(ip)).for_each(|(y, x)| map.visit(&mut |o, i| y[o] = i.map_or(fill, |i| x[i])));
}

/// `dx` from `dy` (of shape `oshape`), for data of shape `xshape`.
pub fn backward<T: Float>(plan: &PadPlan, xshape: &[usize], oshape: &[usize], dy: &[T], dx: &mut [T]) {
    let (ip, op) = (plane(xshape), plane(oshape));
    if ip == 0 {
        return;
    }
    let map = Map::new(plan, xshape);
    dx.par_chunks_mut(ip).zip(dy.par_chunks(op)).for_each(|(dx, dy)| {
        dx.fill(T::ZERO);
        map.visit(&mut |o, i| {
            if let Some(i) = i {
                dx[i] += dy[o];
            }
        });
    });
}
