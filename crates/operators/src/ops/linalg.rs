//! MXNet's `linalg_*` family (`_linalg_X`, shown as `mx.nd.linalg.X`): products, Cholesky and
//! its inverse, triangular solves and products, LQ, symmetric eigendecomposition, inverse,
//! determinants, and diagonal and triangle packing. Every array is a batch of matrices over its
//! last two axes (vectors over the last axis), its leading axes the batch, float32 or float64.
//! This file owns the shapes and the gradient graph; `rmx_kernels::linalg` the numbers.
//! Gradients are one `_backward_linalg_X` operator per member (the packing members are each
//! other's gradients); MXNet's formulas, checked against float64 finite differences.

use rmx_engine::BoxError;
use rmx_kernels::cpu::linalg_ops::trian_side;
use rmx_kernels::linalg::{self, LaOp};
use rmx_kernels::Shape;

use crate::attrs::Attrs;
use crate::error::{dtype_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

/// One batch item of an array: a matrix, a vector or a scalar.
#[derive(Clone, Copy, PartialEq, Debug)]
enum Item {
    Mat(usize, usize),
    Vec(usize),
    Scalar,
}

impl Item {
    fn dims(self) -> (usize, usize) {
        match self {
            Item::Mat(r, c) => (r, c),
            Item::Vec(n) => (1, n),
            Item::Scalar => (1, 1),
        }
    }

    fn shape(self, batch: &[usize]) -> Shape {
        let mut s: Shape = batch.iter().copied().collect();
        match self {
            Item::Mat(r, c) => s.extend([r, c]),
            Item::Vec(n) => s.push(n),
            Item::Scalar if s.is_empty() => s.push(1),
            Item::Scalar => {}
        }
        s
    }
}

struct Linalg {
    name: &'static str,
    op: LaOp,
}

impl Linalg {
    /// The batch shape and each input's item, checked against the op's kinds of input.
    fn items(&self, inputs: &[TensorDesc]) -> Result<(Vec<usize>, Vec<Item>)> {
        let kinds = input_kinds(self.op);
        if inputs.len() != kinds.len() {
            return Err(shape_err(self.name, format!("takes {} inputs, got {}", kinds.len(), inputs.len())));
        }
        // The batch axes come from the first matrix or vector; scalars (gradients of
        // determinants) have exactly those axes, or (1,) without a batch.
        let mut batch: Option<Vec<usize>> = inputs.iter().zip(kinds).find(|(_, k)| **k != 's').and_then(|(d, k)| {
            let tail = if *k == 'm' { 2 } else { 1 };
            d.shape.len().checked_sub(tail).map(|n| d.shape[..n].to_vec())
        });
        let mut items = Vec::new();
        for (desc, kind) in inputs.iter().zip(kinds) {
            let s = desc.shape.as_slice();
            if !desc.dtype.is_float() || desc.dtype == rmx_kernels::DType::F16 {
                return Err(dtype_err(self.name, format!("needs float32 or float64 arrays, got {}", desc.dtype)));
            }
            let tail = match kind {
                'm' => 2,
                'v' => 1,
                _ => 0,
            };
            if s.len() < tail.max(1) {
                return Err(shape_err(self.name, format!("needs arrays of at least {} axes, got shape {s:?}", tail.max(1))));
            }
            let (lead, item) = match kind {
                'm' => (&s[..s.len() - 2], Item::Mat(s[s.len() - 2], s[s.len() - 1])),
                'v' => (&s[..s.len() - 1], Item::Vec(s[s.len() - 1])),
                _ if s == [1] && batch.as_ref().is_some_and(|b| b.is_empty()) => (&s[..0], Item::Scalar),
                _ => (s, Item::Scalar),
            };
            match &batch {
                Some(b) if b.as_slice() != lead => {
                    return Err(shape_err(self.name, format!("inputs must share their batch axes: {b:?} against {lead:?} (shapes {:?})", inputs.iter().map(|d| d.shape.to_vec()).collect::<Vec<_>>())));
                }
                Some(_) => {}
                None => batch = Some(lead.to_vec()),
            }
            items.push(item);
        }
        Ok((batch.unwrap_or_default(), items))
    }

    fn out_items(&self, ins: &[Item]) -> Result<Vec<Item>> {
        let bad = |msg: String| shape_err(self.name, msg);
        let square = |i: Item| match i {
            Item::Mat(r, c) if r == c => Ok(r),
            other => Err(bad(format!("needs square matrices, got {other:?}"))),
        };
        use LaOp::*;
        Ok(match self.op {
            Gemm { ta, tb, .. } | Gemm2 { ta, tb, .. } => {
                let (Item::Mat(ar, ac), Item::Mat(br, bc)) = (ins[0], ins[1]) else { unreachable!("matrix inputs") };
                let ((m, k), (k2, n)) = (if ta { (ac, ar) } else { (ar, ac) }, if tb { (bc, br) } else { (br, bc) });
                if k != k2 {
                    return Err(bad(format!("op(A) is {m}x{k} and op(B) is {k2}x{n}: inner sizes differ")));
                }
                if matches!(self.op, Gemm { .. }) && ins[2] != Item::Mat(m, n) {
                    return Err(bad(format!("C must be {m}x{n}, got {:?}", ins[2])));
                }
                vec![Item::Mat(m, n)]
            }
            Potrf | Potri | Inverse => vec![Item::Mat(square(ins[0])?, square(ins[0])?)],
            Trsm { rightside, .. } | Trmm { rightside, .. } => {
                let n = square(ins[0])?;
                let Item::Mat(br, bc) = ins[1] else { unreachable!("matrix inputs") };
                if (if rightside { bc } else { br }) != n {
                    return Err(bad(format!("A is {n}x{n} but B is {br}x{bc} (rightside={rightside})")));
                }
                vec![ins[1]]
            }
            Syrk { transpose, .. } => {
                let (r, c) = ins[0].dims();
                let n = if transpose { c } else { r };
                vec![Item::Mat(n, n)]
            }
            Gelqf => {
                let (r, c) = ins[0].dims();
                if r > c {
                    return Err(bad(format!("needs rows <= columns, got a {r}x{c} matrix")));
                }
                vec![ins[0], Item::Mat(r, r)]
            }
            Syevd => {
                let n = square(ins[0])?;
                vec![ins[0], Item::Vec(n)]
            }
            Det | Sumlogdiag => {
                square(ins[0])?;
                vec![Item::Scalar]
            }
            Slogdet => {
                square(ins[0])?;
                vec![Item::Scalar, Item::Scalar]
            }
            ExtractDiag { offset } => {
                let n = square(ins[0])?;
                vec![Item::Vec(n.saturating_sub(offset.unsigned_abs() as usize))]
            }
            MakeDiag { offset } => {
                let n = ins[0].dims().1 + offset.unsigned_abs() as usize;
                vec![Item::Mat(n, n)]
            }
            ExtractTrian { offset, .. } => {
                let m = square(ins[0])?.saturating_sub(offset.unsigned_abs() as usize);
                vec![Item::Vec(m * (m + 1) / 2)]
            }
            MakeTrian { offset, .. } => {
                let len = ins[0].dims().1;
                let n = trian_side(len, offset).ok_or_else(|| bad(format!("{len} elements do not fill a triangle")))?;
                vec![Item::Mat(n, n)]
            }
            // Backward computations: each gradient has the shape of the input it is for.
            op => backward_sources(op).iter().map(|&i| ins[i]).collect(),
        })
    }
}

impl Operator for Linalg {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (batch, ins) = self.items(inputs)?;
        let dtype = inputs[0].dtype;
        if let Some(d) = inputs.iter().find(|d| d.dtype != dtype) {
            return Err(dtype_err(self.name, format!("inputs must share one dtype, got {dtype} and {}", d.dtype)));
        }
        Ok(self.out_items(&ins)?.into_iter().map(|i| TensorDesc { shape: i.shape(&batch), dtype }).collect())
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let descs: Vec<TensorDesc> = inputs.iter().map(|t| TensorDesc { shape: t.shape.clone(), dtype: t.dtype }).collect();
        let (batch, ins) = self.items(&descs)?;
        let outs = self.out_items(&ins)?;
        let dims: Vec<(usize, usize)> = ins.iter().chain(&outs).map(|i| i.dims()).collect();
        let refs: Vec<&Tensor> = inputs.iter().collect();
        linalg::run(self.name, self.op, &refs, outputs, &dims, batch.iter().product())?;
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        match self.op {
            LaOp::Gelqf | LaOp::Syevd | LaOp::Slogdet | LaOp::Gemm2Backward { .. } | LaOp::TrsmBackward { .. } | LaOp::TrmmBackward { .. } => 2,
            LaOp::GemmBackward { .. } => 3,
            _ => 1,
        }
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let (og, x, out) = (args.out_grads, args.inputs, args.outputs);
        let backward = format!("_backward{}", self.name);
        use LaOp::*;
        let ins: Vec<Value> = match self.op {
            ExtractDiag { .. } | MakeDiag { .. } | ExtractTrian { .. } | MakeTrian { .. } => {
                let inverse = match self.name {
                    "_linalg_extractdiag" => "_linalg_makediag",
                    "_linalg_makediag" => "_linalg_extractdiag",
                    "_linalg_extracttrian" => "_linalg_maketrian",
                    _ => "_linalg_extracttrian",
                };
                return Ok(vec![Some(g.op1(inverse, args.attrs, &[og[0]])?)]);
            }
            Gemm { .. } | Gemm2 { .. } | Trmm { .. } => vec![og[0], x[0], x[1]],
            Potrf => vec![og[0], out[0]],
            Potri => vec![og[0], x[0], out[0]],
            Trsm { .. } => vec![og[0], x[0], out[0]],
            Syrk { .. } | Sumlogdiag => vec![og[0], x[0]],
            Gelqf | Syevd => vec![og[0], og[1], out[0], out[1]],
            Inverse => vec![og[0], out[0]],
            Det => vec![og[0], x[0], out[0]],
            Slogdet => vec![og[0], og[1], x[0]],
            _ => return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op))),
        };
        let grads = g.op(&backward, args.attrs, &ins)?;
        Ok(grads.into_iter().map(Some).collect())
    }
}

