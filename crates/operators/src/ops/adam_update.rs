//! `adam_update` as MXNet 1.9.1 computes it (see `update_rule` for what all updates share): with
//! `ĝ = rescale_grad·g + wd·w`, clipped to `[-clip_gradient, clip_gradient]` when clipping (weight
//! decay is inside the clip, unlike SGD's),
//! `mean ← β₁·mean + (1 - β₁)·ĝ`, `var ← β₂·var + (1 - β₂)·ĝ·ĝ`,
//! `w ← w - lr·mean / (√var + ε)`. No bias correction: MXNet's optimizer folds it into `lr`.
//! States `[mean, var]`.

use rmx_kernels::update::UpdateFn;

use super::float::Float;
use super::update_rule::{clip, create, cuda_kernels as cuda_kernels_of, float, Common, Rule};
use crate::attrs::Attrs;
use crate::error::Result;
use crate::operator::{param, Arity, OpDef};

struct Adam {
    c: Common,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
}

impl Rule for Adam {
    fn parse(op: &'static str, attrs: &Attrs) -> Result<Self> {
        Ok(Adam {
            c: Common::parse(op, attrs, "clip_gradient")?,
            beta1: float(op, attrs, "beta1", 0.9)?,
            beta2: float(op, attrs, "beta2", 0.999)?,
            epsilon: float(op, attrs, "epsilon", 1e-8)?,
        })
    }
}

impl UpdateFn for Adam {
    const STATES: usize = 2;
    const CUDA: &'static str = "C gc = g * rescale_grad + w * wd;\
                               if (clip_gradient >= 0) gc = rmx_clip(gc, clip_gradient);\
                               C mean = beta1 * s[0] + (1 - beta1) * gc;\
                               C var = beta2 * s[1] + (1 - beta2) * gc * gc;\
                               s[0] = mean; s[1] = var;\
                               return w - lr * mean / (sqrt(var) + epsilon);";
    const CUDA_PARAMS: &'static [&'static str] = &["lr", "wd", "rescale_grad", "clip_gradient", "beta1", "beta2", "epsilon"];

    fn cuda_params(&self) -> Vec<f64> {
        [self.c.cuda_values(), vec![self.beta1 as f64, self.beta2 as f64, self.epsilon as f64]].concat()
    }

    #[inline(always)]
    fn step<T: Float>(&self, w: T, g: T, s: &mut [T], _: bool) -> T {
        let c = &self.c;
        let (lr, wd, rescale) = (T::from_f32(c.lr), T::from_f32(c.wd), T::from_f32(c.rescale_grad));
        let (b1, b2, eps, one) = (T::from_f32(self.beta1), T::from_f32(self.beta2), T::from_f32(self.epsilon), T::from_f32(1.0));
        let mut g = g * rescale + w * wd;
        if c.clips() {
            g = clip(g, T::from_f32(c.clip_gradient));
        }
        let mean = b1 * s[0] + (one - b1) * g;
        let var = b2 * s[1] + (one - b2) * g * g;
        s[0] = mean;
        s[1] = var;
        w - lr * mean / (var.sqrt() + eps)
    }
}

/// The rule's CUDA kernels.
pub(crate) fn cuda_kernels(out: &mut Vec<crate::cuda_sources::Listed>) {
    cuda_kernels_of::<Adam>("adam_update", "adam", false, out);
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "adam_update",
    aliases: &[],
    doc: "Adam step without bias correction: ĝ = clip(rescale_grad·grad + wd·weight), mean ← β₁·mean + (1 - β₁)·ĝ, \
          var ← β₂·var + (1 - β₂)·ĝ², weight ← weight - lr·mean / (√var + ε). Updates mean and var in place; returns the \
          new weight (call with out=weight).",
    inputs: Arity::Fixed(&["weight", "grad", "mean", "var"]),
    params: &[
        param("lr", "float", "", "learning rate"),
        param("beta1", "float", "0.9", "the decay rate of the first moment"),
        param("beta2", "float", "0.999", "the decay rate of the second moment"),
        param("epsilon", "float", "1e-08", "added to √var"),
        param("wd", "float", "0", "weight decay: adds wd·weight to the gradient before clipping"),
        param("rescale_grad", "float", "1", "the gradient is first multiplied by this"),
        param("clip_gradient", "float", "-1", "clip the decayed, rescaled gradient; off when negative (0 clips to 0)"),
        param("lazy_update", "boolean", "True", "lazy update for row-sparse gradients; dense updates ignore it"),
    ],
    create: create::<Adam, false>,
}];
