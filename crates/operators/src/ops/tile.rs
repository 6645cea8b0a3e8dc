//! `tile`: the input repeated `reps` times along each axis (NumPy's `tile`; `reps` and the shape
//! are right-aligned, padding with 1). Read as a `(r0, s0, r1, s1, ...)` view with stride 0 on
//! the repeat axes. `_backward_tile` sums the output gradient over the repeats, viewing it the
//! same way.

use rmx_engine::BoxError;
use rmx_kernels::copy::{self, Region};
use rmx_kernels::{contiguous_strides, Shape};

use super::reduce::Sum;
use rmx_kernels::reduce::reduce_to_as;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Tile {
    reps: Vec<usize>,
}

impl Tile {
    /// Input shape and reps, both padded to the same length.
    fn aligned(&self, shape: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let n = shape.len().max(self.reps.len());
        let pad = |v: &[usize]| std::iter::repeat_n(1, n - v.len()).chain(v.iter().copied()).collect::<Vec<_>>();
        (pad(shape), pad(&self.reps))
    }
}

impl Operator for Tile {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (s, r) = self.aligned(&inputs[0].shape);
        let shape: Shape = s.iter().zip(&r).map(|(a, b)| a * b).collect();
        Ok(vec![TensorDesc { shape, dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (s, r) = self.aligned(&inputs[0].shape);
        let src = contiguous_strides(&s);
        let (mut shape, mut strides) = (Vec::new(), Vec::new());
        for d in 0..s.len() {
            shape.extend([r[d], s[d]]);
            strides.extend([0, src[d]]);
        }
        copy::read_strided(&inputs[0], &Region { shape: &shape, strides: &strides, offset: 0 }, &mut outputs[0])?;
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(g.op1("_backward_tile", args.attrs, &[args.out_grads[0], args.inputs[0]])?)])
    }
}

/// `_backward_tile`: `[out_grad, data]` to data's gradient, the sum over the repeats.
struct TileBackward(Tile);

impl Operator for TileBackward {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let want = &self.0.infer(&inputs[1..])?[0];
        if inputs[0].shape != want.shape {
            return Err(shape_err("_backward_tile", format!("out_grad has shape {:?}, the tiled data {:?}", inputs[0].shape.as_slice(), want.shape.as_slice())));
        }
        Ok(vec![TensorDesc { shape: inputs[1].shape.clone(), dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (s, r) = self.0.aligned(&inputs[1].shape);
        let from: Vec<usize> = r.iter().zip(&s).flat_map(|(&r, &s)| [r, s]).collect();
        let to: Vec<usize> = s.iter().flat_map(|&s| [1, s]).collect();
        let (og, out) = (&inputs[0], &mut outputs[0]);
        reduce_to_as::<Sum>(og, &from, out, &to)?;
        Ok(())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let reps = attrs.ints(name, "reps")?.ok_or_else(|| param_err(name, "reps", "required"))?;
    if reps.iter().any(|&r| r < 0) {
        return Err(param_err(name, "reps", format!("must not be negative, got {reps:?}")));
    }
    let tile = Tile { reps: reps.into_iter().map(|r| r as usize).collect() };
    Ok(if name == "tile" { Box::new(tile) } else { Box::new(TileBackward(tile)) })
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "tile",
    aliases: &[],
    doc: "Repeats the whole input `reps` times along each axis.",
    inputs: Arity::Fixed(&["data"]),
    params: &[param("reps", "Shape", "", "repetitions per axis")],
    create,
}, OpDef {
    name: "_backward_tile",
    aliases: &[],
    doc: "Gradient of tile: [out_grad, data] to data_grad, summed over the repeats.",
    inputs: Arity::Fixed(&["out_grad", "data"]),
    params: &[param("reps", "Shape", "", "as tile's")],
    create,
}];
