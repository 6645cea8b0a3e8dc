//! `softmax` and `log_softmax` along `axis` (default -1), with `temperature`:
//! `y_i = exp(x_i / t - m) / sum_j exp(x_j / t - m)`, `m` the maximum, for stability.
//! Gradients from the output: `dx_i = y_i (g_i - sum_j g_j y_j) / t` (softmax) and
//! `dx_i = (g_i - exp(y_i) sum_j g_j) / t` (log_softmax), one kernel each.

use rmx_engine::BoxError;
use rmx_kernels::softmax::{self, SoftmaxPlan};
use rmx_kernels::DType;

use super::axes::{axis, split_around};
use crate::attrs::Attrs;
use crate::error::{dtype_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Softmax {
    name: &'static str,
    backward: bool,
    dtype: Option<DType>,
    axis: i64,
    temperature: f64,
    log: bool,
}

impl Operator for Softmax {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if self.backward {
            // [out_grad, data, out]
            let (g, x, y) = (&inputs[0], &inputs[1], &inputs[2]);
            let out = &self.forward_desc(x)?;
            if g.shape != x.shape || y.shape != x.shape || g.dtype != out.dtype || y.dtype != out.dtype {
                return Err(shape_err(self.name, format!("out_grad {:?} {} and out {:?} {} must match the result {:?} {}", g.shape.as_slice(), g.dtype, y.shape.as_slice(), y.dtype, out.shape.as_slice(), out.dtype)));
            }
            return Ok(vec![x.clone()]);
        }
        Ok(vec![self.forward_desc(&inputs[0])?])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            return self.compute_backward(inputs, outputs);
        }
        self.compute_forward(inputs, outputs)
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        let name = match (self.log, self.name) {
            (true, _) => "_backward_log_softmax",
            (false, "softmin") => "_backward_softmin",
            _ => "_backward_softmax",
        };
        Ok(vec![Some(g.op1(name, args.attrs, &[args.out_grads[0], args.inputs[0], args.outputs[0]])?)])
    }
}

impl Softmax {
    fn forward_desc(&self, x: &TensorDesc) -> Result<TensorDesc> {
        axis(self.name, "axis", self.axis, x.shape.len())?;
        if !x.dtype.is_float() {
            return Err(dtype_err(self.name, format!("needs a float input, got {}", x.dtype)));
        }
        Ok(TensorDesc { shape: x.shape.clone(), dtype: self.dtype.unwrap_or(x.dtype) })
    }

    /// The kernel's description of the work on data of `shape`.
    fn plan(&self, shape: &[usize]) -> Result<SoftmaxPlan> {
        let a = axis(self.name, "axis", self.axis, shape.len())?;
        let (outer, n, inner) = split_around(shape, a, a);
        Ok(SoftmaxPlan { outer, n, inner, temperature: self.temperature, log: self.log })
    }

    fn compute_forward(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        softmax::forward(&self.plan(&inputs[0].shape)?, &inputs[0], &mut outputs[0])?;
        Ok(())
    }

    /// Inputs `[out_grad, data, out]`.
    fn compute_backward(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let dx = &mut outputs[0];
        softmax::backward(&self.plan(&dx.shape)?, &inputs[0], &inputs[2], dx)?;
        Ok(())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(Softmax {
        name,
        axis: attrs.int(name, "axis", -1)?,
        // softmin(x) is softmax(-x): the same kernels with the temperature negated.
        temperature: attrs.f64(name, "temperature", 1.0)? * if name.ends_with("softmin") { -1.0 } else { 1.0 },
        dtype: attrs.opt_dtype(name, "dtype")?,
        log: name.ends_with("log_softmax"),
        backward: name.starts_with("_backward"),
    }))
}

const PARAMS: &[crate::operator::ParamDoc] = &[
    param("axis", "int", "-1", "the axis to normalize over"),
    param("temperature", "float or None", "None", "divides the input (1 when None)"),
    param("dtype", "dtype or None", "None", "output dtype (the input's when None)"),
    param("use_length", "boolean", "False", "not supported; must be False"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "softmax", aliases: &[], doc: "Softmax along `axis`.", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef { name: "log_softmax", aliases: &[], doc: "Log of the softmax along `axis`.", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef {
        name: "_backward_softmax",
        aliases: &[],
        doc: "Gradient of softmax: [out_grad, data, out] to data_grad.",
        inputs: Arity::Fixed(&["out_grad", "data", "out"]),
        params: PARAMS,
        create,
    },
    OpDef { name: "softmin", aliases: &[], doc: "Softmax of the negated input along `axis`.", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef {
        name: "_backward_softmin",
        aliases: &[],
        doc: "Gradient of softmin: [out_grad, data, out] to data_grad.",
        inputs: Arity::Fixed(&["out_grad", "data", "out"]),
        params: PARAMS,
        create,
    },
    OpDef {
        name: "_backward_log_softmax",
        aliases: &[],
        doc: "Gradient of log_softmax: [out_grad, data, out] to data_grad.",
        inputs: Arity::Fixed(&["out_grad", "data", "out"]),
        params: PARAMS,
        create,
    },
];
