//! Probability densities of samples under per-set parameters (`_random_pdf_*`), and their
//! gradients, dispatched by device. Parameters hold one set per leading index; each set has
//! `per` samples (Dirichlet: vectors of `k` components).

use crate::dispatch::dispatch;
use crate::{cpu, with_dtype, KernelResult, Tensor};

pub use crate::cpu::pdf::Layout;

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Density {
    Uniform,
    Normal,
    /// Shape and rate.
    Gamma,
    Exponential,
    Poisson,
    NegativeBinomial,
    GeneralizedNegativeBinomial,
    Dirichlet,
}

pub fn forward(d: Density, g: Layout, sample: &Tensor, params: &[&Tensor], is_log: bool, out: &mut Tensor) -> KernelResult<()> {
    dispatch!("random pdf", out, cpu => with_dtype!(out.dtype, T => {
        let p: Vec<&[T]> = params.iter().map(|t| t.data::<T>()).collect();
        cpu::pdf::forward::<T>(d, g, sample.data(), &p, is_log, out.data_mut())
    }))
}

#[allow(clippy::too_many_arguments)]
pub fn backward(d: Density, g: Layout, og: &Tensor, sample: &Tensor, params: &[&Tensor], is_log: bool, dsample: &mut Tensor, dparams: &mut [Tensor]) -> KernelResult<()> {
    dispatch!("random pdf gradient", dsample, cpu => with_dtype!(dsample.dtype, T => {
        let p: Vec<&[T]> = params.iter().map(|t| t.data::<T>()).collect();
        let mut dp: Vec<&mut [T]> = dparams.iter_mut().map(|t| t.data_mut::<T>()).collect();
        cpu::pdf::backward::<T>(d, g, og.data(), sample.data(), &p, is_log, dsample.data_mut(), &mut dp)
    }))
}
