//! `SoftmaxOutput` (alias `Softmax`): a softmax forward with the cross-entropy gradient as its
//! backward, a loss head that ignores the gradient arriving from above. The softmax runs over
//! - with `multi_output`: axis 1 of data `(n, c, d1, ...)`, one label per position, label shape
//!   `(n, d1·d2·...)`, `(n, d1, ...)` or `(n, 1, d1, ...)`;
//! - with `preserve_shape`: the last axis, label shape `data.shape[:-1]`;
//! - otherwise: the data flattened to `(n, rest)`. MXNet checks the label against
//!   `data.shape[:-1]` but reads only its first `n` values; rmx accepts that shape or `(n,)` and
//!   reads the same values.
//!
//! A label with the data's own shape holds target probabilities: the gradient is then
//! `(p - label) · grad_scale`, with no normalization, ignoring or smoothing (as MXNet 1.9.1).
//! Class-index labels (read as floats, truncated) give `(p - t) · grad_scale / norm`, where `t`
//! is the one-hot target, smoothed without `multi_output` to `1 - smooth_alpha` on the label and
//! `smooth_alpha / (c - 1)` elsewhere (MXNet ignores `smooth_alpha` with `multi_output`; so does
//! rmx). Labels outside `[0, c)` have no target; with `use_ignore`, positions whose label is
//! `ignore_label` get zero gradient. `norm` is, as measured on MXNet 1.9.1:
//!
//! | normalization | multi_output | otherwise |
//! |---|---|---|
//! | `null` | positions per sample (`d1·d2·...`) | 1 |
//! | `batch` | all positions (`n·d1·...`) | rows (`n`; with `preserve_shape` all of `shape[:-1]`) |
//! | `valid` | labels ≠ `ignore_label` (at least 1), counted whether or not `use_ignore` | same |
//!
//! With `out_grad` the gradient is multiplied elementwise by the output's gradient, as MXNet
//! documents. (MXNet 1.9.1 does not wire that gradient to its backward and multiplies by the
//! softmax output instead; rmx follows the documentation.)
//!
//! `_backward_SoftmaxOutput` takes `[output, label]` (and `out_grad` with `out_grad=True`).

use rmx_engine::BoxError;
use rmx_kernels::softmax_output::{self, Normalization, SoftmaxOutputPlan};
use rmx_kernels::Shape;

use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

struct SoftmaxOutput {
    name: &'static str,
    grad_scale: f64,
    ignore_label: f64,
    multi_output: bool,
    use_ignore: bool,
    preserve_shape: bool,
    normalization: Normalization,
    out_grad: bool,
    smooth_alpha: f64,
    backward: bool,
}

impl SoftmaxOutput {
    /// The softmax's blocks on data of shape `data`, and the gradient's settings: the kernels'
    /// description of the work.
    fn plan(&self, data: &[usize]) -> Result<SoftmaxOutputPlan> {
        let n = data.len();
        if n == 0 || (self.multi_output && n < 2) {
            return Err(shape_err(self.name, format!("input 'data' of shape {data:?} has too few axes{}", if self.multi_output { " for multi_output (needs (n, c, ...))" } else { "" })));
        }
        let p = |s: &[usize]| s.iter().product::<usize>();
        let (outer, classes, inner) = if self.multi_output {
            (data[0], data[1], p(&data[2..]))
        } else if self.preserve_shape {
            (p(&data[..n - 1]), data[n - 1], 1)
        } else {
            (data[0], p(&data[1..]), 1)
        };
        Ok(SoftmaxOutputPlan {
            outer,
            classes,
            inner,
            grad_scale: self.grad_scale,
            ignore_label: self.ignore_label,
            use_ignore: self.use_ignore,
            multi_output: self.multi_output,
            normalization: self.normalization,
            smooth_alpha: self.smooth_alpha,
        })
    }

    /// The label shape inference fills in for class indices.
    fn index_label_shape(&self, data: &[usize]) -> Shape {
        if self.multi_output {
            Shape::from_slice(&[data[0], data[2..].iter().product()])
        } else if data.len() == 1 {
            Shape::from_slice(&[data[0]])
        } else {
            data[..data.len() - 1].into()
        }
    }

