//! The fused elementwise primitive, dispatched by device: a chain of elementwise steps run block
//! by block, so intermediate results stay in cache and are never written to memory. The graph's
//! fusion pass (`executor/fuse` in `rmx-graph`) builds the chain from the operators' own block
//! kernels, which own the arithmetic; this primitive owns the driver. The host driver is
//! `cpu::fused`; the CUDA twin comes later.

use std::sync::Arc;

use crate::cuda::source::{self, Arg, Expr, KernelSource};
use crate::dispatch::dispatch;
use crate::{cpu, with_float, BinaryFn, DType, Float, KernelResult, Tensor, UnaryFn};

/// One dtype's step arithmetic: `f(operands' blocks, output block)`, `y[j] = f(x0[j], x1[j], ...)`.
pub type BlockFn<T> = Arc<dyn Fn(&[&[T]], &mut [T]) + Send + Sync>;

/// An elementwise operator's arithmetic over blocks of its equal-shape operands, in both float
/// dtypes: what an operator hands the graph's fusion pass (`Operator::block_kernel`). Made only
/// here, from the same `UnaryFn`/`BinaryFn` types as the operator's own primitives and through
/// the same host loops, so fused and unfused graphs agree bitwise; the CUDA twin will build its
/// fused kernel from the same types' CUDA expressions.
#[derive(Clone)]
pub struct BlockKernel {
    pub f32: BlockFn<f32>,
    pub f64: BlockFn<f64>,
    /// The same arithmetic as a CUDA expression: a fused chain's GPU kernel is made of these.
    pub cuda: Expr,
}

impl BlockKernel {
    /// `y = F(x0)`, as [`crate::elementwise::map`].
    pub fn map<F: UnaryFn>() -> Self {
        BlockKernel {
            f32: Arc::new(|x, y| cpu::elementwise::map::<f32, F>(x[0], y)),
            f64: Arc::new(|x, y| cpu::elementwise::map::<f64, F>(x[0], y)),
            cuda: Expr::unary(F::CUDA),
        }
    }

    /// `y = F(x0, x1)`, as [`crate::elementwise::zip`].
    pub fn zip<F: BinaryFn>() -> Self {
        BlockKernel {
            f32: Arc::new(|x, y| cpu::elementwise::zip::<f32, F>(x[0], x[1], y)),
            f64: Arc::new(|x, y| cpu::elementwise::zip::<f64, F>(x[0], x[1], y)),
            cuda: Expr::binary(F::CUDA),
        }
    }

    /// `y = F(x0, s)`, or `F(s, x0)` when `scalar_first`, as [`crate::elementwise::zip_scalar`]
    /// (which rounds `s` to the dtype first).
    pub fn zip_scalar<F: BinaryFn>(s: f64, scalar_first: bool) -> Self {
        BlockKernel {
            f32: Arc::new(move |x, y| cpu::elementwise::zip_scalar::<f32, F>(x[0], <f32 as crate::Element>::from_f64(s), scalar_first, y)),
            f64: Arc::new(move |x, y| cpu::elementwise::zip_scalar::<f64, F>(x[0], s, scalar_first, y)),
            cuda: Expr::with_scalar(F::CUDA, s, scalar_first),
        }
    }
}

/// A block kernel's arithmetic in the element type `Self`: how a primitive generic over the
/// float type picks it (a dense layer's epilogue).
pub trait KernelOf: Float {
    fn of(k: &BlockKernel) -> &BlockFn<Self>;
}

impl KernelOf for f32 {
    fn of(k: &BlockKernel) -> &BlockFn<f32> {
        &k.f32
    }
}

impl KernelOf for f64 {
    fn of(k: &BlockKernel) -> &BlockFn<f64> {
        &k.f64
    }
}

/// Where a step's operand comes from.
#[derive(Clone, Copy, Debug)]
pub enum Operand {
    /// The chain's input of this index.
    Input(usize),
    /// The result of the earlier step of this index.
    Step(usize),
}

/// One step of a chain: its arithmetic, and its operands.
#[derive(Clone)]
pub struct Step {
    pub kernel: BlockKernel,
    pub args: Vec<Operand>,
}

fn step_fn<T: KernelOf>(step: &Step) -> &BlockFn<T> {
    T::of(&step.kernel)
}

/// Runs `steps` in order, each reading chain inputs or earlier steps' results; the last step's
/// result is written to `out`. Inputs and output have one shape and one float dtype.
pub fn run(steps: &[Step], inputs: &[Tensor], out: &mut Tensor) -> KernelResult<()> {
    dispatch!("_FusedElemwise", out, cpu => with_float!("_FusedElemwise", out.dtype, T => {
        let ins: Vec<&[T]> = inputs.iter().map(|t| t.data::<T>()).collect();
        cpu::fused::run::<T>(steps, step_fn::<T>, &ins, out.data_mut::<T>())
    }))
}

/// The CUDA source of `steps` over `inputs` chain inputs of `dtype`: one kernel for the chain,
/// from each step's CUDA expression (what the GPU runs for `_FusedElemwise`).
pub fn cuda_source(name: &str, steps: &[Step], inputs: usize, dtype: DType) -> KernelSource {
    let chain: Vec<(Expr, Vec<Arg>)> = steps
        .iter()
        .map(|s| {
            let args = s.args.iter().map(|a| match *a { Operand::Input(i) => Arg::Input(i), Operand::Step(i) => Arg::Step(i) }).collect();
            (s.kernel.cuda.clone(), args)
        })
        .collect();
    source::fused(name, &chain, inputs, dtype)
}
