//! `ftrl_update` (FTRL-Proximal) as MXNet 1.9.1 computes it (see `update_rule` for what all
//! updates share): with `ĝ = clip(rescale_grad·g, clip_gradient)` (no weight decay in it),
//! `z ← z + ĝ - (√(n + ĝ²) - √n)·w / lr`, `n ← n + ĝ²`, and
//! `w ← (sign(z)·λ₁ - z) / ((β + √n) / lr + wd) · [|z| > λ₁]`. States `[z, n]`.
//! Weights whose `|z| <= λ₁` become exactly 0 (-0 where the quotient is negative, as in MXNet,
//! which multiplies by the indicator).

use rmx_kernels::update::UpdateFn;

use super::float::Float;
use super::update_rule::{clip, create, cuda_kernels as cuda_kernels_of, float, sign, Common, Rule};
use crate::attrs::Attrs;
use crate::error::Result;
use crate::operator::{param, Arity, OpDef};

struct Ftrl {
    c: Common,
    lamda1: f32,
    beta: f32,
}

impl Rule for Ftrl {
    fn parse(op: &'static str, attrs: &Attrs) -> Result<Self> {
        Ok(Ftrl { c: Common::parse(op, attrs, "clip_gradient")?, lamda1: float(op, attrs, "lamda1", 0.01)?, beta: float(op, attrs, "beta", 1.0)? })
    }
}

impl UpdateFn for Ftrl {
    const STATES: usize = 2;
    const CUDA: &'static str = "C gc = g * rescale_grad;\
                               if (clip_gradient >= 0) gc = rmx_clip(gc, clip_gradient);\
                               C z = s[0] + (gc - (sqrt(s[1] + gc * gc) - sqrt(s[1])) * w / lr);\
                               C n = s[1] + gc * gc;\
                               s[0] = z; s[1] = n;\
                               C active = (z > lamda1 || z < -lamda1) ? (C)1 : (C)0;\
                               return (rmx_sign(z) * lamda1 - z) / ((beta + sqrt(n)) / lr + wd) * active;";
    const CUDA_PARAMS: &'static [&'static str] = &["lr", "wd", "rescale_grad", "clip_gradient", "lamda1", "beta"];

    fn cuda_params(&self) -> Vec<f64> {
        [self.c.cuda_values(), vec![self.lamda1 as f64, self.beta as f64]].concat()
    }

    #[inline(always)]
    fn step<T: Float>(&self, w: T, g: T, s: &mut [T], _: bool) -> T {
        let c = &self.c;
        let (lr, wd, l1, beta) = (T::from_f32(c.lr), T::from_f32(c.wd), T::from_f32(self.lamda1), T::from_f32(self.beta));
        let mut g = g * T::from_f32(c.rescale_grad);
        if c.clips() {
            g = clip(g, T::from_f32(c.clip_gradient));
        }
        let (z, n) = (s[0], s[1]);
        let z = z + (g - ((n + g * g).sqrt() - n.sqrt()) * w / lr);
        let n = n + g * g;
        s[0] = z;
        s[1] = n;
        let active = if z > l1 || z < -l1 { T::from_f32(1.0) } else { T::ZERO };
        (sign(z) * l1 - z) / ((beta + n.sqrt()) / lr + wd) * active
    }
}

/// The rule's CUDA kernels.
pub(crate) fn cuda_kernels(out: &mut Vec<crate::cuda_sources::Listed>) {
    cuda_kernels_of::<Ftrl>("ftrl_update", "ftrl", false, out);
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "ftrl_update",
    aliases: &[],
    doc: "FTRL-Proximal step: ĝ = clip(rescale_grad·grad), z ← z + ĝ - (√(n + ĝ²) - √n)·weight / lr, n ← n + ĝ², \
          weight ← (sign(z)·lamda1 - z) / ((beta + √n) / lr + wd) where |z| > lamda1, else 0. Updates z and n in place; \
          returns the new weight.",
    inputs: Arity::Fixed(&["weight", "grad", "z", "n"]),
    params: &[
        param("lr", "float", "", "learning rate"),
        param("lamda1", "float", "0.01", "the L1 regularization coefficient"),
        param("beta", "float", "1", "per-coordinate learning rate beta"),
        param("wd", "float", "0", "weight decay (L2), in the denominator"),
        param("rescale_grad", "float", "1", "the gradient is first multiplied by this"),
        param("clip_gradient", "float", "-1", "clip the rescaled gradient; off when negative (0 clips to 0)"),
    ],
    create: create::<Ftrl, false>,
}];
