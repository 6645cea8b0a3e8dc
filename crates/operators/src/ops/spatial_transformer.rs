//! Spatial transformer networks' operators (NCHW). `GridGenerator` makes sampling grids
//! `(N, 2, h, w)` (x, then y, in [-1, 1]): `affine` from `(N, 6)` matrices applied to the
//! normalized coordinates of a `target_shape` image, `warp` from `(N, 2, h, w)` flow fields
//! added to each pixel's position. `BilinearSampler` samples `data` bilinearly at a grid's
//! points (zeros outside). `SpatialTransformer` (`transform_type` affine, `sampler_type`
//! bilinear) is the two in one node. Gradients: `_backward_GridGenerator` (`[out_grad, data]`),
//! `_backward_BilinearSampler` (`[out_grad, data, grid]`, to both), and the transformer's
//! through the two, the grid recomputed.

use rmx_engine::BoxError;
use rmx_kernels::{spatial, Shape};

use crate::attrs::Attrs;
use crate::error::{dtype_err, param_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Grid { affine: bool },
    GridBackward { affine: bool },
    Sampler,
    SamplerBackward,
    Transformer,
}

struct Spatial {
    name: &'static str,
    kind: Kind,
    target: (usize, usize),
}

impl Spatial {
    fn grid_shape(&self, x: &TensorDesc, affine: bool) -> Result<Shape> {
        let s = &x.shape;
        if affine {
            if s.len() != 2 || s[1] != 6 {
                return Err(shape_err(self.name, format!("an affine transform needs (N, 6) matrices, got {:?}", s.as_slice())));
            }
            return Ok(Shape::from_slice(&[s[0], 2, self.target.0, self.target.1]));
        }
        if s.len() != 4 || s[1] != 2 {
            return Err(shape_err(self.name, format!("a warp needs (N, 2, H, W) flow, got {:?}", s.as_slice())));
        }
        Ok(s.clone())
    }

    fn sampled(&self, data: &TensorDesc, grid: &[usize]) -> Result<Shape> {
        let s = &data.shape;
        if s.len() != 4 || grid.len() != 4 || grid[1] != 2 || grid[0] != s[0] {
            return Err(shape_err(self.name, format!("needs NCHW data and an (N, 2, h, w) grid of its batch, got {:?} and {grid:?}", s.as_slice())));
        }
        Ok(Shape::from_slice(&[s[0], s[1], grid[2], grid[3]]))
    }
}

impl Operator for Spatial {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if let Some(bad) = inputs.iter().find(|d| !d.dtype.is_float() || d.dtype != inputs[0].dtype) {
            return Err(dtype_err(self.name, format!("needs float inputs of one dtype, got {}", bad.dtype)));
        }
        let dtype = inputs[0].dtype;
        let desc = |shape: Shape| TensorDesc { shape, dtype };
        Ok(match self.kind {
            Kind::Grid { affine } => vec![desc(self.grid_shape(&inputs[0], affine)?)],
            Kind::GridBackward { affine } => {
                let want = self.grid_shape(&inputs[1], affine)?;
                if inputs[0].shape != want {
                    return Err(shape_err(self.name, format!("out_grad must be the grid's shape {:?}, got {:?}", want.as_slice(), inputs[0].shape.as_slice())));
                }
                vec![inputs[1].clone()]
            }
            Kind::Sampler => vec![desc(self.sampled(&inputs[0], &inputs[1].shape)?)],
            Kind::SamplerBackward => {
                let want = self.sampled(&inputs[1], &inputs[2].shape)?;
                if inputs[0].shape != want {
                    return Err(shape_err(self.name, format!("out_grad must be the samples' shape {:?}, got {:?}", want.as_slice(), inputs[0].shape.as_slice())));
                }
                vec![inputs[1].clone(), inputs[2].clone()]
            }
            Kind::Transformer => {
                let grid = self.grid_shape(&inputs[1], true)?;
                vec![desc(self.sampled(&inputs[0], &grid)?)]
            }
        })
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        match self.kind {
            Kind::Grid { affine: true } => spatial::affine_grid(&inputs[0], self.target, false, &mut outputs[0])?,
            Kind::Grid { affine: false } => spatial::warp_grid(&inputs[0], false, &mut outputs[0])?,
            Kind::GridBackward { affine: true } => spatial::affine_grid(&inputs[0], self.target, true, &mut outputs[0])?,
            Kind::GridBackward { affine: false } => spatial::warp_grid(&inputs[0], true, &mut outputs[0])?,
            Kind::Sampler => spatial::bilinear(&inputs[0], &inputs[1], &mut outputs[0])?,
            Kind::SamplerBackward => {
                let (dx, dgrid) = outputs.split_at_mut(1);
                spatial::bilinear_backward(&inputs[0], &inputs[1], &inputs[2], &mut dx[0], &mut dgrid[0])?;
            }
            Kind::Transformer => {
                // The grid lives only for this computation.
                let (n, (h, w)) = (inputs[1].shape[0], self.target);
                let mut buf = vec![0f64; n * 2 * h * w];
                let grid_shape = Shape::from_slice(&[n, 2, h, w]);
                let mut grid = with_buffer(&mut buf, &grid_shape, &inputs[1]);
                spatial::affine_grid(&inputs[1], self.target, false, &mut grid)?;
                spatial::bilinear(&inputs[0], &grid, &mut outputs[0])?;
            }
        }
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        if self.kind == Kind::SamplerBackward { 2 } else { 1 }
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let og = args.out_grads[0];
        match self.kind {
            Kind::Grid { .. } => Ok(vec![Some(g.op1("_backward_GridGenerator", args.attrs, &[og, args.inputs[0]])?)]),
            Kind::Sampler => {
                let grads = g.op("_backward_BilinearSampler", args.attrs, &[og, args.inputs[0], args.inputs[1]])?;
                Ok(grads.into_iter().map(Some).collect())
            }
            Kind::Transformer => {
                let (h, w) = self.target;
                let target = format!("({h}, {w})");
                let attrs = [("transform_type", "affine"), ("target_shape", target.as_str())];
                let grid = g.call("GridGenerator", &attrs, &[args.inputs[1]])?;
                let grads = g.op("_backward_BilinearSampler", &Attrs::new(), &[og, args.inputs[0], grid])?;
                let dloc = g.call("_backward_GridGenerator", &attrs, &[grads[1], args.inputs[1]])?;
                Ok(vec![Some(grads[0]), Some(dloc)])
            }
            _ => Err(GraphError::Invalid(format!("operator {} has no gradient", args.op))),
        }
    }
}

