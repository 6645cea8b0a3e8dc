//! `dot`: 1-d·1-d is the inner product (shape (1,)); otherwise the last axis of `lhs` (the first,
//! with `transpose_a`) contracts with the first axis of `rhs` (the last, with `transpose_b`), as
//! a matrix product of the flattened operands. `batch_dot`: `(B, m, k)·(B, k, n)` per batch.
//! `_backward_dot` / `_backward_batch_dot` make both gradients with two more products on the same
//! flattened views: `dA = dC·Bᵀ`, `dB = Aᵀ·dC`, each written in its operand's stored layout (so
//! every transpose flag and every rank, 1-d and N-d included, is one code path).

use rmx_engine::BoxError;
use rmx_kernels::gemm::{self, Product};
use rmx_kernels::{DType, Shape};

use crate::attrs::Attrs;
use crate::error::{dtype_err, same_dtype, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Dot {
    name: &'static str,
    backward: bool,
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
            if self.ta || self.tb {
                return Err(shape_err(self.name, format!("cannot transpose vectors (shapes {a:?} and {b:?}), as MXNet refuses")));
            }
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
        let operands = &inputs[self.backward as usize..];
        let dtype = same_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        if dtype == DType::Bool {
            return Err(dtype_err(self.name, "bool arrays cannot be multiplied; cast them first"));
        }
        let g = self.geometry(&operands[0].shape, &operands[1].shape)?;
        if !self.backward {
            return Ok(vec![TensorDesc { shape: g.out, dtype }]);
        }
        if inputs[0].shape != g.out {
            return Err(shape_err(self.name, format!("out_grad has shape {:?}, the product {:?}", inputs[0].shape.as_slice(), g.out.as_slice())));
        }
        Ok(operands.to_vec())
    }

    fn num_outputs(&self) -> usize {
        1 + self.backward as usize
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            return self.compute_backward(inputs, outputs);
        }
        let (a, b) = (&inputs[0], &inputs[1]);
        let p = self.product(&a.shape, &b.shape)?;
        gemm::matmul(&p, a, b, &mut outputs[0])?;
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        let name = if self.batch { "_backward_batch_dot" } else { "_backward_dot" };
        let d = g.op(name, args.attrs, &[args.out_grads[0], args.inputs[0], args.inputs[1]])?;
        Ok(vec![Some(d[0]), Some(d[1])])
    }
}

impl Dot {
    /// `[out_grad, lhs, rhs]` to `[lhs_grad, rhs_grad]`; see the module doc.
    fn compute_backward(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (dc, a, b) = (&inputs[0], &inputs[1], &inputs[2]);
        let p = self.product(&a.shape, &b.shape)?;
        let (first, second) = outputs.split_at_mut(1);
        gemm::matmul_backward(&p, dc, a, b, &mut first[0], &mut second[0])?;
        Ok(())
    }

    /// The geometry as the primitive's batched product, with this operator's transposes.
    fn product(&self, a: &[usize], b: &[usize]) -> Result<Product> {
        let g = self.geometry(a, b)?;
        Ok(Product { batch: g.batch, m: g.m, k: g.k, n: g.n, ta: self.ta, tb: self.tb })
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(Dot {
        name,
        backward: name.starts_with("_backward"),
        ta: attrs.bool(name, "transpose_a", false)?,
        tb: attrs.bool(name, "transpose_b", false)?,
        batch: name.ends_with("batch_dot"),
    }))
}

const PARAMS: &[crate::operator::ParamDoc] = &[
    param("transpose_a", "boolean", "False", "use the transpose of lhs"),
    param("transpose_b", "boolean", "False", "use the transpose of rhs"),
    param("forward_stype", "string or None", "None", "accepted for compatibility"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "dot", aliases: &[], doc: "Matrix product of lhs and rhs (see module doc).", inputs: Arity::Fixed(&["lhs", "rhs"]), params: PARAMS, create },
    OpDef { name: "batch_dot", aliases: &[], doc: "Per-batch matrix product of 3-d lhs and rhs.", inputs: Arity::Fixed(&["lhs", "rhs"]), params: PARAMS, create },
    OpDef {
        name: "_backward_dot",
        aliases: &[],
        doc: "Gradients of dot: [out_grad, lhs, rhs] to [lhs_grad, rhs_grad].",
        inputs: Arity::Fixed(&["out_grad", "lhs", "rhs"]),
        params: PARAMS,
        create,
    },
    OpDef {
        name: "_backward_batch_dot",
        aliases: &[],
        doc: "Gradients of batch_dot: [out_grad, lhs, rhs] to [lhs_grad, rhs_grad].",
        inputs: Arity::Fixed(&["out_grad", "lhs", "rhs"]),
        params: PARAMS,
        create,
    },
];
