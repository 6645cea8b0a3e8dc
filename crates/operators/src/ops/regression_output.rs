//! Regression loss heads, which ignore the gradient arriving from above:
//! `LinearRegressionOutput` (`y = x`, gradient `y - label`), `LogisticRegressionOutput`
//! (`y = sigmoid(x)`, gradient `y - label`) and `MAERegressionOutput` (`y = x`, gradient
//! `sign(y - label)`), each times `grad_scale / (outputs per sample)`, the label's size over its
//! first axis, as MXNet computes it. The label has the data's size and first axis; inference
//! fills it as the data's shape, or `(n,)` for data `(n, 1)`, as MXNet does.
//! `_backward_<Op>` takes `[output, label]`.

use std::marker::PhantomData;

use rmx_engine::BoxError;
use rmx_kernels::{regression, BinaryFn, Shape, UnaryFn};

use super::float::float_dtype;
use super::unary_math::{Identity, Sigmoid};
use crate::attrs::Attrs;
use crate::error::{shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, Operator, Tensor, TensorDesc};

/// One regression head: its forward function and its gradient `f(y, label)` before scaling.
trait Regression: Send + Sync + 'static {
    type Forward: UnaryFn;
    type Grad: BinaryFn;
    const BACKWARD: &'static str;
}

struct Difference;
impl BinaryFn for Difference {
    const CUDA: &'static str = "a - b";
    #[inline(always)]
    fn f32(y: f32, l: f32) -> f32 {
        y - l
    }
    #[inline(always)]
    fn f64(y: f64, l: f64) -> f64 {
        y - l
    }
}

/// The gradients this file adds to the CUDA list (`crate::cuda_sources`).
pub(crate) fn cuda_kernels(out: &mut Vec<crate::cuda_sources::Listed>) {
    use crate::cuda_sources::{zip, FLOATS};
    zip::<Difference>("Difference", &FLOATS, out);
    zip::<SignOfDifference>("SignOfDifference", &FLOATS, out);
}

struct SignOfDifference;
impl BinaryFn for SignOfDifference {
    const CUDA: &'static str = "(a > b) ? T(1) : ((a < b) ? T(-1) : T(0))";
    #[inline(always)]
    fn f32(y: f32, l: f32) -> f32 {
        let d = y - l;
        if d > 0.0 { 1.0 } else if d < 0.0 { -1.0 } else { 0.0 }
    }
    #[inline(always)]
    fn f64(y: f64, l: f64) -> f64 {
        let d = y - l;
        if d > 0.0 { 1.0 } else if d < 0.0 { -1.0 } else { 0.0 }
    }
}

struct Linear;
impl Regression for Linear {
    type Forward = Identity;
    type Grad = Difference;
    const BACKWARD: &'static str = "_backward_LinearRegressionOutput";
}

struct Logistic;
impl Regression for Logistic {
    type Forward = Sigmoid;
    type Grad = Difference;
    const BACKWARD: &'static str = "_backward_LogisticRegressionOutput";
}

struct Mae;
impl Regression for Mae {
    type Forward = Identity;
    type Grad = SignOfDifference;
    const BACKWARD: &'static str = "_backward_MAERegressionOutput";
}

struct RegressionOutput<R> {
    name: &'static str,
    grad_scale: f64,
    backward: bool,
    kind: PhantomData<fn() -> R>,
}

impl<R: Regression> Operator for RegressionOutput<R> {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        let (data, label) = (&inputs[0].shape, &inputs[1].shape);
        let numel = |s: &[usize]| s.iter().product::<usize>();
        if numel(label) != numel(data) || label.first() != data.first() {
            return Err(shape_err(self.name, format!("input 'label' has shape {:?}, expected the data's size and first axis (data shape {:?})", label.as_slice(), data.as_slice())));
        }
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let out = &mut outputs[0];
        if !self.backward {
            regression::forward::<R::Forward>(&inputs[0], out)?;
            return Ok(());
        }
        let label = &inputs[1];
        let per_sample = match label.shape.first() {
            Some(&n) if n > 0 => label.numel() / n,
            _ => 1,
        };
        let scale = self.grad_scale / per_sample.max(1) as f64;
        regression::backward::<R::Grad>(&inputs[0], label, scale, out)?;
        Ok(())
    }

    /// Proposes a label shape only when none is known: MXNet accepts any label with the data's
    /// first axis and size (checked by `infer`).
    fn complete_inputs(&self, known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        if matches!(known.get(1), Some(Some(_))) {
            return Vec::new();
        }
        match (self.backward, known.first()) {
            (false, Some(Some(d))) if d.len() == 2 && d[1] == 1 => vec![None, Some(Shape::from_slice(&[d[0]]))],
            (false, Some(Some(d))) => vec![None, Some(d.clone())],
            _ => Vec::new(),
        }
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(g.op1(R::BACKWARD, args.attrs, &[args.outputs[0], args.inputs[1]])?), None])
    }
}

fn create<R: Regression>(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(RegressionOutput::<R> { name, grad_scale: attrs.f64(name, "grad_scale", 1.0)?, backward: name.starts_with("_backward_"), kind: PhantomData }))
}

family! {
    Arity::Fixed(&["data", "label"]), &[param("grad_scale", "float", "1", "scales the gradient")], create;
    "LinearRegressionOutput", [], Linear, "Identity forward; gradient (output - label), scaled (see module doc).";
    "LogisticRegressionOutput", [], Logistic, "Sigmoid forward; gradient (output - label), scaled (see module doc).";
    "MAERegressionOutput", [], Mae, "Identity forward; gradient sign(output - label), scaled (see module doc).";
    "_backward_LinearRegressionOutput", [], Linear, "LinearRegressionOutput's data gradient from [output, label].";
    "_backward_LogisticRegressionOutput", [], Logistic, "LogisticRegressionOutput's data gradient from [output, label].";
    "_backward_MAERegressionOutput", [], Mae, "MAERegressionOutput's data gradient from [output, label].";
}
