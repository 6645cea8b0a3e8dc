//! The samplers beyond `_random_uniform`/`_random_normal` (`random.rs`): `_random_X` with scalar
//! parameters and a `shape`; `_random_X_like`, the shape and dtype of an input; and `_sample_X`,
//! whose parameters are arrays: for each parameter set, `shape` draws, so the output's shape is
//! the parameters' shape followed by `shape`. `_sample_multinomial` draws category indices
//! from rows of probabilities (and, with `get_prob`, their log-probabilities). Every one writes
//! the random stream's variable (a seed fixes the draws). Draws are not differentiated here:
//! no gradient flows to the parameters or the input.

use rmx_engine::BoxError;
use rmx_kernels::random::{self, Dist};
use rmx_kernels::{DType, Shape};

use crate::attrs::Attrs;
use crate::error::{dtype_err, param_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

enum Params {
    /// `_random_X`: the values, the output's shape.
    Scalar(f64, f64, Shape),
    /// `_random_X_like`: the values; the shape is the input's.
    Like(f64, f64),
    /// `_sample_X`: the parameters are the inputs; `shape` draws per set.
    Arrays(Shape),
    /// `_sample_multinomial`: `shape` draws per row; `get_prob` adds log-probabilities.
    Multinomial(Shape, bool),
}

struct Sample {
    name: &'static str,
    dist: Dist,
    params: Params,
    dtype: Option<DType>,
}

impl Operator for Sample {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        match &self.params {
            Params::Scalar(_, _, shape) => Ok(vec![TensorDesc { shape: shape.clone(), dtype: self.dtype.unwrap_or(DType::F32) }]),
            Params::Like(..) => Ok(vec![inputs[0].clone()]),
            Params::Arrays(shape) => {
                if let Some(d) = inputs.iter().find(|d| d.shape != inputs[0].shape) {
                    return Err(shape_err(self.name, format!("parameter arrays must share one shape, got {:?} and {:?}", inputs[0].shape.as_slice(), d.shape.as_slice())));
                }
                let out: Shape = inputs[0].shape.iter().chain(shape.iter()).copied().collect();
                Ok(vec![TensorDesc { shape: out, dtype: self.dtype.unwrap_or(DType::F32) }])
            }
            Params::Multinomial(shape, get_prob) => {
                let p = &inputs[0];
                if p.shape.is_empty() || !p.dtype.is_float() {
                    return Err(dtype_err(self.name, format!("needs float probabilities with a category axis, got {:?} {}", p.shape.as_slice(), p.dtype)));
                }
                if p.shape.last() == Some(&0) {
                    return Err(shape_err(self.name, format!("needs at least one category, got shape {:?}", p.shape.as_slice())));
                }
                let mut out: Shape = p.shape[..p.shape.len() - 1].iter().chain(shape.iter()).copied().collect();
                if out.is_empty() {
                    out.push(1);
                }
                let mut descs = vec![TensorDesc { shape: out.clone(), dtype: self.dtype.unwrap_or(DType::I32) }];
                if *get_prob {
                    descs.push(TensorDesc { shape: out, dtype: p.dtype });
                }
                Ok(descs)
            }
        }
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (a, b) = match &self.params {
            Params::Scalar(a, b, _) | Params::Like(a, b) => (vec![*a], vec![*b]),
            Params::Arrays(_) => (random::values(&inputs[0])?, inputs.get(1).map(random::values).transpose()?.unwrap_or_default()),
            Params::Multinomial(..) => {
                let mut rng = crate::rng::lock();
                let (y, rest) = outputs.split_at_mut(1);
                random::multinomial(&mut rng, &inputs[0], &mut y[0], rest.first_mut())?;
                return Ok(());
            }
        };
        random::sample(&mut crate::rng::lock(), self.dist, &a, &b, &mut outputs[0])?;
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        match self.params {
            Params::Multinomial(_, true) => 2,
            _ => 1,
        }
    }

    fn uses_rng(&self) -> bool {
        true
    }

    fn gradient(&self, _g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        // MXNet differentiates the log-probabilities (REINFORCE); rather than zeros, say so.
        if let Params::Multinomial(_, true) = self.params {
            return Err(GraphError::Invalid(format!("{}: the gradient through get_prob's log-probabilities is not implemented in rmx", args.op)));
        }
        Ok(vec![None; args.inputs.len()])
    }
}

