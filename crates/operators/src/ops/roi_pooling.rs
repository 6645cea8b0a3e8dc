//! `ROIPooling` (`pooled_size` (h, w), `spatial_scale`): for each region of interest
//! `[batch, x1, y1, x2, y2]` (image coordinates, scaled onto the NCHW feature map and rounded
//! as MXNet rounds them), the maximum of each of `h x w` bins in every channel; an empty bin
//! gives 0. A hidden second output keeps where each maximum was, for `_backward_ROIPooling`
//! (`[out_grad, argmax, data]`), which sends each gradient there. The regions get none.

use rmx_engine::BoxError;
use rmx_kernels::{spatial, DType, Shape};

use crate::attrs::Attrs;
use crate::error::{dtype_err, param_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

struct RoiPooling {
    name: &'static str,
    backward: bool,
    pooled: (usize, usize),
    scale: f64,
}

impl Operator for RoiPooling {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if self.backward {
            // [out_grad, argmax, data]
            if inputs[1].dtype != DType::I64 || inputs[0].shape != inputs[1].shape {
                return Err(shape_err(self.name, format!("argmax must be int64 of out_grad's shape {:?}, got {:?} {}", inputs[0].shape.as_slice(), inputs[1].shape.as_slice(), inputs[1].dtype)));
            }
            return Ok(vec![inputs[2].clone()]);
        }
        let (x, rois) = (&inputs[0], &inputs[1]);
        if x.shape.len() != 4 || rois.shape.len() != 2 || rois.shape[1] != 5 {
            return Err(shape_err(self.name, format!("needs NCHW data and (R, 5) rois, got {:?} and {:?}", x.shape.as_slice(), rois.shape.as_slice())));
        }
        if !x.dtype.is_float() || rois.dtype != x.dtype {
            return Err(dtype_err(self.name, format!("needs float data and rois of its dtype, got {} and {}", x.dtype, rois.dtype)));
        }
        let out = TensorDesc { shape: Shape::from_slice(&[rois.shape[0], x.shape[1], self.pooled.0, self.pooled.1]), dtype: x.dtype };
        // The argmax is a flat index into the data: int64, which no float dtype rounds.
        let argmax = TensorDesc { shape: out.shape.clone(), dtype: DType::I64 };
        Ok(vec![out, argmax])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if self.backward {
            spatial::roi_pool_backward(&inputs[0], &inputs[1], &mut outputs[0])?;
        } else {
            let (y, argmax) = outputs.split_at_mut(1);
            spatial::roi_pool(&inputs[0], &inputs[1], self.scale, &mut y[0], &mut argmax[0])?;
        }
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        if self.backward { 1 } else { 2 }
    }

    fn num_visible_outputs(&self) -> usize {
        1
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        let dx = g.op1("_backward_ROIPooling", args.attrs, &[args.out_grads[0], args.outputs[1], args.inputs[0]])?;
        Ok(vec![Some(dx), None])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let pooled = match attrs.ints(name, "pooled_size")?.as_deref() {
        Some([h, w]) if *h > 0 && *w > 0 => (*h as usize, *w as usize),
        other => return Err(param_err(name, "pooled_size", format!("needs (height, width), both positive; got {other:?}"))),
    };
    let scale = attrs.required_f64(name, "spatial_scale")?;
    Ok(Box::new(RoiPooling { name, backward: name.starts_with("_backward"), pooled, scale }))
}

const PARAMS: &[crate::operator::ParamDoc] = &[
    param("pooled_size", "Shape", "", "the bins per region (height, width)"),
    param("spatial_scale", "float", "", "from image coordinates to the feature map's"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "ROIPooling", aliases: &[], doc: "Max pooling over regions of interest.", inputs: Arity::Fixed(&["data", "rois"]), params: PARAMS, create },
    OpDef { name: "_backward_ROIPooling", aliases: &[], doc: "Gradient of ROIPooling: [out_grad, argmax, data] to data_grad.", inputs: Arity::Fixed(&["out_grad", "argmax", "data"]), params: PARAMS, create },
];
