//! The fused elementwise primitive, dispatched by device: a chain of elementwise steps run block
//! by block, so intermediate results stay in cache and are never written to memory. The graph's
//! fusion pass (`executor/fuse` in `rmx-graph`) builds the chain from the operators' own block
//! kernels, which own the arithmetic; this primitive owns the driver. The host driver is
//! `cpu::fused`; the CUDA twin comes later.

use std::sync::Arc;

use crate::dispatch::dispatch;
use crate::{cpu, with_float, Float, KernelResult, Tensor};

/// One dtype's step arithmetic: `f(operands' blocks, output block)`, `y[j] = f(x0[j], x1[j], ...)`.
pub type BlockFn<T> = Arc<dyn Fn(&[&[T]], &mut [T]) + Send + Sync>;

/// Where a step's operand comes from.
#[derive(Clone, Copy, Debug)]
pub enum Operand {
    /// The chain's input of this index.
    Input(usize),
    /// The result of the earlier step of this index.
    Step(usize),
}

/// One step of a chain: its arithmetic in each float dtype, and its operands.
#[derive(Clone)]
pub struct Step {
    pub f32: BlockFn<f32>,
    pub f64: BlockFn<f64>,
    pub args: Vec<Operand>,
}

/// The step's arithmetic in the element type `Self`.
trait StepFn: Float {
    fn of(step: &Step) -> &BlockFn<Self>;
}

impl StepFn for f32 {
    fn of(step: &Step) -> &BlockFn<f32> {
        &step.f32
    }
}

impl StepFn for f64 {
    fn of(step: &Step) -> &BlockFn<f64> {
        &step.f64
    }
}

/// Runs `steps` in order, each reading chain inputs or earlier steps' results; the last step's
/// result is written to `out`. Inputs and output have one shape and one float dtype.
pub fn run(steps: &[Step], inputs: &[Tensor], out: &mut Tensor) -> KernelResult<()> {
    dispatch!("_FusedElemwise", out, cpu => with_float!("_FusedElemwise", out.dtype, T => {
        let ins: Vec<&[T]> = inputs.iter().map(|t| t.data::<T>()).collect();
        cpu::fused::run::<T>(steps, T::of, &ins, out.data_mut::<T>())
    }))
}
