//! `Deconvolution` (transposed convolution): the adjoint of Convolution with respect to its
//! data, so its forward is a convolution's data gradient and its backward a convolution's
//! forward and weight gradient. Weight `(C, num_filter / num_group, kernel...)` for data with
//! `C` channels; output size `stride * (in - 1) + dilate * (kernel - 1) + 1 - 2 * pad + adj`.
//! A nonzero `target_shape` replaces `pad` and `adj`: with `t = full - target` (full being the
//! size at pad 0), `pad = ceil(t / 2)` and `adj = t % 2`, as MXNet does.
//! Unlike Convolution, `no_bias` defaults to True (and `workspace` to 512).
//! `_backward_Deconvolution` returns the gradients of data, weight (and bias) at once.

use rmx_engine::BoxError;
use rmx_kernels::Shape;

use rmx_kernels::conv::{self, ConvPlan};
use rmx_kernels::window::dilated;

use super::convolution::{expect_shape, ConvParams};
use super::float::float_dtype;
use super::window::axis_tuple;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

struct Deconv {
    name: &'static str,
    p: ConvParams,
    adj: Vec<usize>,
    target: Vec<usize>,
    backward: bool,
}

struct Shapes {
    /// The convolution whose data gradient this deconvolution is: its input is our output.
    plan: ConvPlan,
    out: Shape,
    weight: Shape,
}

impl Deconv {
    fn shapes(&self, data: &[usize]) -> Result<Shapes> {
        let p = &self.p;
        let c = p.check_data(self.name, data)?;
        let mut out: Shape = Shape::from_slice(&[data[0], p.num_filter]);
        let mut pads = Vec::new();
        for (i, &x) in data[2..].iter().enumerate() {
            if x == 0 {
                return Err(shape_err(self.name, format!("data has an empty spatial axis: shape {data:?}")));
            }
            let full = p.stride[i] * (x - 1) + dilated(p.kernel[i], p.dilate[i]);
            let (pad, adj) = if self.target.is_empty() {
                (p.pad[i], self.adj[i])
            } else {
                let t = full.checked_sub(self.target[i]).ok_or_else(|| {
                    param_err(self.name, "target_shape", format!("{:?} is too big: axis {i} can be at most {full} for data shape {data:?}", self.target))
                })?;
                (t.div_ceil(2), t % 2)
            };
            if adj >= p.stride[i] {
                return Err(param_err(self.name, "adj", format!("must be smaller than the stride on each axis: adj {adj} with stride {} on axis {i}", p.stride[i])));
            }
            let size = (full + adj).checked_sub(2 * pad).filter(|&s| s > 0).ok_or_else(|| {
                shape_err(self.name, format!("padding {pad} leaves no output on spatial axis {i} (data shape {data:?})"))
            })?;
            out.push(size);
            pads.push(pad);
        }
        let mut weight = Shape::from_slice(&[c, p.num_filter / p.groups]);
        weight.extend_from_slice(&p.kernel);
        let geom = p.geometry(p.num_filter / p.groups, &out[2..], &data[2..], &pads);
        Ok(Shapes { plan: ConvPlan { batch: data[0], groups: p.groups, out_channels: c, geom }, out, weight })
    }

    fn run(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let data = if self.backward { &inputs[1] } else { &inputs[0] };
        let s = self.shapes(&data.shape)?;
        let spatial = s.plan.geom.input_size();
        if !self.backward {
            conv::backward_data(&s.plan, &inputs[0], &inputs[1], &mut outputs[0])?;
            if !self.p.no_bias {
                conv::add_bias(&mut outputs[0], &inputs[2], spatial)?;
            }
            return Ok(());
        }
        let (dy, x, w) = (&inputs[0], &inputs[1], &inputs[2]);
        conv::forward(&s.plan, dy, w, None, &mut outputs[0])?;
        conv::backward_weight(&s.plan, x, dy, &mut outputs[1])?;
        if !self.p.no_bias {
            conv::bias_grad(dy, &mut outputs[2], spatial)?;
        }
        Ok(())
    }
}

