//! Host loops of [`crate::spatial`]: region-of-interest max pooling, sampling grids, and
//! bilinear sampling with its gradients. All NCHW; computed in float64 per element.

use crate::dtype::Element;

/// MXNet's `round` (half away from zero), used on scaled ROI corners.
fn round(v: f64) -> i64 {
    v.round() as i64
}

/// Per ROI `[batch, x1, y1, x2, y2]` (a batch index outside the batch gives zeros): the maximum of each of `ph x pw` bins over every
/// channel, and the flat index in `x` of the element chosen (-1 for an empty bin, valued 0).
#[allow(clippy::too_many_arguments)]
pub fn roi_pool<T: Element>(x: &[T], dims: [usize; 4], rois: &[T], (ph, pw): (usize, usize), scale: f64, y: &mut [T], argmax: &mut [i64]) {
    let [n, c, h, w] = dims;
    for (r, roi) in rois.chunks_exact(5).enumerate() {
        let b = roi[0].to_f64() as i64;
        if b < 0 || b >= n as i64 {
            // A region of no image in the batch pools to zeros, as MXNet's does.
            let first = r * c * ph * pw;
            y[first..first + c * ph * pw].iter_mut().for_each(|v| *v = T::from_f64(0.0));
            argmax[first..first + c * ph * pw].iter_mut().for_each(|v| *v = -1);
            continue;
        }
        let b = b as usize;
        let (x1, y1) = (round(roi[1].to_f64() * scale), round(roi[2].to_f64() * scale));
        let (x2, y2) = (round(roi[3].to_f64() * scale), round(roi[4].to_f64() * scale));
        let (rh, rw) = ((y2 - y1 + 1).max(1) as f64, (x2 - x1 + 1).max(1) as f64);
        let (bh, bw) = (rh / ph as f64, rw / pw as f64);
        for ch in 0..c {
            let plane = (b * c + ch) * h * w;
            for i in 0..ph {
                let hs = ((i as f64 * bh).floor() as i64 + y1).clamp(0, h as i64) as usize;
                let he = (((i + 1) as f64 * bh).ceil() as i64 + y1).clamp(0, h as i64) as usize;
                for j in 0..pw {
                    let ws = ((j as f64 * bw).floor() as i64 + x1).clamp(0, w as i64) as usize;
                    let we = (((j + 1) as f64 * bw).ceil() as i64 + x1).clamp(0, w as i64) as usize;
                    let (mut best, mut at) = (f64::NEG_INFINITY, -1i64);
                    for yy in hs..he {
                        for xx in ws..we {
                            let v = x[plane + yy * w + xx].to_f64();
                            if v > best {
                                best = v;
                                at = (plane + yy * w + xx) as i64;
                            }
                        }
                    }
                    let o = ((r * c + ch) * ph + i) * pw + j;
                    y[o] = T::from_f64(if at < 0 { 0.0 } else { best });
                    argmax[o] = at;
                }
            }
        }
    }
}

/// `dx[argmax[o]] += dy[o]` over zeroed `dx`; false if an index lies outside `dx`.
pub fn roi_pool_backward<T: Element>(dy: &[T], argmax: &[i64], dx: &mut [T]) -> bool {
    dx.iter_mut().for_each(|v| *v = T::from_f64(0.0));
    for (g, &a) in dy.iter().zip(argmax) {
        if a >= 0 {
            let Some(d) = dx.get_mut(a as usize) else { return false };
            *d = T::from_f64(d.to_f64() + g.to_f64());
        }
    }
    true
}

/// The normalized coordinate of pixel `i` of `n` in [-1, 1].
fn norm(i: usize, n: usize) -> f64 {
    if n > 1 { -1.0 + 2.0 * i as f64 / (n - 1) as f64 } else { 0.0 }
}

/// Affine grids: per batch item the 2x3 matrix `theta` applied to each target pixel's
/// normalized `(x, y, 1)`; `grid` is `(n, 2, h, w)`, x first.
pub fn affine_grid<T: Element>(theta: &[T], (h, w): (usize, usize), grid: &mut [T]) {
    for (t, g) in theta.chunks_exact(6).zip(grid.chunks_exact_mut(2 * h * w)) {
        let t: Vec<f64> = t.iter().map(|v| v.to_f64()).collect();
        for i in 0..h {
            for j in 0..w {
                let (x, y) = (norm(j, w), norm(i, h));
                g[i * w + j] = T::from_f64(t[0] * x + t[1] * y + t[2]);
                g[h * w + i * w + j] = T::from_f64(t[3] * x + t[4] * y + t[5]);
            }
        }
    }
}

/// The gradient of [`affine_grid`] with respect to `theta`.
pub fn affine_grid_backward<T: Element>(dgrid: &[T], (h, w): (usize, usize), dtheta: &mut [T]) {
    for (g, t) in dgrid.chunks_exact(2 * h * w).zip(dtheta.chunks_exact_mut(6)) {
        let mut acc = [0f64; 6];
        for i in 0..h {
            for j in 0..w {
                let (x, y) = (norm(j, w), norm(i, h));
                let (gx, gy) = (g[i * w + j].to_f64(), g[h * w + i * w + j].to_f64());
                acc[0] += gx * x;
                acc[1] += gx * y;
                acc[2] += gx;
                acc[3] += gy * x;
                acc[4] += gy * y;
                acc[5] += gy;
            }
        }
        t.iter_mut().zip(acc).for_each(|(o, v)| *o = T::from_f64(v));
    }
}

