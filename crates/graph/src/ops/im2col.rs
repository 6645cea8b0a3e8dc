//! Sliding-window geometry shared by Convolution, Deconvolution and Pooling: the per-axis
//! parameters (`kernel`, `stride`, `dilate`, `pad`), and `im2col` / `col2im`, which turn a
//! convolution into one matrix product per image. 1-D and 2-D windows are handled as 3-D ones
//! with leading axes of size 1, so one loop nest serves every rank.

use crate::attrs::Attrs;
use crate::error::{param_err, Result};

use super::float::Float;

/// A per-axis parameter (`stride`, `dilate`, `pad`) with `ndim` entries: absent or `()` gives
/// `default` on every axis. Values below `min` are refused.
pub fn axis_tuple(op: &str, attrs: &Attrs, key: &str, ndim: usize, default: usize, min: usize) -> Result<Vec<usize>> {
    let v = attrs.ints(op, key)?.unwrap_or_default();
    if v.is_empty() {
        return Ok(vec![default; ndim]);
    }
    if v.len() != ndim {
        return Err(param_err(op, key, format!("needs {ndim} values (one per kernel axis), got {v:?}")));
    }
    if let Some(bad) = v.iter().find(|&&x| x < min as i64) {
        return Err(param_err(op, key, format!("values must be at least {min}, got {bad}")));
    }
    Ok(v.into_iter().map(|x| x as usize).collect())
}

/// The window size `kernel` (1 to 3 positive values); `required` makes it mandatory.
pub fn kernel_tuple(op: &str, attrs: &Attrs, required: bool) -> Result<Vec<usize>> {
    let v = attrs.ints(op, "kernel")?.unwrap_or_default();
    if v.is_empty() {
        return if required { Err(param_err(op, "kernel", "required")) } else { Ok(Vec::new()) };
    }
    if v.len() > 3 || v.iter().any(|&k| k < 1) {
        return Err(param_err(op, "kernel", format!("needs 1 to 3 positive sizes (1-D, 2-D or 3-D), got {v:?}")));
    }
    Ok(v.into_iter().map(|x| x as usize).collect())
}

/// `v` as three axes, missing leading ones filled with `fill`.
pub fn three(v: &[usize], fill: usize) -> [usize; 3] {
    let mut out = [fill; 3];
    out[3 - v.len()..].copy_from_slice(v);
    out
}

/// The extent of a dilated window.
pub fn dilated(kernel: usize, dilate: usize) -> usize {
    dilate * (kernel - 1) + 1
}

/// One image's window geometry, as three spatial axes (depth, height, width).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Channels of one `im2col` call (a group's).
    pub channels: usize,
    pub input: [usize; 3],
    pub output: [usize; 3],
    pub kernel: [usize; 3],
    pub stride: [usize; 3],
    pub pad: [usize; 3],
    pub dilate: [usize; 3],
}

impl Geometry {
    pub fn input_size(&self) -> usize {
        self.input.iter().product()
    }

    pub fn output_size(&self) -> usize {
        self.output.iter().product()
    }

    pub fn kernel_size(&self) -> usize {
        self.kernel.iter().product()
    }

    /// Rows of the column matrix: one per (channel, kernel offset).
    pub fn col_rows(&self) -> usize {
        self.channels * self.kernel_size()
    }

    /// A 1x1 window with unit stride and no padding: the column matrix is the image itself.
    pub fn is_pointwise(&self) -> bool {
        self.kernel == [1; 3] && self.stride == [1; 3] && self.pad == [0; 3]
    }

    /// For each column-matrix row, the work of one (channel, kernel offset): `visit(row, plane,
    /// off, lo, hi)` per output line, where output positions `lo..hi` of the line read input
    /// line `off` (an offset into the channel's plane) at `(x - lo) * stride_w + start`.
    /// Lines wholly in the padding are reported with `off = None`.
    fn lines(&self, mut visit: impl FnMut(usize, usize, Option<usize>, usize, usize, usize)) {
        let [id, ih, iw] = self.input;
        let [od, oh, ow] = self.output;
        let [kd, kh, kw] = self.kernel;
        let [sd, sh, sw] = self.stride;
        let [pd, ph, pw] = self.pad;
        let [dd, dh, dw] = self.dilate;
        let mut row = 0;
        for c in 0..self.channels {
            for a in 0..kd {
                for b in 0..kh {
                    for e in 0..kw {
                        let off_w = (e * dw) as isize - pw as isize;
                        let (lo, hi) = valid_range(ow, sw, off_w, iw);
                        let start = if lo < hi { (lo as isize * sw as isize + off_w) as usize } else { 0 };
                        for z in 0..od {
                            let d = (z * sd + a * dd) as isize - pd as isize;
                            for y in 0..oh {
                                let h = (y * sh + b * dh) as isize - ph as isize;
                                let line = (z * oh + y) * ow;
                                let inside = d >= 0 && (d as usize) < id && h >= 0 && (h as usize) < ih;
                                let off = inside.then(|| (d as usize * ih + h as usize) * iw);
                                visit(row, line, off.map(|o| o + start), lo, hi, c);
                            }
                        }
                        row += 1;
                    }
                }
            }
        }
    }
}

/// Output positions `x` in `0..out_len` whose input position `x * stride + off` lies in
/// `0..in_len`, as a range `lo..hi` (empty when none).
fn valid_range(out_len: usize, stride: usize, off: isize, in_len: usize) -> (usize, usize) {
    let (s, n) = (stride as isize, in_len as isize);
    let lo = if off < 0 { (-off + s - 1) / s } else { 0 };
    let hi = if n - 1 - off < 0 { 0 } else { ((n - 1 - off) / s + 1).min(out_len as isize) };
    let lo = (lo as usize).min(out_len);
    (lo, (hi as usize).max(lo))
}

