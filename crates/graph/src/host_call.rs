//! Pushing an operator computed outside rmx ([`HostCallback`]: the `Custom` operator's Python
//! code) as an asynchronous engine operation: the inputs are copied out when it starts, the
//! callback runs on its own thread (so it may push and wait), and the operation ends when the
//! callback hands back outputs of the inferred shapes and dtypes, copied into the outputs.

use std::sync::Arc;

use rmx_engine::{engine, AsyncOprFn, BoxError, Context, FnProperty, OprName, Var};
use rmx_kernels::{copy, Tensor};
use rmx_operators::error::Result;
use rmx_operators::operator::{HostArray, HostCallback, OpCtx, TensorDesc};

use crate::invoke::scatter;
use crate::ndarray::NDArray;

#[allow(clippy::too_many_arguments)]
pub(crate) fn push(cb: Arc<dyn HostCallback>, name: OprName, inputs: Vec<NDArray>, outputs: Vec<NDArray>, opctx: OpCtx, ctx: Context, reads: &[Var], writes: &[Var]) -> Result<()> {
    let op = name.clone();
    let body: AsyncOprFn = Box::new(move |_, completion| {
        let arrays = match inputs.iter().map(read_host).collect::<std::result::Result<Vec<_>, BoxError>>() {
            Ok(a) => a,
            Err(e) => return completion.done(Err(e)),
        };
        drop(inputs);
        let descs = outputs.iter().map(|o| TensorDesc::new(o.shape(), o.dtype())).collect();
        cb.call(opctx.is_train, arrays, descs, Box::new(move |result| completion.done(result.and_then(|outs| write_outputs(&op, &outputs, outs)))));
    });
    engine().push_async(body, ctx, reads, writes, FnProperty::Normal, 0, name)?;
    Ok(())
}

/// An 8-byte aligned buffer of `nbytes`, so any element type may be read from it.
fn aligned(nbytes: usize) -> Vec<u64> {
    vec![0u64; nbytes.div_ceil(8)]
}

fn read_host(a: &NDArray) -> std::result::Result<HostArray, BoxError> {
    if !a.ctx().kind.is_host() {
        return Err(format!("custom operators take host arrays; an input is on {}", a.ctx()).into());
    }
    let nbytes = a.numel() * a.dtype().size();
    let mut buf = aligned(nbytes);
    // SAFETY: `buf` holds `nbytes` bytes, aligned for every dtype, and outlives `t`.
    let mut t = unsafe { Tensor::new(buf.as_mut_ptr() as *mut u8, a.shape().into(), a.dtype(), a.ctx()) };
    // SAFETY: `a` is an input of this push: its variable is in the push's sets.
    copy::read_strided(&unsafe { a.chunk_tensor() }, &a.region(), &mut t)?;
    // SAFETY: `buf` holds at least `nbytes` initialized bytes.
    let bytes = unsafe { std::slice::from_raw_parts(buf.as_ptr() as *const u8, nbytes) }.to_vec();
    Ok(HostArray { shape: a.shape().into(), dtype: a.dtype(), bytes })
}

fn write_outputs(op: &str, outputs: &[NDArray], arrays: Vec<HostArray>) -> std::result::Result<(), BoxError> {
    if arrays.len() != outputs.len() {
        return Err(format!("{op}: {} results for {} outputs", arrays.len(), outputs.len()).into());
    }
    for (i, (o, h)) in outputs.iter().zip(arrays).enumerate() {
        if h.shape.as_slice() != o.shape() || h.dtype != o.dtype() || h.bytes.len() != o.numel() * o.dtype().size() {
            return Err(format!("{op}: output {i} should be {:?} {}, got {:?} {}", o.shape(), o.dtype(), h.shape.as_slice(), h.dtype).into());
        }
        let mut buf = aligned(h.bytes.len());
        // SAFETY: `buf` has room for the bytes; the two do not overlap.
        unsafe { std::ptr::copy_nonoverlapping(h.bytes.as_ptr(), buf.as_mut_ptr() as *mut u8, h.bytes.len()) };
        // SAFETY: `buf` holds the output's elements, aligned, and outlives `t`.
        let t = unsafe { Tensor::new(buf.as_mut_ptr() as *mut u8, h.shape, h.dtype, o.ctx()) };
        scatter(&t, o)?;
    }
    Ok(())
}
