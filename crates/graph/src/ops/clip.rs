//! `clip`: every element limited to `[a_min, a_max]`.

use rmx_engine::BoxError;
use rmx_kernels::{with_dtype, Element};

use crate::attrs::Attrs;
use crate::error::{param_err, Result};
use crate::operator::{param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Clip {
    lo: f64,
    hi: f64,
}

impl Operator for Clip {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let out = &mut outputs[0];
        with_dtype!(out.dtype, T => {
            let (lo, hi) = (T::from_f64(self.lo), T::from_f64(self.hi));
            for (o, &x) in out.data_mut::<T>().iter_mut().zip(inputs[0].data::<T>()) {
                // NaN passes through, as in NumPy.
                *o = if x.to_f64() < self.lo { lo } else if x.to_f64() > self.hi { hi } else { x };
            }
        });
        Ok(())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let lo = attrs.required_f64(name, "a_min")?;
    let hi = attrs.required_f64(name, "a_max")?;
    if lo > hi {
        return Err(param_err(name, "a_min", format!("{lo} is greater than a_max {hi}")));
    }
    Ok(Box::new(Clip { lo, hi }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "clip",
    aliases: &[],
    doc: "Limits every element to [a_min, a_max].",
    inputs: Arity::Fixed(&["data"]),
    params: &[param("a_min", "float", "", "lower bound"), param("a_max", "float", "", "upper bound")],
    create,
}];
