//! `_slice_assign` (alias `_crop_assign`): a copy of `lhs` with the slice `begin:end:step` (per
//! leading axis, Python's rules, as `slice`) replaced by `rhs`; `_slice_assign_scalar` (alias
//! `_crop_assign_scalar`) sets the slice to `scalar`. What `x[a:b] = y` is in MXNet's graphs.
//! Gradients, from registry operators: `lhs` gets the output gradient with the slice zeroed,
//! `rhs` the slice of it.

use rmx_engine::BoxError;
use rmx_kernels::copy::{self, Region};
use rmx_kernels::{contiguous_strides, elementwise, Storage};

use super::slice::{optional_ints, slice_range};
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct SliceAssign {
    name: &'static str,
    begin: Vec<Option<i64>>,
    end: Vec<Option<i64>>,
    step: Vec<Option<i64>>,
    /// `Some` for the scalar form.
    scalar: Option<f64>,
}

impl SliceAssign {
    /// The slice's shape and its region in an array of `shape`.
    fn region(&self, shape: &[usize]) -> Result<(Vec<usize>, Vec<isize>, isize)> {
        if self.begin.len() != self.end.len() || self.begin.len() > shape.len() {
            return Err(param_err(self.name, "begin", format!("begin {:?} and end {:?} must have one entry per leading axis of {shape:?}", self.begin, self.end)));
        }
        let contiguous = contiguous_strides(shape);
        let (mut dims, mut strides, mut offset) = (Vec::new(), Vec::new(), 0isize);
        for (d, (&n, &st)) in shape.iter().zip(&contiguous).enumerate() {
            let (start, count, s) = if d < self.begin.len() {
                let s = self.step.get(d).copied().flatten().unwrap_or(1);
                if s == 0 {
                    return Err(param_err(self.name, "step", "must not be 0"));
                }
                let (start, count) = slice_range(n, self.begin[d], self.end[d], s);
                (start, count, s as isize)
            } else {
                (0, n, 1)
            };
            dims.push(count);
            strides.push(s * st);
            offset += start * st;
        }
        Ok((dims, strides, offset))
    }
}

impl Operator for SliceAssign {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (dims, _, _) = self.region(&inputs[0].shape)?;
        if self.scalar.is_none() {
            let rhs = &inputs[1];
            if rhs.shape.as_slice() != dims.as_slice() || rhs.dtype != inputs[0].dtype {
                return Err(shape_err(self.name, format!("rhs must be the slice's shape {dims:?} and lhs's dtype {}, got {:?} {}", inputs[0].dtype, rhs.shape.as_slice(), rhs.dtype)));
            }
        }
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let out = &mut outputs[0];
        copy::dense(&inputs[0], out)?;
        let (dims, strides, offset) = self.region(&out.shape)?;
        if dims.contains(&0) {
            return Ok(());
        }
        let region = Region { shape: &dims, strides: &strides, offset };
        match self.scalar {
            None => copy::write_strided(&inputs[1], out, &region)?,
            Some(v) => {
                let n: usize = dims.iter().product();
                let buf = Storage::zeroed(n * out.dtype.size(), out.ctx())?;
                // SAFETY: `buf` holds the slice's elements in `out`'s dtype and outlives `fill`.
                let mut fill = unsafe { Tensor::new(buf.base(), dims.as_slice().into(), out.dtype, out.ctx()) };
                elementwise::fill(&mut fill, v)?;
                copy::write_strided(&fill, out, &region)?;
            }
        }
        Ok(())
    }

    fn inplace_option(&self) -> Vec<(usize, usize)> {
        vec![(0, 0)]
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let og = args.out_grads[0];
        let mut zeroed = args.attrs.clone();
        zeroed.set("scalar", "0");
        let dlhs = g.op1("_slice_assign_scalar", &zeroed, &[og])?;
        if self.scalar.is_some() {
            return Ok(vec![Some(dlhs)]);
        }
        let mut slice = Attrs::new();
        for key in ["begin", "end", "step"] {
            if let Some(v) = args.attrs.get(key) {
                slice.set(key, v);
            }
        }
        Ok(vec![Some(dlhs), Some(g.op1("slice", &slice, &[og])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let scalar = if name.ends_with("_scalar") { Some(attrs.f64(name, "scalar", 0.0)?) } else { None };
    Ok(Box::new(SliceAssign { name, begin: optional_ints(attrs, name, "begin")?, end: optional_ints(attrs, name, "end")?, step: optional_ints(attrs, name, "step")?, scalar }))
}

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "_slice_assign",
        aliases: &["_crop_assign"],
        doc: "lhs with the slice begin:end:step replaced by rhs.",
        inputs: Arity::Fixed(&["lhs", "rhs"]),
        params: &[param("begin", "Shape", "", "start per axis"), param("end", "Shape", "", "stop per axis"), param("step", "Shape", "()", "step per axis")],
        create,
    },
    OpDef {
        name: "_slice_assign_scalar",
        aliases: &["_crop_assign_scalar"],
        doc: "data with the slice begin:end:step set to scalar.",
        inputs: Arity::Fixed(&["data"]),
        params: &[param("scalar", "double", "0", "the value"), param("begin", "Shape", "", "start per axis"), param("end", "Shape", "", "stop per axis"), param("step", "Shape", "()", "step per axis")],
        create,
    },
];
