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

/// A window's gradient `g` split over its four elements `v`: all of it to the first maximum,
/// replaced only by a later element that is greater (a tie keeps the earlier one, a NaN never
/// replaces), as in the general loop. Written as a chain of float selects, which the compiler
/// vectorizes over a run of windows (boolean logic between the compares kept it scalar).
#[inline(always)]
fn claim<T: Float>(v: [T; 4], g: T) -> [T; 4] {
    let z = T::ZERO;
    let g1 = v[1] > v[0];
    let m = if g1 { v[1] } else { v[0] };
    let g2 = v[2] > m;
    let m = if g2 { v[2] } else { m };
    let g3 = v[3] > m;
    // What is left of `g` once the later winners have claimed it.
    let (o3, left) = if g3 { (g, z) } else { (z, g) };
    let (o2, left) = if g2 { (left, z) } else { (z, left) };
    let (o1, o0) = if g1 { (left, z) } else { (z, left) };
    [o0, o1, o2, o3]
}

/// One row of 2x2 windows' gradients: `g[i]` to the first maximum of `a[2i..2i+2]`, `b[2i..2i+2]`
/// and zero elsewhere in `da`, `db` (the same rows of `dx`). The compiler keeps this loop
/// scalar (the stride-2 accesses and select chains defeat its vectorizer), so f32 rows run
/// through [`avx2`] where the CPU has it; the windows it leaves go one at a time.
#[inline(always)]
fn max_2x2_row<T: Float>(g: &[T], a: &[T], b: &[T], da: &mut [T], db: &mut [T]) {
    let n = g.len();
    assert!(a.len() == 2 * n && b.len() == 2 * n && da.len() == 2 * n && db.len() == 2 * n, "2x2 rows are twice the windows");
    #[allow(unused_mut)]
    let mut done = 0;
    #[cfg(target_arch = "x86_64")]
    if T::DTYPE == crate::dtype::DType::F32 && super::simd::has_avx2() {
        let f = |s: &[T]| s.as_ptr() as *const f32;
        let f_mut = |s: &mut [T]| s.as_mut_ptr() as *mut f32;
        // SAFETY: T is f32 (checked above), the CPU has AVX2, and the lengths were asserted.
        done = unsafe { avx2::max_2x2_row(n, f(g), f(a), f(b), f_mut(da), f_mut(db)) };
    }
    for i in done..n {
        let c = claim([a[2 * i], a[2 * i + 1], b[2 * i], b[2 * i + 1]], g[i]);
        (da[2 * i], da[2 * i + 1], db[2 * i], db[2 * i + 1]) = (c[0], c[1], c[2], c[3]);
    }
}

