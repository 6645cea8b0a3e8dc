//! Sign-based updates as MXNet 1.9.1 computes them (see `update_rule` for what all updates share):
//! - `signsgd_update`: `w ← (1 - lr·wd)·w - lr·sign(g)`. MXNet's kernel ignores `rescale_grad`
//!   and `clip_gradient` (a negative `rescale_grad` does not flip the step); rmx accepts and
//!   ignores them too.
//! - `signum_update`: with `ĝ = clip(rescale_grad·g, clip_gradient)`,
//!   `mom ← momentum·mom - (1 - momentum)·wd·w - (1 - momentum)·ĝ` (without clipping the last
//!   term is `((1 - momentum)·rescale_grad)·g`), then `w ← (1 - lr·wd_lh)·w + lr·sign(mom)`.
//!
//! `sign` is -1, 0 or 1 (0 for NaN), as `(x > 0) - (x < 0)`.

use rmx_kernels::update::UpdateFn;

use super::float::Float;
use super::update_rule::{clip, create, cuda_kernels as cuda_kernels_of, float, sign, Common, Rule};
use crate::attrs::Attrs;
use crate::error::Result;
use crate::operator::{param, Arity, OpDef, ParamDoc};

struct SignSgd(Common);

impl Rule for SignSgd {
    fn parse(op: &'static str, attrs: &Attrs) -> Result<Self> {
        Ok(SignSgd(Common::parse(op, attrs, "clip_gradient")?))
    }
}

impl UpdateFn for SignSgd {
    const STATES: usize = 0;
    const CUDA: &'static str = "return (1 - lr * wd) * w - lr * rmx_sign(g);";
    const CUDA_PARAMS: &'static [&'static str] = &["lr", "wd", "rescale_grad", "clip_gradient"];

    fn cuda_params(&self) -> Vec<f64> {
        self.0.cuda_values()
    }

    #[inline(always)]
    fn step<T: Float>(&self, w: T, g: T, _: &mut [T], _: bool) -> T {
        let (lr, wd) = (T::from_f32(self.0.lr), T::from_f32(self.0.wd));
        (T::from_f32(1.0) - lr * wd) * w - lr * sign(g)
    }
}

/// Signum; states `[mom]`.
struct Signum {
    c: Common,
    momentum: f32,
    wd_lh: f32,
}

impl Rule for Signum {
    fn parse(op: &'static str, attrs: &Attrs) -> Result<Self> {
        Ok(Signum { c: Common::parse(op, attrs, "clip_gradient")?, momentum: float(op, attrs, "momentum", 0.0)?, wd_lh: float(op, attrs, "wd_lh", 0.0)? })
    }
}

impl UpdateFn for Signum {
    const STATES: usize = 1;
    const CUDA: &'static str = "C mom = clip_gradient >= 0 ? momentum * s[0] - (1 - momentum) * wd * w - (1 - momentum) * rmx_clip(rescale_grad * g, clip_gradient)\
                                                  : momentum * s[0] - (1 - momentum) * wd * w - (1 - momentum) * rescale_grad * g;\
                               s[0] = mom;\
                               return (1 - lr * wd_lh) * w + lr * rmx_sign(mom);";
    const CUDA_PARAMS: &'static [&'static str] = &["lr", "wd", "rescale_grad", "clip_gradient", "momentum", "wd_lh"];

    fn cuda_params(&self) -> Vec<f64> {
        [self.c.cuda_values(), vec![self.momentum as f64, self.wd_lh as f64]].concat()
    }

    #[inline(always)]
    fn step<T: Float>(&self, w: T, g: T, s: &mut [T], _: bool) -> T {
        let c = &self.c;
        let (lr, wd, rescale, m) = (T::from_f32(c.lr), T::from_f32(c.wd), T::from_f32(c.rescale_grad), T::from_f32(self.momentum));
        let one = T::from_f32(1.0);
        let mom = if c.clips() {
            m * s[0] - (one - m) * wd * w - (one - m) * clip(rescale * g, T::from_f32(c.clip_gradient))
        } else {
            m * s[0] - (one - m) * wd * w - (one - m) * rescale * g
        };
        s[0] = mom;
        (one - lr * T::from_f32(self.wd_lh)) * w + lr * sign(mom)
    }
}

/// Both rules' CUDA kernels.
pub(crate) fn cuda_kernels(out: &mut Vec<crate::cuda_sources::Listed>) {
    cuda_kernels_of::<SignSgd>("signsgd_update", "signsgd", false, out);
    cuda_kernels_of::<Signum>("signum_update", "signum", false, out);
}

const LR: ParamDoc = param("lr", "float", "", "learning rate");
const WD: ParamDoc = param("wd", "float", "0", "weight decay");
const RESCALE: ParamDoc = param("rescale_grad", "float", "1", "the gradient is first multiplied by this (signsgd_update ignores it)");
const CLIP: ParamDoc = param("clip_gradient", "float", "-1", "clip the rescaled gradient; off when negative (signsgd_update ignores it)");

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "signsgd_update",
        aliases: &[],
        doc: "signSGD step: weight ← (1 - lr·wd)·weight - lr·sign(grad). Returns the new weight (call with out=weight).",
        inputs: Arity::Fixed(&["weight", "grad"]),
        params: &[LR, WD, RESCALE, CLIP],
        create: create::<SignSgd, false>,
    },
    OpDef {
        name: "signum_update",
        aliases: &[],
        doc: "Signum step: mom ← momentum·mom - (1 - momentum)·(wd·weight + clip(rescale_grad·grad)), \
              weight ← (1 - lr·wd_lh)·weight + lr·sign(mom). Updates mom in place; returns the new weight.",
        inputs: Arity::Fixed(&["weight", "grad", "mom"]),
        params: &[
            LR,
            param("momentum", "float", "0", "the decay rate of the momentum"),
            WD,
            RESCALE,
            CLIP,
            param("wd_lh", "float", "0", "decoupled weight decay (Loshchilov and Hutter), applied to the weight directly"),
        ],
        create: create::<Signum, false>,
    },
];
