//! Spatial sampling primitives, dispatched by device (NCHW): region-of-interest max pooling
//! (`ROIPooling`), sampling grids from affine matrices or flow fields (`GridGenerator`), and
//! bilinear sampling at grid points (`BilinearSampler`, `SpatialTransformer`), with gradients.

use crate::dispatch::dispatch;
use crate::{cpu, with_dtype, KernelResult, Tensor};

fn nchw(t: &Tensor) -> [usize; 4] {
    [t.shape[0], t.shape[1], t.shape[2], t.shape[3]]
}

/// `y` (R, C, ph, pw) and `argmax` (the flat data index chosen, -1 for an empty bin).
pub fn roi_pool(x: &Tensor, rois: &Tensor, scale: f64, y: &mut Tensor, argmax: &mut Tensor) -> KernelResult<()> {
    let pooled = (y.shape[2], y.shape[3]);
    dispatch!("ROIPooling", y, cpu => with_dtype!(y.dtype, T => cpu::spatial::roi_pool::<T>(x.data(), nchw(x), rois.data(), pooled, scale, y.data_mut(), argmax.data_mut::<i64>())))
}

/// `argmax` (int64) as `roi_pool` wrote it; an index outside `dx` is an error.
pub fn roi_pool_backward(dy: &Tensor, argmax: &Tensor, dx: &mut Tensor) -> KernelResult<()> {
    let mut inside = true;
    dispatch!("ROIPooling gradient", dx, cpu => with_dtype!(dx.dtype, T => inside = cpu::spatial::roi_pool_backward::<T>(dy.data(), argmax.data::<i64>(), dx.data_mut())))?;
    if !inside {
        return Err(crate::KernelError::Index { message: "_backward_ROIPooling: an argmax index lies outside the data".into() });
    }
    Ok(())
}

/// Grids `(N, 2, h, w)` from affine matrices `(N, 6)`; `backward`: their gradient.
pub fn affine_grid(theta_or_dgrid: &Tensor, hw: (usize, usize), backward: bool, out: &mut Tensor) -> KernelResult<()> {
    dispatch!("GridGenerator", out, cpu => with_dtype!(out.dtype, T => if backward {
        cpu::spatial::affine_grid_backward::<T>(theta_or_dgrid.data(), hw, out.data_mut())
    } else {
        cpu::spatial::affine_grid::<T>(theta_or_dgrid.data(), hw, out.data_mut())
    }))
}

/// Grids from flow fields `(N, 2, h, w)`; `backward`: the flow's gradient from the grid's.
pub fn warp_grid(flow_or_dgrid: &Tensor, backward: bool, out: &mut Tensor) -> KernelResult<()> {
    let hw = (out.shape[2], out.shape[3]);
    dispatch!("GridGenerator", out, cpu => with_dtype!(out.dtype, T => cpu::spatial::warp_grid::<T>(flow_or_dgrid.data(), hw, backward, out.data_mut())))
}

pub fn bilinear(x: &Tensor, grid: &Tensor, out: &mut Tensor) -> KernelResult<()> {
    let ohw = (out.shape[2], out.shape[3]);
    dispatch!("BilinearSampler", out, cpu => with_dtype!(out.dtype, T => cpu::spatial::bilinear::<T>(x.data(), nchw(x), grid.data(), ohw, out.data_mut())))
}

pub fn bilinear_backward(dy: &Tensor, x: &Tensor, grid: &Tensor, dx: &mut Tensor, dgrid: &mut Tensor) -> KernelResult<()> {
    let ohw = (dy.shape[2], dy.shape[3]);
    dispatch!("BilinearSampler gradient", dx, cpu => with_dtype!(dx.dtype, T => {
        cpu::spatial::bilinear_backward::<T>(dy.data(), x.data(), nchw(x), grid.data(), ohw, dx.data_mut(), dgrid.data_mut())
    }))
}