/// A tensor over `buf` (host float64 scratch, reinterpreted as `like`'s dtype, which needs no
/// more bytes per element).
fn with_buffer(buf: &mut [f64], shape: &Shape, like: &Tensor) -> Tensor {
    assert!(like.dtype.size() <= 8 && like.is_host(), "transformer scratch for {} on {}", like.dtype, like.ctx());
    // SAFETY: `buf` holds `numel(shape)` 8-byte slots, aligned for every dtype and at least as
    // large as each element; it outlives the tensor (both live for one computation).
    unsafe { Tensor::new(buf.as_mut_ptr() as *mut u8, shape.clone(), like.dtype, like.ctx()) }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let target = match attrs.ints(name, "target_shape")?.as_deref() {
        None => (0, 0),
        Some([h, w]) if *h >= 0 && *w >= 0 => (*h as usize, *w as usize),
        Some(other) => return Err(param_err(name, "target_shape", format!("needs (height, width), got {other:?}"))),
    };
    let affine = attrs.choice(name, "transform_type", "affine", &["affine", "warp"])? == "affine";
    attrs.choice(name, "sampler_type", "bilinear", &["bilinear"])?;
    let kind = match name {
        "GridGenerator" => Kind::Grid { affine },
        "_backward_GridGenerator" => Kind::GridBackward { affine },
        "BilinearSampler" => Kind::Sampler,
        "_backward_BilinearSampler" => Kind::SamplerBackward,
        _ => Kind::Transformer,
    };
    if matches!(kind, Kind::Grid { affine: true } | Kind::Transformer) && (target.0 == 0 || target.1 == 0) {
        return Err(param_err(name, "target_shape", "needs the output's (height, width)"));
    }
    if kind == Kind::Transformer && !affine {
        return Err(param_err(name, "transform_type", "SpatialTransformer supports affine only, as MXNet's"));
    }
    Ok(Box::new(Spatial { name, kind, target }))
}

const GRID: &[crate::operator::ParamDoc] = &[
    param("transform_type", "{'affine', 'warp'}", "", "matrices or flow fields"),
    param("target_shape", "Shape", "(0,0)", "the grid's (height, width), for affine"),
];
const SAMPLER: &[crate::operator::ParamDoc] = &[param("cudnn_off", "boolean or None", "None", "accepted for compatibility")];
const TRANSFORMER: &[crate::operator::ParamDoc] = &[
    param("target_shape", "Shape", "(0,0)", "the output's (height, width)"),
    param("transform_type", "{'affine'}", "", "the transform"),
    param("sampler_type", "{'bilinear'}", "", "the sampler"),
    param("cudnn_off", "boolean or None", "None", "accepted for compatibility"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "GridGenerator", aliases: &[], doc: "Sampling grids from affine matrices or flow fields.", inputs: Arity::Fixed(&["data"]), params: GRID, create },
    OpDef { name: "_backward_GridGenerator", aliases: &[], doc: "Gradient of GridGenerator: [out_grad, data] to data_grad.", inputs: Arity::Fixed(&["out_grad", "data"]), params: GRID, create },
    OpDef { name: "BilinearSampler", aliases: &[], doc: "Bilinear samples of NCHW data at a grid's points.", inputs: Arity::Fixed(&["data", "grid"]), params: SAMPLER, create },
    OpDef { name: "_backward_BilinearSampler", aliases: &[], doc: "Gradient of BilinearSampler: [out_grad, data, grid] to both inputs' gradients.", inputs: Arity::Fixed(&["out_grad", "data", "grid"]), params: SAMPLER, create },
    OpDef { name: "SpatialTransformer", aliases: &[], doc: "Affine spatial transformer: a grid from loc, then bilinear sampling of data.", inputs: Arity::Fixed(&["data", "loc"]), params: TRANSFORMER, create },
];
