//! `UpSampling` (nearest neighbour): each 4-D input is repeated along height and width up to
//! `(scale * h_0, scale * w_0)`, the first input's size times `scale`; input `i` is thus scaled
//! by `scale * h_0 / h_i`, which must be a whole number equal on both axes. With several
//! inputs, `multi_input_mode='concat'` (default) stacks the results along channels and `'sum'`
//! adds them (equal channel counts). Bilinear upsampling (a Deconvolution with a learned
//! weight in MXNet) is not supported. `_backward_UpSampling(out_grad, data...)` sums each
//! block of the output gradient back to its source element.

use rmx_engine::BoxError;
use rmx_kernels::upsampling::{self, NearestPlan, Source};
use rmx_kernels::Shape;

use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

struct UpSampling {
    name: &'static str,
    scale: usize,
    num_args: usize,
    sum: bool,
    backward: bool,
}

impl UpSampling {
    /// The output shape and each input's channels and integer scale.
    fn plan(&self, datas: &[&[usize]]) -> Result<(Shape, NearestPlan)> {
        if datas.len() != self.num_args {
            return Err(param_err(self.name, "num_args", format!("is {} but {} inputs were given", self.num_args, datas.len())));
        }
        let first = datas[0];
        if first.len() != 4 {
            return Err(shape_err(self.name, format!("input 0 must be 4-D (batch, channel, height, width), got shape {first:?}")));
        }
        let (oh, ow) = (first[2] * self.scale, first[3] * self.scale);
        let mut out = Shape::from_slice(&[first[0], 0, oh, ow]);
        let mut sources = Vec::new();
        for (i, s) in datas.iter().enumerate() {
            let whole = s.len() == 4 && s[0] == first[0] && s[2] > 0 && s[3] > 0 && oh % s[2] == 0 && ow % s[3] == 0 && oh / s[2] == ow / s[3];
            if !whole {
                return Err(shape_err(self.name, format!("input {i} of shape {s:?} does not scale to ({}, _, {oh}, {ow}) by a whole factor on both axes", first[0])));
            }
            if self.sum && s[1] != first[1] {
                return Err(shape_err(self.name, format!("multi_input_mode 'sum' needs equal channels, got shapes {first:?} and {s:?}")));
            }
            out[1] = if self.sum { first[1] } else { out[1] + s[1] };
            sources.push(Source { channels: s[1], scale: oh / s[2] });
        }
        let plan = NearestPlan { batch: out[0], channels: out[1], height: oh, width: ow, sources, sum: self.sum };
        Ok((out, plan))
    }

    fn run(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let datas = if self.backward { &inputs[1..] } else { inputs };
        let shapes: Vec<&[usize]> = datas.iter().map(|t| t.shape.as_slice()).collect();
        let (_, plan) = self.plan(&shapes)?;
        if self.backward {
            upsampling::nearest_backward(&plan, &inputs[0], outputs)?;
        } else {
            upsampling::nearest_forward(&plan, datas, &mut outputs[0])?;
        }
        Ok(())
    }
}

impl Operator for UpSampling {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let dtype = float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        let datas = if self.backward { inputs.get(1..).unwrap_or_default() } else { inputs };
        let shapes: Vec<&[usize]> = datas.iter().map(|d| d.shape.as_slice()).collect();
        let (out, _) = self.plan(&shapes)?;
        if self.backward {
            if inputs[0].shape != out {
                return Err(shape_err(self.name, format!("out_grad has shape {:?}, the upsampled output has shape {:?}", inputs[0].shape.as_slice(), out.as_slice())));
            }
            return Ok(datas.to_vec());
        }
        Ok(vec![TensorDesc { shape: out, dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        self.run(inputs, outputs)
    }

    fn num_outputs(&self) -> usize {
        if self.backward { self.num_args } else { 1 }
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let mut ins = vec![args.out_grads[0]];
        ins.extend_from_slice(args.inputs);
        Ok(g.op("_backward_UpSampling", args.attrs, &ins)?.into_iter().map(Some).collect())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let scale = attrs.opt_int(name, "scale")?.ok_or_else(|| param_err(name, "scale", "required"))?;
    if scale < 1 {
        return Err(param_err(name, "scale", format!("must be positive, got {scale}")));
    }
    let kind = attrs.get("sample_type").ok_or_else(|| param_err(name, "sample_type", "required ('nearest' or 'bilinear')"))?;
    match kind {
        "nearest" => {}
        "bilinear" => return Err(param_err(name, "sample_type", "'bilinear' is not supported; use 'nearest' (or a Deconvolution)")),
        other => return Err(param_err(name, "sample_type", format!("expected 'nearest' or 'bilinear', got {other:?}"))),
    }
    let num_args = attrs.int(name, "num_args", 1)?;
    if num_args < 1 {
        return Err(param_err(name, "num_args", format!("must be positive, got {num_args}")));
    }
    attrs.int(name, "num_filter", 0)?;
    attrs.int(name, "workspace", 512)?;
    Ok(Box::new(UpSampling {
        name,
        scale: scale as usize,
        num_args: num_args as usize,
        sum: attrs.choice(name, "multi_input_mode", "concat", &["concat", "sum"])? == "sum",
        backward: name.starts_with("_backward"),
    }))
}

const PARAMS: &[ParamDoc] = &[
    param("scale", "int", "", "upsampling factor of the first input"),
    param("sample_type", "{'bilinear', 'nearest'}", "", "only 'nearest' is supported"),
    param("num_args", "int", "1", "number of inputs"),
    param("num_filter", "int", "0", "input channels for bilinear upsampling (unused by nearest)"),
    param("multi_input_mode", "{'concat', 'sum'}", "'concat'", "how several upsampled inputs combine"),
    param("workspace", "long", "512", "accepted for compatibility"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "UpSampling", aliases: &[], doc: "Nearest-neighbour upsampling of one or more 4-D inputs (see module doc).", inputs: Arity::Variadic("data"), params: PARAMS, create },
    OpDef {
        name: "_backward_UpSampling",
        aliases: &[],
        doc: "Gradients of UpSampling's inputs from (out_grad, data...).",
        inputs: Arity::Variadic("data"),
        params: PARAMS,
        create,
    },
];
