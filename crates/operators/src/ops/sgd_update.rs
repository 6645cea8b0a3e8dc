//! SGD updates as MXNet 1.9.1 computes them (see `update_rule` for what all updates share), with
//! `ĝ = clip(rescale_grad·g, clip_gradient)` when clipping, and the literal order of operations:
//! - `sgd_update`: `w ← (1 - lr·wd)·w - lr·ĝ`; without clipping `(1 - lr·wd)·w - (lr·rescale_grad)·g`.
//! - `sgd_mom_update`: `mom ← momentum·mom - lr·wd·w - lr·ĝ` (without clipping the last term is
//!   `(lr·rescale_grad)·g`), then `w ← w + mom`.
//! - `nag_mom_update`: with `ĝ = rescale_grad·g` unless clipped, `m₁ = momentum·mom`,
//!   `w ← w - m₁ + (momentum + 1)·(m₁ - lr·(ĝ + wd·w))`, `mom ← m₁ - lr·(ĝ + wd·w)`.
//!   MXNet reads `w` for the momentum after writing the output, so with `out=weight` (how its
//!   optimizer calls it) the momentum's `wd·w` uses the *new* weight, and with another `out` the
//!   old one; rmx does the same (the kernel sees `out=weight` as one buffer).
//! - `mp_sgd_update`, `mp_sgd_mom_update`, `mp_nag_mom_update`: the same on the float32 master
//!   weight `weight32`; `mp_nag_mom_update`'s momentum always takes `wd·w` of the new weight.

use rmx_kernels::update::UpdateFn;

use super::float::Float;
use super::update_rule::{clip, create, cuda_kernels as cuda_kernels_of, Common, PerWeight, Rule};
use crate::attrs::Attrs;
use crate::error::Result;
use crate::operator::{param, Arity, OpDef, ParamDoc};

pub(super) struct Sgd(Common);

impl Rule for Sgd {
    fn parse(op: &'static str, attrs: &Attrs) -> Result<Self> {
        Ok(Sgd(Common::parse(op, attrs, "clip_gradient")?))
    }
}

impl UpdateFn for Sgd {
    const STATES: usize = 0;
    const CUDA: &'static str = "if (clip_gradient >= 0) return (1 - lr * wd) * w - lr * rmx_clip(rescale_grad * g, clip_gradient);\
                               return (1 - lr * wd) * w - (lr * rescale_grad) * g;";
    const CUDA_PARAMS: &'static [&'static str] = &["lr", "wd", "rescale_grad", "clip_gradient"];

    fn cuda_params(&self) -> Vec<f64> {
        self.0.cuda_values()
    }

    #[inline(always)]
    fn step<T: Float>(&self, w: T, g: T, _: &mut [T], _: bool) -> T {
        let c = &self.0;
        let (lr, wd, rescale) = (T::from_f32(c.lr), T::from_f32(c.wd), T::from_f32(c.rescale_grad));
        let one = T::from_f32(1.0);
        if c.clips() {
            (one - lr * wd) * w - lr * clip(rescale * g, T::from_f32(c.clip_gradient))
        } else {
            (one - lr * wd) * w - (lr * rescale) * g
        }
    }
}

/// Momentum SGD; states `[mom]`.
#[derive(Clone)]
pub(super) struct SgdMom {
    c: Common,
    momentum: f32,
}

impl PerWeight for SgdMom {
    fn with_rate(&self, lr: f32, wd: f32) -> Self {
        SgdMom { c: Common { lr, wd, ..self.c }, momentum: self.momentum }
    }
}

impl SgdMom {
    fn parse_with_momentum(op: &'static str, attrs: &Attrs) -> Result<(Common, f32)> {
        Ok((Common::parse(op, attrs, "clip_gradient")?, super::update_rule::float(op, attrs, "momentum", 0.0)?))
    }
}

impl Rule for SgdMom {
    fn parse(op: &'static str, attrs: &Attrs) -> Result<Self> {
        let (c, momentum) = Self::parse_with_momentum(op, attrs)?;
        Ok(SgdMom { c, momentum })
    }
}

impl UpdateFn for SgdMom {
    const STATES: usize = 1;
    const CUDA: &'static str = "C mom = clip_gradient >= 0 ? momentum * s[0] - lr * wd * w - lr * rmx_clip(rescale_grad * g, clip_gradient)\
                                                  : momentum * s[0] - lr * wd * w - lr * rescale_grad * g;\
                               s[0] = mom; return w + mom;";
    const CUDA_PARAMS: &'static [&'static str] = &["lr", "wd", "rescale_grad", "clip_gradient", "momentum"];

    fn cuda_params(&self) -> Vec<f64> {
        [self.c.cuda_values(), vec![self.momentum as f64]].concat()
    }

    #[inline(always)]
    fn step<T: Float>(&self, w: T, g: T, s: &mut [T], _: bool) -> T {
        let c = &self.c;
        let (lr, wd, rescale, m) = (T::from_f32(c.lr), T::from_f32(c.wd), T::from_f32(c.rescale_grad), T::from_f32(self.momentum));
        let mom = if c.clips() {
            m * s[0] - lr * wd * w - lr * clip(rescale * g, T::from_f32(c.clip_gradient))
        } else {
            m * s[0] - lr * wd * w - lr * rescale * g
        };
        s[0] = mom;
        w + mom
    }
}

/// Nesterov momentum; states `[mom]`.
struct NagMom {
    c: Common,
    momentum: f32,
}

impl Rule for NagMom {
    fn parse(op: &'static str, attrs: &Attrs) -> Result<Self> {
        let (c, momentum) = SgdMom::parse_with_momentum(op, attrs)?;
        Ok(NagMom { c, momentum })
    }
}

