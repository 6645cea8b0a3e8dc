//! Stride-1 2-D (and 1-D) convolutions without per-line `im2col`: the products are computed on
//! the zero-padded input's grid, where every row of the column matrix is one contiguous run.
//!
//! With the input padded into `P` (rows of `wp = iw + 2 * pw`), output position `(y, x)` under
//! kernel offset `(a, b)` reads `P[(y + a * dh) * wp + x + b * dw]`. Counting positions
//! `n = y * wp + x` over whole padded rows (`n < oh * wp`, the last `wp - ow` of each row being
//! unused), row `(c, a, b)` of the column matrix is `P_c[a * dh * wp + b * dw..][..oh * wp]`: a
//! single copy instead of one per output line, which is what small feature maps spend their
//! time on. The unused columns cost `wp / ow - 1` more product work (about 7% on 28x28 maps,
//! 29% on 7x7; narrower maps keep the per-line path) and are dropped when the output is read
//! out; in the gradients they hold zeros.

use crate::float::Float;
use crate::window::Geometry;

/// The padded grid of a stride-1 2-D window, or `None` for any other window.
#[derive(Clone, Copy, Debug)]
pub struct Grid {
    channels: usize,
    ih: usize,
    iw: usize,
    ph: usize,
    pw: usize,
    oh: usize,
    ow: usize,
    wp: usize,
    /// Elements per channel of `P`: the padded plane and the reach of the last row's unused
    /// columns past it (`(kw - 1) * dw`).
    plane: usize,
    /// The kernel's taps (`kh * kw`), row-major `(a, b)`.
    taps: usize,
    kw: usize,
    dh: usize,
    dw: usize,
}

impl Grid {
    pub fn new(g: &Geometry) -> Option<Grid> {
        let two_d = g.input[0] == 1 && g.kernel[0] == 1 && g.pad[0] == 0 && g.output[0] == 1;
        if !two_d || g.stride != [1, 1, 1] || g.is_pointwise() || g.output_size() == 0 {
            return None;
        }
        let (ih, iw, ph, pw) = (g.input[1], g.input[2], g.pad[1], g.pad[2]);
        let (kh, kw, dh, dw) = (g.kernel[1], g.kernel[2], g.dilate[1], g.dilate[2]);
        let wp = iw + 2 * pw;
        // Narrow maps would waste too much product work on unused columns (a 3x3 window over a
        // 1x1 map: 3 columns computed for 1); they keep the per-line path.
        if wp * 3 > g.output[2] * 4 {
            return None;
        }
        let hp = ih + 2 * ph;
        let plane = hp * wp + (kw - 1) * dw;
        Some(Grid { channels: g.channels, ih, iw, ph, pw, oh: g.output[1], ow: g.output[2], wp, plane, taps: kh * kw, kw, dh, dw })
    }

    /// Positions computed per image (whole padded rows).
    pub fn n(&self) -> usize {
        self.oh * self.wp
    }

    pub fn rows(&self) -> usize {
        self.channels * self.taps
    }

    /// Elements of `P` (all channels).
    pub fn padded_len(&self) -> usize {
        self.channels * self.plane
    }

    fn tap(&self, t: usize) -> usize {
        (t / self.kw) * self.dh * self.wp + (t % self.kw) * self.dw
    }

    /// Writes image `x` (`channels x ih x iw`) into the interior of `p`; its border must be
    /// zero (it is never written, so a zeroed buffer stays valid from image to image).
    pub fn pad_into<T: Float>(&self, x: &[T], p: &mut [T]) {
        for c in 0..self.channels {
            for h in 0..self.ih {
                let src = &x[(c * self.ih + h) * self.iw..][..self.iw];
                p[c * self.plane + (h + self.ph) * self.wp + self.pw..][..self.iw].copy_from_slice(src);
            }
        }
    }

    /// The column matrix (`rows x n`) of the padded image `p`.
    pub fn columns<T: Float>(&self, p: &[T], col: &mut [T]) {
        let n = self.n();
        for (r, dst) in col.chunks_exact_mut(n).take(self.rows()).enumerate() {
            let (c, t) = (r / self.taps, r % self.taps);
            dst.copy_from_slice(&p[c * self.plane + self.tap(t)..][..n]);
        }
    }

