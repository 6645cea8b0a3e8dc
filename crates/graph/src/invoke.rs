//! Imperative invocation: look the operator up, infer its outputs at once (so shape and dtype
//! errors raise at the call), allocate them, and push the kernel with the inputs' variables as
//! reads and the outputs' as writes. The executor reuses `push_compute` for its nodes.

use std::sync::Arc;

use rmx_engine::{engine, BoxError, Context, FnProperty, OprName, RunContext, Var};
use rmx_kernels::{copy, Storage};
use rmx_operators::attrs::Attrs;
use rmx_operators::error::{shape_err, GraphError, Result};
use rmx_operators::operator::{Arity, OpCtx, OpDef, Operator, Tensor, TensorDesc};
use rmx_operators::registry::lookup;
use rmx_operators::rng::rng_var;

use crate::ndarray::{check_device, NDArray};

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
    check_input_count(def, op.as_ref(), inputs.len())?;
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
        Some(outs) => check_out(def.name, outs, &wanted, op.num_visible_outputs(), ctx)?,
        None => wanted.iter().map(|d| NDArray::zeros(&d.shape, d.dtype, ctx)).collect::<Result<_>>()?,
    };
    push_compute(op, def.name.into(), inputs.to_vec(), outputs.clone(), opctx)?;
    Ok(outputs)
}

/// Operators index their inputs by position; a call with another count is refused here, naming
/// what the operator takes, before anything indexes past the end.
fn check_input_count(def: &OpDef, op: &dyn Operator, given: usize) -> Result<()> {
    // The registry's fixed list needs no allocation (this runs on every imperative call).
    let dynamic = op.input_names();
    let names: &[&str] = match (&dynamic, def.inputs) {
        (Some(n), _) => n,
        (None, Arity::Fixed(n)) => n,
        (None, Arity::Variadic(_)) if given == 0 => return Err(shape_err(def.name, "takes one or more inputs, got none")),
        (None, Arity::Variadic(_)) => return Ok(()),
    };
    if names.len() != given {
        return Err(shape_err(def.name, format!("takes {} input(s) ({}), got {given}", names.len(), names.join(", "))));
    }
    Ok(())
}

/// `out=` as given, checked against the results; it may name the visible outputs only (as
/// MXNet's does), and the hidden ones (Pooling's mask, BatchNorm's saved statistics) are then
/// made here.
fn check_out(op: &str, mut outs: Vec<NDArray>, wanted: &[TensorDesc], visible: usize, ctx: Context) -> Result<Vec<NDArray>> {
    if outs.len() == visible && visible < wanted.len() {
        for w in &wanted[visible..] {
            outs.push(NDArray::zeros(&w.shape, w.dtype, ctx)?);
        }
    }
    if outs.len() != wanted.len() {
        let hidden = wanted.len() - visible.min(wanted.len());
        let plural = if visible == 1 { "" } else { "s" };
        let counted = if hidden > 0 { format!("{visible} output{plural} ({hidden} more hidden)") } else { format!("{visible} output{plural}") };
        return Err(GraphError::Invalid(format!("{op}: out= has {} arrays, the operator has {counted}", outs.len())));
    }
    for (o, w) in outs.iter().zip(wanted) {
        if o.shape() != w.shape.as_slice() {
            return Err(shape_err(op, format!("out= has shape {:?}, the result has shape {:?}", o.shape(), w.shape.as_slice())));
        }
        if o.dtype() != w.dtype {
            return Err(rmx_operators::error::dtype_err(op, format!("out= has dtype {}, the result has dtype {}", o.dtype(), w.dtype)));
        }
    }
    Ok(outs)
}

/// Operations touching at most this many elements (inputs and outputs together) are pushed as
/// `FnProperty::Async`: when ready, they run on the calling thread, since handing a kernel this
/// small to a worker costs more than running it (tiny-op workload, benches/RESULTS.md).
const INLINE_ELEMENTS: usize = 4096;

/// Pushes one computation of `op`. The kernel sees dense tensors that never overlap, with one
/// exception: an input passed again as the very same dense output, where the operator's
/// `inplace_option` allows, is given as that output's buffer. To get there, inputs that are
/// strided views or share a chunk with something the push writes are gathered into dense
/// scratch; outputs that are strided views are computed densely and scattered; and mutated
/// inputs (BatchNorm's moving statistics, optimizer states) that are strided or share a chunk
/// with another tensor get scratch that is written back to them after the kernel, in input
/// order, so a write through a view reaches its base and one array given twice is defined.
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
    if let Some(cb) = op.host_callback() {
        return crate::host_call::push(cb, name, inputs, outputs, opctx, ctx, &reads, &writes);
    }
    let body = Box::new(move |rc: &RunContext| run_compute(op.as_ref(), &inputs, &outputs, &mutated, &inplace, OpCtx { run: *rc, ..opctx }));
    engine().push(body, ctx, &reads, &writes, prop, 0, name)?;
    Ok(())
}

