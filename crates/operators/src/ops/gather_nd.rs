//! `gather_nd(data, indices)`: `indices` of shape `(M, Y...)` holds `Y...` tuples of `M` indices
//! into `data`'s leading axes; the output `(Y..., data.shape[M:]...)` holds the blocks they name.
//! `scatter_nd(data, indices, shape)`: the reverse, zeros of `shape` with `data`'s blocks written
//! where the tuples say (a later tuple wins on repeats, which MXNet leaves undefined). Negative
//! indices count from the axis's end; others outside the axis fail at run time, at the next wait.
//! Gradients: gather's is `_backward_gather_nd` (`[out_grad, indices, data]`, a scatter that adds
//! repeats), scatter's is a gather; the indices get none.

use rmx_engine::BoxError;
use rmx_kernels::gather::{self, NdPlan};
use rmx_kernels::Shape;

use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Gather,
    Scatter,
    GatherBackward,
}

struct GatherNd {
    name: &'static str,
    kind: Kind,
    /// `scatter_nd`'s output shape.
    shape: Shape,
}

impl GatherNd {
    /// The plan over `full` (the array the tuples index) and the gathered shape.
    fn plan(&self, full: &[usize], indices: &[usize]) -> Result<(NdPlan, Shape)> {
        let m = *indices.first().ok_or_else(|| shape_err(self.name, "indices must have at least one axis (the index tuples' length first)"))?;
        if m == 0 || m > full.len() {
            return Err(shape_err(self.name, format!("indices {indices:?} hold tuples of {m} indices, but the indexed array {full:?} has {} axes", full.len())));
        }
        let mut gathered: Shape = indices[1..].iter().chain(&full[m..]).copied().collect();
        if gathered.is_empty() {
            gathered.push(1);
        }
        Ok((NdPlan { op: self.name, dims: full[..m].to_vec(), inner: full[m..].iter().product() }, gathered))
    }

    /// The indexed array's shape and the gathered side's, from `[data or out_grad, indices,
    /// data?]`.
    fn shapes<'a>(&'a self, inputs: &'a [&'a [usize]]) -> (&'a [usize], &'a [usize]) {
        match self.kind {
            Kind::Gather => (inputs[0], inputs[0]),
            Kind::Scatter => (&self.shape, inputs[0]),
            Kind::GatherBackward => (inputs[2], inputs[0]),
        }
    }
}

impl Operator for GatherNd {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|d| d.shape.as_slice()).collect();
        let (full, side) = self.shapes(&shapes);
        let (_, gathered) = self.plan(full, &inputs[1].shape)?;
        let dtype = inputs[0].dtype;
        if self.kind == Kind::Gather {
            return Ok(vec![TensorDesc { shape: gathered, dtype }]);
        }
        if side != gathered.as_slice() {
            return Err(shape_err(self.name, format!("data has shape {side:?}; indices {:?} into {full:?} need {:?}", inputs[1].shape.as_slice(), gathered.as_slice())));
        }
        Ok(vec![TensorDesc::new(full, dtype)])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let shapes: Vec<&[usize]> = inputs.iter().map(|t| t.shape.as_slice()).collect();
        let (full, _) = self.shapes(&shapes);
        let (p, _) = self.plan(full, &inputs[1].shape)?;
        match self.kind {
            Kind::Gather => gather::gather_nd(&p, &inputs[0], &inputs[1], &mut outputs[0])?,
            Kind::Scatter => gather::scatter_nd(&p, &inputs[0], &inputs[1], &mut outputs[0], false)?,
            Kind::GatherBackward => gather::scatter_nd(&p, &inputs[0], &inputs[1], &mut outputs[0], true)?,
        }
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let (og, indices) = (args.out_grads[0], args.inputs[1]);
        let dx = match self.kind {
            Kind::Gather => g.call("_backward_gather_nd", &[], &[og, indices, args.inputs[0]])?,
            Kind::Scatter => g.call("gather_nd", &[], &[og, indices])?,
            Kind::GatherBackward => return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op))),
        };
        Ok(vec![Some(dx), None])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let kind = match name {
        "gather_nd" => Kind::Gather,
        "scatter_nd" => Kind::Scatter,
        _ => Kind::GatherBackward,
    };
    let mut shape = Shape::new();
    if kind == Kind::Scatter {
        let dims = attrs.ints(name, "shape")?.ok_or_else(|| param_err(name, "shape", "required"))?;
        if dims.iter().any(|&d| d < 0) {
            return Err(param_err(name, "shape", format!("dimensions must not be negative, got {dims:?}")));
        }
        shape = dims.into_iter().map(|d| d as usize).collect();
    }
    Ok(Box::new(GatherNd { name, kind, shape }))
}

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "gather_nd",
        aliases: &[],
        doc: "The blocks of `data` named by the index tuples in `indices`' columns (see module doc).",
        inputs: Arity::Fixed(&["data", "indices"]),
        params: &[],
        create,
    },
    OpDef {
        name: "scatter_nd",
        aliases: &[],
        doc: "Zeros of `shape` with `data`'s blocks written where `indices`' tuples say (see module doc).",
        inputs: Arity::Fixed(&["data", "indices"]),
        params: &[param("shape", "Shape", "", "the output's shape")],
        create,
    },
    OpDef {
        name: "_backward_gather_nd",
        aliases: &[],
        doc: "Gradient of gather_nd: [out_grad, indices, data] to data_grad (repeats add).",
        inputs: Arity::Fixed(&["out_grad", "indices", "data"]),
        params: &[],
        create,
    },
];
