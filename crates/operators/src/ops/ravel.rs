//! `_ravel_multi_index` and `_unravel_index` (`mx.nd.ravel_multi_index`, `unravel_index`):
//! between a `(len(shape), n)` array of coordinates and the `n` flat row-major indices of
//! `shape`, in the input's dtype. `_unravel_index` accepts -1 as the first dimension (the leading
//! coordinate then takes whatever remains). Integer-valued: no gradient flows.

use rmx_engine::BoxError;
use rmx_kernels::{index, Shape};

use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Ravel {
    name: &'static str,
    unravel: bool,
    /// The dimensions; 0 for an unbounded leading one.
    shape: Vec<usize>,
}

impl Operator for Ravel {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (x, d) = (&inputs[0].shape, self.shape.len());
        let out: Shape = if self.unravel {
            [d].iter().chain(x.iter()).copied().collect()
        } else {
            if x.is_empty() || x[0] != d {
                return Err(shape_err(self.name, format!("needs {d} rows of coordinates for shape {:?}, got shape {:?}", self.shape, x.as_slice())));
            }
            if self.shape.contains(&0) {
                return Err(param_err(self.name, "shape", format!("needs every dimension, got {:?}", self.shape)));
            }
            x[1..].iter().copied().collect::<Shape>()
        };
        Ok(vec![TensorDesc { shape: if out.is_empty() { Shape::from_slice(&[1]) } else { out }, dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.unravel {
            index::unravel(&inputs[0], &self.shape, &mut outputs[0])?;
        } else {
            index::ravel(&inputs[0], &self.shape, &mut outputs[0])?;
        }
        Ok(())
    }

    fn gradient(&self, _g: &mut dyn GradBuilder, _args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![None])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let dims = attrs.ints(name, "shape")?.ok_or_else(|| param_err(name, "shape", "required"))?;
    if dims.is_empty() || dims.iter().enumerate().any(|(i, &d)| d < -1 || d == 0 || (d == -1 && i > 0)) {
        return Err(param_err(name, "shape", format!("needs positive dimensions (-1 allowed first), got {dims:?}")));
    }
    Ok(Box::new(Ravel { name, unravel: name == "_unravel_index", shape: dims.iter().map(|&d| d.max(0) as usize).collect() }))
}

const PARAMS: &[crate::operator::ParamDoc] = &[param("shape", "Shape", "", "the array shape the indices address")];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "_ravel_multi_index", aliases: &["ravel_multi_index"], doc: "Flat indices of (ndim, n) coordinates into `shape`.", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef { name: "_unravel_index", aliases: &["unravel_index"], doc: "(ndim, n) coordinates of flat indices into `shape`.", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
];
