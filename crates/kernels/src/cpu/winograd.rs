//! 3x3 stride-1 convolutions by Winograd's minimal filtering F(2x2, 3x3): each 2x2 output tile
//! from a 4x4 input tile with 16 products instead of 36, so the 16 matrix products of a batch
//! of tiles (`filters x channels` by `channels x tiles`, one per tile position) do 4/9 of the
//! multiplications of the direct product. Transforms (Lavin & Gray, 2015):
//!
//! ```text
//! V = Bt d B,  Bt = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]   (input tile)
//! U = G g Gt,  G  = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1] (filter)
//! Y = At M A,  At = [1 1 1 0; 0 1 -1 -1]                     (output tile, M = U . V summed)
//! ```
//!
//! The data gradient is the same computation on `dy` with the filters turned by 180 degrees,
//! inputs and outputs swapped, and the padding `2 - pad`. Rounding differs from the direct
//! product by a few units in the last place (the transforms add and halve).

use rayon::prelude::*;

use super::gemm::{matmul, matmul_serial};
use super::conv_s1::rows;
use super::simd::multiversion;
use crate::conv::ConvPlan;
use crate::float::Float;

/// One stride-1 3x3 correlation as Winograd computes it: `cin` planes of `ih x iw`, padded by
/// `(ph, pw)`, into `cout` planes of `oh x ow`.
#[derive(Clone, Copy, Debug)]
pub struct Wino {
    cin: usize,
    cout: usize,
    ih: usize,
    iw: usize,
    ph: usize,
    pw: usize,
    oh: usize,
    ow: usize,
    /// Tiles down and across, and the padded plane's width (`2 * tx + 2`).
    ty: usize,
    tx: usize,
    width: usize,
}

impl Wino {
    fn new(cin: usize, cout: usize, [ih, iw]: [usize; 2], [ph, pw]: [usize; 2]) -> Self {
        let (oh, ow) = (ih + 2 * ph - 2, iw + 2 * pw - 2);
        let (ty, tx) = (oh.div_ceil(2), ow.div_ceil(2));
        Wino { cin, cout, ih, iw, ph, pw, oh, ow, ty, tx, width: 2 * tx + 2 }
    }

    /// Forward and data-gradient geometries of `p`, where Winograd pays: a 3x3 window, unit
    /// stride and dilation, padding at most 2, enough channels in and out per group (below) and
    /// maps of at least 4x4.
    pub fn for_plan(p: &ConvPlan) -> Option<(Wino, Wino)> {
        let g = &p.geom;
        let plain = g.input[0] == 1 && g.kernel == [1, 3, 3] && g.stride == [1; 3] && g.dilate == [1; 3] && g.pad[0] == 0;
        let (ph, pw) = (g.pad[1], g.pad[2]);
        // The products save work in proportion to channels x filters, the transforms cost in
        // proportion to channels + filters: measured on this machine's AVX-512 cores, Winograd
        // wins from 64 in and out (1.3-1.4x), loses at 32 in and 64 out (0.7-0.8x).
        let (c, f) = (g.channels, p.fg());
        if !plain || ph > 2 || pw > 2 || c * f < 32 * (c + f) || g.output[1] < 4 || g.output[2] < 4 {
            return None;
        }
        let fwd = Wino::new(g.channels, p.fg(), [g.input[1], g.input[2]], [ph, pw]);
        let bwd = Wino::new(p.fg(), g.channels, [g.output[1], g.output[2]], [2 - ph, 2 - pw]);
        Some((fwd, bwd))
    }

    fn tiles(&self) -> usize {
        self.ty * self.tx
    }

    fn plane(&self) -> usize {
        (2 * self.ty + 2) * self.width
    }

