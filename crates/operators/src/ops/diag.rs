//! `diag`: of a vector, the square matrix with it on diagonal `k` (zeros elsewhere); of an array
//! with 2+ axes, its diagonal `k` in the plane of `axis1` and `axis2`, which move to the end as
//! one axis (NumPy's `diagonal`). Both are strided copies of the diagonal's region, and so is
//! `_backward_diag`: for a vector, the diagonal of the output gradient; else the output gradient
//! written back along the diagonal of zeros of the input's shape.

use rmx_engine::BoxError;
use rmx_kernels::copy::{self, Region};
use rmx_kernels::{contiguous_strides, Shape};

use super::axes::axis;
use crate::attrs::Attrs;
use crate::error::{shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Diag {
    name: &'static str,
    backward: bool,
    k: i64,
    axis1: i64,
    axis2: i64,
}

impl Diag {
    /// The diagonal's region in an array of `shape` (2+ axes), and its shape as `diag` returns it.
    /// The diagonal's plane is `axis1`/`axis2`, except in the square matrix a vector makes
    /// (`vector`), whose plane is its two axes (MXNet ignores the axes for vectors).
    fn region(&self, shape: &[usize], vector: bool) -> Result<(Vec<usize>, Vec<isize>, isize)> {
        let (a1, a2) = if vector {
            (0, 1)
        } else {
            (axis(self.name, "axis1", self.axis1, shape.len())?, axis(self.name, "axis2", self.axis2, shape.len())?)
        };
        if a1 == a2 {
            return Err(shape_err(self.name, format!("axis1 and axis2 are both axis {a1} of shape {shape:?}")));
        }
        let strides = contiguous_strides(shape);
        let (n1, n2, k) = (shape[a1] as i64, shape[a2] as i64, self.k);
        let len = if k >= 0 { n1.min(n2 - k) } else { (n1 + k).min(n2) }.max(0) as usize;
        let offset = if len == 0 { 0 } else if k >= 0 { k as isize * strides[a2] } else { -k as isize * strides[a1] };
        let mut dims = Vec::new();
        let mut steps = Vec::new();
        for (i, (&n, &s)) in shape.iter().zip(&strides).enumerate() {
            if i != a1 && i != a2 {
                dims.push(n);
                steps.push(s);
            }
        }
        dims.push(len);
        steps.push(strides[a1] + strides[a2]);
        Ok((dims, steps, offset))
    }

    fn forward_shape(&self, x: &[usize]) -> Result<Shape> {
        Ok(match x.len() {
            0 => return Err(shape_err(self.name, "needs an array of 1 or more axes, got a scalar")),
            1 => self.square(x[0]),
            _ => self.region(x, false)?.0.into_iter().collect(),
        })
    }

    /// The matrix a vector of `n` makes.
    fn square(&self, n: usize) -> Shape {
        let side = n + self.k.unsigned_abs() as usize;
        Shape::from_slice(&[side, side])
    }
}

impl Operator for Diag {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if self.backward {
            // [out_grad, data]: the gradient has the data's shape.
            let want = self.forward_shape(&inputs[1].shape)?;
            if inputs[0].shape != want {
                return Err(shape_err(self.name, format!("out_grad has shape {:?}, diag's result {:?}", inputs[0].shape.as_slice(), want.as_slice())));
            }
            return Ok(vec![TensorDesc { shape: inputs[1].shape.clone(), dtype: inputs[0].dtype }]);
        }
        Ok(vec![TensorDesc { shape: self.forward_shape(&inputs[0].shape)?, dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let out = &mut outputs[0];
        if self.backward && out.shape.len() == 1 {
            let (dims, steps, offset) = self.region(&inputs[0].shape, true)?;
            copy::read_strided(&inputs[0], &Region { shape: &dims, strides: &steps, offset }, out)?;
        } else if self.backward || inputs[0].shape.len() == 1 {
            // Zeros with the vector (or the diagonal's gradient) along the diagonal.
            let vector = !self.backward;
            let (dims, steps, offset) = self.region(&out.shape, vector)?;
            copy::zero(out)?;
            copy::write_strided(&inputs[0], out, &Region { shape: &dims, strides: &steps, offset })?;
        } else {
            let (dims, steps, offset) = self.region(&inputs[0].shape, false)?;
            copy::read_strided(&inputs[0], &Region { shape: &dims, strides: &steps, offset }, out)?;
        }
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        Ok(vec![Some(g.op1("_backward_diag", args.attrs, &[args.out_grads[0], args.inputs[0]])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(Diag { name, backward: name.starts_with("_backward"), k: attrs.int(name, "k", 0)?, axis1: attrs.int(name, "axis1", 0)?, axis2: attrs.int(name, "axis2", 1)? }))
}

const PARAMS: &[crate::operator::ParamDoc] = &[
    param("k", "int", "0", "the diagonal: 0 the main one, > 0 above it, < 0 below"),
    param("axis1", "int", "0", "the diagonal plane's first axis (2+ axes)"),
    param("axis2", "int", "1", "the diagonal plane's second axis (2+ axes)"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "diag", aliases: &[], doc: "The diagonal of an array, or the matrix with a vector on its diagonal.", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef {
        name: "_backward_diag",
        aliases: &[],
        doc: "Gradient of diag: [out_grad, data] to data_grad (a diagonal, or zeros around one).",
        inputs: Arity::Fixed(&["out_grad", "data"]),
        params: PARAMS,
        create,
    },
];
