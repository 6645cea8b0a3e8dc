//! 3x3 stride-1 convolutions by Winograd's minimal filtering F(4x4, 3x3): each 4x4 output tile
//! from a 6x6 input tile with 36 products instead of 144, so the 36 matrix products of a batch
//! of tiles (`filters x channels` by `channels x tiles`, one per position in the 6x6 tile) do
//! a quarter of the multiplications of the direct product. Transforms (Lavin & Gray, 2015,
//! interpolation points 0, 1, -1, 2, -2):
//!
//! ```text
//! V = Bt d B   Bt = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0;
//!                    0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]         (input tile)
//! U = G g Gt   G  = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6;
//!                    1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]               (filter)
//! Y = At M A   At = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]  (M = U . V summed)
//! ```
//!
//! F(2x2, 3x3) does 4/9 of the direct product's multiplications and F(4x4, 3x3) 1/4, with
//! transformed tiles of 36/16 values per output rather than 4, so it wins on both counts; its
//! rounding differs from the direct product's by a few more units in the last place (f32
//! results agree to about 1e-5 relative, as oneDNN's and NNPACK's Winograd do).
//!
//! The data gradient is the same computation on `dy` with the filters turned by 180 degrees,
//! inputs and outputs swapped, and the padding `2 - pad`.

use rayon::prelude::*;

use super::gemm::{matmul_on, rows};
use super::simd::{multiversion, wide};
use crate::conv::ConvPlan;
use crate::float::Float;

/// One stride-1 3x3 correlation as Winograd computes it: `cin` planes of `ih x iw`, padded by
/// `(ph, pw)`, into `cout` planes of `oh x ow`.
#[derive(Clone, Copy, Debug)]
pub struct Wino {
    pub(super) cin: usize,
    pub(super) cout: usize,
    pub(super) ih: usize,
    pub(super) iw: usize,
    pub(super) ph: usize,
    pub(super) pw: usize,
    pub(super) oh: usize,
    pub(super) ow: usize,
    /// Tiles down and across, and the padded row's length: four column phases of `tx + 1`.
    pub(super) ty: usize,
    pub(super) tx: usize,
    pub(super) width: usize,
}

impl Wino {
    fn new(cin: usize, cout: usize, [ih, iw]: [usize; 2], [ph, pw]: [usize; 2]) -> Self {
        let (oh, ow) = (ih + 2 * ph - 2, iw + 2 * pw - 2);
        let (ty, tx) = (oh.div_ceil(4), ow.div_ceil(4));
        Wino { cin, cout, ih, iw, ph, pw, oh, ow, ty, tx, width: 4 * (tx + 1) }
    }

    /// Forward and data-gradient geometries of `p`, where Winograd pays: a 3x3 window, unit
    /// stride and dilation, padding at most 2, enough channels in and out per group (below) and
    /// maps of at least 4x4.
    pub fn for_plan(p: &ConvPlan) -> Option<(Wino, Wino)> {
        let g = &p.geom;
        let plain = g.input[0] == 1 && g.kernel == [1, 3, 3] && g.stride == [1; 3] && g.dilate == [1; 3] && g.pad[0] == 0;
        let (ph, pw) = (g.pad[1], g.pad[2]);
        // The products save work in proportion to channels x filters, the transforms cost in
        // proportion to channels + filters: measured with F(2x2, 3x3) on AVX-512 cores,
        // Winograd won from 64 in and out (1.3-1.4x) and lost at 32 in and 64 out (0.7-0.8x).
        let (c, f) = (g.channels, p.fg());
        if !plain || ph > 2 || pw > 2 || c * f < 32 * (c + f) || g.output[1] < 4 || g.output[2] < 4 {
            return None;
        }
        let fwd = Wino::new(g.channels, p.fg(), [g.input[1], g.input[2]], [ph, pw]);
        let bwd = Wino::new(p.fg(), g.channels, [g.output[1], g.output[2]], [2 - ph, 2 - pw]);
        Some((fwd, bwd))
    }

    pub(super) fn tiles(&self) -> usize {
        self.ty * self.tx
    }

    pub(super) fn plane(&self) -> usize {
        (4 * self.ty + 2) * self.width
    }

