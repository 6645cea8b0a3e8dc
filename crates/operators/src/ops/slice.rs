//! `slice` (`crop`): `begin`, `end`, `step` per leading axis, None meaning the whole axis, with
//! Python's rules for negative values and steps; `slice_axis`: one axis, `begin` to `end`;
//! `slice_like`: the leading part of the data as long as the second input on its `axes` (every
//! axis when empty). `_backward_slice*` write the output gradient into zeros of the input's
//! shape, at the sliced positions.

use rmx_engine::BoxError;
use rmx_kernels::contiguous_strides;
use rmx_kernels::copy::{self, Region};

use super::axes::axis;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

/// Per axis: start index, count, step.
type Ranges = Vec<(isize, usize, isize)>;

struct Slice {
    name: &'static str,
    backward: bool,
    begin: Vec<Option<i64>>,
    end: Vec<Option<i64>>,
    step: Vec<Option<i64>>,
    axis: Option<i64>,
    /// `slice_like`'s `axes`.
    like: Option<Vec<i64>>,
}

/// Python's `range(*slice(b, e, s).indices(n))` as (start, count).
pub fn slice_range(n: usize, b: Option<i64>, e: Option<i64>, s: i64) -> (isize, usize) {
    let n = n as i64;
    let clamp = |v: i64, lo: i64, hi: i64| v.max(lo).min(hi);
    let norm = |v: i64| if v < 0 { v + n } else { v };
    let (start, stop) = if s > 0 {
        (b.map_or(0, |v| clamp(norm(v), 0, n)), e.map_or(n, |v| clamp(norm(v), 0, n)))
    } else {
        (b.map_or(n - 1, |v| clamp(norm(v), -1, n - 1)), e.map_or(-1, |v| clamp(norm(v), -1, n - 1)))
    };
    // (distance - 1) / step + 1, which cannot overflow for any step.
    let count = match (s > 0, stop - start) {
        (true, d) if d > 0 => (d - 1) / s + 1,
        (false, d) if d < 0 => (-d - 1) / s.unsigned_abs().min(i64::MAX as u64) as i64 + 1,
        _ => 0,
    };
    (start as isize, count.max(0) as usize)
}

/// `slice_axis`'s range as MXNet checks it: negative values count from the end, the end may not
/// pass the axis, and the range may not be empty (MXNet raises where Python slicing clamps).
fn axis_range(op: &str, n: usize, begin: i64, end: Option<i64>) -> Result<(isize, usize)> {
    let len = n as i64;
    if len == 0 {
        return Ok((0, 0));
    }
    let b = if begin < 0 { begin + len } else { begin };
    let e = match end {
        None => len,
        Some(v) if v < 0 => v + len,
        Some(v) => v,
    };
    if e > len || e < 0 {
        return Err(param_err(op, "end", format!("{end:?} is past the axis of size {n}")));
    }
    if b < 0 || b >= e {
        return Err(param_err(op, "begin", format!("begin {begin} and end {end:?} give an empty or negative range on an axis of size {n}")));
    }
    Ok((b as isize, (e - b) as usize))
}

impl Slice {
    /// The ranges over `inputs`' data: `[data]`, or for `slice_like` `[data, like]` forward and
    /// `[out_grad, data]` backward.
    fn resolve(&self, inputs: &[&[usize]]) -> Result<Ranges> {
        match (&self.like, self.backward) {
            (None, false) => self.ranges(inputs[0]),
            (None, true) => self.ranges(inputs[1]),
            (Some(axes), false) => self.like_ranges(inputs[0], inputs[1], axes),
            // The gradient has the slice's shape on every axis.
            (Some(_), true) => self.like_ranges(inputs[1], inputs[0], &[]),
        }
    }

