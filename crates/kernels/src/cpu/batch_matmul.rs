//! Host loops of batched matrix products with transposes (`dot`, `batch_dot`) and their
//! gradients, each product through [`super::gemm::matmul`] on strided views of dense operands.

use crate::dtype::Element;
use crate::gemm::Product;

use super::gemm::{matmul, MatRef};

/// `c_i = op(a_i) · op(b_i)` for every batch `i`; `c` overwritten.
pub fn forward<T: Element>(p: &Product, a: &[T], b: &[T], c: &mut [T]) {
    let (m, k, n) = (p.m, p.k, p.n);
    // Stored shapes: lhs is (m, k) or, transposed, (k, m); rhs is (k, n) or (n, k).
    let (a_rs, a_cs) = if p.ta { (1, m as isize) } else { (k as isize, 1) };
    let (b_rs, b_cs) = if p.tb { (1, k as isize) } else { (n as isize, 1) };
    let (pa, pb, pc) = (a.as_ptr(), b.as_ptr(), c.as_mut_ptr());
    for i in 0..p.batch {
        // SAFETY: operands are dense with the extents the geometry was computed from.
        unsafe {
            matmul::<T>(m, n, k,
                MatRef { ptr: pa.add(i * m * k), rs: a_rs, cs: a_cs },
                MatRef { ptr: pb.add(i * k * n), rs: b_rs, cs: b_cs },
                pc.add(i * m * n), false);
        }
    }
}

/// `dA = dC·Bᵀ` and `dB = Aᵀ·dC` for every batch, each written in its operand's stored layout.
pub fn backward<T: Element>(p: &Product, dc: &[T], a: &[T], b: &[T], da: &mut [T], db: &mut [T]) {
    let (m, k, n) = (p.m, p.k, p.n);
    let (mi, ki, ni) = (m as isize, k as isize, n as isize);
    // Logical A (m, k) and B (k, n) as stored; dC is (m, n) row-major.
    let (a_rs, a_cs) = if p.ta { (1, mi) } else { (ki, 1) };
    let (b_rs, b_cs) = if p.tb { (1, ki) } else { (ni, 1) };
    let (pc, pa, pb) = (dc.as_ptr(), a.as_ptr(), b.as_ptr());
    let (pda, pdb) = (da.as_mut_ptr(), db.as_mut_ptr());
    for i in 0..p.batch {
        // SAFETY: every operand is dense with the extents of the geometry; outputs are
        // distinct from inputs.
        unsafe {
            let c = pc.add(i * m * n);
            let (a, b) = (pa.add(i * m * k), pb.add(i * k * n));
            let dc = MatRef { ptr: c, rs: ni, cs: 1 };
            let dct = MatRef { ptr: c, rs: 1, cs: ni };
            if p.ta {
                // dA stored (k, m) = B · dCᵀ.
                matmul::<T>(k, m, n, MatRef { ptr: b, rs: b_rs, cs: b_cs }, dct, pda.add(i * m * k), false);
            } else {
                // dA = dC · Bᵀ.
                matmul::<T>(m, k, n, dc, MatRef { ptr: b, rs: b_cs, cs: b_rs }, pda.add(i * m * k), false);
            }
            if p.tb {
                // dB stored (n, k) = dCᵀ · A.
                matmul::<T>(n, k, m, dct, MatRef { ptr: a, rs: a_rs, cs: a_cs }, pdb.add(i * k * n), false);
            } else {
                // dB = Aᵀ · dC.
                matmul::<T>(k, n, m, MatRef { ptr: a, rs: a_cs, cs: a_rs }, dc, pdb.add(i * k * n), false);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposed_operands_give_the_plain_product() {
        // A (2, 3), B (3, 2); A stored transposed as (3, 2), B as (2, 3).
        let a = [1i32, 2, 3, 4, 5, 6];
        let b = [7i32, 8, 9, 10, 11, 12];
        let (at, bt) = ([1i32, 4, 2, 5, 3, 6], [7i32, 9, 11, 8, 10, 12]);
        let plain = Product { batch: 1, m: 2, k: 3, n: 2, ta: false, tb: false };
        let (mut c, mut ct) = ([0i32; 4], [0i32; 4]);
        forward(&plain, &a, &b, &mut c);
        forward(&Product { ta: true, tb: true, ..plain }, &at, &bt, &mut ct);
        assert_eq!(c, [58, 64, 139, 154]);
        assert_eq!(ct, c);
    }
}
