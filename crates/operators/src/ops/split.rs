//! `SliceChannel` (`split`): `num_outputs` equal parts along `axis` (default 1), each dropping
//! the axis when `squeeze_axis` and the part has size 1. `_split_v2` (behind `mx.nd.split_v2`):
//! equal `sections` along `axis` (default 0), or parts starting at each of `indices` (the first
//! 0), the last running to the end. Their backward operators write each part's gradient back
//! into its slab.

use rmx_engine::BoxError;
use rmx_kernels::copy::{self, Region};
use rmx_kernels::{contiguous_strides, Shape};

use super::axes::axis;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

enum Parts {
    Equal(usize),
    /// Where each part starts along the axis (non-decreasing, the first 0).
    Starts(Vec<usize>),
}

struct Split {
    name: &'static str,
    parts: Parts,
    axis: i64,
    squeeze: bool,
}

impl Split {
    fn count(&self) -> usize {
        match &self.parts {
            Parts::Equal(n) => *n,
            Parts::Starts(s) => s.len(),
        }
    }

    /// Each part's (start, size) along an axis of `len`.
    fn bounds(&self, shape: &[usize], a: usize) -> Result<Vec<(usize, usize)>> {
        let len = shape[a];
        match &self.parts {
            Parts::Equal(n) => {
                if len % n != 0 {
                    return Err(shape_err(self.name, format!("axis {a} of shape {shape:?} does not split into {n} equal parts")));
                }
                Ok((0..*n).map(|i| (i * (len / n), len / n)).collect())
            }
            Parts::Starts(starts) => {
                if let Some(&last) = starts.last().filter(|&&s| s > len) {
                    return Err(shape_err(self.name, format!("index {last} lies past axis {a} of shape {shape:?}")));
                }
                let ends = starts.iter().skip(1).copied().chain([len]);
                Ok(starts.iter().zip(ends).map(|(&s, e)| (s, e - s)).collect())
            }
        }
    }

    /// The parts' shapes (as written, squeezed or not) and their slabs in the input.
    fn infer_parts(&self, x: &TensorDesc) -> Result<Vec<TensorDesc>> {
        let s = &x.shape;
        let a = axis(self.name, "axis", self.axis, s.len())?;
        let mut out = Vec::new();
        for (_, size) in self.bounds(s, a)? {
            let mut part: Shape = s.clone();
            part[a] = size;
            if self.squeeze {
                if size != 1 {
                    return Err(param_err(self.name, "squeeze_axis", format!("needs parts of size 1 along axis {a}, got {size}")));
                }
                part.remove(a);
                if part.is_empty() {
                    part.push(1);
                }
            }
            out.push(TensorDesc { shape: part, dtype: x.dtype });
        }
        Ok(out)
    }

    /// Runs `f` on each part's region of an array of `shape` (the unsqueezed part shape).
    fn for_each_region(&self, shape: &[usize], mut f: impl FnMut(usize, &Region) -> std::result::Result<(), BoxError>) -> std::result::Result<(), BoxError> {
        let a = axis(self.name, "axis", self.axis, shape.len())?;
        let strides = contiguous_strides(shape);
        for (i, (start, size)) in self.bounds(shape, a)?.into_iter().enumerate() {
            let mut part = shape.to_vec();
            part[a] = size;
            f(i, &Region { shape: &part, strides: &strides, offset: start as isize * strides[a] })?;
        }
        Ok(())
    }
}

impl Operator for Split {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        self.infer_parts(&inputs[0])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let x = &inputs[0];
        self.for_each_region(&x.shape, |i, region| Ok(copy::read_strided(x, region, &mut outputs[i])?))
    }

    fn num_outputs(&self) -> usize {
        self.count()
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let ins: Vec<Value> = args.out_grads.iter().copied().chain([args.inputs[0]]).collect();
        let name = if self.name == "SliceChannel" { "_backward_SliceChannel" } else { "_backward_split_v2" };
        Ok(vec![Some(g.op1(name, args.attrs, &ins)?)])
    }
}

/// The backward operators: `[out_grad0, ..., out_grad{n-1}, data]` to data's gradient.
struct SplitBackward(Split);

