//! `Cast` (`cast`): the elements converted to `dtype` (C's conversion: floats truncate toward
//! zero into integers, integers wrap).

use rmx_engine::BoxError;
use rmx_kernels::elementwise::cast;
use rmx_kernels::{with_dtype, DType};

use crate::attrs::Attrs;
use crate::error::{param_err, Result};
use crate::operator::{param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Cast {
    dtype: DType,
}

impl Operator for Cast {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        Ok(vec![TensorDesc { shape: inputs[0].shape.clone(), dtype: self.dtype }])
    }

    fn compute(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (x, out) = (&inputs[0], &mut outputs[0]);
        with_dtype!(x.dtype, S => with_dtype!(out.dtype, D => cast::<S, D>(x.data::<S>(), out.data_mut::<D>())));
        Ok(())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    if attrs.get("dtype").is_none() {
        return Err(param_err(name, "dtype", "required"));
    }
    Ok(Box::new(Cast { dtype: attrs.dtype(name, "dtype", DType::F32)? }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "Cast",
    aliases: &["cast"],
    doc: "The input converted to `dtype`.",
    inputs: Arity::Fixed(&["data"]),
    params: &[param("dtype", "dtype", "", "the target dtype")],
    create,
}];
