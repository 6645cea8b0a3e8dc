//! Host loops of a dense layer (`FullyConnected`): `y = x·Wᵀ + b` and its gradients, the
//! products through [`super::gemm::matmul`].

use crate::Float;
use crate::gemm::Linear;

use super::gemm::{matmul, MatRef};

/// `y = x·Wᵀ (+ b)`: y starts as the bias rows and the product accumulates onto it.
pub fn forward<T: Float>(g: &Linear, x: &[T], w: &[T], b: Option<&[T]>, y: &mut [T]) {
    let nh = g.hidden;
    let accumulate = match b {
        Some(b) => {
            for row in y.chunks_exact_mut(nh) {
                row.copy_from_slice(b);
            }
            true
        }
        None => false,
    };
    // SAFETY: x is rows×cols, w is nh×cols (read transposed), y is rows×nh, all dense.
    unsafe {
        matmul::<T>(g.rows, nh, g.cols,
            MatRef { ptr: x.as_ptr(), rs: g.cols as isize, cs: 1 },
            MatRef { ptr: w.as_ptr(), rs: 1, cs: g.cols as isize },
            y.as_mut_ptr(), accumulate);
    }
}

/// `[dy, x, w]` to `dx = dy·W` (unless the data needs no gradient), `dw = dyᵀ·x` and (with a bias) `db = Σ_rows dy`.
pub fn backward<T: Float>(g: &Linear, [dy, x, w]: [&[T]; 3], dx: Option<&mut [T]>, dw: &mut [T], db: Option<&mut [T]>) {
    let (rows, cols, nh) = (g.rows, g.cols, g.hidden);
    // SAFETY: dy is rows×nh, x rows×cols, w nh×cols; dx and dw are fresh outputs of those shapes.
    unsafe {
        if let Some(dx) = dx {
            matmul::<T>(rows, cols, nh,
                MatRef { ptr: dy.as_ptr(), rs: nh as isize, cs: 1 },
                MatRef { ptr: w.as_ptr(), rs: cols as isize, cs: 1 },
                dx.as_mut_ptr(), false);
        }
        matmul::<T>(nh, cols, rows,
            MatRef { ptr: dy.as_ptr(), rs: 1, cs: nh as isize },
            MatRef { ptr: x.as_ptr(), rs: cols as isize, cs: 1 },
            dw.as_mut_ptr(), false);
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
