//! `fill_element_0index(lhs, mhs, rhs)` (legacy): a copy of the matrix `lhs` with
//! `out[i, rhs[i]] = mhs[i]` in each row (indices clipped, as `pick` clips them). Gradients,
//! from registry operators: `lhs` gets the output gradient with those elements zeroed (the
//! same operator filling zeros), `mhs` the elements picked from it; the indices get none.

use rmx_engine::BoxError;
use rmx_kernels::{copy, index};

use crate::attrs::Attrs;
use crate::error::{dtype_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, Arity, OpDef, Operator, Tensor, TensorDesc};

const NAME: &str = "fill_element_0index";

struct FillElement;

impl Operator for FillElement {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (lhs, mhs, rhs) = (&inputs[0], &inputs[1], &inputs[2]);
        if lhs.shape.len() != 2 || mhs.shape.as_slice() != [lhs.shape[0]] || rhs.shape.as_slice() != [lhs.shape[0]] {
            return Err(shape_err(NAME, format!("needs a matrix lhs and vectors mhs, rhs of its row count; got {:?}, {:?}, {:?}", lhs.shape.as_slice(), mhs.shape.as_slice(), rhs.shape.as_slice())));
        }
        if mhs.dtype != lhs.dtype {
            return Err(dtype_err(NAME, format!("mhs must have lhs's dtype {}, got {}", lhs.dtype, mhs.dtype)));
        }
        Ok(vec![lhs.clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        copy::dense(&inputs[0], &mut outputs[0])?;
        index::fill_element(&inputs[1], &inputs[2], &mut outputs[0])?;
        Ok(())
    }

    fn inplace_option(&self) -> Vec<(usize, usize)> {
        vec![(0, 0)]
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let (og, mhs, rhs) = (args.out_grads[0], args.inputs[1], args.inputs[2]);
        let zeros = g.call("zeros_like", &[], &[mhs])?;
        let dlhs = g.call(NAME, &[], &[og, zeros, rhs])?;
        let dmhs = g.call("pick", &[("axis", "-1")], &[og, rhs])?;
        Ok(vec![Some(dlhs), Some(dmhs), None])
    }
}

fn create(_name: &'static str, _attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(FillElement))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: NAME,
    aliases: &[],
    doc: "A copy of the matrix lhs with out[i, rhs[i]] = mhs[i] (legacy).",
    inputs: Arity::Fixed(&["lhs", "mhs", "rhs"]),
    params: &[],
    create,
}];
