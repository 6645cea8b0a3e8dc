//! The weight gradient of a 3x3 stride-1 convolution by Winograd's F(4x4, 3x3), the adjoint of
//! the forward in `winograd.rs`: with `Y = At [U . V] A` per tile, `dU = sum over tiles of
//! dM . V`, where `dM = A dY At` (6x6 from each 4x4 tile of `dy`), and `dg = Gt dU G`. The 36
//! products `dU_xi^T (cin x cout) = V_xi (cin x tiles) . dM_xi^T` run over all of the batch's
//! tiles: a quarter of the direct product's multiplications, and long products (the sum runs
//! over tiles) where the direct one's were short per image.

use rayon::prelude::*;

use super::gemm::{matmul_on, rows, transposed};
use super::simd::multiversion;
use super::winograd::{each, lanes, split_phases, tile_rows, Transform, Wino};
use crate::conv::ConvPlan;
use crate::float::Float;

/// `A` on four lane groups (a column of a `dy` tile): `m_i = sum_k At[k][i] y_k`.
struct Ad;

impl Transform<4, 6> for Ad {
    #[inline(always)]
    fn apply<T: Float, const W: usize>(y: &[[T; W]; 4]) -> [[T; W]; 6] {
        let (two, four) = (T::from_f64(2.0), T::from_f64(4.0));
        [
            each(y, |[y0, _, _, _]| y0),
            each(y, |[y0, y1, y2, y3]| (y0 + y2) + (y1 + y3)),
            each(y, |[y0, y1, y2, y3]| (y0 + y2) - (y1 + y3)),
            each(y, |[y0, y1, y2, y3]| (y0 + four * y2) + two * (y1 + four * y3)),
            each(y, |[y0, y1, y2, y3]| (y0 + four * y2) - two * (y1 + four * y3)),
            each(y, |[_, _, _, y3]| y3),
        ]
    }
}

/// `Gt` on six lane groups: `g_a = sum_r G[r][a] u_r`.
struct Gt;

impl Transform<6, 3> for Gt {
    #[inline(always)]
    fn apply<T: Float, const W: usize>(u: &[[T; W]; 6]) -> [[T; W]; 3] {
        let k = |v: f64| T::from_f64(v);
        [
            each(u, |[u0, u1, u2, u3, u4, _]| u0 * k(0.25) - (u1 + u2) * k(1.0 / 6.0) + (u3 + u4) * k(1.0 / 24.0)),
            each(u, |[_, u1, u2, u3, u4, _]| (u2 - u1) * k(1.0 / 6.0) + (u3 - u4) * k(1.0 / 12.0)),
            each(u, |[_, u1, u2, u3, u4, u5]| (u3 + u4 - u1 - u2) * k(1.0 / 6.0) + u5),
        ]
    }
}

/// `dw = sum_n dy_n (*) x_n` for a plan `Wino::for_plan` accepted (its first geometry); `dw`
/// is overwritten.
pub fn backward_weight<T: Float>(p: &ConvPlan, wg: &Wino, dy: &[T], x: &[T], dw: &mut [T]) {
    let (xg, yg) = (p.geom.channels * p.geom.input_size(), p.fg() * p.geom.output_size());
    for gi in 0..p.groups {
        let x_of = |n: usize| &x[n * p.x_image() + gi * xg..][..xg];
        let dy_of = |n: usize| &dy[n * p.y_image() + gi * yg..][..yg];
        let du = products(p.batch, wg, x_of, dy_of);
        untransform(wg, &du, &mut dw[gi * p.w_group()..][..p.w_group()]);
    }
}

/// `dU^T[xi][i][o]` summed over the batch: fixed runs of images, one per thread, each run
/// summed apart and the runs' sums added in order, so the result does not depend on how the
/// pool schedules the work (reproducible bit for bit for a given thread count).
fn products<'a, T: Float>(batch: usize, wg: &Wino, x_of: impl Fn(usize) -> &'a [T] + Sync, dy_of: impl Fn(usize) -> &'a [T] + Sync) -> Vec<T> {
    let (cin, cout, tiles) = (wg.cin, wg.cout, wg.tiles());
    let len = 36 * cin * cout;
    // Images per product: transformed tiles of about 2 MB, as in the forward.
    let nb = ((1 << 19) / (36 * (cin + cout) * tiles).max(1)).clamp(1, batch.max(1));
    let parts = rayon::current_num_threads().min(batch).max(1);
    let per = batch.div_ceil(parts);
    let serial = parts > 1;
    let run = |part: usize| {
        let mut du = vec![T::ZERO; len];
        let (mut xpad, mut ypad) = (vec![T::ZERO; cin * wg.plane()], vec![T::ZERO; cout * dy_plane(wg)]);
        let (mut v, mut dm) = (vec![T::ZERO; 36 * cin * nb * tiles], vec![T::ZERO; 36 * cout * nb * tiles]);
        let (start, end) = ((part * per).min(batch), ((part + 1) * per).min(batch));
        for first in (start..end).step_by(nb) {
            let count = nb.min(end - first);
            let ld = count * tiles;
            for j in 0..count {
                wg.pad_into(x_of(first + j), &mut xpad);
                wg.tiles_in(&xpad, &mut v, j * tiles, ld);
                pad_dy(wg, dy_of(first + j), &mut ypad);
                tiles_dy(wg, &ypad, &mut dm, j * tiles, ld);
            }
            for xi in 0..36 {
                let (a, b, c) = (rows(v[xi * cin * ld..].as_ptr(), ld), transposed(dm[xi * cout * ld..].as_ptr(), ld), du[xi * cin * cout..].as_mut_ptr());
                // SAFETY: V_xi is cin x ld, dM_xi cout x ld (read transposed, ld x cout),
                // dU_xi^T cin x cout, all in bounds.
                unsafe { matmul_on(serial, cin, cout, ld, a, b, c, true) }
            }
        }
        du
    };
    let partial: Vec<Vec<T>> = (0..parts).into_par_iter().map(run).collect();
    let mut total = vec![T::ZERO; len];
    for part in &partial {
        total.iter_mut().zip(part).for_each(|(t, &v)| *t += v);
    }
    total
}

