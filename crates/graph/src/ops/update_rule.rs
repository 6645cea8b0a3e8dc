//! The machinery shared by MXNet's fused optimizer updates (`sgd_update`, `adam_update`, ...):
//! a [`Rule`] says how one element's weight and states move given its gradient; [`Update`] wraps
//! a rule as an operator (shapes, dtypes, the states it writes, `out=weight`), and its kernel is
//! one pass over the elements, split across the rayon pool for large arrays.
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

use std::ops::Range;

use rayon::prelude::*;
use rmx_engine::BoxError;
use rmx_kernels::cpu::elementwise::PARALLEL_GRAIN;
use rmx_kernels::{f16, DType, Element, Shape};

use super::float::{float_dtype, with_float, Float};
use crate::attrs::Attrs;
use crate::error::{dtype_err, param_err, shape_err, Result};
use crate::operator::{OpCtx, Arity, Operator, Tensor, TensorDesc};

/// How one element moves: the new weight from its weight `w`, gradient `g` and states `s` (in the
/// order of the operator's inputs after `weight` and `grad`), which it updates in place.
pub(super) trait Rule: Send + Sync + Sized + 'static {
    /// How many state inputs follow `weight` and `grad` (without `mp_*`'s `weight32`).
    const STATES: usize;

    /// The typed parameters from MXNet's attributes.
    fn parse(op: &'static str, attrs: &Attrs) -> Result<Self>;

    /// One element. `inplace`: the output is the weight's own memory, so a read of the weight
    /// after the output is written sees the new weight (`mp_*` variants always pass true: their
    /// weight is a local the update overwrites).
    fn step<T: Float>(&self, w: T, g: T, s: &mut [T], inplace: bool) -> T;
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
        if !MIXED {
            float_dtype(self.name, inputs.iter().map(|d| d.dtype)).map_err(|e| match inputs[0].dtype {
                DType::F16 => dtype_err(self.name, "computes in float32 or float64, got float16 (the mp_* updates take float16 weights with a float32 master copy)"),
                _ => e,
            })?;
            return Ok(());
        }
        let d = crate::error::same_dtype(self.name, [inputs[0].dtype, inputs[1].dtype])?;
        if !matches!(d, DType::F16 | DType::F32 | DType::F64) {
            return Err(dtype_err(self.name, format!("takes float16, float32 or float64 weights, got {d}")));
        }
        for (i, s) in inputs.iter().enumerate().skip(2) {
            if s.dtype != DType::F32 {
                return Err(dtype_err(self.name, format!("input '{}' must be float32, got {}", self.input_name(i), s.dtype)));
            }
        }
        Ok(())
    }

    /// The update over every element, weight and gradient of type `W`, math and states in `C`.
    fn run<W: Element, C: Float>(&self, inputs: &[Tensor], out: &mut Tensor, load: impl Fn(W) -> C + Sync, store: impl Fn(C) -> W + Sync) {
        const MAX_STATES: usize = 4;
        let n = out.numel();
        assert!(inputs.len() == Self::INPUTS && Self::INPUTS - 2 <= MAX_STATES);
        assert!(inputs[0].dtype == W::DTYPE && inputs[1].dtype == W::DTYPE && out.dtype == W::DTYPE, "update run on the wrong dtype");
        assert!(inputs.iter().all(|t| t.numel() == n) && inputs[2..].iter().all(|t| t.dtype == C::DTYPE));
        let mut states = [std::ptr::null_mut::<C>(); MAX_STATES];
        for (p, t) in states.iter_mut().zip(&inputs[2..]) {
            *p = t.ptr() as *mut C;
        }
        let lanes = Lanes { weight: inputs[0].ptr() as *const W, grad: inputs[1].ptr() as *const W, states, out: out.ptr() as *mut W };
        let inplace = std::ptr::eq(lanes.weight, lanes.out);
        let count = Self::INPUTS - 2;
        let step = |w: C, g: C, s: &mut [C; MAX_STATES]| -> C {
            if MIXED {
                // The master weight is the last state; the rule sees the ones before it.
                let master = R::STATES;
                let w = self.rule.step(s[master], g, &mut s[..master], true);
                s[master] = w;
                w
            } else {
                self.rule.step(w, g, &mut s[..R::STATES], inplace)
            }
        };
        let body = |range: Range<usize>| {
            // The whole struct (Sync), not its pointer fields one by one.
            let lanes = &lanes;
            for i in range {
                // SAFETY: every pointer addresses `n` elements of its dtype (checked above); the
                // push holds the states and the output as writes, so no one else touches them;
                // element `i` of the weight is read before element `i` of the output (possibly
                // the same memory, `out=weight`) is written, and tasks own disjoint ranges.
                unsafe {
                    let mut s = [C::ZERO; MAX_STATES];
                    for (v, p) in s.iter_mut().zip(&lanes.states).take(count) {
                        *v = *p.add(i);
                    }
                    let y = step(load(*lanes.weight.add(i)), load(*lanes.grad.add(i)), &mut s);
                    for (v, p) in s.iter().zip(&lanes.states).take(count) {
                        *p.add(i) = *v;
                    }
                    *lanes.out.add(i) = store(y);
                }
            }
        };
        if n <= PARALLEL_GRAIN {
            body(0..n);
        } else {
            (0..n.div_ceil(PARALLEL_GRAIN)).into_par_iter().for_each(|c| body(c * PARALLEL_GRAIN..n.min((c + 1) * PARALLEL_GRAIN)));
        }
    }
}

/// The arrays of one update, as raw pointers: the weight may be the output's memory.
struct Lanes<W, C> {
    weight: *const W,
    grad: *const W,
    states: [*mut C; 4],
    out: *mut W,
}

impl<W, C> Clone for Lanes<W, C> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<W, C> Copy for Lanes<W, C> {}
// SAFETY: the kernel's tasks touch disjoint index ranges of these arrays (see `run`).
unsafe impl<W, C> Send for Lanes<W, C> {}
unsafe impl<W, C> Sync for Lanes<W, C> {}

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
        let out = &mut outputs[0];
        if MIXED {
            match out.dtype {
                DType::F16 => self.run::<f16, f32>(inputs, out, f16::to_f32, f16::from_f32),
                DType::F32 => self.run::<f32, f32>(inputs, out, |x| x, |x| x),
                DType::F64 => self.run::<f64, f32>(inputs, out, |x| x as f32, |x| x as f64),
                d => return Err(format!("{} run on {d}", self.name).into()),
            }
        } else {
            with_float!(out.dtype, T => self.run::<T, T>(inputs, out, |x| x, |x| x));
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