    /// `U[xi][o][i]` (16 x cout x cin) from `tap(o, i, a, b)`, the filter of output `o` and
    /// input `i` at kernel offset `(a, b)`.
    fn filters<T: Float>(&self, tap: impl Fn(usize, usize, usize, usize) -> T) -> Vec<T> {
        let (n, half) = (self.cout * self.cin, T::from_f64(0.5));
        let mut u = vec![T::ZERO; 16 * n];
        for o in 0..self.cout {
            for i in 0..self.cin {
                let g = |a: usize, b: usize| tap(o, i, a, b);
                // G g: 4 x 3
                let t: [[T; 3]; 4] = [
                    [0, 1, 2].map(|b| g(0, b)),
                    [0, 1, 2].map(|b| (g(0, b) + g(1, b) + g(2, b)) * half),
                    [0, 1, 2].map(|b| (g(0, b) - g(1, b) + g(2, b)) * half),
                    [0, 1, 2].map(|b| g(2, b)),
                ];
                // (G g) Gt: 4 x 4
                for (r, row) in t.iter().enumerate() {
                    let [g0, g1, g2] = *row;
                    let vals = [g0, (g0 + g1 + g2) * half, (g0 - g1 + g2) * half, g2];
                    for (c, v) in vals.into_iter().enumerate() {
                        u[(r * 4 + c) * n + o * self.cin + i] = v;
                    }
                }
            }
        }
        u
    }

    /// Image `x` (`cin x ih x iw`) into the zero-bordered planes `pad` (border never written).
    fn pad_into<T: Float>(&self, x: &[T], pad: &mut [T]) {
        let plane = self.plane();
        for c in 0..self.cin {
            for h in 0..self.ih {
                let dst = &mut pad[c * plane + (h + self.ph) * self.width + self.pw..][..self.iw];
                dst.copy_from_slice(&x[(c * self.ih + h) * self.iw..][..self.iw]);
            }
        }
    }

    /// `V[xi][c][col0 + tile]` (rows of length `ld`) from the padded planes: `Bt` over each
    /// tile row's four input rows at once (whole rows, so the loops vectorize), then `B` tile by
    /// tile along the row.
    fn tiles_in<T: Float>(&self, pad: &[T], v: &mut [T], col0: usize, ld: usize) {
        tiles_in(self, pad, v, col0, ld)
    }

    #[inline(always)]
    fn tiles_in_body<T: Float>(&self, pad: &[T], v: &mut [T], col0: usize, ld: usize) {
        let (plane, w, stride, tx) = (self.plane(), self.width, self.cin * ld, self.tx);
        let mut r = [vec![T::ZERO; w], vec![T::ZERO; w], vec![T::ZERO; w], vec![T::ZERO; w]];
        for c in 0..self.cin {
            for ty in 0..self.ty {
                let at = |i: usize| &pad[c * plane + (2 * ty + i) * w..][..w];
                let (p0, p1, p2, p3) = (at(0), at(1), at(2), at(3));
                let [r0, r1, r2, r3] = &mut r;
                for x in 0..w {
                    r0[x] = p0[x] - p2[x];
                    r1[x] = p1[x] + p2[x];
                    r2[x] = p2[x] - p1[x];
                    r3[x] = p1[x] - p3[x];
                }
                let col = c * ld + col0 + ty * tx;
                for (k, rk) in r.iter().enumerate() {
                    // Tile t reads rk[2t..2t + 4]: even and odd halves of the row.
                    let rk = &rk[..2 * tx + 2];
                    let dst = |q: usize| (k * 4 + q) * stride + col;
                    for (t, d) in v[dst(0)..][..tx].iter_mut().enumerate() {
                        *d = rk[2 * t] - rk[2 * t + 2];
                    }
                    for (t, d) in v[dst(1)..][..tx].iter_mut().enumerate() {
                        *d = rk[2 * t + 1] + rk[2 * t + 2];
                    }
                    for (t, d) in v[dst(2)..][..tx].iter_mut().enumerate() {
                        *d = rk[2 * t + 2] - rk[2 * t + 1];
                    }
                    for (t, d) in v[dst(3)..][..tx].iter_mut().enumerate() {
                        *d = rk[2 * t + 1] - rk[2 * t + 3];
                    }
                }
            }
        }
    }