    /// `U[o][xi][i]` (cout x 36 x cin; the product for `xi` reads rows `36 * cin` apart) from
    /// `tap(o, i, a, b)`, the filter of output `o` and input `i` at kernel offset `(a, b)`:
    /// filters in parallel, each as runs over its inputs.
    fn filters<T: Float>(&self, tap: impl Fn(usize, usize, usize, usize) -> T + Sync) -> Vec<T> {
        let cin = self.cin;
        let mut u = vec![T::ZERO; 36 * self.cout * cin];
        u.par_chunks_mut(36 * cin).enumerate().for_each(|(o, uo)| {
            let taps: [Vec<T>; 9] = std::array::from_fn(|ab| (0..cin).map(|i| tap(o, i, ab / 3, ab % 3)).collect());
            // G g (6 x 3 runs), column by column of the filter, then (G g) Gt row by row.
            let mut gg: [[Vec<T>; 3]; 6] = std::array::from_fn(|_| std::array::from_fn(|_| vec![T::ZERO; cin]));
            for b in 0..3 {
                lanes::<G, _, 3, 6>(gg.each_mut().map(|row| row[b].as_mut_slice()), [0, 1, 2].map(|a| taps[a * 3 + b].as_slice()));
            }
            for (r, row) in gg.iter().enumerate() {
                lanes::<G, _, 3, 6>(rows_mut(&mut uo[r * 6 * cin..], cin, cin), row.each_ref().map(|v| v.as_slice()));
            }
        });
        u
    }

    /// Image `x` (`cin x ih x iw`) into the zero-bordered planes `pad` (border rows never
    /// written), each padded row stored as four phases, columns `4t`, `4t + 1`, `4t + 2`,
    /// `4t + 3`, so the transforms below read whole runs rather than every fourth element.
    pub(super) fn pad_into<T: Float>(&self, x: &[T], pad: &mut [T]) {
        let plane = self.plane();
        let mut line = vec![T::ZERO; self.width];
        for c in 0..self.cin {
            for h in 0..self.ih {
                let row = &mut pad[c * plane + (h + self.ph) * self.width..][..self.width];
                split_phases(&x[(c * self.ih + h) * self.iw..][..self.iw], self.pw, &mut line, row);
            }
        }
    }

    /// `V[xi][c][col0 + tile]` (rows of length `ld`) from the padded planes: `Bt` down each
    /// tile row's six input rows at once (whole rows), then `B` along the row from the phases.
    pub(super) fn tiles_in<T: Float>(&self, pad: &[T], v: &mut [T], col0: usize, ld: usize) {
        tiles_in(self, pad, v, col0, ld)
    }

    #[inline(always)]
    fn tiles_in_body<T: Float>(&self, pad: &[T], v: &mut [T], col0: usize, ld: usize) {
        tile_rows::<Bt, T, 6>(self, self.cin, self.plane(), pad, v, col0, ld)
    }

    /// `y` (`cout x oh x ow`, overwritten, plus `bias[o]`) from `M[xi][o][col0 + tile]`: `At`
    /// down a tile row's 36 planes at once, then `A` into the four output rows.
    fn tiles_out<T: Float>(&self, m: &[T], col0: usize, ld: usize, y: &mut [T], bias: Option<&[T]>) {
        tiles_out(self, m, col0, ld, y, bias)
    }

