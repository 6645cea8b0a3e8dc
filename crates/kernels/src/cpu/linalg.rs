//! Host algorithms of the dense linear algebra operators ([`crate::linalg`]), on one matrix at a
//! time in float64 (float32 arrays are converted on the way in and out): products, Cholesky,
//! triangular solves and products, LQ by Householder reflections as LAPACK's `gelqf` makes it,
//! symmetric eigenvectors by cyclic Jacobi rotations, and LU with partial pivoting.

/// A dense row-major matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct Mat {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f64>,
}

impl Mat {
    pub fn zeros(rows: usize, cols: usize) -> Mat {
        Mat { rows, cols, data: vec![0.0; rows * cols] }
    }

    pub fn identity(n: usize) -> Mat {
        let mut m = Mat::zeros(n, n);
        (0..n).for_each(|i| m.data[i * n + i] = 1.0);
        m
    }

    #[inline]
    pub fn at(&self, r: usize, c: usize) -> f64 {
        self.data[r * self.cols + c]
    }

    #[inline]
    pub fn set(&mut self, r: usize, c: usize, v: f64) {
        self.data[r * self.cols + c] = v;
    }

    pub fn t(&self) -> Mat {
        let mut out = Mat::zeros(self.cols, self.rows);
        for r in 0..self.rows {
            for c in 0..self.cols {
                out.set(c, r, self.at(r, c));
            }
        }
        out
    }

    /// The transpose when `flag`, else a copy.
    pub fn op(&self, flag: bool) -> Mat {
        if flag { self.t() } else { self.clone() }
    }

    pub fn scale(mut self, s: f64) -> Mat {
        self.data.iter_mut().for_each(|v| *v *= s);
        self
    }

    pub fn add(mut self, other: &Mat) -> Mat {
        self.data.iter_mut().zip(&other.data).for_each(|(a, b)| *a += b);
        self
    }

    /// The lower (`lower`) or upper triangle, the diagonal included; zeros elsewhere.
    pub fn triangle(&self, lower: bool) -> Mat {
        let mut out = self.clone();
        for r in 0..self.rows {
            for c in 0..self.cols {
                if (lower && c > r) || (!lower && c < r) {
                    out.set(r, c, 0.0);
                }
            }
        }
        out
    }

    /// The symmetric matrix with this one's lower triangle (MXNet's `copyltu`).
    pub fn copy_lower_up(&self) -> Mat {
        let mut out = self.clone();
        for r in 0..self.rows {
            for c in r + 1..self.cols {
                out.set(r, c, self.at(c, r));
            }
        }
        out
    }

    pub fn symmetrized(&self) -> Mat {
        self.clone().add(&self.t()).scale(0.5)
    }
}

/// `a · b`.
pub fn matmul(a: &Mat, b: &Mat) -> Mat {
    assert_eq!(a.cols, b.rows, "matmul of {}x{} by {}x{}", a.rows, a.cols, b.rows, b.cols);
    let mut out = Mat::zeros(a.rows, b.cols);
    for i in 0..a.rows {
        for k in 0..a.cols {
            let v = a.at(i, k);
            if v == 0.0 {
                continue;
            }
            let (row, brow) = (&mut out.data[i * b.cols..(i + 1) * b.cols], &b.data[k * b.cols..(k + 1) * b.cols]);
            row.iter_mut().zip(brow).for_each(|(o, x)| *o += v * x);
        }
    }
    out
}

/// The lower Cholesky factor `L` of a symmetric positive-definite `a` (its lower triangle read).
pub fn cholesky(a: &Mat) -> Result<Mat, String> {
    let n = a.rows;
    let mut l = Mat::zeros(n, n);
    for j in 0..n {
        let d = a.at(j, j) - (0..j).map(|k| l.at(j, k) * l.at(j, k)).sum::<f64>();
        if !(d > 0.0) {
            return Err(format!("the matrix is not positive definite (pivot {j} is {d:.3e}); it must be symmetric positive definite"));
        }
        let d = d.sqrt();
        l.set(j, j, d);
        for i in j + 1..n {
            let s = a.at(i, j) - (0..j).map(|k| l.at(i, k) * l.at(j, k)).sum::<f64>();
            l.set(i, j, s / d);
        }
    }
    Ok(l)
}