/// The kind of each input: `m` matrix, `v` vector, `s` scalar.
fn input_kinds(op: LaOp) -> &'static [char] {
    use LaOp::*;
    match op {
        Gemm { .. } | GemmBackward { .. } | Gemm2Backward { .. } | TrsmBackward { .. } | TrmmBackward { .. } | PotriBackward => &['m', 'm', 'm'],
        Gemm2 { .. } | Trsm { .. } | Trmm { .. } | PotrfBackward | SyrkBackward { .. } | InverseBackward => &['m', 'm'],
        GelqfBackward => &['m', 'm', 'm', 'm'],
        SyevdBackward => &['m', 'v', 'm', 'v'],
        DetBackward => &['s', 'm', 's'],
        SlogdetBackward => &['s', 's', 'm'],
        SumlogdiagBackward => &['s', 'm'],
        MakeDiag { .. } | MakeTrian { .. } => &['v'],
        _ => &['m'],
    }
}

/// Which input each gradient of a backward computation takes its shape from.
fn backward_sources(op: LaOp) -> &'static [usize] {
    use LaOp::*;
    match op {
        GemmBackward { .. } => &[1, 2, 0],
        Gemm2Backward { .. } | TrsmBackward { .. } | TrmmBackward { .. } => &[1, 2],
        GelqfBackward | SyevdBackward | SlogdetBackward => &[2],
        _ => &[1],
    }
}

