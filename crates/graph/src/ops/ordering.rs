//! `sort`, `argsort` and `topk` along `axis` (default -1). Ties keep their order (a stable sort),
//! NaN sorts last ascending. `topk`'s `ret_typ`: `indices` (default), `value`, `both` (values
//! then indices) or `mask` (1 where an element is among the top k).
//! Gradients: values (`sort`, `topk` with `value`/`both`) send theirs back to where each value came
//! from (`_backward_sort`, `_backward_topk`); indices and masks are piecewise constant: none flows
//! (`argsort`, `topk` with `indices`/`mask`; MXNet gives zeros).

use rmx_engine::BoxError;
use rmx_kernels::{with_dtype, Class, DType, Element, Shape};

use super::axes::{axis, split_around};
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

#[derive(Clone, Copy, PartialEq)]
enum Ret {
    Values,
    Indices,
    Both,
    Mask,
}

/// `(outer, n, inner)` around the axis, k, and the axis (None: the flattened input).
type Geometry = ((usize, usize, usize), usize, Option<usize>);

struct Ordering {
    name: &'static str,
    backward: bool,
    axis: Option<i64>,
    ascend: bool,
    k: Option<usize>,
    ret: Ret,
    index_dtype: DType,
}

impl Ordering {
    /// (outer, n, inner) and k, with the flattened input when axis is None.
    fn geometry(&self, shape: &[usize]) -> Result<Geometry> {
        let (g, ax) = match self.axis {
            None => ((1, shape.iter().product(), 1), None),
            Some(a) => {
                let a = axis(self.name, "axis", a, shape.len())?;
                (split_around(shape, a, a), Some(a))
            }
        };
        let k = self.k.unwrap_or(g.1);
        if k > g.1 || k == 0 && self.k.is_some() {
            return Err(param_err(self.name, "k", format!("must be in 1..={}, got {k}", g.1)));
        }
        Ok((g, k, ax))
    }

    fn out_shape(&self, shape: &[usize]) -> Result<Shape> {
        let (_, k, ax) = self.geometry(shape)?;
        Ok(match (ax, self.ret) {
            (_, Ret::Mask) => shape.into(),
            (None, _) => Shape::from_slice(&[k]),
            (Some(a), _) => {
                let mut s: Shape = shape.into();
                s[a] = k;
                s
            }
        })
    }
}

/// Every lane ranked: the first k positions' values and indices, and the top-k mask.
struct Ranking {
    /// The input as integers, for integer dtypes (compared and copied exactly).
    ints: Option<Vec<i64>>,
    top_vals: Vec<f64>,
    top_idx: Vec<f64>,
    mask: Vec<f64>,
}

impl Ordering {
    fn rank(&self, x: &Tensor) -> Result<Ranking> {
        let ((outer, n, inner), k, _) = self.geometry(&x.shape)?;
        let vals: Vec<f64> = with_dtype!(x.dtype, T => x.data::<T>().iter().map(|v| v.to_f64()).collect());
        // Integers compare exactly (int64 beyond 2**53 would tie as floats).
        let ints: Option<Vec<i64>> = with_dtype!(x.dtype, T => (T::CLASS == Class::Int).then(|| x.data::<T>().iter().map(|v| v.to_i64()).collect()));
        let mut order: Vec<usize> = Vec::with_capacity(n);
        let (mut top_vals, mut top_idx) = (vec![0.0; outer * k * inner], vec![0.0; outer * k * inner]);
        let mut mask = vec![0.0; if self.ret == Ret::Mask { x.numel() } else { 0 }];
        for o in 0..outer {
            for i in 0..inner {
                let at = |r: usize| vals[(o * n + r) * inner + i];
                order.clear();
                order.extend(0..n);
                let cmp = |a: &usize, b: &usize| match &ints {
                    Some(iv) => iv[(o * n + a) * inner + i].cmp(&iv[(o * n + b) * inner + i]),
                    None => at(*a).total_cmp(&at(*b)),
                };
                if self.ascend {
                    order.sort_by(cmp);
                } else {
                    order.sort_by(|a, b| cmp(b, a));
                }
                for (p, &r) in order.iter().take(k).enumerate() {
                    top_vals[(o * k + p) * inner + i] = at(r);
                    top_idx[(o * k + p) * inner + i] = r as f64;
                    if !mask.is_empty() {
                        mask[(o * n + r) * inner + i] = 1.0;
                    }
                }
            }
        }
        Ok(Ranking { ints, top_vals, top_idx, mask })
    }

    /// `_backward_sort` / `_backward_topk`: the values' gradient written back where each value
    /// came from (the ranking recomputed: ties keep their order, so it is the forward's).
    fn scatter(&self, og: &Tensor, x: &Tensor, dx: &mut Tensor) -> std::result::Result<(), BoxError> {
        let ((_, n, inner), k, _) = self.geometry(&x.shape)?;
        let top_idx = self.rank(x)?.top_idx;
        with_dtype!(dx.dtype, T => {
            let (g, d) = (og.data::<T>(), dx.data_mut::<T>());
            d.fill(T::default());
            for (at, &r) in top_idx.iter().enumerate() {
                let (o, i) = (at / (k * inner), at % inner);
                d[(o * n + r as usize) * inner + i] = g[at];
            }
        });
        Ok(())
    }
}