    /// `y` (`cout x oh x ow`, overwritten, plus `bias[o]`) from `M[xi][o][col0 + tile]`: `At`
    /// along a tile row's 16 planes at once, then `A` into the two output rows.
    fn tiles_out<T: Float>(&self, m: &[T], col0: usize, ld: usize, y: &mut [T], bias: Option<&[T]>) {
        tiles_out(self, m, col0, ld, y, bias)
    }

    #[inline(always)]
    fn tiles_out_body<T: Float>(&self, m: &[T], col0: usize, ld: usize, y: &mut [T], bias: Option<&[T]>) {
        let (stride, tx, ow) = (self.cout * ld, self.tx, self.ow);
        let mut t = [(); 8].map(|_| vec![T::ZERO; tx]);
        for o in 0..self.cout {
            let b = bias.map_or(T::ZERO, |b| b[o]);
            let plane = &mut y[o * self.oh * ow..][..self.oh * ow];
            for ty in 0..self.ty {
                let col = o * ld + col0 + ty * tx;
                let mm = |r: usize, c: usize| &m[(r * 4 + c) * stride + col..][..tx];
                for c in 0..4 {
                    let (m0, m1, m2, m3) = (mm(0, c), mm(1, c), mm(2, c), mm(3, c));
                    let (lo, hi) = t.split_at_mut(4);
                    let (t0, t1) = (&mut lo[c], &mut hi[c]);
                    for i in 0..tx {
                        t0[i] = m0[i] + m1[i] + m2[i];
                        t1[i] = m1[i] - m2[i] - m3[i];
                    }
                }
                for half in 0..2 {
                    let yy = 2 * ty + half;
                    if yy >= self.oh {
                        continue;
                    }
                    let [a, bb, c, d] = [&t[4 * half], &t[4 * half + 1], &t[4 * half + 2], &t[4 * half + 3]];
                    let row = &mut plane[yy * ow..][..ow];
                    for (i, pair) in row.chunks_mut(2).enumerate() {
                        pair[0] = a[i] + bb[i] + c[i] + b;
                        if let Some(second) = pair.get_mut(1) {
                            *second = bb[i] - c[i] - d[i] + b;
                        }
                    }
                }
            }
        }
    }

    /// The correlation over `batch` images of `x` into `y` with filters `u` (from `filters`),
    /// groups of images in parallel; `x_at(n)`/`y_at(n)` give image `n`'s offsets.
    #[allow(clippy::too_many_arguments)]
    fn run<T: Float>(&self, batch: usize, u: &[T], x: &[T], x_at: impl Fn(usize) -> usize + Sync, y: &mut [T], y_image: usize, y_off: usize, bias: Option<&[T]>) {
        let tiles = self.tiles();
        // Images per product: transformed tiles of about 2 MB. Each thread takes a run of whole
        // groups and reuses one set of buffers for them.
        let per_image = 16 * (self.cin + self.cout) * tiles;
        let nb = ((1 << 19) / per_image.max(1)).clamp(1, batch.max(1));
        let groups = batch.div_ceil(nb);
        let threads = rayon::current_num_threads().min(groups).max(1);
        let per_thread = groups.div_ceil(threads);
        let serial = threads > 1;
        let work = |(part, ys): (usize, &mut [T])| {
            let most = nb * tiles;
            let (mut pad, mut v, mut m) = (vec![T::ZERO; self.cin * self.plane()], vec![T::ZERO; 16 * self.cin * most], vec![T::ZERO; 16 * self.cout * most]);
            for (k, ys) in ys.chunks_mut(nb * y_image).enumerate() {
                let first = (part * per_thread + k) * nb;
                let count = ys.len().div_ceil(y_image);
                let ld = count * tiles;
                for j in 0..count {
                    self.pad_into(&x[x_at(first + j)..][..self.cin * self.ih * self.iw], &mut pad);
                    self.tiles_in(&pad, &mut v, j * tiles, ld);
                }
                let (nu, nv, nm) = (self.cout * self.cin, self.cin * ld, self.cout * ld);
                for xi in 0..16 {
                    let (a, b, c) = (rows(u[xi * nu..].as_ptr(), self.cin), rows(v[xi * nv..].as_ptr(), ld), m[xi * nm..].as_mut_ptr());
                    // SAFETY: U_xi is cout x cin, V_xi cin x ld, M_xi cout x ld, all in bounds.
                    unsafe {
                        if serial {
                            matmul_serial(self.cout, ld, self.cin, a, b, c, false)
                        } else {
                            matmul(self.cout, ld, self.cin, a, b, c, false)
                        }
                    }
                }
                for j in 0..count {
                    self.tiles_out(&m, j * tiles, ld, &mut ys[j * y_image + y_off..][..self.cout * self.oh * self.ow], bias);
                }
            }
        };
        y.par_chunks_mut(per_thread * nb * y_image).enumerate().for_each(work);
    }
}