/// The 2x2 max's rows in f32 lanes with AVX2, eight windows (or four) at once: the window
/// corners split out of the rows with shuffles, the max and [`claim`]'s chain of selects as
/// compares and blends (same rules, so the same bits), gradients interleaved back.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Shuffle selectors: elements 0 and 2 (1 and 3) of each operand's 128-bit half.
    const EVEN: i32 = 0b10_00_10_00;
    const ODD: i32 = 0b11_01_11_01;

    /// `y[i]` the max of window `i` (from the lowest finite value, so a NaN never wins, as the
    /// general loop): the windows done, whole runs of eight.
    ///
    /// # Safety
    /// The CPU has AVX2; `y` holds `n` values, `a` and `b` `2n`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn max_2x2_forward_row(n: usize, a: *const f32, b: *const f32, y: *mut f32) -> usize {
        let mut i = 0;
        while i + 8 <= n {
            let (a0, a1, b0, b1) = (_mm256_loadu_ps(a.add(2 * i)), _mm256_loadu_ps(a.add(2 * i + 8)), _mm256_loadu_ps(b.add(2 * i)), _mm256_loadu_ps(b.add(2 * i + 8)));
            let mut m = _mm256_set1_ps(f32::MIN);
            for v in [_mm256_shuffle_ps::<EVEN>(a0, a1), _mm256_shuffle_ps::<ODD>(a0, a1), _mm256_shuffle_ps::<EVEN>(b0, b1), _mm256_shuffle_ps::<ODD>(b0, b1)] {
                m = _mm256_blendv_ps(m, v, _mm256_cmp_ps::<_CMP_GT_OQ>(v, m));
            }
            // The shuffles left the windows in the order 0 1 4 5 2 3 6 7; swapping the middle
            // pairs back is the same permutation.
            _mm256_storeu_ps(y.add(i), _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(m))));
            i += 8;
        }
        i
    }

    /// One run of `$w` windows from window `$i` in `$lanes`' registers, gradients `$gv`:
    /// [`claim`](super::claim) as compares and blends. A macro rather than a function, so the
    /// intrinsics are called directly in the AVX2 function (a helper would not share its
    /// features).
    macro_rules! claim_run {
        ($lanes:ident, $w:expr, $i:expr, $gv:expr, $a:ident, $b:ident, $da:ident, $db:ident) => {{
            use $lanes::*;
            let (a0, a1) = (load($a.add(2 * $i)), load($a.add(2 * $i + $w)));
            let (b0, b1) = (load($b.add(2 * $i)), load($b.add(2 * $i + $w)));
            let (v0, v1) = (shuffle::<EVEN>(a0, a1), shuffle::<ODD>(a0, a1));
            let (v2, v3) = (shuffle::<EVEN>(b0, b1), shuffle::<ODD>(b0, b1));
            let g1 = cmp::<_CMP_GT_OQ>(v1, v0);
            let m = blendv(v0, v1, g1);
            let g2 = cmp::<_CMP_GT_OQ>(v2, m);
            let g3 = cmp::<_CMP_GT_OQ>(v3, blendv(m, v2, g2));
            let gv = $gv;
            let (o3, left) = (and(g3, gv), andnot(g3, gv));
            let (o2, left) = (and(g2, left), andnot(g2, left));
            let (o1, o0) = (and(g1, left), andnot(g1, left));
            store($da.add(2 * $i), unpacklo(o0, o1));
            store($da.add(2 * $i + $w), unpackhi(o0, o1));
            store($db.add(2 * $i), unpacklo(o2, o3));
            store($db.add(2 * $i + $w), unpackhi(o2, o3));
        }};
    }

    /// The intrinsics `claim_run!` uses, by register width.
    mod w8 {
        pub use std::arch::x86_64::{
            _mm256_and_ps as and, _mm256_andnot_ps as andnot, _mm256_blendv_ps as blendv, _mm256_cmp_ps as cmp, _mm256_loadu_ps as load,
            _mm256_shuffle_ps as shuffle, _mm256_storeu_ps as store, _mm256_unpackhi_ps as unpackhi, _mm256_unpacklo_ps as unpacklo,
        };
    }
    mod w4 {
        pub use std::arch::x86_64::{
            _mm_and_ps as and, _mm_andnot_ps as andnot, _mm_blendv_ps as blendv, _mm_cmp_ps as cmp, _mm_loadu_ps as load, _mm_shuffle_ps as shuffle,
            _mm_storeu_ps as store, _mm_unpackhi_ps as unpackhi, _mm_unpacklo_ps as unpacklo,
        };
    }

    /// The windows done: whole runs of eight, then one of four where it fits.
    ///
    /// # Safety
    /// The CPU has AVX2; `g` holds `n` values, the other four `2n`.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn max_2x2_row(n: usize, g: *const f32, a: *const f32, b: *const f32, da: *mut f32, db: *mut f32) -> usize {
        let mut i = 0;
        while i + 8 <= n {
            // The shuffles stay in their 128-bit halves, leaving the windows in the order
            // 0 1 4 5 | 2 3 6 7: the gradients are put in that order too, and interleaving
            // within halves on the way out undoes it.
            let gv = _mm256_castpd_ps(_mm256_permute4x64_pd::<0b11_01_10_00>(_mm256_castps_pd(_mm256_loadu_ps(g.add(i)))));
            claim_run!(w8, 8, i, gv, a, b, da, db);
            i += 8;
        }
        if i + 4 <= n {
            claim_run!(w4, 4, i, _mm_loadu_ps(g.add(i)), a, b, da, db);
            i += 4;
        }
        i
    }
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
            #[allow(unused_mut)]
            let mut done = 0;
            #[cfg(target_arch = "x86_64")]
            if T::DTYPE == crate::dtype::DType::F32 && super::simd::has_avx2() {
                // SAFETY: T is f32 (checked above), the CPU has AVX2, the rows are 2 * ow long.
                done = unsafe { avx2::max_2x2_forward_row(ow, r0.as_ptr() as *const f32, r1.as_ptr() as *const f32, out.as_mut_ptr() as *mut f32) };
            }
            for ((o, a), b) in out.iter_mut().zip(r0.chunks_exact(2)).zip(r1.chunks_exact(2)).skip(done) {
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
    let ow = cols.len();
    if matches!(r, Reduce::Max) && blocks_2x2(rows, cols) && ow > 0 {
        // Every element a window covers is written; only an odd last column or row is zeroed.
        for (oy, g) in dy.chunks_exact(ow).enumerate() {
            let (r0, r1) = (&x[2 * oy * iw..][..2 * ow], &x[(2 * oy + 1) * iw..][..2 * ow]);
            let (d0, rest) = dx[2 * oy * iw..].split_at_mut(iw);
            let d1 = &mut rest[..iw];
            max_2x2_row(g, r0, r1, &mut d0[..2 * ow], &mut d1[..2 * ow]);
            d0[2 * ow..].fill(T::ZERO);
            d1[2 * ow..].fill(T::ZERO);
        }
        dx[2 * rows.len() * iw..].fill(T::ZERO);
        return;
    }
    dx.fill(T::ZERO);
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
        // An odd height and width leave a row and a column no window reads; 27 columns make a
        // run of eight windows, one of four and one window alone; 8 columns one run of four.
        for (ih, iw) in [(6, 7), (7, 27), (6, 8)] {
            check_2x2(ih, iw);
        }
    }

    fn check_2x2(ih: usize, iw: usize) {
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
