//! Random operators drawing from the process's stream (`crate::rng`): `_random_uniform`
//! (`low`, `high`), `_random_normal` (`loc`, `scale`), `_random_randint` (`low`, `high`, ints)
//! and `_shuffle` (rows of the input permuted). Each writes the stream's variable, so a seed
//! fixes every draw whatever the thread timing. Draws have no inputs, so nothing to differentiate;
//! `_shuffle`'s permutation is not recorded, so it has no gradient (an error, not zeros).

use rmx_engine::BoxError;
use rmx_kernels::{random, DType, Shape};

use crate::attrs::Attrs;
use crate::error::{param_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

enum Dist {
    Uniform(f64, f64),
    Normal(f64, f64),
    RandInt(i64, i64),
    Shuffle,
}

struct Random {
    dist: Dist,
    shape: Shape,
    dtype: DType,
}

impl Operator for Random {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if let Dist::Shuffle = self.dist {
            return Ok(vec![inputs[0].clone()]);
        }
        Ok(vec![TensorDesc { shape: self.shape.clone(), dtype: self.dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let mut rng = crate::rng::lock();
        let out = &mut outputs[0];
        match self.dist {
            Dist::Uniform(lo, hi) => random::uniform(&mut rng, lo, hi, out)?,
            Dist::Normal(loc, scale) => random::normal(&mut rng, loc, scale, out)?,
            Dist::RandInt(lo, hi) => random::randint(&mut rng, lo, hi, out)?,
            Dist::Shuffle => random::shuffle(&mut rng, &inputs[0], out)?,
        }
        Ok(())
    }

    fn uses_rng(&self) -> bool {
        true
    }

    fn gradient(&self, _g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if let Dist::Shuffle = self.dist {
            return Err(GraphError::Invalid(format!("operator {} has no gradient (its permutation is not kept)", args.op)));
        }
        Ok(Vec::new())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let dims = attrs.ints(name, "shape")?.unwrap_or_default();
    let shape: Shape = dims.iter().map(|&d| d.max(0) as usize).collect();
    let dist = match name {
        "_random_uniform" => Dist::Uniform(attrs.f64(name, "low", 0.0)?, attrs.f64(name, "high", 1.0)?),
        "_random_normal" => Dist::Normal(attrs.f64(name, "loc", 0.0)?, attrs.f64(name, "scale", 1.0)?),
        "_random_randint" => {
            let (lo, hi) = (attrs.opt_int(name, "low")?.ok_or_else(|| param_err(name, "low", "required"))?, attrs.opt_int(name, "high")?.ok_or_else(|| param_err(name, "high", "required"))?);
            if lo >= hi {
                return Err(param_err(name, "high", format!("must be greater than low ({lo}), got {hi}")));
            }
            Dist::RandInt(lo, hi)
        }
        _ => Dist::Shuffle,
    };
    let default = if matches!(dist, Dist::RandInt(..)) { DType::I32 } else { DType::F32 };
    Ok(Box::new(Random { dist, shape, dtype: attrs.dtype(name, "dtype", default)? }))
}

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "_random_uniform",
        aliases: &["uniform", "random_uniform"],
        doc: "Samples uniformly from [low, high).",
        inputs: Arity::Fixed(&[]),
        params: &[param("low", "float", "0", "lower bound"), param("high", "float", "1", "upper bound, excluded"), param("shape", "Shape", "()", "the shape"), param("dtype", "dtype", "float32", "the dtype")],
        create,
    },
    OpDef {
        name: "_random_normal",
        aliases: &["normal", "random_normal"],
        doc: "Samples from a normal distribution.",
        inputs: Arity::Fixed(&[]),
        params: &[param("loc", "float", "0", "mean"), param("scale", "float", "1", "standard deviation"), param("shape", "Shape", "()", "the shape"), param("dtype", "dtype", "float32", "the dtype")],
        create,
    },
    OpDef {
        name: "_random_randint",
        aliases: &["random_randint"],
        doc: "Samples integers uniformly from [low, high).",
        inputs: Arity::Fixed(&[]),
        params: &[param("low", "int", "", "lower bound"), param("high", "int", "", "upper bound, excluded"), param("shape", "Shape", "()", "the shape"), param("dtype", "dtype", "int32", "the dtype")],
        create,
    },
    OpDef {
        name: "_shuffle",
        aliases: &["shuffle"],
        doc: "The rows (first axis) of the input in random order.",
        inputs: Arity::Fixed(&["data"]),
        params: &[],
        create,
    },
];