fn flag(attrs: &Attrs, name: &str, key: &str, default: bool) -> Result<bool> {
    attrs.bool(name, key, default)
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let base = name.trim_start_matches("_backward");
    let backward = base.len() != name.len();
    let alpha = attrs.f64(name, "alpha", 1.0)?;
    let (offset, lower) = (attrs.int(name, "offset", 0)?, flag(attrs, name, "lower", true)?);
    let tri = || -> Result<(bool, bool, bool)> { Ok((flag(attrs, name, "transpose", false)?, flag(attrs, name, "rightside", false)?, flag(attrs, name, "lower", true)?)) };
    if matches!(base, "_linalg_gemm" | "_linalg_gemm2") && attrs.int(name, "axis", -2)? != -2 {
        return Err(crate::error::param_err(name, "axis", "rmx supports only -2 (the last two axes are the matrices)"));
    }
    let (ta, tb) = (flag(attrs, name, "transpose_a", false)?, flag(attrs, name, "transpose_b", false)?);
    use LaOp::*;
    let op = match (base, backward) {
        ("_linalg_gemm", false) => Gemm { ta, tb, alpha, beta: attrs.f64(name, "beta", 1.0)? },
        ("_linalg_gemm", true) => GemmBackward { ta, tb, alpha, beta: attrs.f64(name, "beta", 1.0)? },
        ("_linalg_gemm2", false) => Gemm2 { ta, tb, alpha },
        ("_linalg_gemm2", true) => Gemm2Backward { ta, tb, alpha },
        ("_linalg_potrf", false) => Potrf,
        ("_linalg_potrf", true) => PotrfBackward,
        ("_linalg_potri", false) => Potri,
        ("_linalg_potri", true) => PotriBackward,
        ("_linalg_trsm", b) => {
            let (transpose, rightside, lower) = tri()?;
            if b { TrsmBackward { transpose, rightside, lower, alpha } } else { Trsm { transpose, rightside, lower, alpha } }
        }
        ("_linalg_trmm", b) => {
            let (transpose, rightside, lower) = tri()?;
            if b { TrmmBackward { transpose, rightside, lower, alpha } } else { Trmm { transpose, rightside, lower, alpha } }
        }
        ("_linalg_syrk", false) => Syrk { transpose: flag(attrs, name, "transpose", false)?, alpha },
        ("_linalg_syrk", true) => SyrkBackward { transpose: flag(attrs, name, "transpose", false)?, alpha },
        ("_linalg_gelqf", false) => Gelqf,
        ("_linalg_gelqf", true) => GelqfBackward,
        ("_linalg_syevd", false) => Syevd,
        ("_linalg_syevd", true) => SyevdBackward,
        ("_linalg_inverse", false) => Inverse,
        ("_linalg_inverse", true) => InverseBackward,
        ("_linalg_det", false) => Det,
        ("_linalg_det", true) => DetBackward,
        ("_linalg_slogdet", false) => Slogdet,
        ("_linalg_slogdet", true) => SlogdetBackward,
        ("_linalg_sumlogdiag", false) => Sumlogdiag,
        ("_linalg_sumlogdiag", true) => SumlogdiagBackward,
        ("_linalg_extractdiag", _) => ExtractDiag { offset },
        ("_linalg_makediag", _) => MakeDiag { offset },
        ("_linalg_extracttrian", _) => ExtractTrian { offset, lower },
        ("_linalg_maketrian", _) => MakeTrian { offset, lower },
        _ => unreachable!("{name} is not a linalg operator"),
    };
    Ok(Box::new(Linalg { name, op }))
}

