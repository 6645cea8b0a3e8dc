//! Each [`LaOp`] on one batch item's matrices, in float64: the forward formulas and the
//! gradients (`og` the output's gradient). Triangular inputs have only their triangle read, so
//! their gradients keep only that triangle; gradients of symmetric inputs are symmetric, as
//! MXNet's are.

use super::linalg::{cholesky, inverse, lq, matmul, slogdet, sym_eig, tri_solve, Mat};
use crate::linalg::LaOp;

type Out = Result<Vec<Mat>, String>;

pub fn compute(op: LaOp, m: &[Mat]) -> Out {
    use LaOp::*;
    match op {
        Gemm { ta, tb, alpha, beta } => Ok(vec![matmul(&m[0].op(ta), &m[1].op(tb)).scale(alpha).add(&m[2].clone().scale(beta))]),
        Gemm2 { ta, tb, alpha } => Ok(vec![matmul(&m[0].op(ta), &m[1].op(tb)).scale(alpha)]),
        Gemm2Backward { ta, tb, alpha } => {
            let (da, db) = product_grads(&m[0], &m[1], &m[2], ta, tb, alpha);
            Ok(vec![da, db])
        }
        GemmBackward { ta, tb, alpha, beta } => {
            let (da, db) = product_grads(&m[0], &m[1], &m[2], ta, tb, alpha);
            Ok(vec![da, db, m[0].clone().scale(beta)])
        }
        Potrf => Ok(vec![cholesky(&m[0])?]),
        PotrfBackward => {
            // dA = ½ L⁻ᵀ copyltu(Lᵀ og) L⁻¹.
            let (og, l) = (&m[0], &m[1]);
            let p = matmul(&l.t(), og).copy_lower_up();
            let x = tri_solve(l, true, true, false, &p)?;
            Ok(vec![tri_solve(l, true, false, true, &x)?.scale(0.5).symmetrized()])
        }
        Potri => {
            let l = m[0].triangle(true);
            Ok(vec![inverse(&matmul(&l, &l.t()))?])
        }
        PotriBackward => {
            // out = (L Lᵀ)⁻¹: dL = -tril(out (og + ogᵀ) out L).
            let (og, l, out) = (&m[0], m[1].triangle(true), &m[2]);
            let sym = og.clone().add(&og.t());
            Ok(vec![matmul(&matmul(&matmul(out, &sym), out), &l).scale(-1.0).triangle(true)])
        }
        Trsm { transpose, rightside, lower, alpha } => Ok(vec![tri_solve(&m[0], lower, transpose, rightside, &m[1])?.scale(alpha)]),
        TrsmBackward { transpose, rightside, lower, alpha } => {
            let (og, a, x) = (&m[0], &m[1], &m[2]);
            // Y solves the transposed system against og; dB = alpha Y, d op(A) = -Y Xᵀ (-Xᵀ Y).
            let y = tri_solve(a, lower, !transpose, rightside, og)?;
            let dop = if rightside { matmul(&x.t(), &y) } else { matmul(&y, &x.t()) }.scale(-1.0);
            Ok(vec![dop.op(transpose).triangle(lower), y.scale(alpha)])
        }
        Trmm { transpose, rightside, lower, alpha } => {
            let op_a = m[0].triangle(lower).op(transpose);
            Ok(vec![if rightside { matmul(&m[1], &op_a) } else { matmul(&op_a, &m[1]) }.scale(alpha)])
        }
        TrmmBackward { transpose, rightside, lower, alpha } => {
            let (og, b) = (&m[0], &m[2]);
            let op_a = m[1].triangle(lower).op(transpose);
            let (dop, db) = if rightside {
                (matmul(&b.t(), og), matmul(og, &op_a.t()))
            } else {
                (matmul(og, &b.t()), matmul(&op_a.t(), og))
            };
            Ok(vec![dop.scale(alpha).op(transpose).triangle(lower), db.scale(alpha)])
        }
        Syrk { transpose, alpha } => {
            let a = &m[0];
            Ok(vec![if transpose { matmul(&a.t(), a) } else { matmul(a, &a.t()) }.scale(alpha)])
        }
        SyrkBackward { transpose, alpha } => {
            let (og, a) = (&m[0], &m[1]);
            let sym = og.clone().add(&og.t());
            Ok(vec![if transpose { matmul(a, &sym) } else { matmul(&sym, a) }.scale(alpha)])
        }
        Gelqf => {
            if m[0].rows > m[0].cols {
                return Err(format!("needs rows <= columns, got a {}x{} matrix", m[0].rows, m[0].cols));
            }
            let (q, l) = lq(&m[0]);
            Ok(vec![q, l])
        }
        GelqfBackward => {
            // dA = L⁻ᵀ (dQ + copyltu(M) Q), M = Lᵀ dL - dQ Qᵀ.
            let (dq, dl, q, l) = (&m[0], &m[1], &m[2], &m[3]);
            let mm = matmul(&l.t(), dl).add(&matmul(dq, &q.t()).scale(-1.0));
            let rhs = dq.clone().add(&matmul(&mm.copy_lower_up(), q));
            Ok(vec![tri_solve(l, true, true, false, &rhs)?])
        }
        Syevd => {
            let (u, lam) = sym_eig(&m[0]);
            let n = lam.len();
            Ok(vec![u, Mat { rows: 1, cols: n, data: lam }])
        }
        SyevdBackward => Ok(vec![syevd_backward(&m[0], &m[1], &m[2], &m[3])]),
        Inverse => Ok(vec![inverse(&m[0])?]),
        InverseBackward => {
            let bt = m[1].t();
            Ok(vec![matmul(&matmul(&bt, &m[0]), &bt).scale(-1.0)])
        }
        Det => {
            let (sign, log) = slogdet(&m[0]);
            Ok(vec![scalar(sign * log.exp())])
        }
        DetBackward => {
            let (og, a, det) = (m[0].data[0], &m[1], m[2].data[0]);
            Ok(vec![inverse(a)?.t().scale(og * det)])
        }
        Slogdet => {
            let (sign, log) = slogdet(&m[0]);
            Ok(vec![scalar(sign), scalar(log)])
        }
        SlogdetBackward => Ok(vec![inverse(&m[2])?.t().scale(m[1].data[0])]),
        Sumlogdiag => Ok(vec![scalar((0..m[0].rows).map(|i| m[0].at(i, i).ln()).sum())]),
        SumlogdiagBackward => {
            let (og, a) = (m[0].data[0], &m[1]);
            let mut d = Mat::zeros(a.rows, a.cols);
            (0..a.rows).for_each(|i| d.set(i, i, og / a.at(i, i)));
            Ok(vec![d])
        }
        ExtractDiag { offset } => {
            let cells = diagonal(m[0].rows, m[0].cols, offset);
            Ok(vec![Mat { rows: 1, cols: cells.len(), data: cells.iter().map(|&(r, c)| m[0].at(r, c)).collect() }])
        }
        MakeDiag { offset } => {
            let n = m[0].data.len() + offset.unsigned_abs() as usize;
            let mut out = Mat::zeros(n, n);
            diagonal(n, n, offset).into_iter().zip(&m[0].data).for_each(|((r, c), &v)| out.set(r, c, v));
            Ok(vec![out])
        }
        ExtractTrian { offset, lower } => {
            let cells = triangle_cells(m[0].rows, offset, lower);
            Ok(vec![Mat { rows: 1, cols: cells.len(), data: cells.iter().map(|&(r, c)| m[0].at(r, c)).collect() }])
        }
        MakeTrian { offset, lower } => {
            let n = trian_side(m[0].data.len(), offset).ok_or_else(|| format!("{} elements do not fill a triangle", m[0].data.len()))?;
            let mut out = Mat::zeros(n, n);
            triangle_cells(n, offset, lower).into_iter().zip(&m[0].data).for_each(|((r, c), &v)| out.set(r, c, v));
            Ok(vec![out])
        }
    }
}

