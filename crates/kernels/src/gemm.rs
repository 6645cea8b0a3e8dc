//! Matrix-product primitives, dispatched by device: batched products with transposes (`dot`,
//! `batch_dot`) and a dense layer (`FullyConnected`), each with its gradients. On the host they
//! run through `cpu::gemm` (the `gemm` crate's micro-kernels for floats); cuBLAS's twins will
//! sit beside them.

use crate::dispatch::dispatch;
use crate::fused::{BlockKernel, KernelOf};
use crate::{cpu, with_dtype, with_float, KernelResult, Tensor};

/// `batch` products `c_i = op(a_i) · op(b_i)` of an `(m, k)` and a `(k, n)` matrix, dense and
/// consecutive in their tensors: `a_i` is stored `(m, k)`, or `(k, m)` when `ta` (read
/// transposed); `b_i` is `(k, n)`, or `(n, k)` when `tb`; `c_i` is `(m, n)`.
#[derive(Clone, Copy, Debug)]
pub struct Product {
    pub batch: usize,
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub ta: bool,
    pub tb: bool,
}

/// `c = op(a) · op(b)` per batch; `c` is overwritten.
pub fn matmul(p: &Product, a: &Tensor, b: &Tensor, c: &mut Tensor) -> KernelResult<()> {
    dispatch!("matmul", c, cpu => with_dtype!(c.dtype, T => cpu::batch_matmul::forward::<T>(p, a.data::<T>(), b.data::<T>(), c.data_mut::<T>())))
}

/// The gradients of [`matmul`] from `dc`: `da = dc·op(b)ᵀ` and `db = op(a)ᵀ·dc`, each written in
/// its operand's stored layout (transposed when the operand is); both overwritten.
pub fn matmul_backward(p: &Product, dc: &Tensor, a: &Tensor, b: &Tensor, da: &mut Tensor, db: &mut Tensor) -> KernelResult<()> {
    dispatch!("matmul gradient", da, cpu => with_dtype!(dc.dtype, T => cpu::batch_matmul::backward::<T>(p, dc.data::<T>(), a.data::<T>(), b.data::<T>(), da.data_mut::<T>(), db.data_mut::<T>())))
}

/// A dense layer's geometry: `x` is `(rows, cols)`, the weight `(hidden, cols)`, the bias
/// `(hidden,)`, `y` is `(rows, hidden)`.
#[derive(Clone, Copy, Debug)]
pub struct Linear {
    pub rows: usize,
    pub cols: usize,
    pub hidden: usize,
}

/// `y = x·wᵀ (+ bias)`, then `post` of each element where given (an activation fused into the
/// layer's epilogue: its block kernel, so the numbers are those of the separate operator); `y`
/// is overwritten.
pub fn linear(p: &Linear, x: &Tensor, w: &Tensor, bias: Option<&Tensor>, post: Option<&BlockKernel>, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("FullyConnected", y, cpu => with_float!("FullyConnected", y.dtype, T => {
        cpu::linear::forward::<T>(p, x.data::<T>(), w.data::<T>(), bias.map(|b| b.data::<T>()), post.map(T::of), y.data_mut::<T>())
    }))
}

/// The gradients of [`linear`] from `dy`: `dx = dy·w` (when given: the data may need none),
/// `dw = dyᵀ·x` and, when given, `db = Σ_rows dy`; all overwritten.
pub fn linear_backward(p: &Linear, dy: &Tensor, x: &Tensor, w: &Tensor, dx: Option<&mut Tensor>, dw: &mut Tensor, db: Option<&mut Tensor>) -> KernelResult<()> {
    dispatch!("FullyConnected backward", dw, cpu => with_float!("FullyConnected", dw.dtype, T => {
        let db = db.map(|t| t.data_mut::<T>());
        cpu::linear::backward::<T>(p, [dy.data::<T>(), x.data::<T>(), w.data::<T>()], dx.map(|t| t.data_mut::<T>()), dw.data_mut::<T>(), db)
    }))
}
