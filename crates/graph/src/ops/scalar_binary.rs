//! Array-with-scalar operators (`x + 2`, `2 - x`): `y[i] = f(x[i], scalar)`, or `f(scalar, x[i])`
//! for the reflected `_r*` forms. The scalar is cast to the array's dtype first, as MXNet does
//! (`int32 array + 1.5` adds 1).

use std::marker::PhantomData;

use rmx_engine::BoxError;
use rmx_kernels::elementwise::zip_scalar;
use rmx_kernels::{with_dtype, BinaryFn, DType, Element};

use super::binary_math::*;
use crate::attrs::Attrs;
use crate::error::{dtype_err, Result};
use crate::operator::{param, Arity, Operator, ParamDoc, Tensor, TensorDesc};

struct ScalarOp<F> {
    name: &'static str,
    scalar: f64,
    reflected: bool,
    f: PhantomData<fn() -> F>,
}

impl<F: BinaryFn> Operator for ScalarOp<F> {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if inputs[0].dtype == DType::Bool {
            return Err(dtype_err(self.name, "bool arrays do not support arithmetic; cast them first"));
        }
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let out = &mut outputs[0];
        with_dtype!(out.dtype, T => zip_scalar::<T, F>(inputs[0].data::<T>(), T::from_f64(self.scalar), self.reflected, out.data_mut::<T>()));
        Ok(())
    }
}

fn create<F: BinaryFn>(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let scalar = attrs.required_f64(name, "scalar")?;
    Ok(Box::new(ScalarOp::<F> { name, scalar, reflected: name.starts_with("_r"), f: PhantomData }))
}

const PARAMS: &[ParamDoc] = &[param("scalar", "float", "", "the scalar operand")];

family! {
    Arity::Fixed(&["data"]), PARAMS, create;
    "_plus_scalar", ["_PlusScalar"], Add, "data + scalar.";
    "_minus_scalar", ["_MinusScalar"], Sub, "data - scalar.";
    "_rminus_scalar", ["_RMinusScalar"], Sub, "scalar - data.";
    "_mul_scalar", ["_MulScalar"], Mul, "data * scalar.";
    "_div_scalar", ["_DivScalar"], Div, "data / scalar.";
    "_rdiv_scalar", ["_RDivScalar"], Div, "scalar / data.";
    "_mod_scalar", ["_ModScalar"], Mod, "data % scalar.";
    "_rmod_scalar", ["_RModScalar"], Mod, "scalar % data.";
    "_power_scalar", ["_PowerScalar"], Power, "data ** scalar.";
    "_rpower_scalar", ["_RPowerScalar"], Power, "scalar ** data.";
    "_maximum_scalar", ["_MaximumScalar"], Maximum, "max(data, scalar).";
    "_minimum_scalar", ["_MinimumScalar"], Minimum, "min(data, scalar).";
    "_equal_scalar", ["_EqualScalar"], Equal, "data == scalar (1/0).";
    "_not_equal_scalar", ["_NotEqualScalar"], NotEqual, "data != scalar (1/0).";
    "_greater_scalar", ["_GreaterScalar"], Greater, "data > scalar (1/0).";
    "_greater_equal_scalar", ["_GreaterEqualScalar"], GreaterEqual, "data >= scalar (1/0).";
    "_lesser_scalar", ["_LesserScalar"], Lesser, "data < scalar (1/0).";
    "_lesser_equal_scalar", ["_LesserEqualScalar"], LesserEqual, "data <= scalar (1/0).";
    "_logical_and_scalar", [], LogicalAnd, "data and scalar (1/0).";
    "_logical_or_scalar", [], LogicalOr, "data or scalar (1/0).";
    "_logical_xor_scalar", [], LogicalXor, "data xor scalar (1/0).";
    "_hypot_scalar", [], Hypot, "sqrt(data**2 + scalar**2).";
}
