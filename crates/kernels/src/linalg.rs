//! Dense linear algebra over the last two axes of its arrays (leading axes batch), dispatched by
//! device: MXNet's `linalg_*` family and the backward computations of its operators. Each call
//! names its computation as a [`LaOp`]; the host computes one matrix at a time in float64
//! (`cpu::linalg`). A matrix the computation cannot take (not positive definite, singular)
//! fails the operation with [`KernelError::Invalid`], reported at the next wait.

use crate::cpu::linalg::Mat;
use crate::dispatch::dispatch;
use crate::{cpu, with_dtype, Element, KernelError, KernelResult, Tensor};

/// A computation on one batch item's matrices: the inputs and outputs of each variant are
/// listed beside it (`og`: an output's gradient).
#[derive(Clone, Copy, Debug)]
pub enum LaOp {
    /// `[A, B, C] -> alpha op(A) op(B) + beta C`.
    Gemm { ta: bool, tb: bool, alpha: f64, beta: f64 },
    /// `[og, A, B] -> [dA, dB, dC]`.
    GemmBackward { ta: bool, tb: bool, alpha: f64, beta: f64 },
    /// `[A, B] -> alpha op(A) op(B)`.
    Gemm2 { ta: bool, tb: bool, alpha: f64 },
    /// `[og, A, B] -> [dA, dB]`.
    Gemm2Backward { ta: bool, tb: bool, alpha: f64 },
    /// `[A] -> L`, `A = L Lᵀ`.
    Potrf,
    /// `[og, L] -> dA`, symmetric.
    PotrfBackward,
    /// `[L] -> (L Lᵀ)⁻¹`.
    Potri,
    /// `[og, L, out] -> dL`.
    PotriBackward,
    /// `[A, B] -> X` with `op(A) X = alpha B` (or `X op(A)`).
    Trsm { transpose: bool, rightside: bool, lower: bool, alpha: f64 },
    /// `[og, A, X] -> [dA, dB]`.
    TrsmBackward { transpose: bool, rightside: bool, lower: bool, alpha: f64 },
    /// `[A, B] -> alpha op(A) B` (or `alpha B op(A)`), A's triangle read.
    Trmm { transpose: bool, rightside: bool, lower: bool, alpha: f64 },
    /// `[og, A, B] -> [dA, dB]`.
    TrmmBackward { transpose: bool, rightside: bool, lower: bool, alpha: f64 },
    /// `[A] -> alpha A Aᵀ` (`transpose`: `alpha Aᵀ A`).
    Syrk { transpose: bool, alpha: f64 },
    /// `[og, A] -> dA`.
    SyrkBackward { transpose: bool, alpha: f64 },
    /// `[A] -> [Q, L]`, `A = L Q`.
    Gelqf,
    /// `[dQ, dL, Q, L] -> dA`.
    GelqfBackward,
    /// `[A] -> [U, λ]`, `A = Uᵀ diag(λ) U`.
    Syevd,
    /// `[dU, dλ, U, λ] -> dA`, symmetric.
    SyevdBackward,
    /// `[A] -> A⁻¹`.
    Inverse,
    /// `[og, out] -> dA`.
    InverseBackward,
    /// `[A] -> det A`.
    Det,
    /// `[og, A, det] -> dA`.
    DetBackward,
    /// `[A] -> [sign, log|det A|]`.
    Slogdet,
    /// `[og_sign, og_logabsdet, A] -> dA`.
    SlogdetBackward,
    /// `[A] -> Σ log A_ii`.
    Sumlogdiag,
    /// `[og, A] -> dA`.
    SumlogdiagBackward,
    /// `[A] -> the diagonal offset by `offset` (above the main one when positive)`.
    ExtractDiag { offset: i64 },
    /// `[v] -> the square matrix with v on that diagonal`.
    MakeDiag { offset: i64 },
    /// `[A] -> the triangle's elements, packed` (the lower triangle row by row; the upper
    /// one column by column; a nonzero `offset` picks the triangle by its sign).
    ExtractTrian { offset: i64, lower: bool },
    /// `[v] -> the square matrix with v unpacked into that triangle`.
    MakeTrian { offset: i64, lower: bool },
}

/// Runs `op` over the batch: each tensor holds `batch` matrices (or vectors, or scalars) of its
/// last two axes' shape; `dims[i]` gives tensor `i`'s (rows, cols), inputs first.
pub fn run(name: &'static str, op: LaOp, inputs: &[&Tensor], outputs: &mut [Tensor], dims: &[(usize, usize)], batch: usize) -> KernelResult<()> {
    let first = outputs.first().expect("a linalg computation has outputs");
    let dtype = first.dtype;
    dispatch!("linalg", first, cpu => with_dtype!(dtype, T => run_host::<T>(name, op, inputs, outputs, dims, batch)?))
}

fn run_host<T: Element>(name: &str, op: LaOp, inputs: &[&Tensor], outputs: &mut [Tensor], dims: &[(usize, usize)], batch: usize) -> KernelResult<()> {
    let (in_dims, out_dims) = dims.split_at(inputs.len());
    for b in 0..batch {
        let mats: Vec<Mat> = inputs
            .iter()
            .zip(in_dims)
            .map(|(t, &(r, c))| Mat { rows: r, cols: c, data: t.data::<T>()[b * r * c..(b + 1) * r * c].iter().map(|v| v.to_f64()).collect() })
            .collect();
        let results = cpu::linalg_ops::compute(op, &mats).map_err(|e| KernelError::Invalid(format!("{name}: matrix {b} of the batch: {e}")))?;
        for ((out, &(r, c)), m) in outputs.iter_mut().zip(out_dims).zip(results) {
            assert_eq!(m.data.len(), r * c, "{op:?} made a {}x{} result for a {r}x{c} slot", m.rows, m.cols);
            let slot = &mut out.data_mut::<T>()[b * r * c..(b + 1) * r * c];
            slot.iter_mut().zip(&m.data).for_each(|(o, &v)| *o = T::from_f64(v));
        }
    }
    Ok(())
}
