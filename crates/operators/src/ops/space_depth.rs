//! `depth_to_space` and `space_to_depth` (`block_size` b, NCHW): the first moves channel blocks
//! of b² into b×b pixel blocks, `(N, C, H, W)` to `(N, C/b², H·b, W·b)` with
//! `y[n, c, h·b + i, w·b + j] = x[n, (i·b + j)·C/b² + c, h, w]` (MXNet's and ONNX's DCR order);
//! the second is its inverse. Each is one strided read, and each is the other's gradient.

use rmx_engine::BoxError;
use rmx_kernels::copy::{self, Region};
use rmx_kernels::Shape;

use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct SpaceDepth {
    name: &'static str,
    to_space: bool,
    b: usize,
}

impl SpaceDepth {
    fn out_shape(&self, s: &[usize]) -> Result<Shape> {
        let b = self.b;
        if s.len() != 4 {
            return Err(shape_err(self.name, format!("needs a 4-d NCHW input, got shape {s:?}")));
        }
        let (n, c, h, w) = (s[0], s[1], s[2], s[3]);
        let too_big = || param_err(self.name, "block_size", format!("{b} is too large for shape {s:?}"));
        let bb = b.checked_mul(b).ok_or_else(too_big)?;
        if self.to_space {
            if c % bb != 0 {
                return Err(shape_err(self.name, format!("channels {c} of shape {s:?} are not a multiple of block_size² = {bb}")));
            }
            return Ok(Shape::from_slice(&[n, c / bb, h.checked_mul(b).ok_or_else(too_big)?, w.checked_mul(b).ok_or_else(too_big)?]));
        }
        if h % b != 0 || w % b != 0 {
            return Err(shape_err(self.name, format!("height and width of shape {s:?} must be multiples of block_size {b}")));
        }
        Ok(Shape::from_slice(&[n, c.checked_mul(bb).ok_or_else(too_big)?, h / b, w / b]))
    }

    /// The input's elements in the output's order: a 6-d region over the (dense) input.
    fn region(&self, s: &[usize]) -> ([usize; 6], [isize; 6]) {
        let (b, (n, c, h, w)) = (self.b, (s[0], s[1], s[2], s[3]));
        let (sn, sc, sh) = ((c * h * w) as isize, (h * w) as isize, w as isize);
        let bi = b as isize;
        if self.to_space {
            let cb = c / (b * b);
            // Output axes (n, c', h, i, w, j); channel (i·b + j)·C' + c'.
            let step_j = (cb * h * w) as isize;
            ([n, cb, h, b, w, b], [sn, sc, sh, bi * step_j, 1, step_j])
        } else {
            // Output axes (n, i, j, c, h', w'); pixel (h'·b + i, w'·b + j).
            ([n, b, b, c, h / b, w / b], [sn, sh, 1, sc, bi * sh, bi])
        }
    }
}

impl Operator for SpaceDepth {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        Ok(vec![TensorDesc { shape: self.out_shape(&inputs[0].shape)?, dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (dims, strides) = self.region(&inputs[0].shape);
        copy::read_strided(&inputs[0], &Region { shape: &dims, strides: &strides, offset: 0 }, &mut outputs[0])?;
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let inverse = if self.to_space { "space_to_depth" } else { "depth_to_space" };
        Ok(vec![Some(g.op1(inverse, args.attrs, &[args.out_grads[0]])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let b = attrs.opt_int(name, "block_size")?.ok_or_else(|| param_err(name, "block_size", "required"))?;
    if b < 1 {
        return Err(param_err(name, "block_size", format!("must be at least 1, got {b}")));
    }
    Ok(Box::new(SpaceDepth { name, to_space: name == "depth_to_space", b: b as usize }))
}

const PARAMS: &[crate::operator::ParamDoc] = &[param("block_size", "int", "", "the side of each pixel block")];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "depth_to_space", aliases: &[], doc: "Moves channel blocks into pixel blocks (NCHW, DCR order).", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef { name: "space_to_depth", aliases: &[], doc: "Moves pixel blocks into channels (NCHW), the inverse of depth_to_space.", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
];