impl Operator for SplitBackward {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (grads, data) = inputs.split_at(inputs.len() - 1);
        if grads.len() != self.0.count() {
            return Err(param_err(self.0.name, "num_outputs", format!("is {} but {} gradients were given", self.0.count(), grads.len())));
        }
        let parts = self.0.infer_parts(&data[0])?;
        if let Some((bad, part)) = grads.iter().zip(&parts).find(|(d, p)| d.shape != p.shape || d.dtype != grads[0].dtype) {
            return Err(shape_err(self.0.name, format!("each gradient must have its part's shape {:?} and one dtype, got {:?} {}", part.shape.as_slice(), bad.shape.as_slice(), bad.dtype)));
        }
        Ok(vec![TensorDesc { shape: data[0].shape.clone(), dtype: grads[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let out = &mut outputs[0];
        let shape = out.shape.clone();
        // Each gradient is dense with the part's element count (squeezing drops a 1), read in
        // the part's (unsqueezed) shape.
        self.0.for_each_region(&shape, |i, region| Ok(copy::write_strided(&inputs[i], out, region)?))
    }
}

const MAX_PARTS: i64 = 1 << 20;

fn parts(name: &'static str, attrs: &Attrs) -> Result<Parts> {
    let starts = attrs.ints(name, "indices")?.filter(|v| !v.is_empty());
    let (key, n) = match (name, starts) {
        ("_split_v2" | "_backward_split_v2", Some(starts)) => {
            if starts[0] != 0 || starts.windows(2).any(|w| w[1] < w[0]) {
                return Err(param_err(name, "indices", format!("must start at 0 and not decrease, got {starts:?}")));
            }
            if starts.len() as i64 > MAX_PARTS {
                return Err(param_err(name, "indices", format!("{} parts is more than rmx supports ({MAX_PARTS})", starts.len())));
            }
            return Ok(Parts::Starts(starts.iter().map(|&s| s as usize).collect()));
        }
        ("_split_v2" | "_backward_split_v2", None) => ("sections", attrs.opt_int(name, "sections")?),
        _ => ("num_outputs", attrs.opt_int(name, "num_outputs")?),
    };
    let n = n.ok_or_else(|| param_err(name, key, "required"))?;
    if n < 1 {
        return Err(param_err(name, key, format!("must be at least 1, got {n}")));
    }
    // Each output is a graph entry made when the node is; a count no array could be split into
    // is refused before it allocates.
    if n > MAX_PARTS {
        return Err(param_err(name, key, format!("{n} parts is more than rmx supports ({MAX_PARTS})")));
    }
    Ok(Parts::Equal(n as usize))
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let v2 = name.ends_with("split_v2");
    let split = Split { name, parts: parts(name, attrs)?, axis: attrs.int(name, "axis", if v2 { 0 } else { 1 })?, squeeze: attrs.bool(name, "squeeze_axis", false)? };
    Ok(if name.starts_with("_backward") { Box::new(SplitBackward(split)) } else { Box::new(split) })
}

const PARAMS: &[crate::operator::ParamDoc] = &[
    param("num_outputs", "int", "", "number of parts"),
    param("axis", "int", "1", "the axis to split"),
    param("squeeze_axis", "boolean", "False", "drop the split axis (parts must have size 1)"),
];

const V2_PARAMS: &[crate::operator::ParamDoc] = &[
    param("indices", "Shape", "()", "where each part starts (the first 0); empty to use sections"),
    param("axis", "int", "0", "the axis to split"),
    param("squeeze_axis", "boolean", "False", "drop the split axis (parts must have size 1)"),
    param("sections", "int", "0", "number of equal parts, when indices is empty"),
];

pub static DEFS: &[OpDef] = &[OpDef {
    name: "SliceChannel",
    aliases: &["split"],
    doc: "Splits into `num_outputs` equal parts along `axis`.",
    inputs: Arity::Fixed(&["data"]),
    params: PARAMS,
    create,
}, OpDef {
    name: "_backward_SliceChannel",
    aliases: &[],
    doc: "Gradient of SliceChannel: [out_grad0, ..., data] to data_grad, the parts' gradients joined.",
    inputs: Arity::Variadic("out_grad"),
    params: PARAMS,
    create,
}, OpDef {
    name: "_split_v2",
    aliases: &[],
    doc: "Splits along `axis` into equal `sections` or at `indices`.",
    inputs: Arity::Fixed(&["data"]),
    params: V2_PARAMS,
    create,
}, OpDef {
    name: "_backward_split_v2",
    aliases: &[],
    doc: "Gradient of _split_v2: [out_grad0, ..., data] to data_grad, the parts' gradients joined.",
    inputs: Arity::Variadic("out_grad"),
    params: V2_PARAMS,
    create,
}];
