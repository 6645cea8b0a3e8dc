//! MXNet's aggregated SGD updates, several weights in one call (one engine push), as its `SGD`
//! optimizer issues them for dense weights (`MXNET_OPTIMIZER_AGGREGATION_SIZE` at a time):
//! - `multi_sgd_mom_update`: inputs `weight, grad, mom` per weight; each weight element for
//!   element `sgd_mom_update` with its own `lrs[i]` and `wds[i]`;
//! - `multi_sgd_update`: inputs `weight, grad` per weight; MXNet's kernel computes
//!   `w + (0·0 - (lr·wd)·w - (lr·rescale_grad)·g)` (`- lr·clip(rescale_grad·g)` when clipping),
//!   which rounds unlike `sgd_update`'s `(1 - lr·wd)·w - ...`; rmx computes the same number as
//!   `w - ((lr·wd)·w + step)`;
//! - `multi_mp_sgd_update`, `multi_mp_sgd_mom_update`: the same with a float32 master weight
//!   `weight32` last in each group (see `update_rule`).
//!
//! The outputs are the new weights (call with `out=` the weights); the states are written in
//! place. `num_weights` groups; `lrs` and `wds` hold one value per weight.

use rmx_engine::BoxError;
use rmx_kernels::update::{self, UpdateFn};
use rmx_kernels::Shape;

use super::float::Float;
use super::sgd_update::SgdMom;
use super::update_rule::{check_dtypes, clip, cuda_kernels as cuda_kernels_of, Common, PerWeight, Rule};
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::operator::{param, Arity, OpCtx, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

/// `multi_sgd_update`'s per-element formula (no states).
#[derive(Clone)]
struct MultiSgd(Common);

impl PerWeight for MultiSgd {
    fn with_rate(&self, lr: f32, wd: f32) -> Self {
        MultiSgd(Common { lr, wd, ..self.0 })
    }
}

impl Rule for MultiSgd {
    fn parse(op: &'static str, attrs: &Attrs) -> Result<Self> {
        Ok(MultiSgd(Common::parse(op, attrs, "clip_gradient")?))
    }
}

impl UpdateFn for MultiSgd {
    const STATES: usize = 0;
    const CUDA: &'static str = "C step = clip_gradient >= 0 ? lr * rmx_clip(rescale_grad * g, clip_gradient) : (lr * rescale_grad) * g;\
                               return w - ((lr * wd) * w + step);";
    const CUDA_PARAMS: &'static [&'static str] = &["lr", "wd", "rescale_grad", "clip_gradient"];

    fn cuda_params(&self) -> Vec<f64> {
        self.0.cuda_values()
    }

    #[inline(always)]
    fn step<T: Float>(&self, w: T, g: T, _: &mut [T], _: bool) -> T {
        let c = &self.0;
        let (lr, wd, rescale) = (T::from_f32(c.lr), T::from_f32(c.wd), T::from_f32(c.rescale_grad));
        let step = if c.clips() { lr * clip(rescale * g, T::from_f32(c.clip_gradient)) } else { (lr * rescale) * g };
        w - ((lr * wd) * w + step)
    }
}

/// Several weights' updates by rule `R`, each group of inputs `weight, grad, states...`.
struct Multi<R, const MIXED: bool> {
    name: &'static str,
    rules: Vec<R>,
}

impl<R: Rule, const MIXED: bool> Multi<R, MIXED> {
    const GROUP: usize = 2 + R::STATES + MIXED as usize;

    fn input_name(i: usize) -> &'static str {
        match (i % Self::GROUP, MIXED) {
            (0, _) => "weight",
            (1, _) => "grad",
            (k, true) if k == Self::GROUP - 1 => "weight32",
            _ => "mom",
        }
    }
}

fn create<R: PerWeight, const MIXED: bool>(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let n = attrs.int(name, "num_weights", 1)?;
    if !(1..=1 << 16).contains(&n) {
        return Err(param_err(name, "num_weights", format!("must be in 1..=65536, got {n}")));
    }
    let list = |key| attrs.f32s(name, key)?.ok_or_else(|| param_err(name, key, "required"));
    let (lrs, wds) = (list("lrs")?, list("wds")?);
    for (key, v) in [("lrs", &lrs), ("wds", &wds)] {
        if v.len() != n as usize {
            return Err(param_err(name, key, format!("has {} values for num_weights={n}", v.len())));
        }
    }
    // The shared parameters parse once (this runs on every optimizer step); `lr` is required
    // by the single-weight parser and replaced per weight.
    let mut shared = attrs.clone();
    shared.set("lr", "0".to_string());
    let base = R::parse(name, &shared)?;
    let rules = lrs.iter().zip(&wds).map(|(&lr, &wd)| base.with_rate(lr, wd)).collect();
    Ok(Box::new(Multi::<R, MIXED> { name, rules }))
}