#[inline(always)]
fn tiles_in_body<T: Float>(wg: &Wino, pad: &[T], v: &mut [T], col0: usize, ld: usize) {
    wg.tiles_in_body(pad, v, col0, ld)
}

#[inline(always)]
fn tiles_out_body<T: Float>(wg: &Wino, m: &[T], col0: usize, ld: usize, y: &mut [T], bias: Option<&[T]>) {
    wg.tiles_out_body(m, col0, ld, y, bias)
}

multiversion! {
    fn tiles_in<T: Float>(wg: &Wino, pad: &[T], v: &mut [T], col0: usize, ld: usize) => tiles_in_body
}

multiversion! {
    fn tiles_out<T: Float>(wg: &Wino, m: &[T], col0: usize, ld: usize, y: &mut [T], bias: Option<&[T]>) => tiles_out_body
}

/// `y = conv(x, w) (+ bias)` for a plan `Wino::for_plan` accepted (its first geometry).
pub fn forward<T: Float>(p: &ConvPlan, wg: &Wino, x: &[T], w: &[T], bias: Option<&[T]>, y: &mut [T]) {
    let (fg, c) = (p.fg(), p.geom.channels);
    for gi in 0..p.groups {
        let wg_ = &w[gi * p.w_group()..][..p.w_group()];
        let u = wg.filters(|o, i, a, b| wg_[((o * c + i) * 3 + a) * 3 + b]);
        let xg = c * p.geom.input_size();
        wg.run(p.batch, &u, x, |n| n * p.x_image() + gi * xg, y, p.y_image(), gi * fg * p.geom.output_size(), bias.map(|b| &b[gi * fg..][..fg]));
    }
}

