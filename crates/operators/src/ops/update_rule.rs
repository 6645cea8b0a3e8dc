//! The machinery shared by MXNet's fused optimizer updates (`sgd_update`, `adam_update`, ...):
//! a [`Rule`] says how one element's weight and states move given its gradient; [`Update`] wraps
//! a rule as an operator (shapes, dtypes, the states it writes, `out=weight`), and its kernel is
//! `rmx_kernels::update`'s primitive: one pass over the elements applying the rule's formula.
//!
//! Facts every update shares, as MXNet 1.9.1 has them:
//! - parameters are C `float` fields: `lr=0.1` is `0.1f32`, widened for float64 weights;
//! - clipping is on when `clip_gradient >= 0` (the documented "<= 0 turns it off" is not what the
//!   kernels do: `clip_gradient=0` clips every gradient to 0);
//! - the inputs after `weight` and `grad` are states the update writes in place; the one output
//!   is the new weight, usually the weight itself (`out=weight`), which the kernel then updates in
//!   place: each element's weight is read before its new value is written;
//! - `mp_*` variants take float16 (or float32/float64) weights and gradients and float32 states,
//!   the last of which (`weight32`) is the master copy the update reads and writes in float32; the
//!   output is that new master weight rounded to the weight's dtype. The weight input is not read.
//! - `lazy_update` only matters for row-sparse gradients: dense updates accept and ignore it.

use rmx_engine::BoxError;
use rmx_kernels::update::{self, UpdateFn};
use rmx_kernels::{DType, Shape};

use super::float::{float_dtype, Float};
use crate::attrs::Attrs;
use crate::error::{dtype_err, param_err, shape_err, Result};
use crate::operator::{OpCtx, Arity, Operator, Tensor, TensorDesc};

/// An update's rule: how one element moves is its [`UpdateFn`] (the formula, with
/// `UpdateFn::STATES` state inputs after `weight` and `grad`, without `mp_*`'s `weight32`), which
/// the `rmx_kernels::update` primitives apply to every element; this adds the typed parameters.
pub(super) trait Rule: UpdateFn + Sized + 'static {
    /// The typed parameters from MXNet's attributes.
    fn parse(op: &'static str, attrs: &Attrs) -> Result<Self>;
}

/// A rule of the aggregated updates (`multi_*`): parsed once from the call's shared attributes,
/// then given each weight's own learning rate and weight decay.
pub(super) trait PerWeight: Rule {
    fn with_rate(&self, lr: f32, wd: f32) -> Self;
}

/// A parameter as MXNet's C `float` field holds it.
pub(super) fn float(op: &str, attrs: &Attrs, key: &str, default: f32) -> Result<f32> {
    // Parsed as float32 directly (not through float64): one rounding, as C's strtof.
    match attrs.get(key).and_then(|v| v.trim().parse::<f32>().ok()) {
        Some(v) => Ok(v),
        None => Ok(attrs.f64(op, key, default as f64)? as f32),
    }
}

pub(super) fn required_float(op: &str, attrs: &Attrs, key: &str) -> Result<f32> {
    attrs.get(key).ok_or_else(|| param_err(op, key, "required"))?;
    float(op, attrs, key, 0.0)
}

/// The parameters every update takes.
#[derive(Clone, Copy, Debug)]
pub(super) struct Common {
    pub lr: f32,
    pub wd: f32,
    pub rescale_grad: f32,
    /// Clipping is on when this is `>= 0` (MXNet's test, whatever its doc says).
    pub clip_gradient: f32,
}

impl Common {
    /// `lr` (required), `wd`, `rescale_grad` and the clipping bound named `clip_key`; checks
    /// that `lazy_update`, where given, is a boolean.
    pub fn parse(op: &str, attrs: &Attrs, clip_key: &str) -> Result<Self> {
        attrs.bool(op, "lazy_update", true)?;
        Ok(Common {
            lr: required_float(op, attrs, "lr")?,
            wd: float(op, attrs, "wd", 0.0)?,
            rescale_grad: float(op, attrs, "rescale_grad", 1.0)?,
            clip_gradient: float(op, attrs, clip_key, -1.0)?,
        })
    }

    pub fn clips(&self) -> bool {
        self.clip_gradient >= 0.0
    }

    /// The values of `lr`, `wd`, `rescale_grad` and `clip_gradient`, in that order: how every
    /// rule's CUDA body names them (`UpdateFn::CUDA_PARAMS`) and takes them.
    pub fn cuda_values(&self) -> Vec<f64> {
        vec![self.lr as f64, self.wd as f64, self.rescale_grad as f64, self.clip_gradient as f64]
    }
}

/// `x` limited to `[-bound, bound]` as mshadow's `clip` does it (NaN passes).
#[inline(always)]
pub(super) fn clip<T: Float>(x: T, bound: T) -> T {
    if x > bound {
        bound
    } else if x < -bound {
        -bound
    } else {
        x
    }
}

/// -1, 0 or 1 (0 for NaN), as `(x > 0) - (x < 0)` in C.
#[inline(always)]
pub(super) fn sign<T: Float>(x: T) -> T {
    if x > T::ZERO {
        T::from_f32(1.0)
    } else if x < T::ZERO {
        T::from_f32(-1.0)
    } else {
        T::ZERO
    }
}

