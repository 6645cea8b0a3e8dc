//! `FullyConnected`: `y = x·Wᵀ + b` with `weight` of shape `(num_hidden, in)` and `bias` of shape
//! `(num_hidden,)` (absent when `no_bias`). With `flatten` (the default) the data is read as
//! `(shape[0], prod(shape[1..]))` and the output is `(shape[0], num_hidden)`; without it the
//! product applies to the last axis and the output is `shape[..-1] + (num_hidden,)`.
//! `_backward_FullyConnected` returns every input gradient from one call:
//! `dX = dY·W`, `dW = dYᵀ·X`, `db = Σ_rows dY`.
//!
//! The forward operator takes an epilogue (`with_epilogue`): the graph's fusion pass hands it
//! the block kernel of an activation that alone reads its output, and the layer then writes
//! the activation's result directly (the same numbers; one pass over memory fewer).

use rmx_engine::BoxError;
use rmx_kernels::gemm::{linear, linear_backward, Linear};
use rmx_kernels::Shape;

use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, BlockKernel, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

#[derive(Clone)]
struct FullyConnected {
    name: &'static str,
    num_hidden: usize,
    no_bias: bool,
    flatten: bool,
    /// The `_backward_` kernel rather than the forward operator.
    backward: bool,
    /// A fused activation, mapped over the output as it is written (forward only).
    epilogue: Option<BlockKernel>,
}

/// The data as a `(rows, cols)` matrix, and the forward output's shape.
struct Geometry {
    rows: usize,
    cols: usize,
    out: Shape,
}

impl FullyConnected {
    fn geometry(&self, data: &[usize]) -> Result<Geometry> {
        if data.is_empty() {
            return Err(shape_err(self.name, "input 'data' must have at least one axis, got a 0-d array"));
        }
        if self.flatten {
            let rows = data[0];
            return Ok(Geometry { rows, cols: data[1..].iter().product(), out: Shape::from_slice(&[rows, self.num_hidden]) });
        }
        let (keep, last) = data.split_at(data.len() - 1);
        let mut out: Shape = keep.into();
        out.push(self.num_hidden);
        Ok(Geometry { rows: keep.iter().product(), cols: last[0], out })
    }

    /// The data's geometry as the primitive's dense layer.
    fn linear(&self, data: &[usize]) -> Result<Linear> {
        let g = self.geometry(data)?;
        Ok(Linear { rows: g.rows, cols: g.cols, hidden: self.num_hidden })
    }

    /// Checks `weight` (and `bias`) against the data's geometry.
    fn check_params(&self, g: &Geometry, weight: &[usize], bias: Option<&[usize]>) -> Result<()> {
        if weight != [self.num_hidden, g.cols] {
            return Err(shape_err(
                self.name,
                format!("input 'weight' has shape {weight:?}, expected [{}, {}] (num_hidden, input features)", self.num_hidden, g.cols),
            ));
        }
        if let Some(b) = bias {
            if b != [self.num_hidden] {
                return Err(shape_err(self.name, format!("input 'bias' has shape {b:?}, expected [{}] (num_hidden)", self.num_hidden)));
            }
        }
        Ok(())
    }

    fn infer_forward(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let dtype = float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        let g = self.geometry(&inputs[0].shape)?;
        self.check_params(&g, &inputs[1].shape, inputs.get(2).map(|b| b.shape.as_slice()))?;
        Ok(vec![TensorDesc { shape: g.out, dtype }])
    }

    /// Inputs `[out_grad, data, weight]`; outputs the gradients of data, weight and bias.
    fn infer_backward(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let dtype = float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        let g = self.geometry(&inputs[1].shape)?;
        self.check_params(&g, &inputs[2].shape, None)?;
        if inputs[0].shape != g.out {
            return Err(shape_err(self.name, format!("input 'out_grad' has shape {:?}, expected {:?}", inputs[0].shape.as_slice(), g.out.as_slice())));
        }
        let mut outs = vec![inputs[1].clone(), inputs[2].clone()];
        if !self.no_bias {
            outs.push(TensorDesc::new(&[self.num_hidden], dtype));
        }
        Ok(outs)
    }
}

impl Operator for FullyConnected {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if self.backward { self.infer_backward(inputs) } else { self.infer_forward(inputs) }
    }

    fn compute(&self, ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if !self.backward {
            let p = self.linear(&inputs[0].shape)?;
            let bias = if self.no_bias { None } else { Some(&inputs[2]) };
            linear(&p, &inputs[0], &inputs[1], bias, self.epilogue.as_ref(), &mut outputs[0])?;
            return Ok(());
        }
        let p = self.linear(&inputs[1].shape)?;
        let (dx, rest) = outputs.split_at_mut(1);
        let (dw, db) = rest.split_at_mut(1);
        let dx = ctx.wants(0).then_some(&mut dx[0]);
        linear_backward(&p, &inputs[0], &inputs[1], &inputs[2], dx, &mut dw[0], db.first_mut())?;
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        match (self.backward, self.no_bias) {
            (false, _) => 1,
            (true, true) => 2,
            (true, false) => 3,
        }
    }

    fn input_names(&self) -> Option<Vec<&'static str>> {
        match (self.backward, self.no_bias) {
            (true, _) => None,
            (false, true) => Some(vec!["data", "weight"]),
            (false, false) => Some(vec!["data", "weight", "bias"]),
        }
    }

    fn complete_inputs(&self, known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        if self.backward {
            return Vec::new();
        }
        let Some(Ok(g)) = known.first().and_then(|d| d.as_ref()).map(|d| self.geometry(d)) else {
            return Vec::new();
        };
        let mut shapes = vec![None, Some(Shape::from_slice(&[self.num_hidden, g.cols]))];
        if !self.no_bias {
            shapes.push(Some(Shape::from_slice(&[self.num_hidden])));
        }
        shapes
    }

    fn with_epilogue(&self, post: BlockKernel) -> Option<Box<dyn Operator>> {
        (!self.backward && self.epilogue.is_none()).then(|| Box::new(FullyConnected { epilogue: Some(post), ..self.clone() }) as Box<dyn Operator>)
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let grads = g.op("_backward_FullyConnected", args.attrs, &[args.out_grads[0], args.inputs[0], args.inputs[1]])?;
        Ok(grads.into_iter().map(Some).collect())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let num_hidden = attrs.opt_int(name, "num_hidden")?.ok_or_else(|| param_err(name, "num_hidden", "required"))?;
    if num_hidden < 1 {
        return Err(param_err(name, "num_hidden", format!("must be positive, got {num_hidden}")));
    }
    Ok(Box::new(FullyConnected {
        name,
        num_hidden: num_hidden as usize,
        no_bias: attrs.bool(name, "no_bias", false)?,
        flatten: attrs.bool(name, "flatten", true)?,
        backward: name.starts_with("_backward_"),
        epilogue: None,
    }))
}

const PARAMS: &[ParamDoc] = &[
    param("num_hidden", "int", "", "number of output features"),
    param("no_bias", "boolean", "False", "leave out the bias"),
    param("flatten", "boolean", "True", "flatten the data to 2-d first (else apply to the last axis)"),
];

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "FullyConnected",
        aliases: &[],
        doc: "A dense layer: data·weightᵀ + bias (see module doc).",
        inputs: Arity::Fixed(&["data", "weight", "bias"]),
        params: PARAMS,
        create,
    },
    OpDef {
        name: "_backward_FullyConnected",
        aliases: &[],
        doc: "Gradients of FullyConnected's data, weight and bias from the output's.",
        inputs: Arity::Fixed(&["out_grad", "data", "weight"]),
        params: PARAMS,
        create,
    },
];
