//! `UpSampling` (nearest neighbour): each 4-D input is repeated along height and width up to
//! `(scale * h_0, scale * w_0)`, the first input's size times `scale`; input `i` is thus scaled
//! by `scale * h_0 / h_i`, which must be a whole number equal on both axes. With several
//! inputs, `multi_input_mode='concat'` (default) stacks the results along channels and `'sum'`
//! adds them (equal channel counts). Bilinear upsampling (a Deconvolution with a learned
//! weight in MXNet) is not supported. `_backward_UpSampling(out_grad, data...)` sums each
//! block of the output gradient back to its source element.

use rayon::prelude::*;
use rmx_engine::BoxError;
use rmx_kernels::Shape;

use super::float::{float_dtype, with_float, Float};
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
    /// The output shape and each input's integer scale.
    fn plan(&self, datas: &[&[usize]]) -> Result<(Shape, Vec<usize>)> {
        if datas.len() != self.num_args {
            return Err(param_err(self.name, "num_args", format!("is {} but {} inputs were given", self.num_args, datas.len())));
        }
        let first = datas[0];
        if first.len() != 4 {
            return Err(shape_err(self.name, format!("input 0 must be 4-D (batch, channel, height, width), got shape {first:?}")));
        }
        let (oh, ow) = (first[2] * self.scale, first[3] * self.scale);
        let mut out = Shape::from_slice(&[first[0], 0, oh, ow]);
        let mut scales = Vec::new();
        for (i, s) in datas.iter().enumerate() {
            let whole = s.len() == 4 && s[0] == first[0] && s[2] > 0 && s[3] > 0 && oh % s[2] == 0 && ow % s[3] == 0 && oh / s[2] == ow / s[3];
            if !whole {
                return Err(shape_err(self.name, format!("input {i} of shape {s:?} does not scale to ({}, _, {oh}, {ow}) by a whole factor on both axes", first[0])));
            }
            if self.sum && s[1] != first[1] {
                return Err(shape_err(self.name, format!("multi_input_mode 'sum' needs equal channels, got shapes {first:?} and {s:?}")));
            }
            out[1] = if self.sum { first[1] } else { out[1] + s[1] };
            scales.push(oh / s[2]);
        }
        Ok((out, scales))
    }

    fn run<T: Float>(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let datas = if self.backward { &inputs[1..] } else { inputs };
        let shapes: Vec<&[usize]> = datas.iter().map(|t| t.shape.as_slice()).collect();
        let (out, scales) = self.plan(&shapes)?;
        let (n, c, oh, ow) = (out[0], out[1], out[2], out[3]);
        let oplane = oh * ow;
        if n == 0 || oplane == 0 {
            return Ok(());
        }
        if !self.backward {
            // (elements, channels, scale) per input: plain slices, which threads may share.
            let srcs: Vec<(&[T], usize, usize)> = datas.iter().zip(&scales).map(|(x, &s)| (x.data::<T>(), x.shape[1], s)).collect();
            let y = outputs[0].data_mut::<T>();
            y.par_chunks_mut(c * oplane).enumerate().for_each(|(b, img)| {
                let mut channel = 0;
                for (i, &(x, xc, s)) in srcs.iter().enumerate() {
                    let xi = &x[b * xc * oplane / (s * s)..][..xc * oplane / (s * s)];
                    let add = self.sum && i > 0;
                    for (src, dst) in xi.chunks_exact(oplane / (s * s)).zip(img[channel * oplane..].chunks_exact_mut(oplane)) {
                        upsample_plane(src, dst, ow, s, add);
                    }
                    if !self.sum {
                        channel += xc;
                    }
                }
            });
            return Ok(());
        }
        let dy = inputs[0].data::<T>();
        let mut channel = 0;
        for (i, dx) in outputs.iter_mut().enumerate() {
            let (xc, s) = (dx.shape[1], scales[i]);
            let iplane = oplane / (s * s);
            let dx = dx.data_mut::<T>();
            dx.par_chunks_mut(iplane).enumerate().for_each(|(p, dst)| {
                let (b, ch) = (p / xc, p % xc);
                let src = &dy[(b * c + channel + ch) * oplane..][..oplane];
                downsum_plane(src, dst, ow, s);
            });
            if !self.sum {
                channel += xc;
            }
        }
        Ok(())
    }
}

/// `dst` (rows of width `ow`) gets each element of `src` repeated in an `s x s` block.
fn upsample_plane<T: Float>(src: &[T], dst: &mut [T], ow: usize, s: usize, add: bool) {
    let iw = ow / s;
    for (r, row) in dst.chunks_exact_mut(ow).enumerate() {
        let line = &src[(r / s) * iw..][..iw];
        for (block, &v) in row.chunks_exact_mut(s).zip(line) {
            for d in block {
                *d = if add { *d + v } else { v };
            }
        }
    }
}

/// The adjoint of [`upsample_plane`]: each element of `dst` is the sum of its block of `src`.
fn downsum_plane<T: Float>(src: &[T], dst: &mut [T], ow: usize, s: usize) {
    let iw = ow / s;
    dst.fill(T::ZERO);
    for (r, row) in src.chunks_exact(ow).enumerate() {
        let line = &mut dst[(r / s) * iw..][..iw];
        for (block, d) in row.chunks_exact(s).zip(line) {
            for &v in block {
                *d += v;
            }
        }
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
        with_float!(inputs[0].dtype, T => self.run::<T>(inputs, outputs))
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