/// `R`'s CUDA kernels for the listing of every generated kernel (`crate::cuda_sources`): in
/// float32 and float64, and (`mixed`) in the `mp_*` form for float16, float32 and float64
/// weights. The hyperparameters are one set every rule finds its keys in, clipping (of the
/// gradient and of `rmsprop`'s weights) on in every other dtype so that both branches run.
pub(crate) fn cuda_kernels<R: Rule>(op: &'static str, name: &str, mixed: bool, out: &mut Vec<crate::cuda_sources::Listed>) {
    let attrs = |clips: bool| {
        let clip = if clips { "0.3" } else { "-1" };
        let fixed = [("lr", "0.1"), ("wd", "0.01"), ("rescale_grad", "0.5"), ("momentum", "0.9"), ("beta1", "0.6"), ("beta2", "0.999"), ("epsilon", "1e-8"), ("t", "3")];
        let more = [("gamma1", "0.95"), ("gamma2", "0.9"), ("lamda1", "0.01"), ("beta", "1.5"), ("wd_lh", "0.02")];
        let clips = [("clip_gradient", clip), ("clip_grad", clip), ("clip_weights", if clips { "2.5" } else { "-1" })];
        Attrs::from_pairs(fixed.into_iter().chain(more).chain(clips))
    };
    let rule = |clips| R::parse(op, &attrs(clips)).expect("the listing's attributes parse");
    crate::cuda_sources::update(name, rule(false), DType::F32, false, out);
    crate::cuda_sources::update(name, rule(true), DType::F64, false, out);
    if mixed {
        for (d, clips) in [(DType::F16, true), (DType::F32, false), (DType::F64, true)] {
            crate::cuda_sources::update(name, rule(clips), d, true, out);
        }
    }
}

/// The operator of a rule: `MIXED` for the `mp_*` variant with its float32 `weight32`.
pub(super) struct Update<R, const MIXED: bool> {
    name: &'static str,
    rule: R,
}

pub(super) fn create<R: Rule, const MIXED: bool>(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(Update::<R, MIXED> { name, rule: R::parse(name, attrs)? }))
}

impl<R: Rule, const MIXED: bool> Update<R, MIXED> {
    const INPUTS: usize = 2 + R::STATES + MIXED as usize;

    fn input_name(&self, i: usize) -> &'static str {
        match crate::registry::lookup(self.name).map(|d| d.inputs) {
            Ok(Arity::Fixed(names)) if i < names.len() => names[i],
            _ => "state",
        }
    }

    fn check_dtypes(&self, inputs: &[TensorDesc]) -> Result<()> {
        check_dtypes(self.name, inputs, MIXED, |i| self.input_name(i))
    }
}

/// One update's dtypes: all one float dtype, or (`mixed`) float16/32/64 weight and gradient
/// with float32 states; `input_name(i)` names input `i` in errors.
pub(super) fn check_dtypes(name: &str, inputs: &[TensorDesc], mixed: bool, input_name: impl Fn(usize) -> &'static str) -> Result<()> {
    if !mixed {
        float_dtype(name, inputs.iter().map(|d| d.dtype)).map_err(|e| match inputs[0].dtype {
            DType::F16 => dtype_err(name, "computes in float32 or float64, got float16 (the mp_* updates take float16 weights with a float32 master copy)"),
            _ => e,
        })?;
        return Ok(());
    }
    let d = crate::error::same_dtype(name, [inputs[0].dtype, inputs[1].dtype])?;
    if !matches!(d, DType::F16 | DType::F32 | DType::F64) {
        return Err(dtype_err(name, format!("takes float16, float32 or float64 weights, got {d}")));
    }
    for (i, s) in inputs.iter().enumerate().skip(2) {
        if s.dtype != DType::F32 {
            return Err(dtype_err(name, format!("input '{}' must be float32, got {}", input_name(i), s.dtype)));
        }
    }
    Ok(())
}

impl<R: Rule, const MIXED: bool> Operator for Update<R, MIXED> {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let weight = &inputs[0];
        for (i, d) in inputs.iter().enumerate().skip(1) {
            if d.shape != weight.shape {
                return Err(shape_err(
                    self.name,
                    format!("input '{}' has shape {:?}, the weight has shape {:?}", self.input_name(i), d.shape.as_slice(), weight.shape.as_slice()),
                ));
            }
        }
        self.check_dtypes(inputs)?;
        Ok(vec![weight.clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (weight, grad, states) = (&inputs[0], &inputs[1], &inputs[2..]);
        if MIXED {
            update::apply_mixed(&self.rule, weight, grad, states, &mut outputs[0])?;
        } else {
            update::apply(&self.rule, weight, grad, states, &mut outputs[0])?;
        }
        Ok(())
    }

    fn mutated_inputs(&self) -> Vec<usize> {
        (2..Self::INPUTS).collect()
    }

    fn inplace_option(&self) -> Vec<(usize, usize)> {
        vec![(0, 0)]
    }

    /// Every input has the weight's shape.
    fn complete_inputs(&self, known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        match known.iter().flatten().next() {
            Some(s) => vec![Some(s.clone()); known.len()],
            None => Vec::new(),
        }
    }

    /// The gradient shares the weight's dtype; `mp_*` states are float32.
    fn complete_dtypes(&self, known: &[Option<DType>]) -> Vec<Option<DType>> {
        if !MIXED {
            let first = known.iter().flatten().next().copied();
            return known.iter().map(|k| k.or(first)).collect();
        }
        let weight = known.iter().take(2).flatten().next().copied();
        known.iter().enumerate().map(|(i, k)| k.or(if i < 2 { weight } else { Some(DType::F32) })).collect()
    }
}
