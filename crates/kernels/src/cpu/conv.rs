//! The three products of a grouped convolution over a batch on the host, as `im2col` + GEMM per
//! image and group: the forward (`y = W * x`), the data gradient (`dx = W^T * dy`, through
//! `col2im`) and the weight gradient (`dW = sum_n dy_n * col(x_n)^T`). Deconvolution is the same
//! three with the roles of forward and data gradient swapped.
//!
//! Threading: with several images and several threads, images run in parallel, each with a
//! single-threaded GEMM and its own column buffer (small products split poorly, and images
//! never share an output); a single image runs the GEMM threaded instead.

use rayon::prelude::*;

use super::conv_s1::Grid;
use super::gemm::{matmul_on as gemm, rows, transposed};
use super::im2col::{col2im, im2col};
use super::winograd::{self, Wino};
use super::winograd_weight;
use crate::conv::ConvPlan;
use crate::float::Float;

/// Runs `f(image, out_chunk, scratch, serial_gemm)` for each image's `chunk`-sized slice of
/// `out`, in parallel when that pays; each task has its own `scratch` from `make`.
fn per_image<T: Float, S>(p: &ConvPlan, out: &mut [T], chunk: usize, make: impl Fn() -> S + Sync + Send, f: impl Fn(usize, &mut [T], &mut S, bool) + Sync + Send) {
    if p.parallel_images() {
        out.par_chunks_mut(chunk).enumerate().for_each_init(&make, |s, (n, o)| f(n, o, s, true));
    } else {
        let mut s = make();
        for (n, o) in out.chunks_mut(chunk).enumerate() {
            f(n, o, &mut s, false);
        }
    }
}

/// `dw = sum_n add(n)`: each image's contribution added by `add(n, acc, scratch, serial_gemm)`
/// into `acc`, laid out as each group's `dW_gᵀ` (`col_rows x fg`): as that product the GEMM's
/// long side is the weights' `col_rows`, and its speed no longer hangs on a handful of filters
/// (1.3-1.6x at 64-128 filters, the `gemm` crate, issue 16). In parallel, fixed runs of images
/// are summed apart and the runs' sums added in order, so the result does not depend on how
/// the pool schedules the work (runs are reproducible bit for bit).
fn sum_images<T: Float, S>(p: &ConvPlan, dw: &mut [T], make: impl Fn() -> S + Sync + Send, add: impl Fn(usize, &mut [T], &mut S, bool) + Sync + Send) {
    if dw.is_empty() {
        return;
    }
    let mut total = vec![T::ZERO; dw.len()];
    if p.parallel_images() {
        let parts = rayon::current_num_threads().min(p.batch);
        let per = p.batch.div_ceil(parts);
        let partial: Vec<Vec<T>> = (0..parts)
            .into_par_iter()
            .map(|t| {
                let (mut acc, mut s) = (vec![T::ZERO; dw.len()], make());
                for n in t * per..((t + 1) * per).min(p.batch) {
                    add(n, &mut acc, &mut s, true);
                }
                acc
            })
            .collect();
        for part in &partial {
            total.iter_mut().zip(part).for_each(|(x, y)| *x += *y);
        }
    } else {
        let mut s = make();
        for n in 0..p.batch {
            add(n, &mut total, &mut s, false);
        }
    }
    let (fg, ck) = (p.fg(), p.geom.col_rows());
    for (dwg, tg) in dw.chunks_exact_mut(p.w_group()).zip(total.chunks_exact(p.w_group())) {
        for (f, row) in dwg.chunks_exact_mut(ck).enumerate() {
            row.iter_mut().zip(tg[f..].iter().step_by(fg)).for_each(|(d, &t)| *d = t);
        }
    }
}

