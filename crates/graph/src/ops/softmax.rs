//! `softmax` and `log_softmax` along `axis` (default -1), with `temperature`:
//! `y_i = exp(x_i / t - m) / sum_j exp(x_j / t - m)`, `m` the maximum, for stability.
//! Gradients from the output: `dx_i = y_i (g_i - sum_j g_j y_j) / t` (softmax) and
//! `dx_i = (g_i - exp(y_i) sum_j g_j) / t` (log_softmax), one kernel each.

use rmx_engine::BoxError;
use rmx_kernels::{with_dtype, DType, Element};

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
        let name = if self.log { "_backward_log_softmax" } else { "_backward_softmax" };
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

    fn compute_forward(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let x = &inputs[0];
        let a = axis(self.name, "axis", self.axis, x.shape.len())?;
        let (outer, n, inner) = split_around(&x.shape, a, a);
        let out = &mut outputs[0];
        let xs: Vec<f64> = with_dtype!(x.dtype, T => x.data::<T>().iter().map(|v| v.to_f64()).collect());
        with_dtype!(out.dtype, T => {
            let ys = out.data_mut::<T>();
            let mut row = vec![0f64; n];
            for o in 0..outer {
                for i in 0..inner {
                    let at = |r: usize| (o * n + r) * inner + i;
                    for (r, v) in row.iter_mut().enumerate() {
                        *v = xs[at(r)] / self.temperature;
                    }
                    let m = row.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    let sum: f64 = row.iter().map(|v| (v - m).exp()).sum();
                    for (r, v) in row.iter().enumerate() {
                        let y = if self.log { v - m - sum.ln() } else { (v - m).exp() / sum };
                        ys[at(r)] = T::from_f64(y);
                    }
                }
            }
        });
        Ok(())
    }

    fn compute_backward(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (g, y) = (&inputs[0], &inputs[2]);
        let dx = &mut outputs[0];
        let a = axis(self.name, "axis", self.axis, dx.shape.len())?;
        let (outer, n, inner) = split_around(&dx.shape, a, a);
        let (gs, ys): (Vec<f64>, Vec<f64>) = with_dtype!(g.dtype, T => (
            g.data::<T>().iter().map(|v| v.to_f64()).collect(),
            y.data::<T>().iter().map(|v| v.to_f64()).collect(),
        ));
        let t = self.temperature;
        with_dtype!(dx.dtype, T => {
            let d = dx.data_mut::<T>();
            for o in 0..outer {
                for i in 0..inner {
                    let at = |r: usize| (o * n + r) * inner + i;
                    if self.log {
                        let sum: f64 = (0..n).map(|r| gs[at(r)]).sum();
                        for r in 0..n {
                            d[at(r)] = T::from_f64((gs[at(r)] - ys[at(r)].exp() * sum) / t);
                        }
                    } else {
                        let dot: f64 = (0..n).map(|r| gs[at(r)] * ys[at(r)]).sum();
                        for r in 0..n {
                            d[at(r)] = T::from_f64(ys[at(r)] * (gs[at(r)] - dot) / t);
                        }
                    }
                }
            }
        });
        Ok(())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(Softmax {
        name,
        axis: attrs.int(name, "axis", -1)?,
        temperature: attrs.f64(name, "temperature", 1.0)?,
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
    OpDef {
        name: "_backward_log_softmax",
        aliases: &[],
        doc: "Gradient of log_softmax: [out_grad, data, out] to data_grad.",
        inputs: Arity::Fixed(&["out_grad", "data", "out"]),
        params: PARAMS,
        create,
    },
];