impl<R: Rule, const MIXED: bool> Operator for Multi<R, MIXED> {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let g = Self::GROUP;
        if inputs.len() != g * self.rules.len() {
            return Err(shape_err(self.name, format!("takes {g} inputs per weight for num_weights={}, got {} inputs", self.rules.len(), inputs.len())));
        }
        let mut outs = Vec::with_capacity(self.rules.len());
        for (k, group) in inputs.chunks_exact(g).enumerate() {
            let weight = &group[0];
            for (i, d) in group.iter().enumerate().skip(1) {
                if d.shape != weight.shape {
                    let what = Self::input_name(i);
                    return Err(shape_err(self.name, format!("weight {k}'s {what} has shape {:?}, the weight has shape {:?}", d.shape.as_slice(), weight.shape.as_slice())));
                }
            }
            check_dtypes(self.name, group, MIXED, Self::input_name)?;
            outs.push(weight.clone());
        }
        Ok(outs)
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        for ((rule, group), out) in self.rules.iter().zip(inputs.chunks_exact(Self::GROUP)).zip(outputs.iter_mut()) {
            let (weight, grad, states) = (&group[0], &group[1], &group[2..]);
            if MIXED {
                update::apply_mixed(rule, weight, grad, states, out)?;
            } else {
                update::apply(rule, weight, grad, states, out)?;
            }
        }
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        self.rules.len()
    }

    fn mutated_inputs(&self) -> Vec<usize> {
        (0..self.rules.len() * Self::GROUP).filter(|i| i % Self::GROUP >= 2).collect()
    }

    fn inplace_option(&self) -> Vec<(usize, usize)> {
        (0..self.rules.len()).map(|k| (k * Self::GROUP, k)).collect()
    }

    /// Each group's inputs have its weight's shape.
    fn complete_inputs(&self, known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        known
            .chunks(Self::GROUP)
            .flat_map(|group| {
                let s = group.iter().flatten().next().cloned();
                group.iter().map(move |k| k.clone().or(s.clone()))
            })
            .collect()
    }
}

/// `multi_sgd_update`'s own rule's CUDA kernels (`multi_sgd_mom_update` launches
/// `sgd_mom_update`'s, one per weight with its own hyperparameters).
pub(crate) fn cuda_kernels(out: &mut Vec<crate::cuda_sources::Listed>) {
    cuda_kernels_of::<MultiSgd>("multi_sgd_update", "multi_sgd", true, out);
}

const LRS: ParamDoc = param("lrs", "tuple of <float>", "", "the learning rate of each weight");
const WDS: ParamDoc = param("wds", "tuple of <float>", "", "the weight decay of each weight");
const MOMENTUM: ParamDoc = param("momentum", "float", "0", "the decay rate of the momentum");
const RESCALE: ParamDoc = param("rescale_grad", "float", "1", "the gradients are first multiplied by this");
const CLIP: ParamDoc = param("clip_gradient", "float", "-1", "clip the rescaled gradients to [-clip_gradient, clip_gradient]; off when negative");
const NUM: ParamDoc = param("num_weights", "int", "1", "how many weights the call updates");

const PARAMS: &[ParamDoc] = &[LRS, WDS, RESCALE, CLIP, NUM];
const MOM_PARAMS: &[ParamDoc] = &[LRS, WDS, MOMENTUM, RESCALE, CLIP, NUM];

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "multi_sgd_update",
        aliases: &[],
        doc: "SGD steps of num_weights weights in one call; inputs weight, grad for each. Returns the new weights (call with \
              out= the weights).",
        inputs: Arity::Variadic("data"),
        params: PARAMS,
        create: create::<MultiSgd, false>,
    },
    OpDef {
        name: "multi_sgd_mom_update",
        aliases: &[],
        doc: "sgd_mom_update of num_weights weights in one call, each with its lrs/wds entry; inputs weight, grad, mom for \
              each. Updates the moms in place; returns the new weights (call with out= the weights).",
        inputs: Arity::Variadic("data"),
        params: MOM_PARAMS,
        create: create::<SgdMom, false>,
    },
    OpDef {
        name: "multi_mp_sgd_update",
        aliases: &[],
        doc: "multi_sgd_update on float32 master weights; inputs weight, grad, weight32 for each (weight32 updated in \
              place). Returns the new weights in their dtype.",
        inputs: Arity::Variadic("data"),
        params: PARAMS,
        create: create::<MultiSgd, true>,
    },
    OpDef {
        name: "multi_mp_sgd_mom_update",
        aliases: &[],
        doc: "multi_sgd_mom_update on float32 master weights; inputs weight, grad, mom, weight32 for each (mom and weight32 \
              updated in place). Returns the new weights in their dtype.",
        inputs: Arity::Variadic("data"),
        params: MOM_PARAMS,
        create: create::<SgdMom, true>,
    },
];
