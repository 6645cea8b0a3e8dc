//! RMSProp updates as MXNet 1.9.1 computes them (see `update_rule` for what all updates share),
//! with `ĝ = rescale_grad·g + wd·w`, clipped when clipping, and `clip(x, clip_weights)` applied to
//! the new weight when `clip_weights >= 0`:
//! - `rmsprop_update` (Tieleman and Hinton): `n ← (1 - γ₁)·ĝ² + γ₁·n`, `w ← w - lr·(ĝ / √(n + ε))`.
//!   States `[n]`.
//! - `rmspropalex_update` (Graves 2013, eq. 38-45): `n ← (1 - γ₁)·ĝ·ĝ + γ₁·n`,
//!   `g ← (1 - γ₁)·ĝ + γ₁·g`, `delta ← γ₂·delta - lr·ĝ / √(n - g² + ε)`, `w ← w + delta`.
//!   States `[n, g, delta]`.

use rmx_kernels::update::UpdateFn;

use super::float::Float;
use super::update_rule::{clip, create, cuda_kernels as cuda_kernels_of, float, Common, Rule};
use crate::attrs::Attrs;
use crate::error::Result;
use crate::operator::{param, Arity, OpDef, ParamDoc};

/// The parameters both variants share.
struct Params {
    c: Common,
    gamma1: f32,
    epsilon: f32,
    clip_weights: f32,
}

impl Params {
    fn parse(op: &'static str, attrs: &Attrs) -> Result<Self> {
        Ok(Params {
            c: Common::parse(op, attrs, "clip_gradient")?,
            gamma1: float(op, attrs, "gamma1", 0.95)?,
            epsilon: float(op, attrs, "epsilon", 1e-8)?,
            clip_weights: float(op, attrs, "clip_weights", -1.0)?,
        })
    }

    /// `rescale_grad·g + wd·w`, clipped when clipping.
    #[inline(always)]
    fn gradient<T: Float>(&self, w: T, g: T) -> T {
        let c = &self.c;
        let g = T::from_f32(c.rescale_grad) * g + T::from_f32(c.wd) * w;
        if c.clips() { clip(g, T::from_f32(c.clip_gradient)) } else { g }
    }

    /// The hyperparameters both variants' CUDA bodies take, after `Common`'s: `gamma1`,
    /// `epsilon`, `clip_weights`.
    fn cuda_values(&self) -> Vec<f64> {
        [self.c.cuda_values(), vec![self.gamma1 as f64, self.epsilon as f64, self.clip_weights as f64]].concat()
    }

    #[inline(always)]
    fn clip_weight<T: Float>(&self, w: T) -> T {
        if self.clip_weights >= 0.0 { clip(w, T::from_f32(self.clip_weights)) } else { w }
    }
}

struct RmsProp(Params);

impl Rule for RmsProp {
    fn parse(op: &'static str, attrs: &Attrs) -> Result<Self> {
        Ok(RmsProp(Params::parse(op, attrs)?))
    }
}

impl UpdateFn for RmsProp {
    const STATES: usize = 1;
    const CUDA: &'static str = "C gc = rescale_grad * g + wd * w;\
                               if (clip_gradient >= 0) gc = rmx_clip(gc, clip_gradient);\
                               C n = (1 - gamma1) * (gc * gc) + gamma1 * s[0];\
                               s[0] = n;\
                               C nw = w - lr * (gc / sqrt(n + epsilon));\
                               return clip_weights >= 0 ? rmx_clip(nw, clip_weights) : nw;";
    const CUDA_PARAMS: &'static [&'static str] = &["lr", "wd", "rescale_grad", "clip_gradient", "gamma1", "epsilon", "clip_weights"];

    fn cuda_params(&self) -> Vec<f64> {
        self.0.cuda_values()
    }

    #[inline(always)]
    fn step<T: Float>(&self, w: T, g: T, s: &mut [T], _: bool) -> T {
        let p = &self.0;
        let g = p.gradient(w, g);
        let (g1, one) = (T::from_f32(p.gamma1), T::from_f32(1.0));
        let n = (one - g1) * (g * g) + g1 * s[0];
        s[0] = n;
        p.clip_weight(w - T::from_f32(p.c.lr) * (g / (n + T::from_f32(p.epsilon)).sqrt()))
    }
}

struct RmsPropAlex {
    p: Params,
    gamma2: f32,
}

impl Rule for RmsPropAlex {
    fn parse(op: &'static str, attrs: &Attrs) -> Result<Self> {
        Ok(RmsPropAlex { p: Params::parse(op, attrs)?, gamma2: float(op, attrs, "gamma2", 0.9)? })
    }
}