impl Operator for Ordering {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if self.backward {
            // [out_grad, data]
            let shape = self.out_shape(&inputs[1].shape)?;
            if inputs[0].shape != shape {
                return Err(shape_err(self.name, format!("out_grad has shape {:?}, the values {:?}", inputs[0].shape.as_slice(), shape.as_slice())));
            }
            return Ok(vec![TensorDesc { shape: inputs[1].shape.clone(), dtype: inputs[0].dtype }]);
        }
        let shape = self.out_shape(&inputs[0].shape)?;
        let dt = inputs[0].dtype;
        Ok(match self.ret {
            Ret::Values | Ret::Mask => vec![TensorDesc { shape, dtype: dt }],
            Ret::Indices => vec![TensorDesc { shape, dtype: self.index_dtype }],
            Ret::Both => vec![TensorDesc { shape: shape.clone(), dtype: dt }, TensorDesc { shape, dtype: self.index_dtype }],
        })
    }

    fn num_outputs(&self) -> usize {
        if self.ret == Ret::Both && !self.backward { 2 } else { 1 }
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        if !matches!(self.ret, Ret::Values | Ret::Both) {
            return Ok(vec![None]);
        }
        let name = if self.name == "sort" { "_backward_sort" } else { "_backward_topk" };
        Ok(vec![Some(g.op1(name, args.attrs, &[args.out_grads[0], args.inputs[0]])?)])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            return self.scatter(&inputs[0], &inputs[1], &mut outputs[0]);
        }
        let x = &inputs[0];
        let ((_, n, inner), k, _) = self.geometry(&x.shape)?;
        let Ranking { ints, top_vals, top_idx, mask } = self.rank(x)?;
        let write = |t: &mut Tensor, v: &[f64]| with_dtype!(t.dtype, T => for (d, &s) in t.data_mut::<T>().iter_mut().zip(v) { *d = T::from_f64(s) });
        if let (Some(iv), Ret::Values | Ret::Both) = (&ints, self.ret) {
            // Values of integer inputs are copied exactly, by index.
            with_dtype!(x.dtype, T => {
                let y = outputs[0].data_mut::<T>();
                for (o, (d, &r)) in y.iter_mut().zip(&top_idx).enumerate() {
                    let (b, i) = (o / (k * inner), o % inner);
                    *d = T::from_i64(iv[(b * n + r as usize) * inner + i]);
                }
            });
            if self.ret == Ret::Both {
                write(&mut outputs[1], &top_idx);
            }
            return Ok(());
        }
        match self.ret {
            Ret::Values => write(&mut outputs[0], &top_vals),
            Ret::Indices => write(&mut outputs[0], &top_idx),
            Ret::Mask => write(&mut outputs[0], &mask),
            Ret::Both => {
                write(&mut outputs[0], &top_vals);
                write(&mut outputs[1], &top_idx);
            }
        }
        Ok(())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let axis = match attrs.get("axis") {
        Some("None") => None,
        _ => Some(attrs.int(name, "axis", -1)?),
    };
    let index_dtype = attrs.dtype(name, "dtype", DType::F32)?;
    let (ascend_default, k, ret) = match name {
        "sort" | "_backward_sort" => (true, None, Ret::Values),
        "argsort" => (true, None, Ret::Indices),
        _ => {
            let k = attrs.int(name, "k", 1)?;
            let ret = match attrs.choice(name, "ret_typ", "indices", &["indices", "value", "both", "mask"])? {
                "value" => Ret::Values,
                "both" => Ret::Both,
                "mask" => Ret::Mask,
                _ => Ret::Indices,
            };
            (false, Some(k.max(0) as usize), ret)
        }
    };
    let backward = name.starts_with("_backward");
    Ok(Box::new(Ordering { name, backward, axis, ascend: attrs.bool(name, "is_ascend", ascend_default)?, k, ret, index_dtype }))
}

const SORT_PARAMS: &[crate::operator::ParamDoc] =
    &[param("axis", "int or None", "-1", "the axis; flattened when None"), param("is_ascend", "boolean", "True", "ascending order")];
const TOPK_PARAMS: &[crate::operator::ParamDoc] = &[
            param("axis", "int or None", "-1", "the axis"),
            param("k", "int", "1", "how many"),
            param("ret_typ", "{'indices', 'value', 'both', 'mask'}", "indices", "what to return"),
            param("is_ascend", "boolean", "False", "smallest instead of largest"),
            param("dtype", "dtype", "float32", "dtype of the indices"),
        ];

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "sort",
        aliases: &[],
        doc: "The input sorted along `axis`.",
        inputs: Arity::Fixed(&["data"]),
        params: SORT_PARAMS,
        create,
    },
    OpDef {
        name: "argsort",
        aliases: &[],
        doc: "Indices that sort the input along `axis`.",
        inputs: Arity::Fixed(&["data"]),
        params: &[
            param("axis", "int or None", "-1", "the axis"),
            param("is_ascend", "boolean", "True", "ascending order"),
            param("dtype", "dtype", "float32", "dtype of the indices"),
        ],
        create,
    },
    OpDef {
        name: "topk",
        aliases: &[],
        doc: "The k largest (or smallest, with is_ascend) along `axis`.",
        inputs: Arity::Fixed(&["data"]),
        params: TOPK_PARAMS,
        create,
    },
    OpDef {
        name: "_backward_sort",
        aliases: &[],
        doc: "Gradient of sort: [out_grad, data] to data_grad.",
        inputs: Arity::Fixed(&["out_grad", "data"]),
        params: SORT_PARAMS,
        create,
    },
    OpDef {
        name: "_backward_topk",
        aliases: &[],
        doc: "Gradient of topk's values: [out_grad, data] to data_grad (zeros off the top k).",
        inputs: Arity::Fixed(&["out_grad", "data"]),
        params: TOPK_PARAMS,
        create,
    },
];