/// The distribution and its two parameters' names, by the operator's base name.
fn dist_of(base: &str) -> Option<(Dist, &'static str, &'static str, f64, f64)> {
    Some(match base {
        "uniform" => (Dist::Uniform, "low", "high", 0.0, 1.0),
        "normal" => (Dist::Normal, "loc", "scale", 0.0, 1.0),
        "gamma" => (Dist::Gamma, "alpha", "beta", 1.0, 1.0),
        "exponential" => (Dist::Exponential, "lam", "", 1.0, 0.0),
        "poisson" => (Dist::Poisson, "lam", "", 1.0, 0.0),
        "negative_binomial" => (Dist::NegativeBinomial, "k", "p", 1.0, 1.0),
        "generalized_negative_binomial" => (Dist::GeneralizedNegativeBinomial, "mu", "alpha", 1.0, 1.0),
        _ => return None,
    })
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let shape = || -> Result<Shape> { Ok(attrs.ints(name, "shape")?.unwrap_or_default().iter().map(|&d| d.max(0) as usize).collect()) };
    let dtype = match attrs.get("dtype") {
        None | Some("None") => None,
        Some(_) => Some(attrs.dtype(name, "dtype", DType::F32)?),
    };
    if name == "_sample_multinomial" {
        return Ok(Box::new(Sample { name, dist: Dist::Uniform, params: Params::Multinomial(shape()?, attrs.bool(name, "get_prob", false)?), dtype }));
    }
    let (base, like) = match name.strip_prefix("_sample_") {
        Some(base) => (base, None),
        None => {
            let rest = name.trim_start_matches("_random_");
            match rest.strip_suffix("_like") {
                Some(base) => (base, Some(true)),
                None => (rest, Some(false)),
            }
        }
    };
    let (dist, pa, pb, da, db) = dist_of(base).ok_or_else(|| param_err(name, "name", "not a sampler"))?;
    let value = |key: &str, default: f64| if key.is_empty() { Ok(0.0) } else { attrs.f64(name, key, default) };
    let params = match like {
        None => Params::Arrays(shape()?),
        Some(true) => Params::Like(value(pa, da)?, value(pb, db)?),
        Some(false) => Params::Scalar(value(pa, da)?, value(pb, db)?, shape()?),
    };
    Ok(Box::new(Sample { name, dist, params, dtype }))
}

const SHAPED: &[ParamDoc] = &[param("shape", "Shape", "()", "the output's shape"), param("dtype", "dtype", "None", "the output's dtype (float32 when None)")];

macro_rules! sampler_defs {
    ($($base:literal, [$($p:literal),*], $doc:literal;)*) => {
        pub static DEFS: &[OpDef] = &[$(
            OpDef {
                name: concat!("_random_", $base), aliases: &[concat!("random_", $base)], doc: $doc, inputs: Arity::Fixed(&[]),
                params: &[$(param($p, "float", "", "a parameter of the distribution"),)* param("shape", "Shape", "()", "the output's shape"), param("dtype", "dtype", "None", "the output's dtype (float32 when None)")],
                create,
            },
            OpDef {
                name: concat!("_random_", $base, "_like"), aliases: &[], doc: concat!($doc, " In the input's shape and dtype."), inputs: Arity::Fixed(&["data"]),
                params: &[$(param($p, "float", "", "a parameter of the distribution"),)*],
                create,
            },
            OpDef {
                name: concat!("_sample_", $base), aliases: &[concat!("sample_", $base)], doc: concat!($doc, " With one parameter set per element of the parameter arrays."),
                inputs: Arity::Fixed(&[$($p),*]), params: SHAPED, create,
            },
        )*
            OpDef {
                name: "_sample_multinomial", aliases: &["sample_multinomial"], doc: "Category indices drawn from rows of probabilities (the last axis).",
                inputs: Arity::Fixed(&["data"]),
                params: &[param("shape", "Shape", "()", "draws per row"), param("get_prob", "boolean", "False", "also return each draw's log-probability"), param("dtype", "dtype", "int32", "the indices' dtype")],
                create,
            },
        ];
    };
}

sampler_defs! {
    "gamma", ["alpha", "beta"], "Samples from a gamma distribution of shape alpha and scale beta.";
    "exponential", ["lam"], "Samples from an exponential distribution of rate lam.";
    "poisson", ["lam"], "Samples from a Poisson distribution of rate lam.";
    "negative_binomial", ["k", "p"], "Samples failures before k successes of probability p.";
    "generalized_negative_binomial", ["mu", "alpha"], "Samples from a negative binomial of mean mu and dispersion alpha.";
}

/// The array-parameter and like forms of the two distributions `random.rs` draws with scalars.
pub static BASIC_DEFS: &[OpDef] = &[
    OpDef { name: "_random_uniform_like", aliases: &[], doc: "Uniform samples in the input's shape and dtype.", inputs: Arity::Fixed(&["data"]), params: &[param("low", "float", "0", "lower bound"), param("high", "float", "1", "upper bound")], create },
    OpDef { name: "_random_normal_like", aliases: &[], doc: "Normal samples in the input's shape and dtype.", inputs: Arity::Fixed(&["data"]), params: &[param("loc", "float", "0", "mean"), param("scale", "float", "1", "standard deviation")], create },
    OpDef { name: "_sample_uniform", aliases: &["sample_uniform"], doc: "Uniform samples, one parameter set per element.", inputs: Arity::Fixed(&["low", "high"]), params: SHAPED, create },
    OpDef { name: "_sample_normal", aliases: &["sample_normal"], doc: "Normal samples, one parameter set per element.", inputs: Arity::Fixed(&["mu", "sigma"]), params: SHAPED, create },
];
