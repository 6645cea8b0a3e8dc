//! `hard_sigmoid`: `y = clip(alpha · x + beta, 0, 1)` (alpha 0.2, beta 0.5 by default). Its
//! gradient (`_backward_hard_sigmoid`) is `alpha · out_grad` where `0 < alpha · x + beta < 1`,
//! else 0, as MXNet's.

use rmx_engine::BoxError;
use rmx_kernels::elementwise::{self, Ternary};
use rmx_kernels::Element;

use crate::attrs::Attrs;
use crate::error::{dtype_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct HardSigmoid {
    backward: bool,
    alpha: f64,
    beta: f64,
}

impl Operator for HardSigmoid {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let name = if self.backward { "_backward_hard_sigmoid" } else { "hard_sigmoid" };
        if !inputs[0].dtype.is_float() {
            return Err(dtype_err(name, format!("needs a float input, got {}", inputs[0].dtype)));
        }
        if self.backward && (inputs[0].shape != inputs[1].shape || inputs[0].dtype != inputs[1].dtype) {
            return Err(shape_err(name, format!("out_grad {:?} and data {:?} must have one shape and dtype", inputs[0].shape.as_slice(), inputs[1].shape.as_slice())));
        }
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (g, x) = if self.backward { (&inputs[0], &inputs[1]) } else { (&inputs[0], &inputs[0]) };
        elementwise::map3(g, x, x, &mut outputs[0], self)?;
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        Ok(vec![Some(g.op1("_backward_hard_sigmoid", args.attrs, &[args.out_grads[0], args.inputs[0]])?)])
    }
}

/// Over `(out_grad or x, x, x)`: the forward value, or the gradient.
impl Ternary for HardSigmoid {
    fn formula<T: Element>(&self) -> impl Fn(T, T, T) -> T + Sync + '_ {
        let (alpha, beta, backward) = (self.alpha, self.beta, self.backward);
        move |g: T, x: T, _| {
            let z = alpha * x.to_f64() + beta;
            match (backward, z > 0.0 && z < 1.0) {
                (true, true) => T::from_f64(alpha * g.to_f64()),
                (true, false) => T::default(),
                (false, _) => T::from_f64(z.clamp(0.0, 1.0)),
            }
        }
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(HardSigmoid { backward: name.starts_with("_backward"), alpha: attrs.f64(name, "alpha", 0.2)?, beta: attrs.f64(name, "beta", 0.5)? }))
}

const PARAMS: &[crate::operator::ParamDoc] = &[param("alpha", "float", "0.2", "slope"), param("beta", "float", "0.5", "offset")];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "hard_sigmoid", aliases: &[], doc: "clip(alpha * x + beta, 0, 1).", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef {
        name: "_backward_hard_sigmoid",
        aliases: &[],
        doc: "Gradient of hard_sigmoid: [out_grad, data] to alpha * out_grad inside (0, 1), else 0.",
        inputs: Arity::Fixed(&["out_grad", "data"]),
        params: PARAMS,
        create,
    },
];
