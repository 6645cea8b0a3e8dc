//! `SoftmaxActivation`: softmax over the last axis (`mode='instance'`, the default: MXNet reads
//! the data as 2-d rows of its last axis) or over axis 1 (`mode='channel'`, for `(n, c, ...)`
//! feature maps). Deprecated in MXNet in favour of `softmax`, but still common.
//! `_backward_SoftmaxActivation` takes `[out_grad, output]`: `dx = y·(dy - Σ dy·y)` over the axis.

use rayon::prelude::*;
use rmx_engine::BoxError;
use rmx_kernels::cpu::elementwise::PARALLEL_GRAIN;

use super::axes::split_around;
use super::float::{float_dtype, with_float, Float};
use crate::attrs::Attrs;
use crate::error::{shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

struct SoftmaxActivation {
    name: &'static str,
    channel: bool,
    backward: bool,
}

impl SoftmaxActivation {
    /// `(outer, n, inner)` around the softmax axis.
    fn geometry(&self, shape: &[usize]) -> Result<(usize, usize, usize)> {
        match (self.channel, shape.len()) {
            (_, 0) | (true, 1) => Err(shape_err(self.name, format!("input 'data' of shape {shape:?} has no {} axis", if self.channel { "channel (1)" } else { "last" }))),
            (true, _) => Ok(split_around(shape, 1, 1)),
            (false, n) => Ok(split_around(shape, n - 1, n - 1)),
        }
    }
}

/// Applies `f` to each `(n, inner)` block of `y` with the matching blocks of the inputs, blocks
/// in parallel when the data is large.
fn by_block<T: Float>(n: usize, inner: usize, ins: [&[T]; 2], y: &mut [T], f: impl Fn([&[T]; 2], &mut [T]) + Sync) {
    let block = (n * inner).max(1);
    let each = |(b, y): (usize, &mut [T])| f([&ins[0][b * block..(b + 1) * block], &ins[1][b * block..(b + 1) * block]], y);
    if y.len() <= PARALLEL_GRAIN {
        y.chunks_mut(block).enumerate().for_each(each);
    } else {
        y.par_chunks_mut(block).enumerate().for_each(each);
    }
}

fn softmax<T: Float>(x: &[T], inner: usize, y: &mut [T]) {
    for i in 0..inner {
        let m = x[i..].iter().step_by(inner).map(|v| v.to_f64()).fold(f64::NEG_INFINITY, f64::max);
        let s: f64 = x[i..].iter().step_by(inner).map(|v| (v.to_f64() - m).exp()).sum();
        for (y, x) in y[i..].iter_mut().step_by(inner).zip(x[i..].iter().step_by(inner)) {
            *y = T::from_f64((x.to_f64() - m).exp() / s);
        }
    }
}

fn softmax_grad<T: Float>(dy: &[T], y: &[T], inner: usize, dx: &mut [T]) {
    for i in 0..inner {
        let dot: f64 = dy[i..].iter().step_by(inner).zip(y[i..].iter().step_by(inner)).map(|(g, y)| g.to_f64() * y.to_f64()).sum();
        for ((d, g), y) in dx[i..].iter_mut().step_by(inner).zip(dy[i..].iter().step_by(inner)).zip(y[i..].iter().step_by(inner)) {
            *d = T::from_f64(y.to_f64() * (g.to_f64() - dot));
        }
    }
}

impl Operator for SoftmaxActivation {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        self.geometry(&inputs[0].shape)?;
        if self.backward && inputs[0].shape != inputs[1].shape {
            return Err(shape_err(self.name, format!("out_grad has shape {:?}, the output {:?}", inputs[0].shape.as_slice(), inputs[1].shape.as_slice())));
        }
        Ok(vec![inputs[0].clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (_, n, inner) = self.geometry(&inputs[0].shape)?;
        with_float!(outputs[0].dtype, T => {
            let y = outputs[0].data_mut::<T>();
            if self.backward {
                by_block(n, inner, [inputs[0].data::<T>(), inputs[1].data::<T>()], y, |[dy, out], dx| softmax_grad(dy, out, inner, dx));
            } else {
                let x = inputs[0].data::<T>();
                by_block(n, inner, [x, x], y, |[x, _], y| softmax(x, inner, y));
            }
        });
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(g.op1("_backward_SoftmaxActivation", args.attrs, &[args.out_grads[0], args.outputs[0]])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let channel = attrs.choice(name, "mode", "instance", &["instance", "channel"])? == "channel";
    Ok(Box::new(SoftmaxActivation { name, channel, backward: name.starts_with("_backward_") }))
}

const PARAMS: &[ParamDoc] = &[param("mode", "{'channel', 'instance'}", "'instance'", "softmax over the last axis (instance) or axis 1 (channel)")];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "SoftmaxActivation", aliases: &[], doc: "Softmax over the last axis or the channel axis (see module doc).", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef {
        name: "_backward_SoftmaxActivation",
        aliases: &[],
        doc: "SoftmaxActivation's input gradient from the output's and the output.",
        inputs: Arity::Fixed(&["out_grad", "output"]),
        params: PARAMS,
        create,
    },
];

#[cfg(test)]
mod tests {
    use crate::invoke::invoke;
    use crate::testing::{array, check_gradient, uniform, values};
    use crate::Attrs;
    use rmx_engine::Context;

    #[test]
    fn instance_mode_uses_the_last_axis_and_channel_mode_axis_1() {
        let x: Vec<f64> = (0..8).map(f64::from).collect();
        let run = |mode: &str| values(&invoke("SoftmaxActivation", &[array(&[2, 2, 2], &x)], &Attrs::from_pairs([("mode", mode)]), None, Context::cpu(0)).unwrap()[0]);
        let (a, b) = (1.0 / (1.0 + 1f64.exp()), 1.0 / (1.0 + (-1f64).exp()));
        let (c, d) = (1.0 / (1.0 + 2f64.exp()), 1.0 / (1.0 + (-2f64).exp()));
        let close = |got: Vec<f64>, want: [f64; 8]| got.iter().zip(want).for_each(|(g, w)| assert!((g - w).abs() < 1e-12, "{got:?}"));
        close(run("instance"), [a, b, a, b, a, b, a, b]);
        close(run("channel"), [c, c, d, d, c, c, d, d]);
    }

    #[test]
    fn large_channel_softmax_matches_naive_loops() {
        let (n, c, w) = (3, 4, 3000);
        let x = uniform(n * c * w, -3.0, 3.0, 8);
        let y = values(&invoke("SoftmaxActivation", &[array(&[n, c, w], &x)], &Attrs::from_pairs([("mode", "channel")]), None, Context::cpu(0)).unwrap()[0]);
        for a in 0..n {
            for k in 0..w {
                let at = |r: usize| (a * c + r) * w + k;
                let s: f64 = (0..c).map(|r| x[at(r)].exp()).sum();
                (0..c).for_each(|r| assert!((y[at(r)] - x[at(r)].exp() / s).abs() < 1e-12));
            }
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        let x = array(&[2, 3, 4], &uniform(24, -2.0, 2.0, 3));
        for mode in ["instance", "channel"] {
            check_gradient("SoftmaxActivation", &[("mode", mode)], std::slice::from_ref(&x), &[], false);
        }
        check_gradient("SoftmaxActivation", &[], &[array(&[5], &uniform(5, -2.0, 2.0, 4))], &[], false);
    }

    #[test]
    fn channel_mode_needs_two_axes() {
        let err = invoke("SoftmaxActivation", &[array(&[3], &[0.0; 3])], &Attrs::from_pairs([("mode", "channel")]), None, Context::cpu(0)).err().unwrap().to_string();
        assert!(err.contains("SoftmaxActivation") && err.contains("channel"), "{err}");
    }
}
