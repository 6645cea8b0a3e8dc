//! FlowNet's correlation layer, dispatched by device: for every displacement within
//! `max_disp` (in steps of `stride2`) and every output position (in steps of `stride1`), the
//! mean over a `kernel x kernel` patch and the channels of the two maps' products (or absolute
//! differences), the maps zero-padded by `pad`.

use crate::dispatch::dispatch;
use crate::{cpu, with_dtype, KernelResult, Tensor};

/// The geometry of one correlation (inputs `n x c x h x w`, output `n x grid² x out_h x out_w`).
#[derive(Clone, Copy, Debug)]
pub struct CorrPlan {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub pad: usize,
    pub kernel: usize,
    pub max_disp: usize,
    pub stride1: usize,
    pub stride2: usize,
    pub multiply: bool,
    pub out_h: usize,
    pub out_w: usize,
}

pub fn forward(p: &CorrPlan, a: &Tensor, b: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("Correlation", y, cpu => with_dtype!(y.dtype, T => cpu::correlation::forward::<T>(p, a.data(), b.data(), y.data_mut())))
}

pub fn backward(p: &CorrPlan, dy: &Tensor, a: &Tensor, b: &Tensor, da: &mut Tensor, db: &mut Tensor) -> KernelResult<()> {
    dispatch!("Correlation gradient", da, cpu => with_dtype!(da.dtype, T => cpu::correlation::backward::<T>(p, dy.data(), a.data(), b.data(), da.data_mut(), db.data_mut())))
}