    fn like_ranges(&self, data: &[usize], like: &[usize], axes: &[i64]) -> Result<Ranges> {
        let chosen: Vec<usize> = if axes.is_empty() {
            if like.len() != data.len() {
                return Err(shape_err(self.name, format!("data {data:?} and shape_like {like:?} must have as many axes when `axes` is empty")));
            }
            (0..data.len()).collect()
        } else {
            axes.iter().map(|&a| axis(self.name, "axes", a, data.len())).collect::<Result<_>>()?
        };
        let mut r: Ranges = data.iter().map(|&n| (0, n, 1)).collect();
        for d in chosen {
            let Some(&n) = like.get(d) else {
                return Err(shape_err(self.name, format!("shape_like {like:?} has no axis {d} to slice data {data:?} like")));
            };
            if n > data[d] {
                return Err(shape_err(self.name, format!("shape_like {like:?} is longer than data {data:?} on axis {d}")));
            }
            r[d] = (0, n, 1);
        }
        Ok(r)
    }

    fn ranges(&self, shape: &[usize]) -> Result<Ranges> {
        if let Some(a) = self.axis {
            let a = axis(self.name, "axis", a, shape.len())?;
            let mut r: Ranges = shape.iter().map(|&n| (0, n, 1)).collect();
            let (start, count) = axis_range(self.name, shape[a], self.begin[0].unwrap_or(0), self.end[0])?;
            r[a] = (start, count, 1);
            return Ok(r);
        }
        if self.begin.len() != self.end.len() || self.begin.len() > shape.len() {
            return Err(param_err(self.name, "begin", format!("begin {:?} and end {:?} must have one entry per leading axis of {shape:?}", self.begin, self.end)));
        }
        shape
            .iter()
            .enumerate()
            .map(|(d, &n)| {
                if d >= self.begin.len() {
                    return Ok((0, n, 1));
                }
                let s = self.step.get(d).copied().flatten().unwrap_or(1);
                if s == 0 {
                    return Err(param_err(self.name, "step", "must not be 0"));
                }
                let (start, count) = slice_range(n, self.begin[d], self.end[d], s);
                Ok((start, count, s as isize))
            })
            .collect()
    }
}

impl Operator for Slice {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let data = &inputs[self.backward as usize];
        let shapes: Vec<&[usize]> = inputs.iter().map(|d| d.shape.as_slice()).collect();
        let r = self.resolve(&shapes)?;
        let shape: Vec<usize> = r.iter().map(|&(_, c, _)| c).collect();
        if !self.backward {
            return Ok(vec![TensorDesc::new(&shape, data.dtype)]);
        }
        if inputs[0].shape.as_slice() != shape.as_slice() {
            return Err(shape_err(self.name, format!("out_grad has shape {:?}, the slice {shape:?}", inputs[0].shape.as_slice())));
        }
        Ok(vec![TensorDesc { shape: data.shape.clone(), dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            let (og, out) = (&inputs[0], &mut outputs[0]);
            let r = self.resolve(&[&og.shape, &out.shape])?;
            let dst = contiguous_strides(&out.shape);
            copy::zero(out)?;
            if og.numel() > 0 {
                let strides: Vec<isize> = r.iter().zip(&dst).map(|(&(_, _, s), &st)| s * st).collect();
                let offset: isize = r.iter().zip(&dst).map(|(&(b, _, _), &st)| b * st).sum();
                copy::write_strided(og, out, &Region { shape: &og.shape, strides: &strides, offset })?;
            }
            return Ok(());
        }
        let x = &inputs[0];
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape.as_slice()).collect();
        let r = self.resolve(&shapes)?;
        let src = contiguous_strides(&x.shape);
        let shape: Vec<usize> = r.iter().map(|&(_, c, _)| c).collect();
        if shape.contains(&0) {
            return Ok(());
        }
        let strides: Vec<isize> = r.iter().zip(&src).map(|(&(_, _, s), &st)| s * st).collect();
        let offset: isize = r.iter().zip(&src).map(|(&(b, _, _), &st)| b * st).sum();
        copy::read_strided(x, &Region { shape: &shape, strides: &strides, offset }, &mut outputs[0])?;
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        let name = match (&self.like, self.axis) {
            (Some(_), _) => "_backward_slice_like",
            (None, Some(_)) => "_backward_slice_axis",
            (None, None) => "_backward_slice",
        };
        let dx = g.op1(name, args.attrs, &[args.out_grads[0], args.inputs[0]])?;
        // `shape_like` gives only its shape: no gradient flows to it.
        Ok(if self.like.is_some() { vec![Some(dx), None] } else { vec![Some(dx)] })
    }
}

