//! Host loops of a dense layer (`FullyConnected`): `y = x·Wᵀ + b` and its gradients, the
//! products through [`super::gemm::matmul`].

use rayon::prelude::*;

use crate::fused::BlockFn;
use crate::gemm::Linear;
use crate::Float;

use super::elementwise::PARALLEL_GRAIN;
use super::gemm::{matmul, matmul_on, rows, transposed};

/// `y = x·Wᵀ (+ b)`. For layers at least as wide as the batch, computed as `yᵀ = W·xᵀ` into a
/// scratch and transposed into `y`: the `gemm` crate runs `x·Wᵀ` into a row-major `y` at about
/// 60% of its speed for that arrangement (one core, AVX-512: 128x512x512 at 54 against 93
/// GFLOP/s, 128x784x512 at 96 against 110; two cores about 10% apart; issue 16), and the
/// transpose costs a small fraction of either. Narrow layers (a classifier's 10 outputs) keep
/// the direct form, where the transposed one splits badly (3x slower at 128x512x10). Either
/// way the product accumulates onto the bias in the same order: the same bits.
///
/// `post` (a fused activation's block kernel) then maps every element: for wide layers as each
/// band of `y` is transposed, while in cache; for narrow ones in a pass over `y` in blocks.
pub fn forward<T: Float>(g: &Linear, x: &[T], w: &[T], b: Option<&[T]>, post: Option<&BlockFn<T>>, y: &mut [T]) {
    let (batch, nh, cols) = (g.rows, g.hidden, g.cols);
    if nh < batch {
        if let Some(b) = b {
            y.chunks_exact_mut(nh).for_each(|row| row.copy_from_slice(b));
        }
        // SAFETY: x is batch×cols, w nh×cols (read transposed), y batch×nh, all dense.
        unsafe { matmul::<T>(batch, nh, cols, rows(x.as_ptr(), cols), transposed(w.as_ptr(), cols), y.as_mut_ptr(), b.is_some()) };
        if let Some(post) = post {
            map_in_place(post, y);
        }
        return;
    }
    let threads = rayon::current_num_threads();
    if threads > 1 && batch >= BLOCK_ROWS * threads && nh * cols * std::mem::size_of::<T>() <= BLOCK_WEIGHT_BYTES {
        // One block of the batch per thread, each a serial product into its own scratch,
        // transposed into its rows of y while hot in cache: no second pass over the pool, and
        // every block packs the whole of W once (splitting W's rows instead ran 10-15% slower
        // at 128x512x512 on two AVX-512 cores). Each thread reads all of W, so only for
        // weights that stay in cache: the MLP's 1.6 MB first layer, just written by the
        // update, ran about 2% slower a step this way.
        let step = batch.div_ceil(threads).next_multiple_of(BLOCK_ROWS);
        y.par_chunks_mut(step * nh).enumerate().for_each(|(i, y)| {
            let lo = i * step;
            transposed_block(nh, y.len() / nh, cols, w, &x[lo * cols..], b, post, y, true);
        });
        return;
    }
    transposed_block(nh, batch, cols, w, x, b, post, y, false);
}

/// Rows of the batch that make one thread's block of a wide layer's forward product.
const BLOCK_ROWS: usize = 32;
/// The largest weight a wide layer's forward reads whole on every thread.
const BLOCK_WEIGHT_BYTES: usize = 1 << 20;

/// `y = x·Wᵀ (+ b)` for `n` rows of `x` as `yᵀ = W·xᵀ` into a scratch, then transposed.
#[allow(clippy::too_many_arguments)]
fn transposed_block<T: Float>(nh: usize, n: usize, cols: usize, w: &[T], x: &[T], b: Option<&[T]>, post: Option<&BlockFn<T>>, y: &mut [T], serial: bool) {
    let mut yt = vec![T::ZERO; n * nh];
    if let Some(b) = b {
        yt.chunks_exact_mut(n.max(1)).zip(b).for_each(|(line, &bias)| line.fill(bias));
    }
    // SAFETY: w is nh×cols, x holds at least n rows of cols (read transposed), yt nh×n, all dense.
    unsafe { matmul_on::<T>(serial, nh, n, cols, rows(w.as_ptr(), cols), transposed(x.as_ptr(), cols), yt.as_mut_ptr(), b.is_some()) };
    transpose_on(serial, &yt, nh, n, post, y);
}

