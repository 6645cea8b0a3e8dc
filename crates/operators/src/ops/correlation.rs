//! `Correlation` (FlowNet's, `kernel_size` 1, `max_displacement` 1, `stride1` 1, `stride2` 1,
//! `pad_size` 0, `is_multiply` true): of two NCHW maps of one shape, for each displacement
//! `(dx, dy)` within `max_displacement` in steps of `stride2` (one output channel each, x
//! fastest) and each output position, the mean over a `kernel_size²` patch and the channels of
//! `a · b` (or `|a - b|`). With border `max_displacement + (kernel_size - 1) / 2`, the output is
//! `ceil((H + 2 pad - 2 border) / stride1)` high, as MXNet's. `_backward_Correlation` takes
//! `[out_grad, data1, data2]`.

use rmx_engine::BoxError;
use rmx_kernels::correlation::{self, CorrPlan};
use rmx_kernels::Shape;

use crate::attrs::Attrs;
use crate::error::{dtype_err, param_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Correlation {
    name: &'static str,
    backward: bool,
    kernel: usize,
    max_disp: usize,
    stride1: usize,
    stride2: usize,
    pad: usize,
    multiply: bool,
}

impl Correlation {
    fn plan(&self, s: &[usize]) -> Result<CorrPlan> {
        if s.len() != 4 {
            return Err(shape_err(self.name, format!("needs NCHW maps, got shape {s:?}")));
        }
        let border = self.max_disp + (self.kernel - 1) / 2;
        let (ph, pw) = (s[2] + 2 * self.pad, s[3] + 2 * self.pad);
        if ph <= 2 * border || pw <= 2 * border {
            return Err(shape_err(self.name, format!("maps of shape {s:?} padded by {} are too small for a border of {border}", self.pad)));
        }
        let out = |n: usize| (n - 2 * border).div_ceil(self.stride1);
        Ok(CorrPlan { n: s[0], c: s[1], h: s[2], w: s[3], pad: self.pad, kernel: self.kernel, max_disp: self.max_disp, stride1: self.stride1, stride2: self.stride2, multiply: self.multiply, out_h: out(ph), out_w: out(pw) })
    }
}

impl Operator for Correlation {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (a, b) = if self.backward { (&inputs[1], &inputs[2]) } else { (&inputs[0], &inputs[1]) };
        if a.shape != b.shape || a.dtype != b.dtype || !a.dtype.is_float() {
            return Err(dtype_err(self.name, format!("needs two float maps of one shape and dtype, got {:?} {} and {:?} {}", a.shape.as_slice(), a.dtype, b.shape.as_slice(), b.dtype)));
        }
        let p = self.plan(&a.shape)?;
        let grid = 2 * (self.max_disp / self.stride2) + 1;
        let out = Shape::from_slice(&[p.n, grid * grid, p.out_h, p.out_w]);
        if self.backward {
            if inputs[0].shape != out || inputs[0].dtype != a.dtype {
                return Err(shape_err(self.name, format!("out_grad must be the result's {:?} {}, got {:?} {}", out.as_slice(), a.dtype, inputs[0].shape.as_slice(), inputs[0].dtype)));
            }
            return Ok(vec![a.clone(), b.clone()]);
        }
        Ok(vec![TensorDesc { shape: out, dtype: a.dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            let p = self.plan(&inputs[1].shape)?;
            let (da, db) = outputs.split_at_mut(1);
            correlation::backward(&p, &inputs[0], &inputs[1], &inputs[2], &mut da[0], &mut db[0])?;
        } else {
            correlation::forward(&self.plan(&inputs[0].shape)?, &inputs[0], &inputs[1], &mut outputs[0])?;
        }
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        if self.backward { 2 } else { 1 }
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        let grads = g.op("_backward_Correlation", args.attrs, &[args.out_grads[0], args.inputs[0], args.inputs[1]])?;
        Ok(grads.into_iter().map(Some).collect())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let positive = |key: &str, default: i64| -> Result<usize> {
        let v = attrs.int(name, key, default)?;
        if v < 1 {
            return Err(param_err(name, key, format!("must be at least 1, got {v}")));
        }
        Ok(v as usize)
    };
    let (max_disp, pad) = (attrs.int(name, "max_displacement", 1)?, attrs.int(name, "pad_size", 0)?);
    if max_disp < 0 || pad < 0 {
        return Err(param_err(name, "max_displacement", "max_displacement and pad_size must not be negative"));
    }
    Ok(Box::new(Correlation {
        name,
        backward: name.starts_with("_backward"),
        kernel: positive("kernel_size", 1)?,
        max_disp: max_disp as usize,
        stride1: positive("stride1", 1)?,
        stride2: positive("stride2", 1)?,
        pad: pad as usize,
        multiply: attrs.bool(name, "is_multiply", true)?,
    }))
}

const PARAMS: &[crate::operator::ParamDoc] = &[
    param("kernel_size", "int", "1", "the patch's side"),
    param("max_displacement", "int", "1", "the largest displacement"),
    param("stride1", "int", "1", "step between output positions"),
    param("stride2", "int", "1", "step between displacements"),
    param("pad_size", "int", "0", "zero padding of both maps"),
    param("is_multiply", "boolean", "True", "products (else absolute differences)"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "Correlation", aliases: &[], doc: "FlowNet's correlation of two feature maps.", inputs: Arity::Fixed(&["data1", "data2"]), params: PARAMS, create },
    OpDef { name: "_backward_Correlation", aliases: &[], doc: "Gradient of Correlation: [out_grad, data1, data2] to both maps' gradients.", inputs: Arity::Fixed(&["out_grad", "data1", "data2"]), params: PARAMS, create },
];
