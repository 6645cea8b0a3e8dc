//! Imperative invocation: look the operator up, infer its outputs at once (so shape and dtype
//! errors raise at the call), allocate them, and push the kernel with the inputs' variables as
//! reads and the outputs' as writes. The executor reuses `push_compute` for its nodes.

use std::sync::Arc;

use rmx_engine::{engine, Context, FnProperty, OprName, Var};
use rmx_kernels::copy::copy_strided;
use rmx_kernels::{contiguous_strides, Storage};

use crate::attrs::Attrs;
use crate::error::{GraphError, Result};
use crate::ndarray::{check_device, NDArray};
use crate::operator::{OpCtx, Operator, Tensor, TensorDesc};
use crate::registry::lookup;
use crate::rng::rng_var;

/// Runs operator `name` on `inputs`. With `out`, results are written there (shapes and dtypes
/// must match what the operator infers); otherwise new arrays are made on the inputs' device
/// (or `ctx` for operators without inputs).
pub fn invoke(name: &str, inputs: &[NDArray], attrs: &Attrs, out: Option<Vec<NDArray>>, ctx: Context) -> Result<Vec<NDArray>> {
    invoke_with(name, inputs, attrs, out, ctx, OpCtx::default())
}

/// [`invoke`] with a training flag (autograd's recording mode, gradient tests).
pub fn invoke_with(name: &str, inputs: &[NDArray], attrs: &Attrs, out: Option<Vec<NDArray>>, ctx: Context, opctx: OpCtx) -> Result<Vec<NDArray>> {
    let def = lookup(name)?;
    let op: Arc<dyn Operator> = Arc::from(def.instantiate(attrs)?);
    let ctx = inputs.first().map_or(ctx, NDArray::ctx);
    check_device(def.name, ctx)?;
    if let Some(other) = inputs.iter().find(|a| a.ctx() != ctx) {
        return Err(GraphError::Device {
            op: def.name.to_string(),
            message: format!("inputs are on different devices: {ctx} and {}", other.ctx()),
        });
    }
    let descs: Vec<TensorDesc> = inputs.iter().map(|a| TensorDesc::new(a.shape(), a.dtype())).collect();
    let wanted = op.infer(&descs)?;
    let outputs = match out {
        Some(outs) => check_out(def.name, outs, &wanted)?,
        None => wanted.iter().map(|d| NDArray::zeros(&d.shape, d.dtype, ctx)).collect::<Result<_>>()?,
    };
    push_compute(op, def.name.into(), inputs.to_vec(), outputs.clone(), opctx)?;
    Ok(outputs)
}

fn check_out(op: &str, outs: Vec<NDArray>, wanted: &[TensorDesc]) -> Result<Vec<NDArray>> {
    if outs.len() != wanted.len() {
        return Err(GraphError::Invalid(format!("{op}: out= has {} arrays, the operator has {} outputs", outs.len(), wanted.len())));
    }
    for (o, w) in outs.iter().zip(wanted) {
        if o.shape() != w.shape.as_slice() {
            return Err(crate::error::shape_err(op, format!("out= has shape {:?}, the result has shape {:?}", o.shape(), w.shape.as_slice())));
        }
        if o.dtype() != w.dtype {
            return Err(crate::error::dtype_err(op, format!("out= has dtype {}, the result has dtype {}", o.dtype(), w.dtype)));
        }
    }
    Ok(outs)
}

/// Operations touching at most this many elements (inputs and outputs together) are pushed as
/// `FnProperty::Async`: when ready, they run on the calling thread, since handing a kernel this
/// small to a worker costs more than running it (tiny-op workload, benches/RESULTS.md).
const INLINE_ELEMENTS: usize = 4096;

