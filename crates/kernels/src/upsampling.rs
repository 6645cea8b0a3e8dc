//! Nearest-neighbour upsampling primitives (forward and the inputs' gradients), dispatched by
//! device. UpSampling in `rmx-graph` describes its inputs as a [`NearestPlan`] and calls these;
//! the host loops are `cpu::upsampling`.

use crate::dispatch::dispatch;
use crate::{cpu, with_float, KernelResult, Tensor};

/// One input of a nearest upsampling: `(batch, channels, height / scale, width / scale)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Source {
    pub channels: usize,
    /// The whole factor its height and width grow by.
    pub scale: usize,
}

/// A nearest upsampling of `sources` into one `(batch, channels, height, width)` output.
#[derive(Clone, Debug)]
pub struct NearestPlan {
    pub batch: usize,
    /// The output's channels: the sources' summed (stacked), or each source's (`sum`).
    pub channels: usize,
    pub height: usize,
    pub width: usize,
    pub sources: Vec<Source>,
    /// The upsampled sources are added (equal channels) rather than stacked along channels.
    pub sum: bool,
}

/// `y = upsample(xs)`, one tensor per source; `y` is overwritten.
pub fn nearest_forward(p: &NearestPlan, xs: &[Tensor], y: &mut Tensor) -> KernelResult<()> {
    dispatch!("UpSampling", y, cpu => with_float!("UpSampling", y.dtype, T => {
        let xs: Vec<&[T]> = xs.iter().map(|x| x.data::<T>()).collect();
        cpu::upsampling::nearest_forward::<T>(p, &xs, y.data_mut())
    }))
}

/// `dxs`, the gradients of the sources given the output's `dy`; each is overwritten. The
/// outputs are several, so `dy` (on their device) picks the kernel.
pub fn nearest_backward(p: &NearestPlan, dy: &Tensor, dxs: &mut [Tensor]) -> KernelResult<()> {
    dispatch!("UpSampling backward", dy, cpu => with_float!("UpSampling backward", dy.dtype, T => {
        let mut dxs: Vec<&mut [T]> = dxs.iter_mut().map(|dx| dx.data_mut::<T>()).collect();
        cpu::upsampling::nearest_backward::<T>(p, dy.data(), &mut dxs)
    }))
}
