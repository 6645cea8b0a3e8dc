//! `Crop` (MXNet's legacy spatial crop, NCHW): a window of the first input of size `h_w`, or of
//! the second input's height and width (`num_args = 2`), at `offset` (y, x) or centred
//! (`center_crop`). A strided read; its gradient (`_backward_Crop`) writes the output gradient
//! back into zeros of the input's shape. The shape-giving input gets no gradient.

use rmx_engine::BoxError;
use rmx_kernels::copy::{self, Region};
use rmx_kernels::{contiguous_strides, Shape};

use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct Crop {
    name: &'static str,
    backward: bool,
    num_args: usize,
    offset: (usize, usize),
    h_w: (usize, usize),
    center: bool,
}

impl Crop {
    /// The output's shape and its region in `data` of shape `x`, for the window `(h, w)`.
    fn window(&self, x: &[usize], like: Option<&[usize]>) -> Result<(Shape, Vec<isize>, isize)> {
        if x.len() != 4 {
            return Err(shape_err(self.name, format!("needs NCHW data, got shape {x:?}")));
        }
        let (h, w) = match like {
            Some(l) if l.len() == 4 => (l[2], l[3]),
            Some(l) => return Err(shape_err(self.name, format!("crop_like must be NCHW, got shape {l:?}"))),
            None => self.h_w,
        };
        let (y0, x0) = if self.center { ((x[2].saturating_sub(h)) / 2, (x[3].saturating_sub(w)) / 2) } else { self.offset };
        if y0 + h > x[2] || x0 + w > x[3] {
            return Err(shape_err(self.name, format!("a {h}x{w} window at ({y0}, {x0}) does not fit data of shape {x:?}")));
        }
        let strides = contiguous_strides(x);
        let offset = y0 as isize * strides[2] + x0 as isize * strides[3];
        Ok((Shape::from_slice(&[x[0], x[1], h, w]), strides.to_vec(), offset))
    }
}

impl Operator for Crop {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if self.backward {
            // [out_grad, data, (crop_like)]
            let (want, _, _) = self.window(&inputs[1].shape, inputs.get(2).map(|d| d.shape.as_slice()))?;
            if inputs[0].shape != want {
                return Err(shape_err(self.name, format!("out_grad has shape {:?}, the crop {:?}", inputs[0].shape.as_slice(), want.as_slice())));
            }
            return Ok(vec![inputs[1].clone()]);
        }
        if inputs.len() != self.num_args {
            return Err(param_err(self.name, "num_args", format!("is {} but {} inputs were given", self.num_args, inputs.len())));
        }
        let (shape, _, _) = self.window(&inputs[0].shape, inputs.get(1).map(|d| d.shape.as_slice()))?;
        Ok(vec![TensorDesc { shape, dtype: inputs[0].dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (data, like) = if self.backward { (&outputs[0].shape.clone(), inputs.get(2)) } else { (&inputs[0].shape, inputs.get(1)) };
        let (shape, strides, offset) = self.window(data, like.map(|t| t.shape.as_slice()))?;
        let region = Region { shape: &shape, strides: &strides, offset };
        if self.backward {
            copy::zero(&mut outputs[0])?;
            copy::write_strided(&inputs[0], &mut outputs[0], &region)?;
        } else {
            copy::read_strided(&inputs[0], &region, &mut outputs[0])?;
        }
        Ok(())
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        let ins: Vec<Value> = [args.out_grads[0]].into_iter().chain(args.inputs.iter().copied()).collect();
        let dx = g.op1("_backward_Crop", args.attrs, &ins)?;
        Ok([Some(dx)].into_iter().chain(args.inputs[1..].iter().map(|_| None)).collect())
    }
}

fn pair(attrs: &Attrs, name: &str, key: &str) -> Result<(usize, usize)> {
    match attrs.ints(name, key)?.as_deref() {
        None => Ok((0, 0)),
        Some([a, b]) if *a >= 0 && *b >= 0 => Ok((*a as usize, *b as usize)),
        Some(other) => Err(param_err(name, key, format!("expected two non-negative ints, got {other:?}"))),
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let num_args = attrs.int(name, "num_args", 1)?;
    if !(1..=2).contains(&num_args) {
        return Err(param_err(name, "num_args", format!("must be 1 or 2, got {num_args}")));
    }
    let crop = Crop {
        name,
        backward: name.starts_with("_backward"),
        num_args: num_args as usize,
        offset: pair(attrs, name, "offset")?,
        h_w: pair(attrs, name, "h_w")?,
        center: attrs.bool(name, "center_crop", false)?,
    };
    if crop.num_args == 1 && (crop.h_w.0 == 0 || crop.h_w.1 == 0) {
        return Err(param_err(name, "h_w", "needs a height and width with one input"));
    }
    Ok(Box::new(crop))
}

const PARAMS: &[crate::operator::ParamDoc] = &[
    param("num_args", "int", "", "1 (crop to h_w) or 2 (crop to the second input's height and width)"),
    param("offset", "Shape", "(0,0)", "the window's top-left corner (y, x)"),
    param("h_w", "Shape", "(0,0)", "the window's height and width, with one input"),
    param("center_crop", "boolean", "False", "centre the window instead of using offset"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "Crop", aliases: &[], doc: "A spatial window of NCHW data.", inputs: Arity::Variadic("data"), params: PARAMS, create },
    OpDef { name: "_backward_Crop", aliases: &[], doc: "Gradient of Crop: [out_grad, data, (crop_like)] to data_grad.", inputs: Arity::Variadic("grad"), params: PARAMS, create },
];
