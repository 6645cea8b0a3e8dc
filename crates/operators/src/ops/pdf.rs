//! `_random_pdf_X` (`random_pdf_X`): densities (or with `is_log`, log densities) of samples
//! under per-set parameters: the parameters share a shape `P`, the sample's shape is `P`
//! followed by any shape `S` (each set's samples), and so is the output. The Dirichlet density's
//! parameter `alpha` is `P + (k,)` and its samples `P + S + (k,)`. Gradients flow to the sample
//! (zero for the discrete densities) and to every parameter, summed over its samples
//! (`_backward_pdf_X`: `[out_grad, sample, params...]`). Gamma's `beta` is a rate, as MXNet's.

use rmx_engine::BoxError;
use rmx_kernels::pdf::{self, Density, Layout};
use rmx_kernels::Shape;

use crate::attrs::Attrs;
use crate::error::{dtype_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Pdf {
    name: &'static str,
    density: Density,
    backward: bool,
    is_log: bool,
}

impl Pdf {
    /// The geometry and the output's shape, from the sample's and the parameters' shapes.
    fn layout(&self, sample: &[usize], params: &[&TensorDesc]) -> Result<(Layout, Shape)> {
        let p = &params[0].shape;
        if let Some(bad) = params.iter().find(|d| d.shape != *p) {
            return Err(shape_err(self.name, format!("parameters must share one shape, got {:?} and {:?}", p.as_slice(), bad.shape.as_slice())));
        }
        let (lead, k) = if self.density == Density::Dirichlet {
            let k = *p.last().ok_or_else(|| shape_err(self.name, "alpha needs a component axis"))?;
            if sample.last() != Some(&k) {
                return Err(shape_err(self.name, format!("samples must end with alpha's {k} components, got shape {sample:?}")));
            }
            (&p[..p.len() - 1], k)
        } else {
            (&p[..], 1)
        };
        let body = &sample[..sample.len() - usize::from(self.density == Density::Dirichlet)];
        if body.len() < lead.len() || &body[..lead.len()] != lead {
            return Err(shape_err(self.name, format!("the sample's shape {sample:?} must start with the parameters' {lead:?}")));
        }
        let sets: usize = lead.iter().product();
        let per: usize = body[lead.len()..].iter().product();
        Ok((Layout { sets, per, k }, Shape::from_slice(body)))
    }
}

impl Operator for Pdf {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let params = match self.density {
            Density::Exponential | Density::Poisson | Density::Dirichlet => 1,
            _ => 2,
        };
        if inputs.len() != params + 1 + usize::from(self.backward) {
            return Err(shape_err(self.name, format!("takes {} inputs, got {}", params + 1 + usize::from(self.backward), inputs.len())));
        }
        let ins = if self.backward { &inputs[1..] } else { inputs };
        if let Some(bad) = ins.iter().find(|d| !d.dtype.is_float() || d.dtype != ins[0].dtype) {
            return Err(dtype_err(self.name, format!("needs float inputs of one dtype, got {}", bad.dtype)));
        }
        let params: Vec<&TensorDesc> = ins[1..].iter().collect();
        let (_, out) = self.layout(&ins[0].shape, &params)?;
        if self.backward {
            if inputs[0].shape != out {
                return Err(shape_err(self.name, format!("out_grad must be the densities' shape {:?}, got {:?}", out.as_slice(), inputs[0].shape.as_slice())));
            }
            return Ok(ins.to_vec());
        }
        Ok(vec![TensorDesc { shape: out, dtype: ins[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let ins = if self.backward { &inputs[1..] } else { inputs };
        let descs: Vec<TensorDesc> = ins[1..].iter().map(|t| TensorDesc { shape: t.shape.clone(), dtype: t.dtype }).collect();
        let (layout, _) = self.layout(&ins[0].shape, &descs.iter().collect::<Vec<_>>())?;
        let params: Vec<&Tensor> = ins[1..].iter().collect();
        if self.backward {
            let (ds, dp) = outputs.split_at_mut(1);
            pdf::backward(self.density, layout, &inputs[0], &ins[0], &params, self.is_log, &mut ds[0], dp)?;
        } else {
            pdf::forward(self.density, layout, &ins[0], &params, self.is_log, &mut outputs[0])?;
        }
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        if !self.backward {
            return 1;
        }
        match self.density {
            Density::Exponential | Density::Poisson | Density::Dirichlet => 2,
            _ => 3,
        }
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        let name = format!("_backward_pdf_{}", self.name.trim_start_matches("_random_pdf_"));
        let ins: Vec<Value> = [args.out_grads[0]].into_iter().chain(args.inputs.iter().copied()).collect();
        Ok(g.op(&name, args.attrs, &ins)?.into_iter().map(Some).collect())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let base = name.trim_start_matches("_random_pdf_").trim_start_matches("_backward_pdf_");
    let density = match base {
        "uniform" => Density::Uniform,
        "normal" => Density::Normal,
        "gamma" => Density::Gamma,
        "exponential" => Density::Exponential,
        "poisson" => Density::Poisson,
        "negative_binomial" => Density::NegativeBinomial,
        "generalized_negative_binomial" => Density::GeneralizedNegativeBinomial,
        _ => Density::Dirichlet,
    };
    Ok(Box::new(Pdf { name, density, backward: name.starts_with("_backward"), is_log: attrs.bool(name, "is_log", false)? }))
}

const PARAMS: &[crate::operator::ParamDoc] = &[param("is_log", "boolean", "False", "the log density instead of the density")];

macro_rules! pdf_defs {
    ($($base:literal, [$($p:literal),*], $doc:literal;)*) => {
        pub static DEFS: &[OpDef] = &[$(
            OpDef { name: concat!("_random_pdf_", $base), aliases: &[concat!("random_pdf_", $base)], doc: $doc, inputs: Arity::Fixed(&["sample", $($p),*]), params: PARAMS, create },
            OpDef { name: concat!("_backward_pdf_", $base), aliases: &[], doc: concat!("Gradient of _random_pdf_", $base, ": [out_grad, sample, params...] to each one's gradient."), inputs: Arity::Variadic("grad"), params: PARAMS, create },
        )*];
    };
}

pdf_defs! {
    "uniform", ["low", "high"], "Density of samples of uniform distributions on [low, high].";
    "normal", ["mu", "sigma"], "Density of samples of normal distributions.";
    "gamma", ["alpha", "beta"], "Density of samples of gamma distributions (shape alpha, rate beta).";
    "exponential", ["lam"], "Density of samples of exponential distributions of rate lam.";
    "poisson", ["lam"], "Probability of samples of Poisson distributions of rate lam.";
    "negative_binomial", ["k", "p"], "Probability of samples of negative binomial distributions.";
    "generalized_negative_binomial", ["mu", "alpha"], "Probability of samples of negative binomials of mean mu and dispersion alpha.";
    "dirichlet", ["alpha"], "Density of samples of Dirichlet distributions.";
}
