//! Convolution primitives (forward, data gradient, weight gradient, bias), dispatched by device.
//! Convolution and Deconvolution in `rmx-graph` describe their work as a [`ConvPlan`] and call
//! these; the host loops are `cpu::conv`, and cuDNN's twins will sit beside them.

use crate::dispatch::dispatch;
use crate::window::Geometry;
use crate::{cpu, with_float, KernelResult, Tensor};

/// A convolution's layout: `x` is `(batch, in_channels, input...)`, `w` is
/// `(out_channels, in_channels / groups, kernel...)`, `y` is `(batch, out_channels, output...)`.
/// `geom.channels` is `in_channels / groups`.
#[derive(Clone, Debug)]
pub struct ConvPlan {
    pub batch: usize,
    pub groups: usize,
    pub out_channels: usize,
    pub geom: Geometry,
}

impl ConvPlan {
    pub(crate) fn x_image(&self) -> usize {
        self.geom.channels * self.groups * self.geom.input_size()
    }

    pub(crate) fn y_image(&self) -> usize {
        self.out_channels * self.geom.output_size()
    }

    /// Output channels per group.
    pub(crate) fn fg(&self) -> usize {
        self.out_channels / self.groups
    }

    /// Elements of one group's weights: `fg x col_rows`.
    pub(crate) fn w_group(&self) -> usize {
        self.fg() * self.geom.col_rows()
    }

    pub(crate) fn col_len(&self) -> usize {
        if self.geom.is_pointwise() { 0 } else { self.geom.col_rows() * self.geom.output_size() }
    }

    pub(crate) fn parallel_images(&self) -> bool {
        self.batch > 1 && rayon::current_num_threads() > 1
    }
}

/// `y = conv(x, w) (+ bias)`; `y` is overwritten.
pub fn forward(p: &ConvPlan, x: &Tensor, w: &Tensor, bias: Option<&Tensor>, y: &mut Tensor) -> KernelResult<()> {
    dispatch!("Convolution", y, cpu => with_float!("Convolution", y.dtype, T => cpu::conv::forward::<T>(p, x.data(), w.data(), bias.map(|b| b.data()), y.data_mut())))
}

/// `dx = conv^T(dy, w)`: the gradient with respect to the input; `dx` is overwritten.
pub fn backward_data(p: &ConvPlan, dy: &Tensor, w: &Tensor, dx: &mut Tensor) -> KernelResult<()> {
    dispatch!("Convolution backward (data)", dx, cpu => with_float!("Convolution", dx.dtype, T => cpu::conv::backward_data::<T>(p, dy.data(), w.data(), dx.data_mut())))
}

/// `dw = sum_n dy_n * col(x_n)^T`: the gradient with respect to the weights; overwritten.
pub fn backward_weight(p: &ConvPlan, dy: &Tensor, x: &Tensor, dw: &mut Tensor) -> KernelResult<()> {
    dispatch!("Convolution backward (weight)", dw, cpu => with_float!("Convolution", dw.dtype, T => cpu::conv::backward_weight::<T>(p, dy.data(), x.data(), dw.data_mut())))
}

/// `y[n, f, ...] += b[f]` over `spatial` positions per channel.
pub fn add_bias(y: &mut Tensor, b: &Tensor, spatial: usize) -> KernelResult<()> {
    dispatch!("bias add", y, cpu => with_float!("bias add", y.dtype, T => cpu::conv::add_bias::<T>(y.data_mut(), b.data(), spatial)))
}

/// `db[f] = sum over images and positions of dy[n, f, ...]`; overwritten.
pub fn bias_grad(dy: &Tensor, db: &mut Tensor, spatial: usize) -> KernelResult<()> {
    dispatch!("bias gradient", db, cpu => with_float!("bias gradient", db.dtype, T => cpu::conv::bias_grad::<T>(dy.data(), db.data_mut(), spatial)))
}