/// `dst = post(srcᵀ)` (or `srcᵀ`) for `src` of `r x c` (row-major), in square tiles so both
/// sides stay in cache; unless `serial`, bands of `dst`'s rows in parallel. With `post`, each
/// band is mapped in place right after it is written, while in cache.
fn transpose_on<T: Float>(serial: bool, src: &[T], r: usize, c: usize, post: Option<&BlockFn<T>>, dst: &mut [T]) {
    if r == 0 || c == 0 {
        return;
    }
    let band = |(i, lines): (usize, &mut [T])| {
        transpose_band(src, r, c, i * TILE, lines);
        if let Some(post) = post {
            map_blocks(post, lines);
        }
    };
    if serial {
        dst.chunks_mut(TILE * r).enumerate().for_each(band);
    } else {
        dst.par_chunks_mut(TILE * r).enumerate().for_each(band);
    }
}

const TILE: usize = 32;

/// `y = post(y)`; large arrays split across the pool as the elementwise kernels split them.
fn map_in_place<T: Float>(post: &BlockFn<T>, y: &mut [T]) {
    if y.len() <= PARALLEL_GRAIN {
        map_blocks(post, y);
    } else {
        y.par_chunks_mut(PARALLEL_GRAIN).for_each(|part| map_blocks(post, part));
    }
}

/// `y = post(y)` on this thread, through a scratch small enough for the first-level cache (the
/// kernel reads one slice and writes another), so a band just written stays in cache.
fn map_blocks<T: Float>(post: &BlockFn<T>, y: &mut [T]) {
    const BLOCK: usize = 1024;
    let mut scratch = [T::ZERO; BLOCK];
    for block in y.chunks_mut(BLOCK) {
        let scratch = &mut scratch[..block.len()];
        scratch.copy_from_slice(block);
        post(&[scratch], block);
    }
}

/// Rows `j0..` of `dst = srcᵀ` (`lines`, whole rows of `r`), in square tiles.
fn transpose_band<T: Copy>(src: &[T], r: usize, c: usize, j0: usize, lines: &mut [T]) {
    for i0 in (0..r).step_by(TILE) {
        for (dj, line) in lines.chunks_exact_mut(r).enumerate() {
            for i in i0..(i0 + TILE).min(r) {
                line[i] = src[i * c + j0 + dj];
            }
        }
    }
}