    /// Whether `label` holds probabilities (the data's shape) rather than class indices.
    fn label_is_prob(&self, data: &[usize], label: &[usize]) -> Result<bool> {
        if label == data {
            return Ok(true);
        }
        let plan = self.plan(data)?;
        let numel: usize = label.iter().product();
        let fits = if self.multi_output {
            label.first() == Some(&data[0]) && numel == plan.outer * plan.inner
        } else {
            label == self.index_label_shape(data).as_slice() || (!self.preserve_shape && label == [data[0]])
        };
        if !fits {
            return Err(shape_err(
                self.name,
                format!("input 'label' has shape {label:?}, expected {:?} (class indices) or the data's shape {data:?} (probabilities)", self.index_label_shape(data).as_slice()),
            ));
        }
        Ok(false)
    }
}

impl Operator for SoftmaxOutput {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let data = &inputs[0];
        float_dtype(self.name, [data.dtype])?;
        self.label_is_prob(&data.shape, &inputs[1].shape)?;
        if self.backward && self.out_grad {
            float_dtype(self.name, [data.dtype, inputs[2].dtype])?;
            if inputs[2].shape != data.shape {
                return Err(shape_err(self.name, format!("input 'out_grad' has shape {:?}, the output {:?}", inputs[2].shape.as_slice(), data.shape.as_slice())));
            }
        }
        Ok(vec![data.clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let x = &inputs[0];
        let p = self.plan(&x.shape)?;
        if !self.backward {
            softmax_output::forward(&p, x, &mut outputs[0])?;
            return Ok(());
        }
        let prob = self.label_is_prob(&x.shape, &inputs[1].shape)?;
        softmax_output::backward(&p, prob, x, &inputs[1], inputs.get(2), &mut outputs[0])?;
        Ok(())
    }

    fn input_names(&self) -> Option<Vec<&'static str>> {
        match (self.backward, self.out_grad) {
            (true, true) => Some(vec!["output", "label", "out_grad"]),
            (true, false) => Some(vec!["output", "label"]),
            (false, _) => None,
        }
    }

    fn complete_inputs(&self, known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        match (self.backward, known.first()) {
            (false, Some(Some(d))) if self.plan(d).is_ok() => vec![None, Some(self.index_label_shape(d))],
            _ => Vec::new(),
        }
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let mut ins = vec![args.outputs[0], args.inputs[1]];
        if self.out_grad {
            ins.push(args.out_grads[0]);
        }
        Ok(vec![Some(g.op1("_backward_SoftmaxOutput", args.attrs, &ins)?), None])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let normalization = match attrs.choice(name, "normalization", "null", &["null", "batch", "valid"])? {
        "null" => Normalization::Null,
        "batch" => Normalization::Batch,
        _ => Normalization::Valid,
    };
    let smooth_alpha = attrs.f64(name, "smooth_alpha", 0.0)?;
    if !(0.0..=1.0).contains(&smooth_alpha) {
        return Err(param_err(name, "smooth_alpha", format!("must be in [0, 1], got {smooth_alpha}")));
    }
    Ok(Box::new(SoftmaxOutput {
        name,
        grad_scale: attrs.f64(name, "grad_scale", 1.0)?,
        ignore_label: attrs.f64(name, "ignore_label", -1.0)?,
        multi_output: attrs.bool(name, "multi_output", false)?,
        use_ignore: attrs.bool(name, "use_ignore", false)?,
        preserve_shape: attrs.bool(name, "preserve_shape", false)?,
        normalization,
        out_grad: attrs.bool(name, "out_grad", false)?,
        smooth_alpha,
        backward: name.starts_with("_backward_"),
    }))
}

const PARAMS: &[ParamDoc] = &[
    param("grad_scale", "float", "1", "scales the gradient"),
    param("ignore_label", "float", "-1", "the label whose positions get no gradient (with use_ignore)"),
    param("multi_output", "boolean", "False", "softmax over axis 1, one label per position"),
    param("use_ignore", "boolean", "False", "zero the gradient where the label is ignore_label"),
    param("preserve_shape", "boolean", "False", "softmax over the last axis"),
    param("normalization", "{'batch', 'null', 'valid'}", "'null'", "what the gradient is divided by (see module doc)"),
    param("out_grad", "boolean", "False", "multiply the gradient by the output's gradient"),
    param("smooth_alpha", "float", "0", "label smoothing: target mass moved off the label"),
];

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "SoftmaxOutput",
        aliases: &["Softmax"],
        doc: "Softmax with the cross-entropy gradient as its backward (see module doc).",
        inputs: Arity::Fixed(&["data", "label"]),
        params: PARAMS,
        create,
    },
    OpDef {
        name: "_backward_SoftmaxOutput",
        aliases: &[],
        doc: "SoftmaxOutput's data gradient from its output and label.",
        inputs: Arity::Fixed(&["output", "label", "out_grad"]),
        params: PARAMS,
        create,
    },
];
