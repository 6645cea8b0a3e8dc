//! `SVMOutput` (`margin` 1, `regularization_coefficient` 1, `use_linear` false): a loss head
//! whose output is its input and whose gradient is the hinge loss's (squared by default,
//! linear with `use_linear`) on the rows of the input (its first axis the batch, the rest
//! flattened into scores) with one class label per row; the arriving gradient is ignored, as
//! for every MXNet loss head. `_backward_SVMOutput` takes `[data, label]`.

use rmx_engine::BoxError;
use rmx_kernels::{copy, svm, Shape};

use crate::attrs::Attrs;
use crate::error::{dtype_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Svm {
    name: &'static str,
    backward: bool,
    margin: f64,
    reg: f64,
    linear: bool,
}

impl Operator for Svm {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (x, label) = (&inputs[0], &inputs[1]);
        if !x.dtype.is_float() {
            return Err(dtype_err(self.name, format!("needs float scores, got {}", x.dtype)));
        }
        if x.shape.is_empty() || label.shape.as_slice() != [x.shape[0]] {
            return Err(shape_err(self.name, format!("label must be one class per row: data {:?}, label {:?}", x.shape.as_slice(), label.shape.as_slice())));
        }
        Ok(vec![x.clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            svm::hinge_grad(&inputs[0], &inputs[1], self.margin, self.reg, self.linear, &mut outputs[0])?;
        } else {
            copy::dense(&inputs[0], &mut outputs[0])?;
        }
        Ok(())
    }

    fn complete_inputs(&self, known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        match known.first() {
            Some(Some(x)) if !x.is_empty() => vec![None, Some(Shape::from_slice(&[x[0]]))],
            _ => Vec::new(),
        }
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        Ok(vec![Some(g.op1("_backward_SVMOutput", args.attrs, &[args.inputs[0], args.inputs[1]])?), None])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(Svm {
        name,
        backward: name.starts_with("_backward"),
        margin: attrs.f64(name, "margin", 1.0)?,
        reg: attrs.f64(name, "regularization_coefficient", 1.0)?,
        linear: attrs.bool(name, "use_linear", false)?,
    }))
}

const PARAMS: &[crate::operator::ParamDoc] = &[
    param("margin", "float", "1", "the hinge's margin"),
    param("regularization_coefficient", "float", "1", "scales the gradient"),
    param("use_linear", "boolean", "False", "the linear hinge (L1-SVM) instead of the squared one"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "SVMOutput", aliases: &[], doc: "A support vector machine loss head: the input, with the hinge loss's gradient.", inputs: Arity::Fixed(&["data", "label"]), params: PARAMS, create },
    OpDef { name: "_backward_SVMOutput", aliases: &[], doc: "Gradient of SVMOutput: [data, label] to the hinge loss's gradient.", inputs: Arity::Fixed(&["data", "label"]), params: PARAMS, create },
];
