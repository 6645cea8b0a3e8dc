//! The three products of a grouped convolution over a batch on the host, as `im2col` + GEMM per
//! image and group: the forward (`y = W * x`), the data gradient (`dx = W^T * dy`, through
//! `col2im`) and the weight gradient (`dW = sum_n dy_n * col(x_n)^T`). Deconvolution is the same
//! three with the roles of forward and data gradient swapped.
//!
//! Threading: with several images and several threads, images run in parallel, each with a
//! single-threaded GEMM and its own column buffer (small products split poorly, and images
//! never share an output); a single image runs the GEMM threaded instead.

use rayon::prelude::*;

use super::gemm::{matmul, matmul_serial, MatRef};
use super::im2col::{col2im, im2col};
use crate::conv::ConvPlan;
use crate::float::Float;

/// `c = a * b` (or `+=`), serial or threaded.
///
/// # Safety
/// As for [`matmul`].
#[allow(clippy::too_many_arguments)]
unsafe fn gemm<T: Float>(serial: bool, m: usize, n: usize, k: usize, a: MatRef<T>, b: MatRef<T>, c: *mut T, acc: bool) {
    if serial {
        matmul_serial(m, n, k, a, b, c, acc)
    } else {
        matmul(m, n, k, a, b, c, acc)
    }
}

fn rows<T>(ptr: *const T, cols: usize) -> MatRef<T> {
    MatRef { ptr, rs: cols as isize, cs: 1 }
}

fn transposed<T>(ptr: *const T, cols: usize) -> MatRef<T> {
    MatRef { ptr, rs: 1, cs: cols as isize }
}

/// Runs `f(image, out_chunk, col_buffer, serial_gemm)` for each image's `chunk`-sized slice
/// of `out`, in parallel when that pays.
fn per_image<T: Float>(p: &ConvPlan, out: &mut [T], chunk: usize, f: impl Fn(usize, &mut [T], &mut [T], bool) + Sync + Send) {
    let col_len = p.col_len();
    if p.parallel_images() {
        out.par_chunks_mut(chunk).enumerate().for_each_init(|| vec![T::ZERO; col_len], |col, (n, o)| f(n, o, col, true));
    } else {
        let mut col = vec![T::ZERO; col_len];
        for (n, o) in out.chunks_mut(chunk).enumerate() {
            f(n, o, &mut col, false);
        }
    }
}

/// `y = conv(x, w) (+ bias)`; `y` is overwritten. The bias is added per image, while its
/// output is still in cache.
pub fn forward<T: Float>(p: &ConvPlan, x: &[T], w: &[T], bias: Option<&[T]>, y: &mut [T]) {
    let (g, fg, osz, ck) = (&p.geom, p.fg(), p.geom.output_size(), p.geom.col_rows());
    let xg = g.channels * g.input_size();
    per_image(p, y, p.y_image(), |n, yn, col, serial| {
        for gi in 0..p.groups {
            let xs = &x[n * p.x_image() + gi * xg..][..xg];
            let src = if g.is_pointwise() {
                xs.as_ptr()
            } else {
                im2col(g, xs, col);
                col.as_ptr()
            };
            let yg = &mut yn[gi * fg * osz..][..fg * osz];
            // SAFETY: W_g is fg x ck, the column matrix ck x osz, y_g fg x osz, all in bounds.
            unsafe { gemm(serial, fg, osz, ck, rows(w[gi * p.w_group()..].as_ptr(), ck), rows(src, osz), yg.as_mut_ptr(), false) };
        }
        if let Some(b) = bias {
            add_bias(yn, b, osz);
        }
    });
}