/// Warp grids: each pixel moved by its flow `(dx, dy)`, normalized to [-1, 1]; and (with
/// `backward`) the flow's gradient, the grid's scaled back.
pub fn warp_grid<T: Element>(flow: &[T], (h, w): (usize, usize), backward: bool, out: &mut [T]) {
    let (sx, sy) = (((w.max(2) - 1) as f64) / 2.0, ((h.max(2) - 1) as f64) / 2.0);
    for (f, o) in flow.chunks_exact(2 * h * w).zip(out.chunks_exact_mut(2 * h * w)) {
        for i in 0..h {
            for j in 0..w {
                let (a, b) = (i * w + j, h * w + i * w + j);
                if backward {
                    o[a] = T::from_f64(f[a].to_f64() / sx);
                    o[b] = T::from_f64(f[b].to_f64() / sy);
                } else {
                    o[a] = T::from_f64((f[a].to_f64() + j as f64) / sx - 1.0);
                    o[b] = T::from_f64((f[b].to_f64() + i as f64) / sy - 1.0);
                }
            }
        }
    }
}

/// The four neighbours of a sampling point: (y, x, weight, d weight/d x_real, d weight/d y_real).
fn corners(gx: f64, gy: f64, h: usize, w: usize) -> [(i64, i64, f64, f64, f64); 4] {
    let (xr, yr) = ((gx + 1.0) * (w as f64 - 1.0) / 2.0, (gy + 1.0) * (h as f64 - 1.0) / 2.0);
    let (x0, y0) = (xr.floor(), yr.floor());
    let (wx, wy) = (1.0 - (xr - x0), 1.0 - (yr - y0));
    let (x0, y0) = (x0 as i64, y0 as i64);
    [
        (y0, x0, wy * wx, -wy, -wx),
        (y0, x0 + 1, wy * (1.0 - wx), wy, -(1.0 - wx)),
        (y0 + 1, x0, (1.0 - wy) * wx, -(1.0 - wy), wx),
        (y0 + 1, x0 + 1, (1.0 - wy) * (1.0 - wx), 1.0 - wy, 1.0 - wx),
    ]
}

fn inside(y: i64, x: i64, h: usize, w: usize) -> bool {
    y >= 0 && x >= 0 && (y as usize) < h && (x as usize) < w
}

/// `out[n, c, i, j]` = `x[n, c]` sampled bilinearly at the grid's point (zeros outside).
pub fn bilinear<T: Element>(x: &[T], [n, c, h, w]: [usize; 4], grid: &[T], (oh, ow): (usize, usize), out: &mut [T]) {
    for b in 0..n {
        let g = &grid[b * 2 * oh * ow..(b + 1) * 2 * oh * ow];
        for p in 0..oh * ow {
            let pts = corners(g[p].to_f64(), g[oh * ow + p].to_f64(), h, w);
            for ch in 0..c {
                let plane = &x[(b * c + ch) * h * w..(b * c + ch + 1) * h * w];
                let v: f64 = pts.iter().filter(|q| inside(q.0, q.1, h, w)).map(|q| q.2 * plane[q.0 as usize * w + q.1 as usize].to_f64()).sum();
                out[(b * c + ch) * oh * ow + p] = T::from_f64(v);
            }
        }
    }
}

/// The gradients of [`bilinear`] with respect to the data (into zeroed `dx`) and the grid.
#[allow(clippy::too_many_arguments)]
pub fn bilinear_backward<T: Element>(dy: &[T], x: &[T], [n, c, h, w]: [usize; 4], grid: &[T], (oh, ow): (usize, usize), dx: &mut [T], dgrid: &mut [T]) {
    dx.iter_mut().for_each(|v| *v = T::from_f64(0.0));
    let (sx, sy) = ((w as f64 - 1.0) / 2.0, (h as f64 - 1.0) / 2.0);
    for b in 0..n {
        let g = &grid[b * 2 * oh * ow..(b + 1) * 2 * oh * ow];
        for p in 0..oh * ow {
            let pts = corners(g[p].to_f64(), g[oh * ow + p].to_f64(), h, w);
            let (mut gx, mut gy) = (0.0, 0.0);
            for ch in 0..c {
                let base = (b * c + ch) * h * w;
                let d = dy[(b * c + ch) * oh * ow + p].to_f64();
                for q in pts.iter().filter(|q| inside(q.0, q.1, h, w)) {
                    let at = base + q.0 as usize * w + q.1 as usize;
                    dx[at] = T::from_f64(dx[at].to_f64() + d * q.2);
                    let v = x[at].to_f64();
                    gx += d * v * q.3;
                    gy += d * v * q.4;
                }
            }
            dgrid[b * 2 * oh * ow + p] = T::from_f64(gx * sx);
            dgrid[b * 2 * oh * ow + oh * ow + p] = T::from_f64(gy * sy);
        }
    }
}
