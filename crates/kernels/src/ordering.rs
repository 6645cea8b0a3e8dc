//! Ordering primitives, dispatched by device: `sort`, `argsort` and `topk` along an axis (one
//! forward, its outputs chosen by [`Ret`]) and the values' gradient, scattered back to where
//! each value came from. Stable: ties keep their order; NaN sorts last ascending. The host loops
//! are `cpu::ordering`.

use crate::dispatch::dispatch;
use crate::{cpu, with_dtype, KernelResult, Tensor};

/// What the forward writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ret {
    /// The first k values of each lane, in order (`sort`, `topk` `value`).
    Values,
    /// Their positions along the axis (`argsort`, `topk` `indices`).
    Indices,
    /// Values, then indices: two outputs.
    Both,
    /// The input's shape, 1 where an element is among the first k of its lane, else 0.
    Mask,
}

/// The input viewed as `(outer, n, inner)` around the ordered axis (the flattened input is
/// `(1, numel, 1)`); each of the `outer * inner` lanes of `n` is ordered and its first `k` kept.
#[derive(Clone, Debug)]
pub struct OrderPlan {
    pub outer: usize,
    pub n: usize,
    pub inner: usize,
    pub k: usize,
    pub ascend: bool,
    pub ret: Ret,
}

/// The forward: `outputs` holds one tensor as [`Ret`] says (two for [`Ret::Both`]), each shaped
/// as the input with the axis cut to `k` (the mask: the input's shape). Values of integer inputs
/// are copied exactly; everything else is written through `f64`.
pub fn forward(p: &OrderPlan, x: &Tensor, outputs: &mut [Tensor]) -> KernelResult<()> {
    dispatch!("ordering", &outputs[0], cpu => {
        let r = with_dtype!(x.dtype, T => cpu::ordering::rank::<T>(p, x.data()));
        if let (Some(iv), Ret::Values | Ret::Both) = (&r.ints, p.ret) {
            with_dtype!(x.dtype, T => cpu::ordering::copy_ints::<T>(p, iv, &r.top_idx, outputs[0].data_mut()));
            if p.ret == Ret::Both {
                write(&mut outputs[1], &r.top_idx);
            }
        } else {
            match p.ret {
                Ret::Values => write(&mut outputs[0], &r.top_vals),
                Ret::Indices => write(&mut outputs[0], &r.top_idx),
                Ret::Mask => write(&mut outputs[0], &r.mask),
                Ret::Both => {
                    write(&mut outputs[0], &r.top_vals);
                    write(&mut outputs[1], &r.top_idx);
                }
            }
        }
    })
}

/// `t` (host) = `v` converted to its dtype.
fn write(t: &mut Tensor, v: &[f64]) {
    with_dtype!(t.dtype, T => cpu::ordering::write::<T>(v, t.data_mut()))
}

/// The values' gradient: `dx` (the input's shape) zeroed, then each element of `dy` written
/// where its value came from (the ranking recomputed from `x`: ties keep their order, so it is
/// the forward's).
pub fn backward(p: &OrderPlan, dy: &Tensor, x: &Tensor, dx: &mut Tensor) -> KernelResult<()> {
    dispatch!("ordering backward", dx, cpu => {
        let top_idx = with_dtype!(x.dtype, T => cpu::ordering::rank::<T>(p, x.data())).top_idx;
        with_dtype!(dx.dtype, T => cpu::ordering::scatter::<T>(p, &top_idx, dy.data(), dx.data_mut()))
    })
}
