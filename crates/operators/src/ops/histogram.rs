//! `_histogram` (behind `mx.nd.histogram`): counts of the flattened `data` in `bin_cnt` equal
//! bins over `range`, or in the bins between consecutive values of the input `bins` (then the
//! operator's second input); each bin is half-open but the last, which holds its right edge.
//! Outputs: the counts (int64) and the edges (the data's dtype). Counts are piecewise constant:
//! no gradient flows.

use rmx_engine::BoxError;
use rmx_kernels::index::{self, Bins};
use rmx_kernels::{DType, Shape};

use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

const NAME: &str = "_histogram";

struct Histogram {
    /// `bin_cnt` and `range`; `None` when the bins are an input.
    uniform: Option<(usize, f64, f64)>,
}

impl Operator for Histogram {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let bins = match self.uniform {
            Some((count, ..)) => count,
            None => {
                let edges = &inputs[1].shape;
                if edges.len() != 1 || edges[0] < 2 {
                    return Err(shape_err(NAME, format!("bins must be a vector of 2 or more edges, got shape {:?}", edges.as_slice())));
                }
                edges[0] - 1
            }
        };
        Ok(vec![
            TensorDesc { shape: Shape::from_slice(&[bins]), dtype: DType::I64 },
            TensorDesc { shape: Shape::from_slice(&[bins + 1]), dtype: inputs[0].dtype },
        ])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let bins = match self.uniform {
            Some((count, lo, hi)) => Bins::Uniform { count, lo, hi },
            None => Bins::Edges(&inputs[1]),
        };
        let (counts, edges) = outputs.split_at_mut(1);
        index::histogram(&inputs[0], &bins, &mut counts[0], &mut edges[0])?;
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        2
    }

    fn input_names(&self) -> Option<Vec<&'static str>> {
        Some(if self.uniform.is_some() { vec!["data"] } else { vec!["data", "bins"] })
    }

    fn gradient(&self, _g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![None; args.inputs.len()])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let uniform = match attrs.opt_int(name, "bin_cnt")? {
        None => None,
        Some(n) if n < 1 => return Err(param_err(name, "bin_cnt", format!("must be at least 1, got {n}"))),
        Some(n) => {
            let range = attrs.get("range").map(parse_range).transpose()?.flatten();
            let (lo, hi) = range.ok_or_else(|| param_err(name, "range", "required with bin_cnt"))?;
            if !(lo <= hi) {
                return Err(param_err(name, "range", format!("({lo}, {hi}) must not decrease")));
            }
            Some((n as usize, lo, hi))
        }
    };
    Ok(Box::new(Histogram { uniform }))
}

/// `(lo, hi)`, `[lo, hi]` or `None`.
fn parse_range(s: &str) -> Result<Option<(f64, f64)>> {
    let inner = s.trim().trim_start_matches(['(', '[']).trim_end_matches([')', ']']);
    if inner.trim() == "None" || inner.trim().is_empty() {
        return Ok(None);
    }
    let parts: Vec<f64> = inner.split(',').map(|p| p.trim().parse::<f64>()).collect::<std::result::Result<_, _>>().map_err(|_| param_err(NAME, "range", format!("expected (lo, hi), got {s:?}")))?;
    match parts.as_slice() {
        [lo, hi] => Ok(Some((*lo, *hi))),
        _ => Err(param_err(NAME, "range", format!("expected (lo, hi), got {s:?}"))),
    }
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: NAME,
    aliases: &[],
    doc: "Counts of the flattened data per bin, and the bins' edges.",
    inputs: Arity::Fixed(&["data", "bins"]),
    params: &[param("bin_cnt", "int or None", "None", "number of equal bins over range"), param("range", "(float, float) or None", "None", "the bins' span, with bin_cnt")],
    create,
}];
