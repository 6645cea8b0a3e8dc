//! `Embedding`: rows of `weight` (`input_dim`, `output_dim`) looked up by `data`, indices of any
//! shape stored as floats; the output is `data.shape + (output_dim,)` in `dtype`. As MXNet, an
//! index is truncated toward zero, then clipped into `[0, input_dim)`. `weight`'s shape follows
//! from the parameters (`complete_inputs`).
//!
//! Gradient: `_backward_Embedding` adds each output row's gradient into the weight row it was
//! read from (the same truncation and clipping); the indices get none (MXNet refuses to make
//! one). `sparse_grad` is accepted, and the gradient is dense.

use rmx_engine::BoxError;
use rmx_kernels::{gather, DType, Shape};

use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

struct Embedding {
    name: &'static str,
    input_dim: usize,
    output_dim: usize,
    dtype: DType,
    backward: bool,
}

impl Embedding {
    fn out_shape(&self, data: &[usize]) -> Shape {
        data.iter().copied().chain([self.output_dim]).collect()
    }
}

impl Operator for Embedding {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let weight = Shape::from_slice(&[self.input_dim, self.output_dim]);
        if self.backward {
            // [out_grad, data]
            let (g, data) = (&inputs[0], &inputs[1]);
            if g.shape != self.out_shape(&data.shape) {
                return Err(shape_err(self.name, format!("out_grad has shape {:?}, the lookup of data {:?} gives {:?}", g.shape.as_slice(), data.shape.as_slice(), self.out_shape(&data.shape).as_slice())));
            }
            return Ok(vec![TensorDesc { shape: weight, dtype: g.dtype }]);
        }
        let (data, w) = (&inputs[0], &inputs[1]);
        if w.shape != weight {
            return Err(shape_err(self.name, format!("weight has shape {:?}, but input_dim and output_dim make it {:?}", w.shape.as_slice(), weight.as_slice())));
        }
        // As MXNet: the bound weight's dtype wins; `dtype` only fills in an unknown one.
        Ok(vec![TensorDesc { shape: self.out_shape(&data.shape), dtype: w.dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            gather::embedding_backward(&inputs[0], &inputs[1], &mut outputs[0])?;
        } else {
            gather::embedding(&inputs[0], &inputs[1], &mut outputs[0])?;
        }
        Ok(())
    }

    fn complete_inputs(&self, known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        vec![known.first().cloned().flatten(), Some(Shape::from_slice(&[self.input_dim, self.output_dim]))]
    }

    /// The weight takes `dtype`; indices default to float32, as MXNet's.
    fn complete_dtypes(&self, known: &[Option<DType>]) -> Vec<Option<DType>> {
        vec![known.first().copied().flatten().or(Some(DType::F32)), Some(self.dtype)]
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        let dw = g.op1("_backward_Embedding", args.attrs, &[args.out_grads[0], args.inputs[0]])?;
        Ok(vec![None, Some(dw)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let dim = |key: &str| -> Result<usize> {
        match attrs.opt_int(name, key)? {
            None => Err(param_err(name, key, "required")),
            Some(n) if n < 1 => Err(param_err(name, key, format!("must be at least 1, got {n}"))),
            Some(n) => Ok(n as usize),
        }
    };
    attrs.bool(name, "sparse_grad", false)?;
    Ok(Box::new(Embedding {
        name,
        input_dim: dim("input_dim")?,
        output_dim: dim("output_dim")?,
        dtype: attrs.dtype(name, "dtype", DType::F32)?,
        backward: name.starts_with("_backward"),
    }))
}

const PARAMS: &[ParamDoc] = &[
    param("input_dim", "int", "", "number of rows of the weight (the vocabulary size)"),
    param("output_dim", "int", "", "size of each embedding"),
    param("dtype", "dtype", "float32", "dtype of the weight and the output"),
    param("sparse_grad", "boolean", "False", "accepted; the weight's gradient is dense"),
];

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "Embedding",
        aliases: &[],
        doc: "Rows of `weight` looked up by the indices in `data`.",
        inputs: Arity::Fixed(&["data", "weight"]),
        params: PARAMS,
        create,
    },
    OpDef {
        name: "_backward_Embedding",
        aliases: &[],
        doc: "Gradient of Embedding's weight: [out_grad, data] to weight_grad (rows summed by index).",
        inputs: Arity::Fixed(&["out_grad", "data"]),
        params: PARAMS,
        create,
    },
];