    /// The adjoint of `pad_into` after `columns`: adds column row `(c, a, b)` into `dp` at its
    /// tap's offset (`dp` is accumulated into), then reads the interior out into `dx`.
    pub fn fold<T: Float>(&self, col: &[T], dp: &mut [T], dx: &mut [T]) {
        let n = self.n();
        dp.fill(T::ZERO);
        for (r, src) in col.chunks_exact(n).take(self.rows()).enumerate() {
            let (c, t) = (r / self.taps, r % self.taps);
            for (d, s) in dp[c * self.plane + self.tap(t)..][..n].iter_mut().zip(src) {
                *d += *s;
            }
        }
        for c in 0..self.channels {
            for h in 0..self.ih {
                let src = &dp[c * self.plane + (h + self.ph) * self.wp + self.pw..][..self.iw];
                dx[(c * self.ih + h) * self.iw..][..self.iw].copy_from_slice(src);
            }
        }
    }

    /// Reads the product on the grid (`filters x n`) out into `y` (`filters x oh x ow`),
    /// adding `bias[f]` when given.
    pub fn unpad<T: Float>(&self, grid: &[T], y: &mut [T], bias: Option<&[T]>) {
        let (n, osz) = (self.n(), self.oh * self.ow);
        for (f, (src, dst)) in grid.chunks_exact(n).zip(y.chunks_exact_mut(osz)).enumerate() {
            let b = bias.map_or(T::ZERO, |b| b[f]);
            for (srow, drow) in src.chunks_exact(self.wp).zip(dst.chunks_exact_mut(self.ow)) {
                for (d, s) in drow.iter_mut().zip(srow) {
                    *d = *s + b;
                }
            }
        }
    }

    /// Spreads `dy` (`filters x oh x ow`) onto the grid (`filters x n`); the unused columns
    /// must be zero already (they are never written).
    pub fn spread<T: Float>(&self, dy: &[T], grid: &mut [T]) {
        let (n, osz) = (self.n(), self.oh * self.ow);
        for (src, dst) in dy.chunks_exact(osz).zip(grid.chunks_exact_mut(n)) {
            for (srow, drow) in src.chunks_exact(self.ow).zip(dst.chunks_exact_mut(self.wp)) {
                drow[..self.ow].copy_from_slice(srow);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::im2col::im2col;

    fn geometry(c: usize, ih: usize, iw: usize, k: [usize; 2], pad: [usize; 2], dil: [usize; 2]) -> Geometry {
        let out = |i: usize, n: usize| n + 2 * pad[i] - (dil[i] * (k[i] - 1) + 1) + 1;
        Geometry { channels: c, input: [1, ih, iw], output: [1, out(0, ih), out(1, iw)], kernel: [1, k[0], k[1]], stride: [1; 3], pad: [0, pad[0], pad[1]], dilate: [1, dil[0], dil[1]] }
    }

    #[test]
    fn narrow_maps_keep_the_per_line_path() {
        assert!(Grid::new(&geometry(4, 1, 1, [3, 3], [1, 1], [1, 1])).is_none());
        assert!(Grid::new(&geometry(4, 7, 7, [3, 3], [1, 1], [1, 1])).is_some());
    }

    #[test]
    fn grid_columns_are_im2col_with_unused_columns() {
        for g in [geometry(2, 5, 6, [3, 3], [1, 1], [1, 1]), geometry(3, 7, 4, [3, 2], [2, 0], [2, 1]), geometry(1, 1, 9, [1, 4], [0, 3], [1, 1])] {
            let grid = Grid::new(&g).unwrap();
            let img: Vec<f64> = (0..g.channels * g.input_size()).map(|i| i as f64 * 0.5 - 3.0).collect();
            let mut p = vec![0.0; grid.padded_len()];
            grid.pad_into(&img, &mut p);
            let mut col = vec![f64::NAN; grid.rows() * grid.n()];
            grid.columns(&p, &mut col);
            let mut want = vec![0.0; g.col_rows() * g.output_size()];
            im2col(&g, &img, &mut want);
            for r in 0..grid.rows() {
                let mut got = vec![0.0; g.output_size()];
                grid.unpad(&col[r * grid.n()..][..grid.n()], &mut got, None);
                assert_eq!(got, want[r * g.output_size()..][..g.output_size()], "{g:?} row {r}");
            }
            // fold is the adjoint of columns(pad_into(.)) on the used columns.
            let dyc: Vec<f64> = (0..g.output_size() * grid.rows()).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
            let mut spread = vec![0.0; grid.rows() * grid.n()];
            grid.spread(&dyc, &mut spread);
            let (mut dp, mut dx) = (vec![0.0; grid.padded_len()], vec![0.0; img.len()]);
            grid.fold(&spread, &mut dp, &mut dx);
            let lhs: f64 = want.iter().zip(&dyc).map(|(a, b)| a * b).sum();
            let rhs: f64 = img.iter().zip(&dx).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-9, "{g:?}: {lhs} vs {rhs}");
        }
    }
}