const GEMM: &[ParamDoc] = &[
    param("transpose_a", "boolean", "False", "use A transposed"),
    param("transpose_b", "boolean", "False", "use B transposed"),
    param("alpha", "double", "1.0", "scales the product"),
    param("beta", "double", "1.0", "scales C"),
    param("axis", "int", "-2", "the matrices' first axis (only -2)"),
];
const GEMM2: &[ParamDoc] = &[
    param("transpose_a", "boolean", "False", "use A transposed"),
    param("transpose_b", "boolean", "False", "use B transposed"),
    param("alpha", "double", "1.0", "scales the product"),
    param("axis", "int", "-2", "the matrices' first axis (only -2)"),
];
const TRIANGULAR: &[ParamDoc] = &[
    param("transpose", "boolean", "False", "use A transposed"),
    param("rightside", "boolean", "False", "A on the right of the product"),
    param("lower", "boolean", "True", "A is lower (else upper) triangular"),
    param("alpha", "double", "1.0", "scales the result"),
];
const SYRK: &[ParamDoc] = &[param("transpose", "boolean", "False", "A^T A instead of A A^T"), param("alpha", "double", "1.0", "scales the result")];
const DIAG: &[ParamDoc] = &[param("offset", "int", "0", "the diagonal: > 0 above the main one, < 0 below")];
const TRIAN: &[ParamDoc] = &[param("offset", "int", "0", "the triangle's diagonal (its sign picks the triangle)"), param("lower", "boolean", "True", "the lower triangle, when offset is 0")];

