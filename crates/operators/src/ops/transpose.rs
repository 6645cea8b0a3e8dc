//! `transpose` (axes permuted; reversed when `axes` is empty) and `SwapAxis` (`swapaxes`,
//! two axes exchanged): a strided read of the input. The gradient is the inverse permutation of
//! the output gradient (a swap and the reversal are their own inverses).

use rmx_engine::BoxError;
use rmx_kernels::copy::{self, Region};
use rmx_kernels::{contiguous_strides, Shape};

use super::axes::axis;
use crate::attrs::Attrs;
use crate::error::{param_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Transpose {
    name: &'static str,
    axes: Option<Vec<i64>>,
    swap: Option<(i64, i64)>,
}

impl Transpose {
    fn perm(&self, ndim: usize) -> Result<Vec<usize>> {
        if let Some((a, b)) = self.swap {
            let (a, b) = (axis(self.name, "dim1", a, ndim)?, axis(self.name, "dim2", b, ndim)?);
            let mut p: Vec<usize> = (0..ndim).collect();
            p.swap(a, b);
            return Ok(p);
        }
        match self.axes.as_deref() {
            None | Some([]) => Ok((0..ndim).rev().collect()),
            Some(given) => {
                let p: Vec<usize> = given.iter().map(|&a| axis(self.name, "axes", a, ndim)).collect::<Result<_>>()?;
                let mut seen = p.clone();
                seen.sort_unstable();
                if seen != (0..ndim).collect::<Vec<_>>() {
                    return Err(param_err(self.name, "axes", format!("{given:?} is not a permutation of {ndim} axes")));
                }
                Ok(p)
            }
        }
    }
}

impl Operator for Transpose {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let p = self.perm(inputs[0].shape.len())?;
        let shape: Shape = p.iter().map(|&a| inputs[0].shape[a]).collect();
        Ok(vec![TensorDesc { shape, dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let x = &inputs[0];
        let p = self.perm(x.shape.len())?;
        let src = contiguous_strides(&x.shape);
        let shape: Vec<usize> = p.iter().map(|&a| x.shape[a]).collect();
        let strides: Vec<isize> = p.iter().map(|&a| src[a]).collect();
        copy::read_strided(x, &Region { shape: &shape, strides: &strides, offset: 0 }, &mut outputs[0])?;
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let og = args.out_grads[0];
        let dx = match self.axes.as_deref() {
            Some(given) if self.swap.is_none() && !given.is_empty() => {
                // A permutation lists every axis once, so its length is the rank.
                let p = self.perm(given.len())?;
                let mut inverse = vec![0usize; p.len()];
                for (i, &a) in p.iter().enumerate() {
                    inverse[a] = i;
                }
                let axes = format!("({})", inverse.iter().map(usize::to_string).collect::<Vec<_>>().join(","));
                g.call("transpose", &[("axes", &axes)], &[og])?
            }
            _ => g.op1(self.name, args.attrs, &[og])?,
        };
        Ok(vec![Some(dx)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    if name == "SwapAxis" {
        let swap = (attrs.int(name, "dim1", 0)?, attrs.int(name, "dim2", 0)?);
        return Ok(Box::new(Transpose { name, axes: None, swap: Some(swap) }));
    }
    Ok(Box::new(Transpose { name, axes: attrs.ints(name, "axes")?, swap: None }))
}

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "transpose",
        aliases: &[],
        doc: "Permutes the axes (reverses them when `axes` is empty).",
        inputs: Arity::Fixed(&["data"]),
        params: &[param("axes", "Shape", "()", "the new order of the axes")],
        create,
    },
    OpDef {
        name: "SwapAxis",
        aliases: &["swapaxes"],
        doc: "Exchanges two axes.",
        inputs: Arity::Fixed(&["data"]),
        params: &[param("dim1", "int", "0", "first axis"), param("dim2", "int", "0", "second axis")],
        create,
    },
];
