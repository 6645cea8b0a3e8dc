//! `softmax` and `log_softmax` along `axis` (default -1), with `temperature`:
//! `y_i = exp(x_i / t - m) / sum_j exp(x_j / t - m)`, `m` the maximum, for stability.

use rmx_engine::BoxError;
use rmx_kernels::{with_dtype, DType, Element};

use super::axes::{axis, split_around};
use crate::attrs::Attrs;
use crate::error::{dtype_err, Result};
use crate::operator::{param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Softmax {
    name: &'static str,
    dtype: Option<DType>,
    axis: i64,
    temperature: f64,
    log: bool,
}

impl Operator for Softmax {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        axis(self.name, "axis", self.axis, inputs[0].shape.len())?;
        if !inputs[0].dtype.is_float() {
            return Err(dtype_err(self.name, format!("needs a float input, got {}", inputs[0].dtype)));
        }
        Ok(vec![TensorDesc { shape: inputs[0].shape.clone(), dtype: self.dtype.unwrap_or(inputs[0].dtype) }])
    }

    fn compute(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
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
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(Softmax {
        name,
        axis: attrs.int(name, "axis", -1)?,
        temperature: attrs.f64(name, "temperature", 1.0)?,
        dtype: attrs.opt_dtype(name, "dtype")?,
        log: name == "log_softmax",
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
];