/// Elements per channel of the phase-split `dy` planes: `4 * ty` rows of `width`.
fn dy_plane(wg: &Wino) -> usize {
    4 * wg.ty * wg.width
}

/// `dy` (`cout x oh x ow`) into phase-split rows as `Wino::pad_into` lays out the input (no
/// border; the rows past the map are never written and stay zero).
fn pad_dy<T: Float>(wg: &Wino, dy: &[T], pad: &mut [T]) {
    let plane = dy_plane(wg);
    let mut line = vec![T::ZERO; wg.width];
    for o in 0..wg.cout {
        for h in 0..wg.oh {
            split_phases(&dy[(o * wg.oh + h) * wg.ow..][..wg.ow], 0, &mut line, &mut pad[o * plane + h * wg.width..][..wg.width]);
        }
    }
}

/// `dM[xi][o][col0 + tile]` (rows of length `ld`) from the phase-split `dy`: `A` down each tile
/// row's four rows at once, then along the row from the four phases.
#[inline(always)]
fn tiles_dy_body<T: Float>(wg: &Wino, pad: &[T], dm: &mut [T], col0: usize, ld: usize) {
    tile_rows::<Ad, T, 4>(wg, wg.cout, dy_plane(wg), pad, dm, col0, ld)
}

multiversion! {
    fn tiles_dy<T: Float>(wg: &Wino, pad: &[T], dm: &mut [T], col0: usize, ld: usize) => tiles_dy_body
}

/// `dw[o][i][a][b] = (Gt dU_oi G)[a][b]` from `du = dU^T[xi][i][o]`, as runs over `o`.
fn untransform<T: Float>(wg: &Wino, du: &[T], dw: &mut [T]) {
    let (cin, cout) = (wg.cin, wg.cout);
    let n = cin * cout;
    // t[c][a]: Gt down column c of dU; out[b]: row a of Gt dU G.
    let mut t: [[Vec<T>; 3]; 6] = std::array::from_fn(|_| std::array::from_fn(|_| vec![T::ZERO; cout]));
    let mut out: [Vec<T>; 3] = std::array::from_fn(|_| vec![T::ZERO; cout]);
    for i in 0..cin {
        for (c, tc) in t.iter_mut().enumerate() {
            let ins = std::array::from_fn(|r| &du[(r * 6 + c) * n + i * cout..][..cout]);
            lanes::<Gt, _, 6, 3>(tc.each_mut().map(|v| v.as_mut_slice()), ins);
        }
        for a in 0..3 {
            lanes::<Gt, _, 6, 3>(out.each_mut().map(|v| v.as_mut_slice()), std::array::from_fn(|c| t[c][a].as_slice()));
            for (b, ob) in out.iter().enumerate() {
                for (o, &v) in ob.iter().enumerate() {
                    dw[((o * cin + i) * 3 + a) * 3 + b] = v;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::Geometry;

    fn values(n: usize, seed: usize) -> Vec<f64> {
        (0..n).map(|i| (((i * 7919 + seed * 104729) % 1000) as f64 / 500.0) - 1.0).collect()
    }

    /// The definition: `dw[o, i, a, b] = sum over n, y, x of dy[n, o, y, x] x[n, g*c + i, y + a - ph, x + b - pw]`.
    #[test]
    fn weight_gradient_is_the_definition() {
        for (batch, groups, c, f, [ih, iw], [ph, pw]) in [(3, 1, 64, 65, [5, 7], [1, 1]), (2, 2, 64, 64, [6, 4], [0, 2]), (5, 1, 66, 64, [9, 6], [2, 0])] {
            let geom = Geometry { channels: c, input: [1, ih, iw], output: [1, ih + 2 * ph - 2, iw + 2 * pw - 2], kernel: [1, 3, 3], stride: [1; 3], pad: [0, ph, pw], dilate: [1; 3] };
            let p = ConvPlan { batch, groups, out_channels: f * groups, geom };
            let (fwd, _) = Wino::for_plan(&p).expect("a Winograd plan");
            let (x, dy) = (values(batch * p.x_image(), 1), values(batch * p.y_image(), 2));
            let mut dw = vec![f64::NAN; p.out_channels * c * 9];
            backward_weight(&p, &fwd, &dy, &x, &mut dw);
            let [_, oh, ow] = p.geom.output;
            for o in 0..p.out_channels {
                let gi = o / f;
                for i in 0..c {
                    for (a, b) in (0..3).flat_map(|a| (0..3).map(move |b| (a, b))) {
                        let mut want = 0.0;
                        for n in 0..batch {
                            for (y, xx) in (0..oh).flat_map(|y| (0..ow).map(move |xx| (y, xx))) {
                                let (h, v) = ((y + a) as isize - ph as isize, (xx + b) as isize - pw as isize);
                                if h >= 0 && v >= 0 && (h as usize) < ih && (v as usize) < iw {
                                    want += dy[n * p.y_image() + (o * oh + y) * ow + xx] * x[n * p.x_image() + ((gi * c + i) * ih + h as usize) * iw + v as usize];
                                }
                            }
                        }
                        let got = dw[((o * c + i) * 3 + a) * 3 + b];
                        assert!((got - want).abs() < 1e-10 * want.abs().max(1.0), "{o} {i} {a} {b}: {got} vs {want}");
                    }
                }
            }
        }
    }
}