/// `y = conv(x, w) (+ bias)`; `y` is overwritten. The bias is added per image, while its
/// output is still in cache.
pub fn forward<T: Float>(p: &ConvPlan, x: &[T], w: &[T], bias: Option<&[T]>, y: &mut [T]) {
    if let Some((wino, _)) = Wino::for_plan(p) {
        return winograd::forward(p, &wino, x, w, bias, y);
    }
    if let Some(grid) = Grid::new(&p.geom) {
        return forward_grid(p, &grid, x, w, bias, y);
    }
    let (g, fg, osz, ck) = (&p.geom, p.fg(), p.geom.output_size(), p.geom.col_rows());
    let xg = g.channels * g.input_size();
    let col_len = p.col_len();
    per_image(p, y, p.y_image(), || vec![T::ZERO; col_len], |n, yn, col, serial| {
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
    if let Some((_, wino)) = Wino::for_plan(p) {
        return winograd::backward_data(p, &wino, dy, w, dx);
    }
    if let Some(grid) = Grid::new(&p.geom) {
        return backward_data_grid(p, &grid, dy, w, dx);
    }
    let (g, fg, osz, ck) = (&p.geom, p.fg(), p.geom.output_size(), p.geom.col_rows());
    let xg = g.channels * g.input_size();
    let col_len = p.col_len();
    per_image(p, dx, p.x_image(), || vec![T::ZERO; col_len], |n, dxn, col, serial| {
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
    if let Some((wino, _)) = Wino::for_plan(p) {
        return winograd_weight::backward_weight(p, &wino, dy, x, dw);
    }
    if let Some(grid) = Grid::new(&p.geom) {
        return backward_weight_grid(p, &grid, dy, x, dw);
    }
    let (g, fg, osz, ck) = (&p.geom, p.fg(), p.geom.output_size(), p.geom.col_rows());
    let xg = g.channels * g.input_size();
    let col_len = p.col_len();
    // Adds image n's contribution into `acc` (the whole weight gradient, transposed per group).
    sum_images(p, dw, || vec![T::ZERO; col_len], |n, acc, col, serial| {
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
            // SAFETY: the columns are ck x osz, dy_g^T osz x fg, dW_g^T ck x fg.
            unsafe { gemm(serial, ck, fg, osz, rows(src, osz), transposed(dyg, osz), dwg.as_mut_ptr(), true) };
        }
    });
}

/// One task's buffers for the padded-grid path: the padded image (or its gradient), the
/// column matrix, and a product on the grid (`fg x n`).
struct GridScratch<T> {
    padded: Vec<T>,
    col: Vec<T>,
    out: Vec<T>,
}

fn grid_scratch<T: Float>(p: &ConvPlan, grid: &Grid) -> GridScratch<T> {
    GridScratch { padded: vec![T::ZERO; grid.padded_len()], col: vec![T::ZERO; grid.rows() * grid.n()], out: vec![T::ZERO; p.fg() * grid.n()] }
}

fn forward_grid<T: Float>(p: &ConvPlan, grid: &Grid, x: &[T], w: &[T], bias: Option<&[T]>, y: &mut [T]) {
    let (fg, osz, n, ck) = (p.fg(), p.geom.output_size(), grid.n(), grid.rows());
    let xg = p.geom.channels * p.geom.input_size();
    per_image(p, y, p.y_image(), || grid_scratch(p, grid), |img, yn, s, serial| {
        for gi in 0..p.groups {
            grid.pad_into(&x[img * p.x_image() + gi * xg..][..xg], &mut s.padded);
            grid.columns(&s.padded, &mut s.col);
            // SAFETY: W_g is fg x ck, the columns ck x n, the product fg x n, all in bounds.
            unsafe { gemm(serial, fg, n, ck, rows(w[gi * p.w_group()..].as_ptr(), ck), rows(s.col.as_ptr(), n), s.out.as_mut_ptr(), false) };
            grid.unpad(&s.out, &mut yn[gi * fg * osz..][..fg * osz], bias.map(|b| &b[gi * fg..][..fg]));
        }
    });
}

fn backward_data_grid<T: Float>(p: &ConvPlan, grid: &Grid, dy: &[T], w: &[T], dx: &mut [T]) {
    let (fg, osz, n, ck) = (p.fg(), p.geom.output_size(), grid.n(), grid.rows());
    let xg = p.geom.channels * p.geom.input_size();
    per_image(p, dx, p.x_image(), || grid_scratch(p, grid), |img, dxn, s, serial| {
        for gi in 0..p.groups {
            grid.spread(&dy[img * p.y_image() + gi * fg * osz..][..fg * osz], &mut s.out);
            // SAFETY: W_g^T is ck x fg, dy on the grid fg x n, the columns ck x n.
            unsafe { gemm(serial, ck, n, fg, transposed(w[gi * p.w_group()..].as_ptr(), ck), rows(s.out.as_ptr(), n), s.col.as_mut_ptr(), false) };
            grid.fold(&s.col, &mut s.padded, &mut dxn[gi * xg..][..xg]);
        }
    });
}

fn backward_weight_grid<T: Float>(p: &ConvPlan, grid: &Grid, dy: &[T], x: &[T], dw: &mut [T]) {
    let (fg, osz, n, ck) = (p.fg(), p.geom.output_size(), grid.n(), grid.rows());
    let xg = p.geom.channels * p.geom.input_size();
    sum_images(p, dw, || grid_scratch(p, grid), |img, acc, s, serial| {
        for gi in 0..p.groups {
            grid.pad_into(&x[img * p.x_image() + gi * xg..][..xg], &mut s.padded);
            grid.columns(&s.padded, &mut s.col);
            grid.spread(&dy[img * p.y_image() + gi * fg * osz..][..fg * osz], &mut s.out);
            let dwg = &mut acc[gi * p.w_group()..][..p.w_group()];
            // SAFETY: the columns are ck x n, dy on the grid read transposed n x fg, dW_g^T ck x fg.
            unsafe { gemm(serial, ck, fg, n, rows(s.col.as_ptr(), n), transposed(s.out.as_ptr(), n), dwg.as_mut_ptr(), true) };
        }
    });
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