/// The cells of diagonal `offset` of a `rows x cols` matrix, top to bottom.
fn diagonal(rows: usize, cols: usize, offset: i64) -> Vec<(usize, usize)> {
    let (r0, c0) = if offset >= 0 { (0, offset as usize) } else { (offset.unsigned_abs() as usize, 0) };
    (0..).map(|i| (r0 + i, c0 + i)).take_while(|&(r, c)| r < rows && c < cols).collect()
}

/// The cells of a triangle of an `n x n` matrix in MXNet's packing order: the lower triangle
/// (on and below diagonal `offset <= 0`) row by row; the upper one is the transpose's lower.
fn triangle_cells(n: usize, offset: i64, lower: bool) -> Vec<(usize, usize)> {
    let upper = offset > 0 || (offset == 0 && !lower);
    let below = offset.unsigned_abs() as usize;
    let mut cells = Vec::new();
    for r in below..n {
        for c in 0..=r - below {
            cells.push(if upper { (c, r) } else { (r, c) });
        }
    }
    cells
}

/// The side of the square matrix whose triangle at `offset` holds `len` elements.
pub fn trian_side(len: usize, offset: i64) -> Option<usize> {
    let m = (((8 * len + 1) as f64).sqrt() as usize).saturating_sub(1) / 2;
    (m * (m + 1) / 2 == len).then_some(m + offset.unsigned_abs() as usize)
}

fn scalar(v: f64) -> Mat {
    Mat { rows: 1, cols: 1, data: vec![v] }
}

/// The gradients of `alpha op(A) op(B)` with respect to A and B.
fn product_grads(og: &Mat, a: &Mat, b: &Mat, ta: bool, tb: bool, alpha: f64) -> (Mat, Mat) {
    let d_op_a = matmul(og, &b.op(tb).t()).scale(alpha);
    let d_op_b = matmul(&a.op(ta).t(), og).scale(alpha);
    (d_op_a.op(ta), d_op_b.op(tb))
}

/// dA = Uᵀ (diag(dλ) + F ∘ (U dUᵀ)) U, `F_ij = 1 / (λ_j - λ_i)` off the diagonal, symmetrized.
fn syevd_backward(du: &Mat, dlam: &Mat, u: &Mat, lam: &Mat) -> Mat {
    let n = u.rows;
    let mut inner = matmul(u, &du.t());
    for i in 0..n {
        for j in 0..n {
            let v = if i == j {
                dlam.data[i]
            } else {
                let gap = lam.data[j] - lam.data[i];
                if gap == 0.0 { 0.0 } else { inner.at(i, j) / gap }
            };
            inner.set(i, j, v);
        }
    }
    matmul(&matmul(&u.t(), &inner), u).symmetrized()
}