/// `X` with `op(t) X = b` (`rightside`: `X op(t) = b`), `t` triangular: its `lower` or upper
/// triangle is read, `op` transposes when `transpose`.
pub fn tri_solve(t: &Mat, lower: bool, transpose: bool, rightside: bool, b: &Mat) -> Result<Mat, String> {
    if rightside {
        // X op(T) = B  <=>  op(T)^T X^T = B^T.
        return Ok(tri_solve(t, lower, !transpose, false, &b.t())?.t());
    }
    let n = t.rows;
    let tt = |i: usize, j: usize| if transpose { t.at(j, i) } else { t.at(i, j) };
    let eff_lower = lower != transpose;
    let mut x = b.clone();
    let order: Vec<usize> = if eff_lower { (0..n).collect() } else { (0..n).rev().collect() };
    for &i in &order {
        let d = tt(i, i);
        if d == 0.0 {
            return Err(format!("the triangular matrix is singular (diagonal element {i} is 0)"));
        }
        let known: Vec<usize> = if eff_lower { (0..i).collect() } else { (i + 1..n).collect() };
        for c in 0..b.cols {
            let s: f64 = known.iter().map(|&k| tt(i, k) * x.at(k, c)).sum();
            x.set(i, c, (x.at(i, c) - s) / d);
        }
    }
    Ok(x)
}

/// The LQ factorization of an `m x n` matrix (`m <= n`): `(Q, L)` with `a = L Q`, `Q`'s rows
/// orthonormal, `L` lower triangular, signs as LAPACK's Householder reflections give them.
pub fn lq(a: &Mat) -> (Mat, Mat) {
    let (m, n) = (a.rows, a.cols);
    let mut w = a.clone();
    let mut reflectors = Vec::with_capacity(m);
    for k in 0..m {
        let alpha = w.at(k, k);
        let xnorm = (k + 1..n).map(|j| w.at(k, j).powi(2)).sum::<f64>().sqrt();
        let mut v = vec![0.0; n];
        v[k] = 1.0;
        let (tau, beta) = if xnorm == 0.0 {
            (0.0, alpha)
        } else {
            let beta = -alpha.signum() * alpha.hypot(xnorm);
            (k + 1..n).for_each(|j| v[j] = w.at(k, j) / (alpha - beta));
            ((beta - alpha) / beta, beta)
        };
        // Rows below take the reflection H = I - tau v v^T from the right.
        for i in k + 1..m {
            let dot: f64 = (k..n).map(|j| w.at(i, j) * v[j]).sum();
            (k..n).for_each(|j| w.set(i, j, w.at(i, j) - tau * dot * v[j]));
        }
        w.set(k, k, beta);
        (k + 1..n).for_each(|j| w.set(k, j, 0.0));
        reflectors.push((tau, v));
    }
    let mut l = Mat::zeros(m, m);
    for r in 0..m {
        for c in 0..=r {
            l.set(r, c, w.at(r, c));
        }
    }
    // Q = [I 0] H_{m-1} ... H_0.
    let mut q = Mat::zeros(m, n);
    (0..m).for_each(|i| q.set(i, i, 1.0));
    for (k, (tau, v)) in reflectors.iter().enumerate().rev() {
        for i in 0..m {
            let dot: f64 = (k..n).map(|j| q.at(i, j) * v[j]).sum();
            (k..n).for_each(|j| q.set(i, j, q.at(i, j) - tau * dot * v[j]));
        }
    }
    (q, l)
}

/// Eigenvectors (the rows of `U`, each with its largest-magnitude entry positive, as MXNet's
/// `syevd` gives them) and ascending eigenvalues of a symmetric matrix: `a = U^T diag(λ) U`.
pub fn sym_eig(a: &Mat) -> (Mat, Vec<f64>) {
    let n = a.rows;
    let mut s = a.symmetrized();
    let mut v = Mat::identity(n);
    for _sweep in 0..100 {
        let off: f64 = (0..n).flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j))).map(|(i, j)| s.at(i, j).powi(2)).sum();
        let scale: f64 = s.data.iter().map(|x| x * x).sum();
        if off <= 1e-30 * scale || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = s.at(p, q);
                if apq == 0.0 {
                    continue;
                }
                let theta = (s.at(q, q) - s.at(p, p)) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let sn = t * c;
                rotate(&mut s, &mut v, p, q, c, sn);
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| s.at(i, i).total_cmp(&s.at(j, j)));
    let mut u = Mat::zeros(n, n);
    for (row, &k) in order.iter().enumerate() {
        let col: Vec<f64> = (0..n).map(|i| v.at(i, k)).collect();
        let big = col.iter().copied().fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
        let sign = if big < 0.0 { -1.0 } else { 1.0 };
        (0..n).for_each(|i| u.set(row, i, sign * col[i]));
    }
    (u, order.iter().map(|&k| s.at(k, k)).collect())
}

/// One Jacobi rotation in the (p, q) plane: `s = Jᵀ s J`, `v = v J`.
fn rotate(s: &mut Mat, v: &mut Mat, p: usize, q: usize, c: f64, sn: f64) {
    let n = s.rows;
    for k in 0..n {
        let (skp, skq) = (s.at(k, p), s.at(k, q));
        s.set(k, p, c * skp - sn * skq);
        s.set(k, q, sn * skp + c * skq);
    }
    for k in 0..n {
        let (spk, sqk) = (s.at(p, k), s.at(q, k));
        s.set(p, k, c * spk - sn * sqk);
        s.set(q, k, sn * spk + c * sqk);
    }
    for k in 0..n {
        let (vkp, vkq) = (v.at(k, p), v.at(k, q));
        v.set(k, p, c * vkp - sn * vkq);
        v.set(k, q, sn * vkp + c * vkq);
    }
}