/// `dx = conv^T(dy, w)`: the gradient with respect to the input; `dx` is overwritten.
pub fn backward_data<T: Float>(p: &ConvPlan, dy: &[T], w: &[T], dx: &mut [T]) {
    let (g, fg, osz, ck) = (&p.geom, p.fg(), p.geom.output_size(), p.geom.col_rows());
    let xg = g.channels * g.input_size();
    per_image(p, dx, p.x_image(), |n, dxn, col, serial| {
        for gi in 0..p.groups {
            let dyg = dy[n * p.y_image() + gi * fg * osz..].as_ptr();
            let wt = transposed(w[gi * p.w_group()..].as_ptr(), ck);
            let dxg = &mut dxn[gi * xg..][..xg];
            if g.is_pointwise() {
                // SAFETY: W_g^T is ck x fg, dy_g fg x osz, dx_g ck x osz (ck = channels, osz = input size).
                unsafe { gemm(serial, ck, osz, fg, wt, rows(dyg, osz), dxg.as_mut_ptr(), false) };
            } else {
                // SAFETY: as above, into the column buffer of ck x osz.
                unsafe { gemm(serial, ck, osz, fg, wt, rows(dyg, osz), col.as_mut_ptr(), false) };
                dxg.fill(T::ZERO);
                col2im(g, col, dxg);
            }
        }
    });
}

/// `dw = sum_n dy_n * col(x_n)^T`: the gradient with respect to the weights; `dw` is overwritten.
pub fn backward_weight<T: Float>(p: &ConvPlan, dy: &[T], x: &[T], dw: &mut [T]) {
    let (g, fg, osz, ck) = (&p.geom, p.fg(), p.geom.output_size(), p.geom.col_rows());
    let xg = g.channels * g.input_size();
    // Adds image n's contribution into `acc` (the whole weight gradient).
    let add = |n: usize, acc: &mut [T], col: &mut [T], serial: bool| {
        for gi in 0..p.groups {
            let xs = &x[n * p.x_image() + gi * xg..][..xg];
            let src = if g.is_pointwise() {
                xs.as_ptr()
            } else {
                im2col(g, xs, col);
                col.as_ptr()
            };
            let dyg = dy[n * p.y_image() + gi * fg * osz..].as_ptr();
            let dwg = &mut acc[gi * p.w_group()..][..p.w_group()];
            // SAFETY: dy_g is fg x osz, col^T osz x ck, dW_g fg x ck.
            unsafe { gemm(serial, fg, ck, osz, rows(dyg, osz), transposed(src, osz), dwg.as_mut_ptr(), true) };
        }
    };
    let col_len = p.col_len();
    dw.fill(T::ZERO);
    if p.parallel_images() {
        // Fixed runs of images, their sums added in order: the result does not depend on how
        // the pool schedules the work (runs are reproducible bit for bit).
        let parts = rayon::current_num_threads().min(p.batch);
        let per = p.batch.div_ceil(parts);
        let partial: Vec<Vec<T>> = (0..parts)
            .into_par_iter()
            .map(|t| {
                let (mut acc, mut col) = (vec![T::ZERO; dw.len()], vec![T::ZERO; col_len]);
                for n in t * per..((t + 1) * per).min(p.batch) {
                    add(n, &mut acc, &mut col, true);
                }
                acc
            })
            .collect();
        for part in &partial {
            dw.iter_mut().zip(part).for_each(|(x, y)| *x += *y);
        }
    } else {
        let mut col = vec![T::ZERO; col_len];
        for n in 0..p.batch {
            add(n, dw, &mut col, false);
        }
    }
}

/// `y[n, f, ...] += b[f]` for any number of images.
pub fn add_bias<T: Float>(y: &mut [T], b: &[T], spatial: usize) {
    if spatial == 0 {
        return;
    }
    for (plane, &bias) in y.chunks_exact_mut(spatial).zip(b.iter().cycle()) {
        plane.iter_mut().for_each(|v| *v += bias);
    }
}

/// `db[f] = sum over images and positions of dy[n, f, ...]`.
pub fn bias_grad<T: Float>(dy: &[T], db: &mut [T], spatial: usize) {
    db.fill(T::ZERO);
    let channels = db.len();
    if channels == 0 || spatial == 0 {
        return;
    }
    for img in dy.chunks_exact(channels * spatial) {
        for (plane, acc) in img.chunks_exact(spatial).zip(db.iter_mut()) {
            let mut s = T::ZERO;
            for &v in plane {
                s += v;
            }
            *acc += s;
        }
    }
}
