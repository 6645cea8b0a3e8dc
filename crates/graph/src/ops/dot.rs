//! `dot`: 1-d·1-d is the inner product (shape (1,)); otherwise the last axis of `lhs` (the first,
//! with `transpose_a`) contracts with the first axis of `rhs` (the last, with `transpose_b`), as
//! a matrix product of the flattened operands. `batch_dot`: `(B, m, k)·(B, k, n)` per batch.

use rmx_engine::BoxError;
use rmx_kernels::gemm::{matmul, MatRef};
use rmx_kernels::{with_dtype, DType, Shape};

use crate::attrs::Attrs;
use crate::error::{dtype_err, same_dtype, shape_err, Result};
use crate::operator::{param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Dot {
    name: &'static str,
    ta: bool,
    tb: bool,
    batch: bool,
}

/// The product as matrices: (m, k) and (k, n), each read row-major or transposed.
struct Geometry {
    batch: usize,
    m: usize,
    k: usize,
    n: usize,
    out: Shape,
}

impl Dot {
    fn geometry(&self, a: &[usize], b: &[usize]) -> Result<Geometry> {
        let err = || shape_err(self.name, format!("shapes {a:?} and {b:?} do not fit (transpose_a={}, transpose_b={})", self.ta, self.tb));
        if self.batch {
            if a.len() != 3 || b.len() != 3 || a[0] != b[0] {
                return Err(shape_err(self.name, format!("needs 3-d inputs with one batch size, got {a:?} and {b:?}")));
            }
            let (m, ka) = if self.ta { (a[2], a[1]) } else { (a[1], a[2]) };
            let (kb, n) = if self.tb { (b[2], b[1]) } else { (b[1], b[2]) };
            if ka != kb {
                return Err(err());
            }
            return Ok(Geometry { batch: a[0], m, k: ka, n, out: Shape::from_slice(&[a[0], m, n]) });
        }
        if a.is_empty() || b.is_empty() {
            return Err(err());
        }
        if a.len() == 1 && b.len() == 1 {
            if a[0] != b[0] {
                return Err(err());
            }
            return Ok(Geometry { batch: 1, m: 1, k: a[0], n: 1, out: Shape::from_slice(&[1]) });
        }
        // lhs: contracted axis last (first when transposed); rhs: first (last when transposed).
        let (a_keep, ka) = if self.ta { (&a[1..], a[0]) } else { (&a[..a.len() - 1], a[a.len() - 1]) };
        let (b_keep, kb) = if self.tb { (&b[..b.len() - 1], b[b.len() - 1]) } else { (&b[1..], b[0]) };
        if ka != kb {
            return Err(err());
        }
        let mut out: Shape = a_keep.iter().chain(b_keep).copied().collect();
        if out.is_empty() {
            out.push(1);
        }
        Ok(Geometry { batch: 1, m: a_keep.iter().product(), k: ka, n: b_keep.iter().product(), out })
    }
}

impl Operator for Dot {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let dtype = same_dtype(self.name, [inputs[0].dtype, inputs[1].dtype])?;
        if dtype == DType::Bool {
            return Err(dtype_err(self.name, "bool arrays cannot be multiplied; cast them first"));
        }
        let g = self.geometry(&inputs[0].shape, &inputs[1].shape)?;
        Ok(vec![TensorDesc { shape: g.out, dtype }])
    }

    fn compute(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let g = self.geometry(&a.shape, &b.shape)?;
        let (m, k, n) = (g.m, g.k, g.n);
        // Stored shapes: lhs is (m, k) or, transposed, (k, m); rhs is (k, n) or (n, k).
        let (a_rs, a_cs) = if self.ta { (1, m as isize) } else { (k as isize, 1) };
        let (b_rs, b_cs) = if self.tb { (1, k as isize) } else { (n as isize, 1) };
        let out = &mut outputs[0];
        with_dtype!(out.dtype, T => {
            let (pa, pb, pc) = (a.data::<T>().as_ptr(), b.data::<T>().as_ptr(), out.data_mut::<T>().as_mut_ptr());
            for i in 0..g.batch {
                // SAFETY: operands are dense with the extents the geometry was computed from.
                unsafe {
                    matmul::<T>(m, n, k,
                        MatRef { ptr: pa.add(i * m * k), rs: a_rs, cs: a_cs },
                        MatRef { ptr: pb.add(i * k * n), rs: b_rs, cs: b_cs },
                        pc.add(i * m * n), false);
                }
            }
        });
        Ok(())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(Dot { name, ta: attrs.bool(name, "transpose_a", false)?, tb: attrs.bool(name, "transpose_b", false)?, batch: name == "batch_dot" }))
}

const PARAMS: &[crate::operator::ParamDoc] = &[
    param("transpose_a", "boolean", "False", "use the transpose of lhs"),
    param("transpose_b", "boolean", "False", "use the transpose of rhs"),
    param("forward_stype", "string or None", "None", "accepted for compatibility"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "dot", aliases: &[], doc: "Matrix product of lhs and rhs (see module doc).", inputs: Arity::Fixed(&["lhs", "rhs"]), params: PARAMS, create },
    OpDef { name: "batch_dot", aliases: &[], doc: "Per-batch matrix product of 3-d lhs and rhs.", inputs: Arity::Fixed(&["lhs", "rhs"]), params: PARAMS, create },
];