/// `dx = conv^T(dy, w)` for a plan `Wino::for_plan` accepted (its second geometry).
pub fn backward_data<T: Float>(p: &ConvPlan, wg: &Wino, dy: &[T], w: &[T], dx: &mut [T]) {
    let (fg, c) = (p.fg(), p.geom.channels);
    for gi in 0..p.groups {
        let wg_ = &w[gi * p.w_group()..][..p.w_group()];
        // Output channel `o` of the gradient is input channel `o` of the forward; the filter
        // turned by 180 degrees.
        let u = wg.filters(|o, i, a, b| wg_[((i * c + o) * 3 + 2 - a) * 3 + 2 - b]);
        let yg = fg * p.geom.output_size();
        wg.run(p.batch, &u, dy, |n| n * p.y_image() + gi * yg, dx, p.x_image(), gi * c * p.geom.input_size(), None);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::Geometry;

    fn plan(batch: usize, groups: usize, c: usize, f: usize, [ih, iw]: [usize; 2], [ph, pw]: [usize; 2]) -> ConvPlan {
        let geom = Geometry { channels: c, input: [1, ih, iw], output: [1, ih + 2 * ph - 2, iw + 2 * pw - 2], kernel: [1, 3, 3], stride: [1; 3], pad: [0, ph, pw], dilate: [1; 3] };
        ConvPlan { batch, groups, out_channels: f * groups, geom }
    }

    /// The definition: `y[n, o, y, x] = sum w[o, i, a, b] x[n, g*c + i, y + a - ph, x + b - pw]`.
    fn naive(p: &ConvPlan, x: &[f64], w: &[f64], bias: &[f64]) -> Vec<f64> {
        let g = &p.geom;
        let (c, fg, [_, ih, iw], [_, oh, ow]) = (g.channels, p.fg(), g.input, g.output);
        let mut y = vec![0.0; p.batch * p.y_image()];
        for n in 0..p.batch {
            for o in 0..p.out_channels {
                let gi = o / fg;
                for yy in 0..oh {
                    for xx in 0..ow {
                        let mut s = bias[o];
                        for i in 0..c {
                            for a in 0..3 {
                                for b in 0..3 {
                                    let (h, v) = ((yy + a) as isize - g.pad[1] as isize, (xx + b) as isize - g.pad[2] as isize);
                                    if h >= 0 && v >= 0 && (h as usize) < ih && (v as usize) < iw {
                                        s += w[((o * c + i) * 3 + a) * 3 + b] * x[n * p.x_image() + ((gi * c + i) * ih + h as usize) * iw + v as usize];
                                    }
                                }
                            }
                        }
                        y[n * p.y_image() + (o * oh + yy) * ow + xx] = s;
                    }
                }
            }
        }
        y
    }

    fn values(n: usize, seed: usize) -> Vec<f64> {
        (0..n).map(|i| (((i * 7919 + seed * 104729) % 1000) as f64 / 500.0) - 1.0).collect()
    }

    #[test]
    fn tiles_compute_the_convolution_and_its_data_gradient() {
        for p in [plan(3, 1, 64, 65, [5, 7], [1, 1]), plan(2, 2, 64, 64, [6, 4], [0, 2]), plan(1, 1, 66, 64, [4, 9], [2, 0])] {
            let (fwd, bwd) = Wino::for_plan(&p).expect("a Winograd plan");
            let x = values(p.batch * p.x_image(), 1);
            let w = values(p.out_channels * p.geom.channels * 9, 2);
            let bias = values(p.out_channels, 3);
            let mut y = vec![f64::NAN; p.batch * p.y_image()];
            forward(&p, &fwd, &x, &w, Some(&bias), &mut y);
            let want = naive(&p, &x, &w, &bias);
            assert!(y.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-10), "{p:?}");
            // The data gradient is the adjoint: <conv(x), dy> = <x, conv^T(dy)> (no bias).
            let dy = values(y.len(), 4);
            let mut dx = vec![f64::NAN; x.len()];
            backward_data(&p, &bwd, &dy, &w, &mut dx);
            let plain = naive(&p, &x, &w, &vec![0.0; p.out_channels]);
            let lhs: f64 = plain.iter().zip(&dy).map(|(a, b)| a * b).sum();
            let rhs: f64 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-8 * lhs.abs().max(1.0), "{p:?}: {lhs} vs {rhs}");
        }
    }

    #[test]
    fn small_or_other_windows_are_left_to_the_products() {
        assert!(Wino::for_plan(&plan(1, 1, 32, 64, [8, 8], [1, 1])).is_none());
        assert!(Wino::for_plan(&plan(1, 1, 64, 64, [3, 3], [0, 0])).is_none());
        assert!(Wino::for_plan(&plan(1, 1, 64, 64, [8, 8], [1, 1])).is_some());
    }
}
