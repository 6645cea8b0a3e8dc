//! Operators that create arrays: `_zeros`, `_ones`, `_full` (`value`), `_arange` (`start`,
//! `stop`, `step`, `repeat`), `_eye` (`N`, `M`, `k`), all with `shape`/`dtype` as they apply, and
//! `zeros_like`/`ones_like` and `_contrib_arange_like` (`start`, `step`, `repeat`, `axis`), which
//! take an input for its shape and dtype. Constant in their inputs:
//! no gradient flows.

use rmx_engine::BoxError;
use rmx_kernels::elementwise::fill;
use rmx_kernels::init::{arange, eye};
use rmx_kernels::{DType, Shape};

use crate::attrs::Attrs;
use crate::error::{param_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

enum Kind {
    Full(f64),
    Arange { start: f64, step: f64, repeat: usize },
    Eye { k: i64 },
    Like(f64),
    /// `arange` over the input's elements, or along its `axis`.
    ArangeLike { start: f64, step: f64, repeat: usize, axis: Option<i64> },
}

struct Init {
    kind: Kind,
    shape: Shape,
    dtype: DType,
}

impl Operator for Init {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        match self.kind {
            Kind::Like(_) | Kind::ArangeLike { axis: None, .. } => return Ok(vec![inputs[0].clone()]),
            Kind::ArangeLike { axis: Some(a), .. } => {
                let a = super::axes::axis("_contrib_arange_like", "axis", a, inputs[0].shape.len())?;
                return Ok(vec![TensorDesc::new(&[inputs[0].shape[a]], inputs[0].dtype)]);
            }
            _ => {}
        }
        Ok(vec![TensorDesc { shape: self.shape.clone(), dtype: self.dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, _inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let out = &mut outputs[0];
        match self.kind {
            Kind::Full(v) | Kind::Like(v) => fill(out, v)?,
            Kind::Arange { start, step, repeat } | Kind::ArangeLike { start, step, repeat, .. } => arange(out, start, step, repeat)?,
            Kind::Eye { k } => eye(out, k)?,
        }
        Ok(())
    }

    fn gradient(&self, _g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![None; args.inputs.len()])
    }
}

fn shape(name: &str, attrs: &Attrs) -> Result<Shape> {
    let dims = attrs.ints(name, "shape")?.unwrap_or_default();
    if dims.iter().any(|&d| d < 0) {
        return Err(param_err(name, "shape", format!("dimensions must not be negative, got {dims:?}")));
    }
    Ok(dims.into_iter().map(|d| d as usize).collect())
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let dtype = attrs.dtype(name, "dtype", DType::F32)?;
    let (kind, shape) = match name {
        "_zeros" => (Kind::Full(0.0), shape(name, attrs)?),
        "_ones" => (Kind::Full(1.0), shape(name, attrs)?),
        "_full" => (Kind::Full(attrs.required_f64(name, "value")?), shape(name, attrs)?),
        "zeros_like" => (Kind::Like(0.0), Shape::new()),
        "ones_like" => (Kind::Like(1.0), Shape::new()),
        "_contrib_arange_like" => {
            let (start, step) = (attrs.f64(name, "start", 0.0)?, attrs.f64(name, "step", 1.0)?);
            let repeat = attrs.int(name, "repeat", 1)?.max(1) as usize;
            (Kind::ArangeLike { start, step, repeat, axis: attrs.opt_int(name, "axis")? }, Shape::new())
        }
        "_arange" => {
            let start = attrs.required_f64(name, "start")?;
            let (start, stop) = match attrs.get("stop") {
                None | Some("None") => (0.0, start),
                Some(_) => (start, attrs.required_f64(name, "stop")?),
            };
            let step = attrs.f64(name, "step", 1.0)?;
            if step == 0.0 {
                return Err(param_err(name, "step", "must not be 0"));
            }
            let repeat = attrs.int(name, "repeat", 1)?.max(1) as usize;
            let n = ((stop - start) / step).ceil().max(0.0) as usize;
            (Kind::Arange { start, step, repeat }, Shape::from_slice(&[n * repeat]))
        }
        "_linspace" => {
            // NumPy's linspace: `num` values from start, stop the last one unless `endpoint` is false.
            let (start, stop) = (attrs.required_f64(name, "start")?, attrs.required_f64(name, "stop")?);
            let num = attrs.opt_int(name, "num")?.ok_or_else(|| param_err(name, "num", "required"))?;
            if num < 0 {
                return Err(param_err(name, "num", format!("must be non-negative, got {num}")));
            }
            let intervals = if attrs.bool(name, "endpoint", true)? { num - 1 } else { num };
            let step = if intervals > 0 { (stop - start) / intervals as f64 } else { 0.0 };
            (Kind::Arange { start, step, repeat: 1 }, Shape::from_slice(&[num as usize]))
        }
        _ => {
            let n = attrs.opt_int(name, "N")?.ok_or_else(|| param_err(name, "N", "required"))?.max(0) as usize;
            let m = match attrs.int(name, "M", 0)? {
                0 => n,
                m => m.max(0) as usize,
            };
            (Kind::Eye { k: attrs.int(name, "k", 0)? }, Shape::from_slice(&[n, m]))
        }
    };
    Ok(Box::new(Init { kind, shape, dtype }))
}

const SHAPED: &[ParamDoc] = &[param("shape", "Shape", "()", "the shape"), param("dtype", "dtype", "float32", "the dtype")];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "_zeros", aliases: &[], doc: "An array of zeros.", inputs: Arity::Fixed(&[]), params: SHAPED, create },
    OpDef { name: "_ones", aliases: &[], doc: "An array of ones.", inputs: Arity::Fixed(&[]), params: SHAPED, create },
    OpDef {
        name: "_full",
        aliases: &[],
        doc: "An array filled with `value`.",
        inputs: Arity::Fixed(&[]),
        params: &[param("shape", "Shape", "()", "the shape"), param("dtype", "dtype", "float32", "the dtype"), param("value", "float", "", "the fill value")],
        create,
    },
    OpDef {
        name: "_linspace",
        aliases: &[],
        doc: "`num` evenly spaced values from start to stop (included unless `endpoint` is false).",
        inputs: Arity::Fixed(&[]),
        params: &[
            param("start", "float", "", "first value"),
            param("stop", "float", "", "last value, or the end when endpoint is false"),
            param("num", "int", "", "how many values"),
            param("endpoint", "boolean", "True", "whether stop is the last value"),
            param("dtype", "dtype", "float32", "the dtype"),
        ],
        create,
    },
    OpDef {
        name: "_arange",
        aliases: &[],
        doc: "Evenly spaced values in [start, stop), each repeated `repeat` times.",
        inputs: Arity::Fixed(&[]),
        params: &[
            param("start", "float", "", "first value (the stop when stop is None)"),
            param("stop", "float or None", "None", "end, excluded"),
            param("step", "float", "1.0", "spacing"),
            param("repeat", "int", "1", "repetitions of each value"),
            param("infer_range", "boolean", "False", "accepted for compatibility"),
            param("dtype", "dtype", "float32", "the dtype"),
        ],
        create,
    },
    OpDef {
        name: "_eye",
        aliases: &[],
        doc: "A 2-d array with ones on diagonal `k`.",
        inputs: Arity::Fixed(&[]),
        params: &[param("N", "int", "", "rows"), param("M", "int", "0", "columns (N when 0)"), param("k", "int", "0", "diagonal"), param("dtype", "dtype", "float32", "the dtype")],
        create,
    },
    OpDef {
        name: "_contrib_arange_like",
        aliases: &[],
        doc: "`arange` shaped like the input (or its `axis`), in its dtype.",
        inputs: Arity::Fixed(&["data"]),
        params: &[
            param("start", "float", "0.0", "first value"),
            param("step", "float", "1.0", "spacing"),
            param("repeat", "int", "1", "repetitions of each value"),
            param("ctx", "string", "", "accepted for compatibility"),
            param("axis", "int or None", "None", "the axis whose length is used; all elements when None"),
        ],
        create,
    },
    OpDef { name: "zeros_like", aliases: &[], doc: "Zeros of the input's shape and dtype.", inputs: Arity::Fixed(&["data"]), params: &[], create },
    OpDef { name: "ones_like", aliases: &[], doc: "Ones of the input's shape and dtype.", inputs: Arity::Fixed(&["data"]), params: &[], create },
];
