//! The host's nearest-neighbour upsampling loops: the forward repeats each element in an
//! `s x s` block (images in parallel), the backward sums each block back (planes in parallel).

use rayon::prelude::*;

use crate::float::Float;
use crate::upsampling::NearestPlan;

/// `y = upsample(xs)`: each image's sources, stacked along channels or added.
pub fn nearest_forward<T: Float>(plan: &NearestPlan, xs: &[&[T]], y: &mut [T]) {
    let (n, c, oh, ow) = (plan.batch, plan.channels, plan.height, plan.width);
    let oplane = oh * ow;
    if n == 0 || oplane == 0 {
        return;
    }
    // (elements, channels, scale) per input: plain slices, which threads may share.
    let srcs: Vec<(&[T], usize, usize)> = xs.iter().zip(&plan.sources).map(|(&x, s)| (x, s.channels, s.scale)).collect();
    y.par_chunks_mut(c * oplane).enumerate().for_each(|(b, img)| {
        let mut channel = 0;
        for (i, &(x, xc, s)) in srcs.iter().enumerate() {
            let xi = &x[b * xc * oplane / (s * s)..][..xc * oplane / (s * s)];
            let add = plan.sum && i > 0;
            for (src, dst) in xi.chunks_exact(oplane / (s * s)).zip(img[channel * oplane..].chunks_exact_mut(oplane)) {
                upsample_plane(src, dst, ow, s, add);
            }
            if !plan.sum {
                channel += xc;
            }
        }
    });
}

/// Each source's gradient from `dy`: the sum of its element's block, in its channels of `dy`.
pub fn nearest_backward<T: Float>(plan: &NearestPlan, dy: &[T], dxs: &mut [&mut [T]]) {
    let (n, c, oh, ow) = (plan.batch, plan.channels, plan.height, plan.width);
    let oplane = oh * ow;
    if n == 0 || oplane == 0 {
        return;
    }
    let mut channel = 0;
    for (dx, src) in dxs.iter_mut().zip(&plan.sources) {
        let (xc, s) = (src.channels, src.scale);
        let iplane = oplane / (s * s);
        dx.par_chunks_mut(iplane).enumerate().for_each(|(p, dst)| {
            let (b, ch) = (p / xc, p % xc);
            let src = &dy[(b * c + channel + ch) * oplane..][..oplane];
            downsum_plane(src, dst, ow, s);
        });
        if !plan.sum {
            channel += xc;
        }
    }
}

/// `dst` (rows of width `ow`) gets each element of `src` repeated in an `s x s` block.
fn upsample_plane<T: Float>(src: &[T], dst: &mut [T], ow: usize, s: usize, add: bool) {
    let iw = ow / s;
    for (r, row) in dst.chunks_exact_mut(ow).enumerate() {
        let line = &src[(r / s) * iw..][..iw];
        for (block, &v) in row.chunks_exact_mut(s).zip(line) {
            for d in block {
                *d = if add { *d + v } else { v };
            }
        }
    }
}

/// The adjoint of [`upsample_plane`]: each element of `dst` is the sum of its block of `src`.
fn downsum_plane<T: Float>(src: &[T], dst: &mut [T], ow: usize, s: usize) {
    let iw = ow / s;
    dst.fill(T::ZERO);
    for (r, row) in src.chunks_exact(ow).enumerate() {
        let line = &mut dst[(r / s) * iw..][..iw];
        for (block, d) in row.chunks_exact(s).zip(line) {
            for &v in block {
                *d += v;
            }
        }
    }
}