impl UpdateFn for RmsPropAlex {
    const STATES: usize = 3;
    const CUDA: &'static str = "C gc = rescale_grad * g + wd * w;\
                               if (clip_gradient >= 0) gc = rmx_clip(gc, clip_gradient);\
                               C n = (1 - gamma1) * gc * gc + gamma1 * s[0];\
                               C mean = (1 - gamma1) * gc + gamma1 * s[1];\
                               C delta = gamma2 * s[2] - lr * gc / sqrt(n - mean * mean + epsilon);\
                               s[0] = n; s[1] = mean; s[2] = delta;\
                               C nw = w + delta;\
                               return clip_weights >= 0 ? rmx_clip(nw, clip_weights) : nw;";
    const CUDA_PARAMS: &'static [&'static str] = &["lr", "wd", "rescale_grad", "clip_gradient", "gamma1", "epsilon", "clip_weights", "gamma2"];

    fn cuda_params(&self) -> Vec<f64> {
        [self.p.cuda_values(), vec![self.gamma2 as f64]].concat()
    }

    #[inline(always)]
    fn step<T: Float>(&self, w: T, g: T, s: &mut [T], _: bool) -> T {
        let p = &self.p;
        let g = p.gradient(w, g);
        let (g1, g2, one) = (T::from_f32(p.gamma1), T::from_f32(self.gamma2), T::from_f32(1.0));
        let n = (one - g1) * g * g + g1 * s[0];
        let mean = (one - g1) * g + g1 * s[1];
        let delta = g2 * s[2] - T::from_f32(p.c.lr) * g / (n - mean * mean + T::from_f32(p.epsilon)).sqrt();
        s[0] = n;
        s[1] = mean;
        s[2] = delta;
        p.clip_weight(w + delta)
    }
}

/// Both variants' CUDA kernels.
pub(crate) fn cuda_kernels(out: &mut Vec<crate::cuda_sources::Listed>) {
    cuda_kernels_of::<RmsProp>("rmsprop_update", "rmsprop", false, out);
    cuda_kernels_of::<RmsPropAlex>("rmspropalex_update", "rmspropalex", false, out);
}

const LR: ParamDoc = param("lr", "float", "", "learning rate");
const EPSILON: ParamDoc = param("epsilon", "float", "1e-08", "added under the square root");
const WD: ParamDoc = param("wd", "float", "0", "weight decay: adds wd·weight to the gradient before clipping");
const RESCALE: ParamDoc = param("rescale_grad", "float", "1", "the gradient is first multiplied by this");
const CLIP: ParamDoc = param("clip_gradient", "float", "-1", "clip the decayed, rescaled gradient; off when negative (0 clips to 0)");
const CLIP_WEIGHTS: ParamDoc = param("clip_weights", "float", "-1", "clip the new weight to [-clip_weights, clip_weights]; off when negative");

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "rmsprop_update",
        aliases: &[],
        doc: "RMSProp step (Tieleman and Hinton): ĝ = clip(rescale_grad·grad + wd·weight), n ← (1 - γ₁)·ĝ² + γ₁·n, \
              weight ← weight - lr·ĝ / √(n + ε), then clipped to clip_weights. Updates n in place; returns the new weight.",
        inputs: Arity::Fixed(&["weight", "grad", "n"]),
        params: &[LR, param("gamma1", "float", "0.95", "the decay rate of n"), EPSILON, WD, RESCALE, CLIP, CLIP_WEIGHTS],
        create: create::<RmsProp, false>,
    },
    OpDef {
        name: "rmspropalex_update",
        aliases: &[],
        doc: "RMSProp step (Graves 2013): ĝ = clip(rescale_grad·grad + wd·weight), n ← (1 - γ₁)·ĝ² + γ₁·n, \
              g ← (1 - γ₁)·ĝ + γ₁·g, delta ← γ₂·delta - lr·ĝ / √(n - g² + ε), weight ← weight + delta, then clipped to \
              clip_weights. Updates n, g and delta in place; returns the new weight.",
        inputs: Arity::Fixed(&["weight", "grad", "n", "g", "delta"]),
        params: &[
            LR,
            param("gamma1", "float", "0.95", "the decay rate of n and g"),
            param("gamma2", "float", "0.9", "the decay rate of delta"),
            EPSILON,
            WD,
            RESCALE,
            CLIP,
            CLIP_WEIGHTS,
        ],
        create: create::<RmsPropAlex, false>,
    },
];
