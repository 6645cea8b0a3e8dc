//! Sliding-window geometry shared by Convolution, Deconvolution and Pooling on every device: one
//! image's window as three spatial axes (1-D and 2-D windows are 3-D ones with leading axes of
//! size 1, so one loop nest serves every rank).

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
    pub(crate) fn lines(&self, mut visit: impl FnMut(usize, usize, Option<usize>, usize, usize, usize)) {
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
