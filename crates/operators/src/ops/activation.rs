//! `Activation`: elementwise `relu` (`max(x, 0)`), `sigmoid` (`1 / (1 + e^-x)`), `tanh`,
//! `softrelu` (`log(1 + e^x)`, and `x` itself above 20 as MXNet does) and `softsign`
//! (`x / (1 + |x|)`). `_backward_Activation` takes `[out_grad, value]`, where `value` is the
//! forward output (the derivative follows from it: `y > 0`, `y(1 - y)`, `1 - y²`, `1 - e^-y`),
//! except for softsign, whose derivative `1 / (1 + |x|)²` needs the input.


use rmx_engine::BoxError;
use rmx_kernels::elementwise::{map, zip};
use rmx_kernels::{BinaryFn, KernelResult, UnaryFn};

use super::float::float_dtype;
use super::unary_math::{Relu, Sigmoid, Softsign, Tanh};
use crate::attrs::Attrs;
use crate::error::{shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, BlockKernel, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Act {
    Relu,
    Sigmoid,
    Tanh,
    SoftRelu,
    Softsign,
}

const ACT_TYPES: &[&str] = &["relu", "sigmoid", "tanh", "softrelu", "softsign"];

struct SoftRelu;
impl UnaryFn for SoftRelu {
    const CUDA: &'static str = "(x > T(20)) ? x : log1p(exp(x))";
    #[inline(always)]
    fn f32(x: f32) -> f32 {
        if x > 20.0 { x } else { x.exp().ln_1p() }
    }
    #[inline(always)]
    fn f64(x: f64) -> f64 {
        if x > 20.0 { x } else { x.exp().ln_1p() }
    }
}

/// The backward rules, as `f(out_grad, value)`.
macro_rules! grad_fn {
    ($name:ident, cuda $cuda:literal, |$g:ident, $v:ident| $body:expr) => {
        struct $name;
        impl BinaryFn for $name {
            const CUDA: &'static str = $cuda;
            #[inline(always)]
            fn f32($g: f32, $v: f32) -> f32 { $body }
            #[inline(always)]
            fn f64($g: f64, $v: f64) -> f64 { $body }
        }
    };
}
grad_fn!(ReluGrad, cuda "(b > T(0)) ? a : T(0)", |g, y| if y > 0.0 { g } else { 0.0 });
grad_fn!(SigmoidGrad, cuda "a * b * (T(1) - b)", |g, y| g * y * (1.0 - y));
grad_fn!(TanhGrad, cuda "a * (T(1) - b * b)", |g, y| g * (1.0 - y * y));
grad_fn!(SoftReluGrad, cuda "-a * expm1(-b)", |g, y| -g * (-y).exp_m1());
grad_fn!(SoftsignGrad, cuda "a / ((T(1) + fabs(b)) * (T(1) + fabs(b)))", |g, x| g / ((1.0 + x.abs()) * (1.0 + x.abs())));

/// The kernels this file adds to the CUDA list (`crate::cuda_sources`): softrelu, and the
/// backward rules over `(out_grad, value)`.
pub(crate) fn cuda_kernels(out: &mut Vec<crate::cuda_sources::Listed>) {
    use crate::cuda_sources::{map, zip, FLOATS};
    map::<SoftRelu>("SoftRelu", &FLOATS, out);
    zip::<ReluGrad>("ReluGrad", &FLOATS, out);
    zip::<SigmoidGrad>("SigmoidGrad", &FLOATS, out);
    zip::<TanhGrad>("TanhGrad", &FLOATS, out);
    zip::<SoftReluGrad>("SoftReluGrad", &FLOATS, out);
    zip::<SoftsignGrad>("SoftsignGrad", &FLOATS, out);
}

struct Activation {
    name: &'static str,
    act: Act,
    backward: bool,
}

/// `y = act(x)`; in place when `y` has the buffer of `x`.
fn forward(act: Act, x: &Tensor, y: &mut Tensor) -> KernelResult<()> {
    match act {
        Act::Relu => map::<Relu>(x, y),
        Act::Sigmoid => map::<Sigmoid>(x, y),
        Act::Tanh => map::<Tanh>(x, y),
        Act::SoftRelu => map::<SoftRelu>(x, y),
        Act::Softsign => map::<Softsign>(x, y),
    }
}

/// `dx = act'(g, v)`; in place when `dx` has the buffer of the output gradient `g`.
fn backward(act: Act, g: &Tensor, v: &Tensor, dx: &mut Tensor) -> KernelResult<()> {
    match act {
        Act::Relu => zip::<ReluGrad>(g, v, dx),
        Act::Sigmoid => zip::<SigmoidGrad>(g, v, dx),
        Act::Tanh => zip::<TanhGrad>(g, v, dx),
        Act::SoftRelu => zip::<SoftReluGrad>(g, v, dx),
        Act::Softsign => zip::<SoftsignGrad>(g, v, dx),
    }
}

impl Operator for Activation {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        if self.backward && inputs[0].shape != inputs[1].shape {
            return Err(shape_err(self.name, format!("out_grad has shape {:?}, the value {:?}", inputs[0].shape.as_slice(), inputs[1].shape.as_slice())));
        }
        Ok(vec![inputs[inputs.len() - 1].clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            backward(self.act, &inputs[0], &inputs[1], &mut outputs[0])?;
        } else {
            forward(self.act, &inputs[0], &mut outputs[0])?;
        }
        Ok(())
    }

    /// Forward over its input, backward over the output gradient.
    fn inplace_option(&self) -> Vec<(usize, usize)> {
        vec![(0, 0)]
    }

    fn block_kernel(&self) -> Option<BlockKernel> {
        Some(match (self.act, self.backward) {
            (Act::Relu, false) => BlockKernel::map::<Relu>(),
            (Act::Sigmoid, false) => BlockKernel::map::<Sigmoid>(),
            (Act::Tanh, false) => BlockKernel::map::<Tanh>(),
            (Act::SoftRelu, false) => BlockKernel::map::<SoftRelu>(),
            (Act::Softsign, false) => BlockKernel::map::<Softsign>(),
            (Act::Relu, true) => BlockKernel::zip::<ReluGrad>(),
            (Act::Sigmoid, true) => BlockKernel::zip::<SigmoidGrad>(),
            (Act::Tanh, true) => BlockKernel::zip::<TanhGrad>(),
            (Act::SoftRelu, true) => BlockKernel::zip::<SoftReluGrad>(),
            (Act::Softsign, true) => BlockKernel::zip::<SoftsignGrad>(),
        })
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let value = if self.act == Act::Softsign { args.inputs[0] } else { args.outputs[0] };
        Ok(vec![Some(g.op1("_backward_Activation", args.attrs, &[args.out_grads[0], value])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let act = match attrs.get("act_type") {
        None => return Err(crate::error::param_err(name, "act_type", format!("required (one of {ACT_TYPES:?})"))),
        Some(_) => attrs.choice(name, "act_type", "", ACT_TYPES)?,
    };
    let act = match act {
        "relu" => Act::Relu,
        "sigmoid" => Act::Sigmoid,
        "tanh" => Act::Tanh,
        "softrelu" => Act::SoftRelu,
        _ => Act::Softsign,
    };
    Ok(Box::new(Activation { name, act, backward: name.starts_with("_backward_") }))
}

const PARAMS: &[ParamDoc] = &[param("act_type", "{'relu', 'sigmoid', 'softrelu', 'softsign', 'tanh'}", "", "the activation function")];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "Activation", aliases: &[], doc: "Elementwise activation chosen by act_type (see module doc).", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef {
        name: "_backward_Activation",
        aliases: &[],
        doc: "Activation's input gradient from the output's and the forward output (softsign: the input).",
        inputs: Arity::Fixed(&["out_grad", "value"]),
        params: PARAMS,
        create,
    },
];