/// `[dy, x, w]` to `dx = dy·W` (unless the data needs no gradient), `dw = dyᵀ·x` and (with a bias) `db = Σ_rows dy`.
pub fn backward<T: Float>(g: &Linear, [dy, x, w]: [&[T]; 3], dx: Option<&mut [T]>, dw: &mut [T], db: Option<&mut [T]>) {
    let (batch, cols, nh) = (g.rows, g.cols, g.hidden);
    // SAFETY (both): dy is batch×nh, x batch×cols, w nh×cols; dx and dw are fresh outputs of
    // those shapes.
    let data_grad = |dx: &mut [T], serial: bool| unsafe {
        matmul_on(serial, batch, cols, nh, rows(dy.as_ptr(), nh), rows(w.as_ptr(), cols), dx.as_mut_ptr(), false)
    };
    let weight_grad = |dw: &mut [T], serial: bool| unsafe {
        matmul_on(serial, nh, cols, batch, transposed(dy.as_ptr(), nh), rows(x.as_ptr(), cols), dw.as_mut_ptr(), false)
    };
    match dx {
        // The two products have the same size (rows x cols x nh); on two threads one each
        // beats splitting both in turn, where each half packs the shared operand again
        // (FullyConnected forward and backward, 2 cores, AVX-512: 128x784x512 2.0 against
        // 2.17 ms, 128x512x512 1.5 against 1.54). Each element sums in one call either way,
        // so the bits are the same.
        Some(dx) if rayon::current_num_threads() == 2 => {
            rayon::join(|| data_grad(dx, true), || weight_grad(dw, true));
        }
        Some(dx) => {
            data_grad(dx, false);
            weight_grad(dw, false);
        }
        None => weight_grad(dw, false),
    }
    if let Some(db) = db {
        db.fill(T::ZERO);
        for row in dy.chunks_exact(nh) {
            for (s, &v) in db.iter_mut().zip(row) {
                *s += v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Integer-valued operands, so every sum is exact and every arrangement must agree bitwise
    /// with the definition: narrow layers (direct), wide ones (transposed, bands of 32 rows
    /// and a partial one; on two threads in batch blocks of 64 and 6 rows, and with a weight
    /// over `BLOCK_WEIGHT_BYTES` split by W's rows; a narrow one over the parallel grain), with
    /// and without bias and a fused epilogue, both gradients, on one thread and on two.
    #[test]
    fn forward_and_backward_match_the_definition() {
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(check_against_the_definition);
        }
    }

    fn check_against_the_definition() {
        for (rows, cols, nh) in [(70, 19, 100), (128, 40, 10), (1, 5, 7), (33, 8, 33), (70, 400, 400), (4000, 3, 10)] {
            let val = |i: usize, m: usize| ((i * m) % 9) as f64 - 4.0;
            let x: Vec<f64> = (0..rows * cols).map(|i| val(i, 7)).collect();
            let w: Vec<f64> = (0..nh * cols).map(|i| val(i, 5)).collect();
            let b: Vec<f64> = (0..nh).map(|i| val(i, 3)).collect();
            let g = Linear { rows, cols, hidden: nh };
            // A fused epilogue: each element mapped once, wherever its band or block lies.
            let post: BlockFn<f64> = std::sync::Arc::new(|x, y| y.iter_mut().zip(x[0]).for_each(|(o, &v)| *o = v.max(0.0) * 2.0 + 1.0));
            for bias in [None, Some(&b[..])] {
                let (mut y, mut mapped) = (vec![f64::NAN; rows * nh], vec![f64::NAN; rows * nh]);
                forward(&g, &x, &w, bias, None, &mut y);
                forward(&g, &x, &w, bias, Some(&post), &mut mapped);
                for r in 0..rows {
                    for h in 0..nh {
                        let want = (0..cols).map(|c| x[r * cols + c] * w[h * cols + c]).sum::<f64>() + bias.map_or(0.0, |b| b[h]);
                        assert_eq!(y[r * nh + h], want, "{rows}x{cols}x{nh} y[{r}][{h}]");
                        assert_eq!(mapped[r * nh + h], want.max(0.0) * 2.0 + 1.0, "{rows}x{cols}x{nh} post(y)[{r}][{h}]");
                    }
                }
            }
            let dy: Vec<f64> = (0..rows * nh).map(|i| val(i, 2)).collect();
            let (mut dx, mut dw, mut db) = (vec![f64::NAN; rows * cols], vec![f64::NAN; nh * cols], vec![f64::NAN; nh]);
            backward(&g, [&dy, &x, &w], Some(&mut dx), &mut dw, Some(&mut db));
            for r in 0..rows {
                for c in 0..cols {
                    assert_eq!(dx[r * cols + c], (0..nh).map(|h| dy[r * nh + h] * w[h * cols + c]).sum::<f64>());
                }
            }
            for h in 0..nh {
                for c in 0..cols {
                    assert_eq!(dw[h * cols + c], (0..rows).map(|r| dy[r * nh + h] * x[r * cols + c]).sum::<f64>());
                }
                assert_eq!(db[h], (0..rows).map(|r| dy[r * nh + h]).sum::<f64>());
            }
        }
    }
}