impl Operator for Deconv {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let names = self.p.input_names(self.backward);
        if inputs.len() != names.len() {
            return Err(shape_err(self.name, format!("takes {} inputs ({}), got {}", names.len(), names.join(", "), inputs.len())));
        }
        let dtype = float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        let (data, weight) = if self.backward { (&inputs[1], &inputs[2]) } else { (&inputs[0], &inputs[1]) };
        let s = self.shapes(&data.shape)?;
        expect_shape(self.name, "weight", &weight.shape, &s.weight)?;
        if self.backward {
            expect_shape(self.name, "out_grad", &inputs[0].shape, &s.out)?;
            let mut grads = vec![data.clone(), weight.clone()];
            if !self.p.no_bias {
                grads.push(TensorDesc::new(&[self.p.num_filter], dtype));
            }
            return Ok(grads);
        }
        if !self.p.no_bias {
            expect_shape(self.name, "bias", &inputs[2].shape, &[self.p.num_filter])?;
        }
        Ok(vec![TensorDesc { shape: s.out, dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        self.run(inputs, outputs)
    }

    fn num_outputs(&self) -> usize {
        if self.backward { 3 - self.p.no_bias as usize } else { 1 }
    }

    fn input_names(&self) -> Option<Vec<&'static str>> {
        Some(self.p.input_names(self.backward))
    }

    fn complete_inputs(&self, known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        let Some(Some(data)) = known.first().filter(|_| !self.backward) else { return Vec::new() };
        let Ok(s) = self.shapes(data) else { return Vec::new() };
        let mut out = vec![Some(data.clone()), Some(s.weight)];
        if !self.p.no_bias {
            out.push(Some(Shape::from_slice(&[self.p.num_filter])));
        }
        out
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let grads = g.op("_backward_Deconvolution", args.attrs, &[args.out_grads[0], args.inputs[0], args.inputs[1]])?;
        Ok(grads.into_iter().map(Some).collect())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let p = ConvParams::parse(name, attrs, true)?;
    let nd = p.kernel.len();
    let adj = axis_tuple(name, attrs, "adj", nd, 0, 0)?;
    let mut target = axis_tuple(name, attrs, "target_shape", nd, 0, 0)?;
    if target.iter().all(|&t| t == 0) {
        target.clear();
    }
    Ok(Box::new(Deconv { name, p, adj, target, backward: name.starts_with("_backward") }))
}

const PARAMS: &[ParamDoc] = &[
    param("kernel", "Shape(tuple)", "", "window size: (w,), (h, w) or (d, h, w)"),
    param("num_filter", "int", "", "number of output channels"),
    param("stride", "Shape(tuple)", "()", "step per spatial axis (1 each when empty)"),
    param("dilate", "Shape(tuple)", "()", "dilation per spatial axis (1 each when empty)"),
    param("pad", "Shape(tuple)", "()", "padding removed from both sides of the output (0 each when empty)"),
    param("adj", "Shape(tuple)", "()", "extra output size at the end of each axis, below the stride"),
    param("target_shape", "Shape(tuple)", "()", "output spatial size; sets pad and adj when given"),
    param("num_group", "int", "1", "groups: channels and filters split into this many independent parts"),
    param("workspace", "long", "512", "accepted for compatibility (MB of scratch in MXNet)"),
    param("no_bias", "boolean", "True", "without a bias input (note: True by default, unlike Convolution)"),
    param("cudnn_tune", "{None, 'fastest', 'limited_workspace', 'off'}", "None", "accepted for compatibility"),
    param("cudnn_off", "boolean", "False", "accepted for compatibility"),
    param("layout", "{None, 'NCW', 'NCHW', 'NCDHW'}", "None", "only channel-first layouts are supported"),
];

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "Deconvolution",
        aliases: &[],
        doc: "Transposed (fractionally strided) convolution, the adjoint of Convolution (see module doc).",
        inputs: Arity::Fixed(&["data", "weight", "bias"]),
        params: PARAMS,
        create,
    },
    OpDef {
        name: "_backward_Deconvolution",
        aliases: &[],
        doc: "Gradients of Deconvolution's data, weight and bias from (out_grad, data, weight).",
        inputs: Arity::Fixed(&["out_grad", "data", "weight"]),
        params: PARAMS,
        create,
    },
];
