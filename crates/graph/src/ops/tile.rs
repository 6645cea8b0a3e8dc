//! `tile`: the input repeated `reps` times along each axis (NumPy's `tile`; `reps` and the shape
//! are right-aligned, padding with 1). Read as a `(r0, s0, r1, s1, ...)` view with stride 0 on
//! the repeat axes.

use rmx_engine::BoxError;
use rmx_kernels::{contiguous_strides, Shape};

use super::gather::read_as;
use crate::attrs::Attrs;
use crate::error::{param_err, Result};
use crate::operator::{param, Arity, OpDef, Operator, Tensor, TensorDesc};

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

    fn compute(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (s, r) = self.aligned(&inputs[0].shape);
        let src = contiguous_strides(&s);
        let (mut shape, mut strides) = (Vec::new(), Vec::new());
        for d in 0..s.len() {
            shape.extend([r[d], s[d]]);
            strides.extend([0, src[d]]);
        }
        read_as(&inputs[0], &shape, &strides, 0, &mut outputs[0]);
        Ok(())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let reps = attrs.ints(name, "reps")?.ok_or_else(|| param_err(name, "reps", "required"))?;
    if reps.iter().any(|&r| r < 0) {
        return Err(param_err(name, "reps", format!("must not be negative, got {reps:?}")));
    }
    Ok(Box::new(Tile { reps: reps.into_iter().map(|r| r as usize).collect() }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "tile",
    aliases: &[],
    doc: "Repeats the whole input `reps` times along each axis.",
    inputs: Arity::Fixed(&["data"]),
    params: &[param("reps", "Shape", "", "repetitions per axis")],
    create,
}];