/// The packing members, each the other's gradient: no backward operators of their own.
pub static PACK_DEFS: &[OpDef] = &[
    OpDef { name: "_linalg_extractdiag", aliases: &["linalg_extractdiag"], doc: "The diagonal of each square matrix.", inputs: Arity::Fixed(&["A"]), params: DIAG, create },
    OpDef { name: "_linalg_makediag", aliases: &["linalg_makediag"], doc: "Square matrices with the vectors on a diagonal.", inputs: Arity::Fixed(&["A"]), params: DIAG, create },
    OpDef { name: "_linalg_extracttrian", aliases: &["linalg_extracttrian"], doc: "The packed elements of a triangle of each square matrix.", inputs: Arity::Fixed(&["A"]), params: TRIAN, create },
    OpDef { name: "_linalg_maketrian", aliases: &["linalg_maketrian"], doc: "Square matrices with the packed vectors in a triangle.", inputs: Arity::Fixed(&["A"]), params: TRIAN, create },
];

macro_rules! linalg_defs {
    ($($name:literal, $alias:literal, $back:literal, [$($input:literal),*], $params:expr, $doc:literal;)*) => {
        pub static DEFS: &[OpDef] = &[$(
            OpDef { name: $name, aliases: &[$alias], doc: $doc, inputs: Arity::Fixed(&[$($input),*]), params: $params, create },
            OpDef { name: $back, aliases: &[], doc: concat!("Gradient of ", $name, "."), inputs: Arity::Variadic("grad"), params: $params, create },
        )*];
    };
}

linalg_defs! {
    "_linalg_gemm", "linalg_gemm", "_backward_linalg_gemm", ["A", "B", "C"], GEMM, "alpha op(A) op(B) + beta C over batches of matrices.";
    "_linalg_gemm2", "linalg_gemm2", "_backward_linalg_gemm2", ["A", "B"], GEMM2, "alpha op(A) op(B) over batches of matrices.";
    "_linalg_potrf", "linalg_potrf", "_backward_linalg_potrf", ["A"], &[], "The lower Cholesky factor L of A = L L^T.";
    "_linalg_potri", "linalg_potri", "_backward_linalg_potri", ["A"], &[], "(A A^T)^-1 of a lower triangular (Cholesky) factor A.";
    "_linalg_trsm", "linalg_trsm", "_backward_linalg_trsm", ["A", "B"], TRIANGULAR, "X with op(A) X = alpha B (or X op(A)), A triangular.";
    "_linalg_trmm", "linalg_trmm", "_backward_linalg_trmm", ["A", "B"], TRIANGULAR, "alpha op(A) B (or alpha B op(A)), A triangular.";
    "_linalg_syrk", "linalg_syrk", "_backward_linalg_syrk", ["A"], SYRK, "alpha A A^T (or alpha A^T A).";
    "_linalg_gelqf", "linalg_gelqf", "_backward_linalg_gelqf", ["A"], &[], "The LQ factorization A = L Q: outputs Q and L.";
    "_linalg_syevd", "linalg_syevd", "_backward_linalg_syevd", ["A"], &[], "Eigenvectors (rows of U) and ascending eigenvalues of a symmetric A = U^T diag(L) U.";
    "_linalg_inverse", "linalg_inverse", "_backward_linalg_inverse", ["A"], &[], "The inverse of each matrix.";
    "_linalg_det", "linalg_det", "_backward_linalg_det", ["A"], &[], "The determinant of each matrix.";
    "_linalg_slogdet", "linalg_slogdet", "_backward_linalg_slogdet", ["A"], &[], "The sign and log absolute value of each matrix's determinant.";
    "_linalg_sumlogdiag", "linalg_sumlogdiag", "_backward_linalg_sumlogdiag", ["A"], &[], "The sum of the logarithms of each matrix's diagonal.";
}
