//! `ftml_update` (Follow the Moving Leader, Zheng and Kwok 2017) as MXNet 1.9.1 computes it (see
//! `update_rule` for what all updates share): with `ĝ = rescale_grad·g + wd·w`, clipped to
//! `clip_grad` (this operator's name for `clip_gradient`) when that is `>= 0`,
//! `v ← β₂·v + (1 - β₂)·ĝ²`, `d_t = (1 - β₁ᵗ) / lr · (√(v / (1 - β₂ᵗ)) + ε)`,
//! `z ← β₁·z + (1 - β₁)·ĝ - (d_t - β₁·d)·w`, `d ← d_t`, `w ← -z / d_t`. States `[d, v, z]`.
//! `epsilon` is a C `double` (the default is the float `1e-8f`), `t` the update count (required);
//! `beta1` and `beta2` must lie in `[0, 1]`.

use rmx_kernels::update::UpdateFn;

use super::float::Float;
use super::update_rule::{clip, create, cuda_kernels as cuda_kernels_of, float, Common, Rule};
use crate::attrs::Attrs;
use crate::error::{param_err, Result};
use crate::operator::{param, Arity, OpDef};

struct Ftml {
    c: Common,
    beta1: f32,
    beta2: f32,
    epsilon: f64,
    t: i32,
}

impl Rule for Ftml {
    fn parse(op: &'static str, attrs: &Attrs) -> Result<Self> {
        attrs.get("t").ok_or_else(|| param_err(op, "t", "required"))?;
        let t = attrs.int(op, "t", 0)?;
        let t = i32::try_from(t).map_err(|_| param_err(op, "t", format!("{t} does not fit a C int")))?;
        let beta = |key: &str, default: f32| -> Result<f32> {
            let b = float(op, attrs, key, default)?;
            if !(0.0..=1.0).contains(&b) {
                return Err(param_err(op, key, format!("{b} is outside [0, 1]")));
            }
            Ok(b)
        };
        Ok(Ftml {
            c: Common::parse(op, attrs, "clip_grad")?,
            beta1: beta("beta1", 0.6)?,
            beta2: beta("beta2", 0.999)?,
            epsilon: attrs.f64(op, "epsilon", 1e-8f32 as f64)?,
            t,
        })
    }
}

impl UpdateFn for Ftml {
    const STATES: usize = 3;
    const CUDA: &'static str = "C gc = rescale_grad * g + wd * w;\
                               if (clip_gradient >= 0) gc = rmx_clip(gc, clip_gradient);\
                               C v = beta2 * s[1] + (1 - beta2) * (gc * gc);\
                               C d_t = (1 - pow(beta1, t)) / lr * (sqrt(v / (1 - pow(beta2, t))) + epsilon);\
                               C z = beta1 * s[2] + (1 - beta1) * gc - (d_t - beta1 * s[0]) * w;\
                               s[0] = d_t; s[1] = v; s[2] = z;\
                               return -z / d_t;";
    const CUDA_PARAMS: &'static [&'static str] = &["lr", "wd", "rescale_grad", "clip_gradient", "beta1", "beta2", "epsilon", "t"];

    fn cuda_params(&self) -> Vec<f64> {
        [self.c.cuda_values(), vec![self.beta1 as f64, self.beta2 as f64, self.epsilon, self.t as f64]].concat()
    }

    #[inline(always)]
    fn step<T: Float>(&self, w: T, g: T, s: &mut [T], _: bool) -> T {
        let c = &self.c;
        let (lr, wd, rescale) = (T::from_f32(c.lr), T::from_f32(c.wd), T::from_f32(c.rescale_grad));
        let (b1, b2, eps, t, one) = (T::from_f32(self.beta1), T::from_f32(self.beta2), T::from_f64(self.epsilon), T::from_f64(self.t as f64), T::from_f32(1.0));
        let g = rescale * g + wd * w;
        let g = if c.clips() { clip(g, T::from_f32(c.clip_gradient)) } else { g };
        let v = b2 * s[1] + (one - b2) * (g * g);
        let d_t = (one - b1.powf(t)) / lr * ((v / (one - b2.powf(t))).sqrt() + eps);
        let z = b1 * s[2] + (one - b1) * g - (d_t - b1 * s[0]) * w;
        s[0] = d_t;
        s[1] = v;
        s[2] = z;
        -z / d_t
    }
}

/// The rule's CUDA kernels.
pub(crate) fn cuda_kernels(out: &mut Vec<crate::cuda_sources::Listed>) {
    cuda_kernels_of::<Ftml>("ftml_update", "ftml", false, out);
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "ftml_update",
    aliases: &[],
    doc: "FTML step: ĝ = clip(rescale_grad·grad + wd·weight, clip_grad), v ← β₂·v + (1 - β₂)·ĝ², \
          d_t = (1 - β₁ᵗ)/lr·(√(v/(1 - β₂ᵗ)) + ε), z ← β₁·z + (1 - β₁)·ĝ - (d_t - β₁·d)·weight, d ← d_t, weight ← -z/d_t. \
          Updates d, v and z in place; returns the new weight.",
    inputs: Arity::Fixed(&["weight", "grad", "d", "v", "z"]),
    params: &[
        param("lr", "float", "", "learning rate"),
        param("beta1", "float", "0.6", "the decay rate of z, in [0, 1]"),
        param("beta2", "float", "0.999", "the decay rate of v, in [0, 1]"),
        param("epsilon", "double", "1e-08", "added to the square root"),
        param("t", "int", "", "the update count (from 1)"),
        param("wd", "float", "0", "weight decay: adds wd·weight to the gradient before clipping"),
        param("rescale_grad", "float", "1", "the gradient is first multiplied by this"),
        param("clip_grad", "float", "-1", "clip the decayed, rescaled gradient; off when negative (0 clips to 0)"),
    ],
    create: create::<Ftml, false>,
}];