/// LU with partial pivoting: the packed factors, the row order and the permutation's sign;
/// `None` for an exactly singular matrix.
pub fn lu(a: &Mat) -> (Mat, Vec<usize>, f64, bool) {
    let n = a.rows;
    let mut m = a.clone();
    let mut perm: Vec<usize> = (0..n).collect();
    let (mut sign, mut singular) = (1.0, false);
    for k in 0..n {
        let p = (k..n).max_by(|&i, &j| m.at(i, k).abs().total_cmp(&m.at(j, k).abs())).unwrap_or(k);
        if m.at(p, k) == 0.0 {
            singular = true;
            continue;
        }
        if p != k {
            for c in 0..n {
                m.data.swap(k * n + c, p * n + c);
            }
            perm.swap(k, p);
            sign = -sign;
        }
        for i in k + 1..n {
            let f = m.at(i, k) / m.at(k, k);
            m.set(i, k, f);
            for c in k + 1..n {
                m.set(i, c, m.at(i, c) - f * m.at(k, c));
            }
        }
    }
    (m, perm, sign, singular)
}

/// `(sign, log|det|)` of a square matrix; `(0, -inf)` when singular.
pub fn slogdet(a: &Mat) -> (f64, f64) {
    let (m, _, mut sign, singular) = lu(a);
    if singular {
        return (0.0, f64::NEG_INFINITY);
    }
    let mut log = 0.0;
    for i in 0..a.rows {
        let d = m.at(i, i);
        sign *= d.signum();
        log += d.abs().ln();
    }
    (sign, log)
}

pub fn inverse(a: &Mat) -> Result<Mat, String> {
    let n = a.rows;
    let (m, perm, _, singular) = lu(a);
    if singular {
        return Err("the matrix is singular".into());
    }
    let mut pb = Mat::zeros(n, n);
    for (row, &p) in perm.iter().enumerate() {
        pb.set(row, p, 1.0);
    }
    let unit_lower = {
        let mut l = m.triangle(true);
        (0..n).for_each(|i| l.set(i, i, 1.0));
        l
    };
    let y = tri_solve(&unit_lower, true, false, false, &pb)?;
    tri_solve(&m, false, false, false, &y)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mat(rows: usize, cols: usize, data: &[f64]) -> Mat {
        Mat { rows, cols, data: data.to_vec() }
    }

    fn close(a: &Mat, b: &Mat) -> bool {
        a.data.iter().zip(&b.data).all(|(x, y)| (x - y).abs() < 1e-12)
    }

    #[test]
    fn factorizations_reconstruct_their_matrix() {
        let s = mat(3, 3, &[4., 1., 2., 1., 3., 0.5, 2., 0.5, 5.]);
        let l = cholesky(&s).unwrap();
        assert!(close(&matmul(&l, &l.t()), &s));
        assert!(cholesky(&s.clone().scale(-1.0)).is_err());
        let (u, lam) = sym_eig(&s);
        let mut d = Mat::zeros(3, 3);
        (0..3).for_each(|i| d.set(i, i, lam[i]));
        assert!(close(&matmul(&matmul(&u.t(), &d), &u), &s));
        assert!(lam.windows(2).all(|w| w[0] <= w[1]));
        let a = mat(2, 3, &[1., 2., 3., 4., 5., 6.]);
        let (q, l) = lq(&a);
        assert!(close(&matmul(&l, &q), &a));
        assert!(close(&matmul(&q, &q.t()), &Mat::identity(2)));
        assert!((l.at(0, 0) + 14f64.sqrt()).abs() < 1e-12, "LAPACK's sign: {l:?}");
        let inv = inverse(&s).unwrap();
        assert!(close(&matmul(&inv, &s), &Mat::identity(3)));
        let (sign, log) = slogdet(&s.clone().scale(-1.0));
        assert_eq!(sign, -1.0);
        assert!((log - 44f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn triangular_solves_in_every_orientation() {
        let t = mat(3, 3, &[2., 9., 9., 1., 3., 9., -1., 2., 4.]);
        let b = mat(3, 2, &[1., 2., 3., 4., 5., 6.]);
        for (lower, transpose) in [(true, false), (true, true), (false, false), (false, true)] {
            let op = t.triangle(lower).op(transpose);
            let x = tri_solve(&t, lower, transpose, false, &b).unwrap();
            assert!(close(&matmul(&op, &x), &b));
            let x = tri_solve(&t, lower, transpose, true, &b.t()).unwrap();
            assert!(close(&matmul(&x, &op), &b.t()));
        }
    }
}