impl UpdateFn for NagMom {
    const STATES: usize = 1;
    const CUDA: &'static str = "C gc = clip_gradient >= 0 ? rmx_clip(rescale_grad * g, clip_gradient) : rescale_grad * g;\
                               C m1 = momentum * s[0];\
                               C nw = w - m1 + (momentum + 1) * (m1 - lr * (gc + wd * w));\
                               C wr = inplace ? nw : w;\
                               s[0] = m1 - lr * (gc + wd * wr); return nw;";
    const CUDA_PARAMS: &'static [&'static str] = &["lr", "wd", "rescale_grad", "clip_gradient", "momentum"];

    fn cuda_params(&self) -> Vec<f64> {
        [self.c.cuda_values(), vec![self.momentum as f64]].concat()
    }

    #[inline(always)]
    fn step<T: Float>(&self, w: T, g: T, s: &mut [T], inplace: bool) -> T {
        let c = &self.c;
        let (lr, wd, rescale, m) = (T::from_f32(c.lr), T::from_f32(c.wd), T::from_f32(c.rescale_grad), T::from_f32(self.momentum));
        let g = if c.clips() { clip(rescale * g, T::from_f32(c.clip_gradient)) } else { rescale * g };
        let m1 = m * s[0];
        let new_w = w - m1 + (m + T::from_f32(1.0)) * (m1 - lr * (g + wd * w));
        let w_read = if inplace { new_w } else { w };
        s[0] = m1 - lr * (g + wd * w_read);
        new_w
    }
}

/// The CUDA kernels of the three rules (each with its `mp_*` form).
pub(crate) fn cuda_kernels(out: &mut Vec<crate::cuda_sources::Listed>) {
    cuda_kernels_of::<Sgd>("sgd_update", "sgd", true, out);
    cuda_kernels_of::<SgdMom>("sgd_mom_update", "sgd_mom", true, out);
    cuda_kernels_of::<NagMom>("nag_mom_update", "nag_mom", true, out);
}

const LR: ParamDoc = param("lr", "float", "", "learning rate");
const MOMENTUM: ParamDoc = param("momentum", "float", "0", "the decay rate of the momentum");
const WD: ParamDoc = param("wd", "float", "0", "weight decay: adds wd·weight to the gradient");
const RESCALE: ParamDoc = param("rescale_grad", "float", "1", "the gradient is first multiplied by this");
const CLIP: ParamDoc =
    param("clip_gradient", "float", "-1", "clip the rescaled gradient to [-clip_gradient, clip_gradient]; off when negative (0 clips to 0)");
const LAZY: ParamDoc = param("lazy_update", "boolean", "True", "lazy update for row-sparse gradients; dense updates ignore it");

const SGD_PARAMS: &[ParamDoc] = &[LR, WD, RESCALE, CLIP, LAZY];
const MOM_PARAMS: &[ParamDoc] = &[LR, MOMENTUM, WD, RESCALE, CLIP, LAZY];
const NAG_PARAMS: &[ParamDoc] = &[LR, MOMENTUM, WD, RESCALE, CLIP];

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "sgd_update",
        aliases: &[],
        doc: "SGD step: weight ← (1 - lr·wd)·weight - lr·clip(rescale_grad·grad). Returns the new weight (call with out=weight).",
        inputs: Arity::Fixed(&["weight", "grad"]),
        params: SGD_PARAMS,
        create: create::<Sgd, false>,
    },
    OpDef {
        name: "sgd_mom_update",
        aliases: &[],
        doc: "Momentum SGD step: mom ← momentum·mom - lr·wd·weight - lr·clip(rescale_grad·grad), weight ← weight + mom. \
              Updates mom in place; returns the new weight (call with out=weight).",
        inputs: Arity::Fixed(&["weight", "grad", "mom"]),
        params: MOM_PARAMS,
        create: create::<SgdMom, false>,
    },
    OpDef {
        name: "mp_sgd_update",
        aliases: &[],
        doc: "sgd_update on the float32 master weight weight32 (updated in place) of float16 weights; returns the new weight \
              in the weight's dtype.",
        inputs: Arity::Fixed(&["weight", "grad", "weight32"]),
        params: SGD_PARAMS,
        create: create::<Sgd, true>,
    },
    OpDef {
        name: "mp_sgd_mom_update",
        aliases: &[],
        doc: "sgd_mom_update on the float32 master weight weight32 with a float32 mom (both updated in place); returns the \
              new weight in the weight's dtype.",
        inputs: Arity::Fixed(&["weight", "grad", "mom", "weight32"]),
        params: MOM_PARAMS,
        create: create::<SgdMom, true>,
    },
    OpDef {
        name: "nag_mom_update",
        aliases: &[],
        doc: "Nesterov momentum step: m₁ = momentum·mom, weight ← weight - m₁ + (momentum + 1)·(m₁ - lr·(ĝ + wd·weight)), \
              mom ← m₁ - lr·(ĝ + wd·weight), ĝ = clip(rescale_grad·grad). With out=weight the momentum's weight is the new \
              one, as in MXNet.",
        inputs: Arity::Fixed(&["weight", "grad", "mom"]),
        params: NAG_PARAMS,
        create: create::<NagMom, false>,
    },
    OpDef {
        name: "mp_nag_mom_update",
        aliases: &[],
        doc: "nag_mom_update on the float32 master weight weight32 with a float32 mom (both updated in place; the momentum's \
              weight decay reads the new master weight); returns the new weight in the weight's dtype.",
        inputs: Arity::Fixed(&["weight", "grad", "mom", "weight32"]),
        params: NAG_PARAMS,
        create: create::<NagMom, true>,
    },
];
