//! `_sum_to_like` (`data`, `like`): `data` summed down to `like`'s shape, the gradient of
//! broadcasting. `like` must broadcast to `data`: the leading axes `like` lacks are summed away,
//! and axes where `like` has 1 are summed keeping the 1. [`sum_to`] is the kernel, shared with
//! the backward kernels of broadcasting operators, tile and repeat.

use rmx_engine::BoxError;
use rmx_kernels::cpu::reduce::reduce;
use rmx_kernels::{with_dtype, DType, Element};

use super::reduce::Sum;
use crate::attrs::Attrs;
use crate::error::{dtype_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, Arity, OpDef, Operator, Tensor, TensorDesc};

/// Whether `to` broadcasts to `from` (so that `from` sums down to `to`).
pub fn sums_to(from: &[usize], to: &[usize]) -> bool {
    to.len() <= from.len() && to.iter().rev().zip(from.iter().rev()).all(|(&t, &f)| t == f || t == 1)
}

/// Sums dense `x` of shape `from` down to `to` (which must broadcast to `from`), into dense `y`.
/// Size-1 axes are dropped and adjacent axes of one kind merged, leaving alternating runs of kept
/// and summed axes; each summed run is then one `(outer, len, inner)` reduction, the last first,
/// so no transposed copy is made (an NCHW bias gradient is two passes, the first the big one).
pub fn sum_to<T: Element>(x: &[T], from: &[usize], to: &[usize], y: &mut [T]) {
    debug_assert!(sums_to(from, to));
    let pad = from.len() - to.len();
    // (size, summed) for each axis of size > 1, adjacent axes of one kind merged.
    let mut runs: Vec<(usize, bool)> = Vec::new();
    for (d, &n) in from.iter().enumerate() {
        if n == 1 {
            continue;
        }
        let summed = d < pad || to[d - pad] == 1;
        match runs.last_mut() {
            Some((size, kind)) if *kind == summed => *size *= n,
            _ => runs.push((n, summed)),
        }
    }
    let mut current: Option<Vec<T>> = None;
    loop {
        let Some(j) = runs.iter().rposition(|&(_, summed)| summed) else {
            // Nothing (left) to sum: the data is already laid out as `to`.
            y.copy_from_slice(current.as_deref().unwrap_or(x));
            return;
        };
        let outer: usize = runs[..j].iter().map(|r| r.0).product();
        let inner: usize = runs[j + 1..].iter().map(|r| r.0).product();
        let len = runs[j].0;
        runs.remove(j);
        if j > 0 && j < runs.len() && !runs[j - 1].1 && !runs[j].1 {
            runs[j - 1].0 *= runs[j].0;
            runs.remove(j);
        }
        let src = current.as_deref().unwrap_or(x);
        if !runs.iter().any(|r| r.1) {
            reduce::<T, Sum>(src, outer, len, inner, y);
            return;
        }
        let mut next = vec![T::default(); outer * inner];
        reduce::<T, Sum>(src, outer, len, inner, &mut next);
        current = Some(next);
    }
}

struct SumToLike;

impl Operator for SumToLike {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (data, like) = (&inputs[0], &inputs[1]);
        if data.dtype == DType::Bool {
            return Err(dtype_err("_sum_to_like", "bool arrays cannot be summed; cast them first"));
        }
        if !sums_to(&data.shape, &like.shape) {
            return Err(shape_err(
                "_sum_to_like",
                format!("data of shape {:?} does not sum down to like's shape {:?} (like must broadcast to data)", data.shape.as_slice(), like.shape.as_slice()),
            ));
        }
        Ok(vec![TensorDesc { shape: like.shape.clone(), dtype: data.dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (x, out) = (&inputs[0], &mut outputs[0]);
        let to = out.shape.clone();
        with_dtype!(x.dtype, T => sum_to::<T>(x.data::<T>(), &x.shape, &to, out.data_mut::<T>()));
        Ok(())
    }

    /// `data` gets the gradient broadcast back; `like` gives only its shape.
    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let dx = g.call("broadcast_like", &[], &[args.out_grads[0], args.inputs[0]])?;
        Ok(vec![Some(dx), None])
    }
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "_sum_to_like",
    aliases: &[],
    doc: "`data` summed down to the shape of `like` (the gradient of broadcasting).",
    inputs: Arity::Fixed(&["data", "like"]),
    params: &[],
    create: |_: &'static str, _: &Attrs| Ok(Box::new(SumToLike)),
}];