/// Parses `"(0, None, 2)"` into optional integers.
pub(super) fn optional_ints(attrs: &Attrs, op: &str, key: &str) -> Result<Vec<Option<i64>>> {
    let Some(raw) = attrs.get(key) else { return Ok(Vec::new()) };
    let t = raw.trim().trim_start_matches(['(', '[']).trim_end_matches([')', ']']);
    t.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| if s == "None" { Ok(None) } else { s.parse().map(Some).map_err(|_| param_err(op, key, format!("expected integers or None, got {raw:?}"))) })
        .collect()
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let backward = name.starts_with("_backward");
    if name.ends_with("slice_like") {
        let axes = attrs.ints(name, "axes")?.unwrap_or_default();
        return Ok(Box::new(Slice { name, backward, begin: vec![], end: vec![], step: vec![], axis: None, like: Some(axes) }));
    }
    if name.ends_with("slice_axis") {
        let a = attrs.opt_int(name, "axis")?.ok_or_else(|| param_err(name, "axis", "required"))?;
        let begin = attrs.opt_int(name, "begin")?;
        let end = attrs.opt_int(name, "end")?;
        return Ok(Box::new(Slice { name, backward, begin: vec![begin], end: vec![end], step: vec![], axis: Some(a), like: None }));
    }
    let (begin, end, step) = (optional_ints(attrs, name, "begin")?, optional_ints(attrs, name, "end")?, optional_ints(attrs, name, "step")?);
    Ok(Box::new(Slice { name, backward, begin, end, step, axis: None, like: None }))
}

const SLICE_PARAMS: &[crate::operator::ParamDoc] =
    &[param("begin", "Shape", "", "start per axis"), param("end", "Shape", "", "stop per axis"), param("step", "Shape", "()", "step per axis")];
const SLICE_AXIS_PARAMS: &[crate::operator::ParamDoc] =
    &[param("axis", "int", "", "the axis"), param("begin", "int", "", "start"), param("end", "int or None", "", "stop")];

const SLICE_LIKE_PARAMS: &[crate::operator::ParamDoc] = &[param("axes", "Shape", "()", "the axes sliced; every axis when empty")];

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "slice",
        aliases: &["crop"],
        doc: "A sub-array: `begin`, `end`, `step` per leading axis (None for the whole axis).",
        inputs: Arity::Fixed(&["data"]),
        params: SLICE_PARAMS,
        create,
    },
    OpDef {
        name: "slice_axis",
        aliases: &[],
        doc: "The part of `axis` from `begin` to `end` (None for the end).",
        inputs: Arity::Fixed(&["data"]),
        params: SLICE_AXIS_PARAMS,
        create,
    },
    OpDef {
        name: "slice_like",
        aliases: &[],
        doc: "The leading part of the data as long as `shape_like` on `axes` (every axis when empty).",
        inputs: Arity::Fixed(&["data", "shape_like"]),
        params: SLICE_LIKE_PARAMS,
        create,
    },
    OpDef {
        name: "_backward_slice_like",
        aliases: &[],
        doc: "Gradient of slice_like: [out_grad, data] to data_grad (zeros outside the slice).",
        inputs: Arity::Fixed(&["out_grad", "data"]),
        params: SLICE_LIKE_PARAMS,
        create,
    },
    OpDef {
        name: "_backward_slice",
        aliases: &[],
        doc: "Gradient of slice: [out_grad, data] to data_grad (zeros outside the slice).",
        inputs: Arity::Fixed(&["out_grad", "data"]),
        params: SLICE_PARAMS,
        create,
    },
    OpDef {
        name: "_backward_slice_axis",
        aliases: &[],
        doc: "Gradient of slice_axis: [out_grad, data] to data_grad (zeros outside the slice).",
        inputs: Arity::Fixed(&["out_grad", "data"]),
        params: SLICE_AXIS_PARAMS,
        create,
    },
];
