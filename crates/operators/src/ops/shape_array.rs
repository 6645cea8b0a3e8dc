//! `shape_array` and `size_array`: an input's shape, and its element count, as int64 arrays
//! (known at inference, written when the operation runs). Neither depends on the input's
//! values: no gradient flows.

use rmx_engine::BoxError;
use rmx_kernels::{index, DType, Shape};

use crate::attrs::Attrs;
use crate::error::Result;
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, Arity, OpDef, Operator, Tensor, TensorDesc};

struct ShapeArray {
    size: bool,
}

impl ShapeArray {
    fn values(&self, shape: &[usize]) -> Vec<f64> {
        if self.size {
            vec![shape.iter().product::<usize>() as f64]
        } else {
            shape.iter().map(|&d| d as f64).collect()
        }
    }
}

impl Operator for ShapeArray {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let n = self.values(&inputs[0].shape).len();
        Ok(vec![TensorDesc { shape: Shape::from_slice(&[n]), dtype: DType::I64 }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        index::values(&mut outputs[0], &self.values(&inputs[0].shape))?;
        Ok(())
    }

    fn gradient(&self, _g: &mut dyn GradBuilder, _args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![None])
    }
}

fn create(name: &'static str, _attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(ShapeArray { size: name == "size_array" }))
}

pub static DEFS: &[OpDef] = &[
    OpDef { name: "shape_array", aliases: &[], doc: "The input's shape as an int64 array.", inputs: Arity::Fixed(&["data"]), params: &[], create },
    OpDef { name: "size_array", aliases: &[], doc: "The input's element count as an int64 array of one element.", inputs: Arity::Fixed(&["data"]), params: &[], create },
];
