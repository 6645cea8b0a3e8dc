//! `im2col` / `col2im` on the host: they turn a convolution into one matrix product per image.

use crate::float::Float;
use crate::window::Geometry;

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
    use crate::window::dilated;

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