    #[inline(always)]
    fn tiles_out_body<T: Float>(&self, m: &[T], col0: usize, ld: usize, y: &mut [T], bias: Option<&[T]>) {
        let (stride, tx, ow) = (self.cout * ld, self.tx, self.ow);
        // t[c][i]: row i of At M for column c of the tile; out[q]: column phase q of a row.
        let mut t: [[Vec<T>; 4]; 6] = std::array::from_fn(|_| std::array::from_fn(|_| vec![T::ZERO; tx]));
        let mut out: [Vec<T>; 4] = std::array::from_fn(|_| vec![T::ZERO; tx]);
        for o in 0..self.cout {
            let b = bias.map_or(T::ZERO, |b| b[o]);
            let plane = &mut y[o * self.oh * ow..][..self.oh * ow];
            for ty in 0..self.ty {
                let col = o * ld + col0 + ty * tx;
                for (c, tc) in t.iter_mut().enumerate() {
                    let ins = std::array::from_fn(|r| &m[(r * 6 + c) * stride + col..][..tx]);
                    lanes::<At, _, 6, 4>(tc.each_mut().map(|v| v.as_mut_slice()), ins);
                }
                for i in 0..4.min(self.oh - 4 * ty) {
                    let ins = std::array::from_fn(|c| t[c][i].as_slice());
                    lanes::<At, _, 6, 4>(out.each_mut().map(|v| v.as_mut_slice()), ins);
                    // Whole quads of columns (an interleaved store), then what is left of a
                    // width that is not a multiple of four.
                    let mut quads = plane[(4 * ty + i) * ow..][..ow].chunks_exact_mut(4);
                    let [o0, o1, o2, o3] = &out;
                    for (quad, (((&a, &b1), &c), &d)) in quads.by_ref().zip(o0.iter().zip(o1).zip(o2).zip(o3)) {
                        quad.copy_from_slice(&[a + b, b1 + b, c + b, d + b]);
                    }
                    let last = ow / 4;
                    for (q, d) in quads.into_remainder().iter_mut().enumerate() {
                        *d = out[q][last] + b;
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
        let per_image = 36 * (self.cin + self.cout) * tiles;
        let nb = ((1 << 19) / per_image.max(1)).clamp(1, batch.max(1));
        let groups = batch.div_ceil(nb);
        let threads = rayon::current_num_threads().min(groups).max(1);
        let per_thread = groups.div_ceil(threads);
        let serial = threads > 1;
        let work = |(part, ys): (usize, &mut [T])| {
            let most = nb * tiles;
            let (mut pad, mut v, mut m) = (vec![T::ZERO; self.cin * self.plane()], vec![T::ZERO; 36 * self.cin * most], vec![T::ZERO; 36 * self.cout * most]);
            for (k, ys) in ys.chunks_mut(nb * y_image).enumerate() {
                let first = (part * per_thread + k) * nb;
                let count = ys.len().div_ceil(y_image);
                let ld = count * tiles;
                for j in 0..count {
                    self.pad_into(&x[x_at(first + j)..][..self.cin * self.ih * self.iw], &mut pad);
                    self.tiles_in(&pad, &mut v, j * tiles, ld);
                }
                let (nv, nm) = (self.cin * ld, self.cout * ld);
                for xi in 0..36 {
                    let (a, b, c) = (rows(u[xi * self.cin..].as_ptr(), 36 * self.cin), rows(v[xi * nv..].as_ptr(), ld), m[xi * nm..].as_mut_ptr());
                    // SAFETY: U_xi is cout x cin with rows 36 * cin apart (its last element at
                    // (36 * (cout - 1) + xi + 1) * cin - 1 < u.len()), V_xi cin x ld, M_xi
                    // cout x ld, all in bounds.
                    unsafe { matmul_on(serial, self.cout, ld, self.cin, a, b, c, false) }
                }
                for j in 0..count {
                    self.tiles_out(&m, j * tiles, ld, &mut ys[j * y_image + y_off..][..self.cout * self.oh * self.ow], bias);
                }
            }
        };
        y.par_chunks_mut(per_thread * nb * y_image).enumerate().for_each(work);
    }
}

/// A transform of `I` equal runs into `O`, applied to lane groups of any width `W` (fixed-size
/// arrays, unrolled so the compiler vectorizes them).
pub(super) trait Transform<const I: usize, const O: usize> {
    fn apply<T: Float, const W: usize>(x: &[[T; W]; I]) -> [[T; W]; O];
}

/// `f` lane by lane: one output group from `I` input groups.
#[inline(always)]
pub(super) fn each<T: Float, const I: usize, const W: usize>(x: &[[T; W]; I], f: impl Fn([T; I]) -> T) -> [T; W] {
    std::array::from_fn(|j| f(std::array::from_fn(|i| x[i][j])))
}

/// `Bt` on six lane groups (a column of input tiles): `d_k = sum_i Bt[k][i] c_i`.
struct Bt;

impl Transform<6, 6> for Bt {
    #[inline(always)]
    fn apply<T: Float, const W: usize>(c: &[[T; W]; 6]) -> [[T; W]; 6] {
        let (two, four, five) = (T::from_f64(2.0), T::from_f64(4.0), T::from_f64(5.0));
        [
            each(c, |[c0, _, c2, _, c4, _]| four * c0 - five * c2 + c4),
            each(c, |[_, c1, c2, c3, c4, _]| c3 + c4 - four * (c1 + c2)),
            each(c, |[_, c1, c2, c3, c4, _]| c4 - c3 + four * (c1 - c2)),
            each(c, |[_, c1, c2, c3, c4, _]| c4 - c2 + two * (c3 - c1)),
            each(c, |[_, c1, c2, c3, c4, _]| c4 - c2 - two * (c3 - c1)),
            each(c, |[_, c1, _, c3, _, c5]| four * c1 - five * c3 + c5),
        ]
    }
}

/// `G` on three lane groups (taps of a filter): `u_k = sum_i G[k][i] g_i`.
struct G;

impl Transform<3, 6> for G {
    #[inline(always)]
    fn apply<T: Float, const W: usize>(g: &[[T; W]; 3]) -> [[T; W]; 6] {
        let k = |v: f64| T::from_f64(v);
        [
            each(g, |[a, _, _]| a * k(0.25)),
            each(g, |[a, b, c]| -(a + b + c) * k(1.0 / 6.0)),
            each(g, |[a, b, c]| -(a - b + c) * k(1.0 / 6.0)),
            each(g, |[a, b, c]| a * k(1.0 / 24.0) + b * k(1.0 / 12.0) + c * k(1.0 / 6.0)),
            each(g, |[a, b, c]| a * k(1.0 / 24.0) - b * k(1.0 / 12.0) + c * k(1.0 / 6.0)),
            each(g, |[_, _, c]| c),
        ]
    }
}

/// `At` on six lane groups: `y_k = sum_i At[k][i] m_i`.
struct At;

impl Transform<6, 4> for At {
    #[inline(always)]
    fn apply<T: Float, const W: usize>(m: &[[T; W]; 6]) -> [[T; W]; 4] {
        let (two, four, eight) = (T::from_f64(2.0), T::from_f64(4.0), T::from_f64(8.0));
        [
            each(m, |[m0, m1, m2, m3, m4, _]| m0 + (m1 + m2) + (m3 + m4)),
            each(m, |[_, m1, m2, m3, m4, _]| (m1 - m2) + two * (m3 - m4)),
            each(m, |[_, m1, m2, m3, m4, _]| (m1 + m2) + four * (m3 + m4)),
            each(m, |[_, m1, m2, m3, m4, m5]| (m1 - m2) + eight * (m3 - m4) + m5),
        ]
    }
}

/// `outs = F(ins)` over the runs' common length: groups of eight lanes (one AVX register of
/// f32), then of four, then single values, so short runs (a 16x16 map has four tiles across)
/// vectorize too.
#[inline(always)]
pub(super) fn lanes<F: Transform<I, O>, T: Float, const I: usize, const O: usize>(mut outs: [&mut [T]; O], ins: [&[T]; I]) {
    let n = outs.iter().map(|o| o.len()).chain(ins.iter().map(|i| i.len())).min().unwrap_or(0);
    let mut j = 0;
    j = group::<F, T, I, O, 8>(&mut outs, &ins, j, n);
    j = group::<F, T, I, O, 4>(&mut outs, &ins, j, n);
    group::<F, T, I, O, 1>(&mut outs, &ins, j, n);
}

/// Groups of `W` lanes from `j` while whole ones fit below `n`, which [`lanes`] took as the
/// least run length; returns where they stop. Through raw pointers taken once: indexing the
/// runs anew for each group (bounds checks, slices reloaded from the stack) cost more than the
/// arithmetic.
#[inline(always)]
fn group<F: Transform<I, O>, T: Float, const I: usize, const O: usize, const W: usize>(outs: &mut [&mut [T]; O], ins: &[&[T]; I], mut j: usize, n: usize) -> usize {
    debug_assert!(outs.iter().all(|o| o.len() >= n) && ins.iter().all(|i| i.len() >= n));
    let src: [*const T; I] = ins.map(|s| s.as_ptr());
    let dst: [*mut T; O] = outs.each_mut().map(|s| s.as_mut_ptr());
    while j + W <= n {
        // SAFETY: every run holds at least n >= j + W values (n is their least length, from
        // `lanes`, the only caller); the outputs are distinct `&mut` borrows, so no output
        // overlaps another output or an input.
        let x: [[T; W]; I] = std::array::from_fn(|i| unsafe { src[i].add(j).cast::<[T; W]>().read_unaligned() });
        for (d, y) in dst.iter().zip(F::apply(&x)) {
            // SAFETY: as above.
            unsafe { d.add(j).cast::<[T; W]>().write_unaligned(y) };
        }
        j += W;
    }
    j
}

/// `out[xi][ch][col0 + tile]` (rows of length `ld`, `xi = 6k + q`) for `channels` phase-split
/// planes of `plane` elements: `F` down each tile row's `I` rows at once (whole rows), then
/// along the row from the phases; tile `t` reads columns `4t..4t + I` (phase `q % 4` at
/// `t + q / 4`). The input tiles (`Bt`, six rows) and the `dy` tiles of the weight gradient
/// (`A`, four) share it.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(super) fn tile_rows<F: Transform<I, 6>, T: Float, const I: usize>(wg: &Wino, channels: usize, plane: usize, pad: &[T], out: &mut [T], col0: usize, ld: usize) {
    let (w, tx, run, stride) = (wg.width, wg.tx, wg.tx + 1, channels * ld);
    let mut r: [Vec<T>; 6] = std::array::from_fn(|_| vec![T::ZERO; w]);
    for ch in 0..channels {
        for ty in 0..wg.ty {
            let p = std::array::from_fn(|i| &pad[ch * plane + (4 * ty + i) * w..][..w]);
            lanes::<F, _, I, 6>(r.each_mut().map(|r| r.as_mut_slice()), p);
            let col = ch * ld + col0 + ty * tx;
            for (k, rk) in r.iter().enumerate() {
                let ins = std::array::from_fn(|q| &rk[(q % 4) * run + q / 4..][..tx]);
                lanes::<F, _, I, 6>(rows_mut(&mut out[k * 6 * stride + col..], stride, tx), ins);
            }
        }
    }
}

/// `src` placed at column `at` of the zero line `line` (its other columns stay zero), written
/// into `row` as four phases of `line.len() / 4`: column `4t + q` to `row[q * len / 4 + t]`.
pub(super) fn split_phases<T: Float>(src: &[T], at: usize, line: &mut [T], row: &mut [T]) {
    line[at..at + src.len()].copy_from_slice(src);
    let run = line.len() / 4;
    let (p0, rest) = row.split_at_mut(run);
    let (p1, rest) = rest.split_at_mut(run);
    let (p2, p3) = rest.split_at_mut(run);
    // Four-way interleaved loads, which the compiler turns into shuffles (AVX2 where the CPU has it).
    wide(|| {
        for ((((a, b), c), d), quad) in p0.iter_mut().zip(p1.iter_mut()).zip(p2.iter_mut()).zip(p3.iter_mut()).zip(line.chunks_exact(4)) {
            (*a, *b, *c, *d) = (quad[0], quad[1], quad[2], quad[3]);
        }
    });
}

/// `N` runs of `n` starting `stride` apart in `s` (`stride >= n`), as disjoint slices.
pub(super) fn rows_mut<T, const N: usize>(s: &mut [T], stride: usize, n: usize) -> [&mut [T]; N] {
    let mut it = s.chunks_mut(stride).map(|row| &mut row[..n]);
    std::array::from_fn(|_| it.next().expect("the runs lie inside the buffer"))
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

    /// F(4x4, 3x3)'s rounding in f32: the transforms' constants (up to 8 and 1/24) make it a
    /// few times the direct product's; measured 5e-6 to 1.5e-5 of the largest magnitude on
    /// 64- to 256-channel layers. The bound keeps a transform slip (a wrong sign or constant
    /// that the f64 test would catch as 1e-1, not 1e-5) from hiding behind rounding, and
    /// documents the figure quoted in benches/RESULTS.md.
    #[test]
    fn f32_results_are_within_the_documented_rounding() {
        let p = plan(2, 1, 128, 128, [16, 16], [1, 1]);
        let (fwd, _) = Wino::for_plan(&p).expect("a Winograd plan");
        let x = values(p.batch * p.x_image(), 5);
        let w: Vec<f64> = values(p.out_channels * p.geom.channels * 9, 6).iter().map(|v| v / (9.0 * 128.0f64).sqrt()).collect();
        let mut exact = vec![0.0; p.batch * p.y_image()];
        forward(&p, &fwd, &x, &w, None, &mut exact);
        let (x32, w32): (Vec<f32>, Vec<f32>) = (x.iter().map(|&v| v as f32).collect(), w.iter().map(|&v| v as f32).collect());
        let mut y32 = vec![0.0f32; exact.len()];
        forward(&p, &fwd, &x32, &w32, None, &mut y32);
        let top = exact.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let err = y32.iter().zip(&exact).fold(0.0f64, |m, (&a, &b)| m.max((a as f64 - b).abs()));
        assert!(err <= 3e-5 * top, "f32 error {err:e} of {top:e}");
    }

    #[test]
    fn small_or_other_windows_are_left_to_the_products() {
        assert!(Wino::for_plan(&plan(1, 1, 32, 64, [8, 8], [1, 1])).is_none());
        assert!(Wino::for_plan(&plan(1, 1, 64, 64, [3, 3], [0, 0])).is_none());
        assert!(Wino::for_plan(&plan(1, 1, 64, 64, [8, 8], [1, 1])).is_some());
    }
}
