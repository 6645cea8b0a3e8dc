//! `add_n` (`ElementWiseSum`): the sum of any number of same-shape arrays, `y = a0 + a1 + ...`.
//! The gradient pass adds gradient contributions with it, so it is one pass over memory
//! (`elementwise::fold_n`: block by block, each block summing every input while it is in cache).

use rmx_engine::BoxError;
use rmx_kernels::elementwise::fold_n;
use rmx_kernels::DType;

use super::binary_math::Add;
use crate::attrs::Attrs;
use crate::error::{dtype_err, param_err, same_dtype, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct AddN {
    num_args: Option<usize>,
}

impl Operator for AddN {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if inputs.is_empty() {
            return Err(shape_err("add_n", "needs at least one input"));
        }
        if let Some(n) = self.num_args.filter(|&n| n != inputs.len()) {
            return Err(param_err("add_n", "num_args", format!("is {n} but {} inputs were given", inputs.len())));
        }
        let dtype = same_dtype("add_n", inputs.iter().map(|d| d.dtype))?;
        if dtype == DType::Bool {
            return Err(dtype_err("add_n", "bool arrays cannot be added; cast them first"));
        }
        let first = &inputs[0].shape;
        if let Some((i, d)) = inputs.iter().enumerate().find(|(_, d)| &d.shape != first) {
            return Err(shape_err("add_n", format!("inputs must have one shape: arg0 has {:?}, arg{i} has {:?}", first.as_slice(), d.shape.as_slice())));
        }
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        fold_n::<Add>(inputs, &mut outputs[0])?;
        Ok(())
    }

    /// The sum may be made over the first input (the gradient pass's accumulations).
    fn inplace_option(&self) -> Vec<(usize, usize)> {
        vec![(0, 0)]
    }

    /// Every input gets the output's gradient itself.
    fn gradient(&self, _g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(args.out_grads[0]); args.inputs.len()])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let num_args = attrs.opt_int(name, "num_args")?;
    if num_args.is_some_and(|n| n < 1) {
        return Err(param_err(name, "num_args", format!("must be at least 1, got {}", num_args.unwrap())));
    }
    Ok(Box::new(AddN { num_args: num_args.map(|n| n as usize) }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "add_n",
    aliases: &["ElementWiseSum"],
    doc: "The sum of the inputs, which share one shape.",
    inputs: Arity::Variadic("args"),
    params: &[param("num_args", "int", "", "number of inputs")],
    create,
}];
