//! `sort`, `argsort` and `topk` along `axis` (default -1). Ties keep their order (a stable sort),
//! NaN sorts last ascending. `topk`'s `ret_typ`: `indices` (default), `value`, `both` (values
//! then indices) or `mask` (1 where an element is among the top k).
//! Gradients: values (`sort`, `topk` with `value`/`both`) send theirs back to where each value came
//! from (`_backward_sort`, `_backward_topk`); indices and masks are piecewise constant: none flows
//! (`argsort`, `topk` with `indices`/`mask`; MXNet gives zeros).

use rmx_engine::BoxError;
use rmx_kernels::ordering::{self, OrderPlan, Ret};
use rmx_kernels::{DType, Shape};

use super::axes::{axis, split_around};
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

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

    /// The kernel's view of `shape` (the data's): its lanes, k and what to write.
    fn plan(&self, shape: &[usize]) -> Result<OrderPlan> {
        let ((outer, n, inner), k, _) = self.geometry(shape)?;
        Ok(OrderPlan { outer, n, inner, k, ascend: self.ascend, ret: self.ret })
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
            // `_backward_sort` / `_backward_topk`: the values' gradient written back where each
            // value came from.
            ordering::backward(&self.plan(&inputs[1].shape)?, &inputs[0], &inputs[1], &mut outputs[0])?;
            return Ok(());
        }
        ordering::forward(&self.plan(&inputs[0].shape)?, &inputs[0], outputs)?;
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