/// Unfolds `img` (`channels x input`) into `col` (`col_rows x output_size`): row
/// `(c, kd, kh, kw)`, column `(z, y, x)` holds the input under that kernel offset at that output
/// position, 0 in the padding.
pub fn im2col<T: Float>(g: &Geometry, img: &[T], col: &mut [T]) {
    let (isz, osz, ow, sw) = (g.input_size(), g.output_size(), g.output[2], g.stride[2]);
    assert!(img.len() >= g.channels * isz && col.len() >= g.col_rows() * osz, "im2col buffers too small");
    g.lines(|row, line, off, lo, hi, c| {
        let dst = &mut col[row * osz + line..][..ow];
        let Some(off) = off.filter(|_| lo < hi) else {
            dst.fill(T::ZERO);
            return;
        };
        dst[..lo].fill(T::ZERO);
        dst[hi..].fill(T::ZERO);
        let src = &img[c * isz + off..];
        if sw == 1 {
            dst[lo..hi].copy_from_slice(&src[..hi - lo]);
        } else {
            for (d, s) in dst[lo..hi].iter_mut().zip(src.iter().step_by(sw)) {
                *d = *s;
            }
        }
    });
}

/// The adjoint of [`im2col`]: adds each column-matrix entry into the input position it came
/// from (entries from the padding are dropped). `img` is accumulated into, not cleared.
pub fn col2im<T: Float>(g: &Geometry, col: &[T], img: &mut [T]) {
    let (isz, osz, sw) = (g.input_size(), g.output_size(), g.stride[2]);
    assert!(img.len() >= g.channels * isz && col.len() >= g.col_rows() * osz, "col2im buffers too small");
    g.lines(|row, line, off, lo, hi, c| {
        let Some(off) = off.filter(|_| lo < hi) else { return };
        let src = &col[row * osz + line..][lo..hi];
        let dst = &mut img[c * isz + off..];
        if sw == 1 {
            for (d, s) in dst[..hi - lo].iter_mut().zip(src) {
                *d += *s;
            }
        } else {
            for (d, s) in dst.iter_mut().step_by(sw).zip(src) {
                *d += *s;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(c: usize, input: [usize; 3], kernel: [usize; 3], stride: [usize; 3], pad: [usize; 3], dilate: [usize; 3]) -> Geometry {
        let output = std::array::from_fn(|i| (input[i] + 2 * pad[i] - dilated(kernel[i], dilate[i])) / stride[i] + 1);
        Geometry { channels: c, input, output, kernel, stride, pad, dilate }
    }

    /// The definition, position by position.
    fn naive(g: &Geometry, img: &[f64]) -> Vec<f64> {
        let mut col = vec![0.0; g.col_rows() * g.output_size()];
        let mut row = 0;
        for c in 0..g.channels {
            for a in 0..g.kernel[0] {
                for b in 0..g.kernel[1] {
                    for e in 0..g.kernel[2] {
                        let mut j = 0;
                        for z in 0..g.output[0] {
                            for y in 0..g.output[1] {
                                for x in 0..g.output[2] {
                                    let p = [z * g.stride[0] + a * g.dilate[0], y * g.stride[1] + b * g.dilate[1], x * g.stride[2] + e * g.dilate[2]];
                                    let q: Vec<isize> = (0..3).map(|i| p[i] as isize - g.pad[i] as isize).collect();
                                    if (0..3).all(|i| q[i] >= 0 && (q[i] as usize) < g.input[i]) {
                                        let at = ((c * g.input[0] + q[0] as usize) * g.input[1] + q[1] as usize) * g.input[2] + q[2] as usize;
                                        col[row * g.output_size() + j] = img[at];
                                    }
                                    j += 1;
                                }
                            }
                        }
                        row += 1;
                    }
                }
            }
        }
        col
    }

    #[test]
    fn im2col_matches_the_definition_and_col2im_is_its_adjoint() {
        let cases = [
            geometry(2, [1, 5, 6], [1, 3, 3], [1, 1, 1], [0, 1, 1], [1, 1, 1]),
            geometry(3, [1, 7, 8], [1, 3, 2], [1, 2, 3], [0, 2, 1], [1, 1, 2]),
            geometry(1, [1, 1, 9], [1, 1, 4], [1, 1, 2], [0, 0, 3], [1, 1, 1]),
            geometry(2, [4, 5, 3], [2, 3, 2], [2, 1, 1], [1, 0, 1], [1, 2, 1]),
            geometry(2, [1, 3, 3], [1, 1, 1], [1, 1, 1], [0, 0, 0], [1, 1, 1]),
        ];
        for g in cases {
            let img: Vec<f64> = (0..g.channels * g.input_size()).map(|i| i as f64 * 0.5 - 3.0).collect();
            let mut col = vec![f64::NAN; g.col_rows() * g.output_size()];
            im2col(&g, &img, &mut col);
            assert_eq!(col, naive(&g, &img), "{g:?}");
            // <im2col(x), c> = <x, col2im(c)> for any c.
            let c: Vec<f64> = (0..col.len()).map(|i| ((i * 7) % 11) as f64 - 5.0).collect();
            let mut back = vec![0.0; img.len()];
            col2im(&g, &c, &mut back);
            let lhs: f64 = col.iter().zip(&c).map(|(a, b)| a * b).sum();
            let rhs: f64 = img.iter().zip(&back).map(|(a, b)| a * b).sum();
            assert!((lhs - rhs).abs() < 1e-9, "{g:?}: {lhs} vs {rhs}");
        }
    }
}