/// The body of [`push_compute`], run by the engine once the push's dependencies are met.
fn run_compute(op: &dyn Operator, inputs: &[NDArray], outputs: &[NDArray], mutated: &[usize], inplace: &[(usize, usize)], ctx: OpCtx) -> std::result::Result<(), BoxError> {
    let mut scratch: Vec<Storage> = Vec::new();
    // Per output, the one input allowed to be its very buffer (an in-place pair).
    let over: Vec<Option<usize>> = outputs
        .iter()
        .enumerate()
        .map(|(k, o)| inputs.iter().enumerate().position(|(i, a)| inplace.contains(&(i, k)) && !mutated.contains(&i) && same_dense(a, o)))
        .collect();
    let is_mutated = |i: usize| mutated.contains(&i);
    // A chunk some other tensor of this push writes (an output, or another mutated input).
    let written_elsewhere = |i: usize, a: &NDArray| {
        outputs.iter().enumerate().any(|(k, o)| o.same_chunk(a) && over[k] != Some(i))
            || inputs.iter().enumerate().any(|(j, b)| j != i && is_mutated(j) && b.same_chunk(a))
    };
    let mut copy_back: Vec<usize> = Vec::new();
    let mut ins: Vec<Tensor> = Vec::with_capacity(inputs.len());
    for (i, a) in inputs.iter().enumerate() {
        let shared = if is_mutated(i) { inputs.iter().enumerate().any(|(j, b)| j != i && b.same_chunk(a)) || outputs.iter().any(|o| o.same_chunk(a)) } else { written_elsewhere(i, a) };
        if is_mutated(i) && (shared || !a.is_contiguous()) {
            copy_back.push(i);
        }
        ins.push(dense_tensor(a, shared, &mut scratch, true)?);
    }
    let mut outs: Vec<Tensor> = outputs.iter().map(|a| dense_tensor(a, false, &mut scratch, false)).collect::<std::result::Result<_, _>>()?;
    op.compute(&ctx, &ins, &mut outs)?;
    for (o, t) in outputs.iter().zip(&outs) {
        if !o.is_contiguous() {
            scatter(t, o)?;
        }
    }
    for &i in &copy_back {
        scatter(&ins[i], &inputs[i])?;
    }
    Ok(())
}

/// Copies dense `t` into the (strided) elements of `a`.
pub(crate) fn scatter(t: &Tensor, a: &NDArray) -> std::result::Result<(), BoxError> {
    // SAFETY: this push writes `a`'s variable, so nothing else touches its chunk meanwhile.
    let mut chunk = unsafe { a.chunk_tensor() };
    Ok(copy::write_strided(t, &mut chunk, &a.region())?)
}

/// `a` and `b` are the same dense elements (same first element, count and dtype; the shapes
/// may differ, as a reshape's input and output do).
fn same_dense(a: &NDArray, b: &NDArray) -> bool {
    a.is_contiguous() && b.is_contiguous() && a.data_ptr() == b.data_ptr() && a.numel() == b.numel() && a.dtype() == b.dtype()
}

/// A dense tensor for `a`: its own memory when it is dense (and not aliased), else scratch
/// (filled from `a` when it is an input).
fn dense_tensor(a: &NDArray, aliased: bool, scratch: &mut Vec<Storage>, fill: bool) -> std::result::Result<Tensor, BoxError> {
    if a.is_contiguous() && !aliased {
        // SAFETY: `a` is dense from `data_ptr` (its layout lies inside its chunk), and its
        // variable is in this push's sets.
        return Ok(unsafe { Tensor::new(a.data_ptr(), a.shape().into(), a.dtype(), a.ctx()) });
    }
    let buf = Storage::zeroed(a.nbytes(), a.ctx())?;
    // SAFETY: `buf` holds `a.numel()` elements and lives in `scratch` until the push ends.
    let mut t = unsafe { Tensor::new(buf.base(), a.shape().into(), a.dtype(), a.ctx()) };
    scratch.push(buf);
    if fill {
        // SAFETY: `a` is an input of this push: its variable is in the push's sets.
        copy::read_strided(&unsafe { a.chunk_tensor() }, &a.region(), &mut t)?;
    }
    Ok(t)
}