/// Pushes one computation of `op`. Inputs that are strided views, or that share storage with an
/// output, are first gathered into dense scratch; outputs that are strided views are computed
/// densely and scattered. The kernel thus always sees dense, non-aliasing tensors, except that an
/// input passed again as the very same dense output, where the operator's `inplace_option`
/// allows, is given as that output's buffer.
pub fn push_compute(op: Arc<dyn Operator>, name: OprName, inputs: Vec<NDArray>, outputs: Vec<NDArray>, opctx: OpCtx) -> Result<()> {
    let ctx = outputs.first().or(inputs.first()).map_or(Context::cpu(0), NDArray::ctx);
    let touched: usize = inputs.iter().chain(&outputs).map(NDArray::numel).sum();
    let prop = if touched <= INLINE_ELEMENTS { FnProperty::Async } else { FnProperty::Normal };
    let mutated = op.mutated_inputs();
    let inplace = op.inplace_option();
    let mut reads: Vec<Var> = Vec::with_capacity(inputs.len());
    let mut writes: Vec<Var> = outputs.iter().map(|a| a.var().clone()).collect();
    // The engine normalizes the sets (duplicates, a variable both read and written).
    for (i, a) in inputs.iter().enumerate() {
        let set = if mutated.contains(&i) { &mut writes } else { &mut reads };
        set.push(a.var().clone());
    }
    if op.uses_rng() {
        writes.push(rng_var());
    }
    let body = Box::new(move |_: &rmx_engine::RunContext| {
        let mut scratch: Vec<Storage> = Vec::new();
        // Per output, the one input allowed to be its very buffer (an in-place pair).
        let over: Vec<Option<usize>> = outputs
            .iter()
            .enumerate()
            .map(|(k, o)| inputs.iter().enumerate().position(|(i, a)| inplace.contains(&(i, k)) && same_dense(a, o)))
            .collect();
        let ins: Vec<Tensor> = inputs
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let aliased = outputs.iter().enumerate().any(|(k, o)| o.same_chunk(a) && over[k] != Some(i));
                dense_tensor(a, aliased, &mut scratch, true)
            })
            .collect();
        let mut outs: Vec<Tensor> = outputs.iter().map(|a| dense_tensor(a, false, &mut scratch, false)).collect();
        op.forward(&opctx, &ins, &mut outs)?;
        for (o, t) in outputs.iter().zip(&outs) {
            if !o.is_contiguous() {
                // SAFETY: this push writes `o`'s variable; `t` is its dense scratch.
                unsafe { copy_strided(o.dtype().size(), o.shape(), t.ptr(), &contiguous_strides(o.shape()), o.data_ptr(), &o.layout().strides) };
            }
        }
        Ok(())
    });
    engine().push(body, ctx, &reads, &writes, prop, 0, name)?;
    Ok(())
}

/// `a` and `b` are the same dense elements (same first element, count and dtype; the shapes
/// may differ, as a reshape's input and output do).
fn same_dense(a: &NDArray, b: &NDArray) -> bool {
    a.is_contiguous() && b.is_contiguous() && a.data_ptr() == b.data_ptr() && a.numel() == b.numel() && a.dtype() == b.dtype()
}

/// A dense tensor for `a`: its own memory when it is dense (and not aliased), else scratch
/// (filled from `a` when it is an input).
fn dense_tensor(a: &NDArray, aliased: bool, scratch: &mut Vec<Storage>, fill: bool) -> Tensor {
    if a.is_contiguous() && !aliased {
        // SAFETY: `a` is dense from `data_ptr`, and its variable is in this push's sets.
        return unsafe { Tensor::new(a.data_ptr(), a.shape().into(), a.dtype()) };
    }
    let buf = Storage::zeroed(a.nbytes(), a.ctx());
    if fill {
        // SAFETY: `a` is an input of this push; `buf` is fresh.
        unsafe { copy_strided(a.dtype().size(), a.shape(), a.data_ptr(), &a.layout().strides, buf.as_ptr(), &contiguous_strides(a.shape())) };
    }
    // SAFETY: `buf` holds `a.numel()` elements and lives in `scratch` until the push ends.
    let t = unsafe { Tensor::new(buf.as_ptr(), a.shape().into(), a.dtype()) };
    scratch.push(buf);
    t
}
