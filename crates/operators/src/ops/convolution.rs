//! `Convolution`: 1-D (NCW), 2-D (NCHW) or 3-D (NCDHW) grouped convolution,
//! `y[n, f] = b[f] + sum_c sum_k w[f, c, k] * x_pad[n, g(f) * C/G + c, o * stride + k * dilate]`,
//! output size `(in + 2 * pad - (dilate * (kernel - 1) + 1)) / stride + 1`, weight
//! `(num_filter, C / num_group, kernel...)`, bias `(num_filter,)` unless `no_bias`.
//! `_backward_Convolution` returns the gradients of data, weight (and bias) at once.

use rmx_engine::BoxError;
use rmx_kernels::Shape;

use rmx_kernels::conv::{self, ConvPlan};
use rmx_kernels::window::{dilated, three, Geometry};

use super::float::float_dtype;
use super::window::{axis_tuple, kernel_tuple};
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

/// The parameters Convolution and Deconvolution share.
#[derive(Clone, Debug)]
pub struct ConvParams {
    pub kernel: Vec<usize>,
    pub stride: Vec<usize>,
    pub dilate: Vec<usize>,
    pub pad: Vec<usize>,
    pub num_filter: usize,
    pub groups: usize,
    pub no_bias: bool,
}

impl ConvParams {
    pub fn parse(op: &str, attrs: &Attrs, no_bias_default: bool) -> Result<Self> {
        let kernel = kernel_tuple(op, attrs, true)?;
        let nd = kernel.len();
        let num_filter = attrs.opt_int(op, "num_filter")?.ok_or_else(|| param_err(op, "num_filter", "required"))?;
        if num_filter < 1 {
            return Err(param_err(op, "num_filter", format!("must be positive, got {num_filter}")));
        }
        let groups = attrs.int(op, "num_group", 1)?;
        if groups < 1 {
            return Err(param_err(op, "num_group", format!("must be positive, got {groups}")));
        }
        let layout = attrs.str("layout", "None");
        let wanted = ["NCW", "NCHW", "NCDHW"][nd - 1];
        if layout != "None" && layout != wanted {
            return Err(param_err(op, "layout", format!("only {wanted} is supported for a {nd}-D kernel, got {layout}")));
        }
        attrs.choice(op, "cudnn_tune", "None", &["None", "off", "limited_workspace", "fastest"])?;
        attrs.bool(op, "cudnn_off", false)?;
        attrs.int(op, "workspace", 0)?;
        Ok(ConvParams {
            stride: axis_tuple(op, attrs, "stride", nd, 1, 1)?,
            dilate: axis_tuple(op, attrs, "dilate", nd, 1, 1)?,
            pad: axis_tuple(op, attrs, "pad", nd, 0, 0)?,
            kernel,
            num_filter: num_filter as usize,
            groups: groups as usize,
            no_bias: attrs.bool(op, "no_bias", no_bias_default)?,
        })
    }

    /// Checks that `data` is `(N, C, spatial...)` of the kernel's rank with `C` divisible by
    /// the groups, and returns `C`.
    pub fn check_data(&self, op: &str, data: &[usize]) -> Result<usize> {
        let nd = self.kernel.len();
        if data.len() != nd + 2 {
            return Err(shape_err(op, format!("data must be {}-D (batch, channel, {nd} spatial axes) for a {nd}-D kernel, got shape {data:?}", nd + 2)));
        }
        let c = data[1];
        if c % self.groups != 0 || self.num_filter % self.groups != 0 {
            return Err(shape_err(op, format!("num_group {} must divide the data's channels ({c}) and num_filter ({})", self.groups, self.num_filter)));
        }
        Ok(c)
    }

    /// The window geometry of one group, spatial axes as three.
    pub fn geometry(&self, channels: usize, input: &[usize], output: &[usize], pad: &[usize]) -> Geometry {
        Geometry {
            channels,
            input: three(input, 1),
            output: three(output, 1),
            kernel: three(&self.kernel, 1),
            stride: three(&self.stride, 1),
            pad: three(pad, 0),
            dilate: three(&self.dilate, 1),
        }
    }

    pub fn input_names(&self, backward: bool) -> Vec<&'static str> {
        let mut names = if backward { vec!["out_grad", "data", "weight"] } else { vec!["data", "weight", "bias"] };
        if self.no_bias && !backward {
            names.pop();
        }
        names
    }
}

/// Checks an input's shape against the one the parameters imply.
pub fn expect_shape(op: &str, what: &str, got: &[usize], want: &[usize]) -> Result<()> {
    if got != want {
        return Err(shape_err(op, format!("{what} has shape {got:?}, expected {want:?} from the data's shape and the parameters")));
    }
    Ok(())
}

/// Shapes a forward or backward convolution reads and writes.
struct Shapes {
    plan: ConvPlan,
    out: Shape,
    weight: Shape,
}

struct Conv {
    name: &'static str,
    p: ConvParams,
    backward: bool,
}

impl Conv {
    fn shapes(&self, data: &[usize]) -> Result<Shapes> {
        let p = &self.p;
        let c = p.check_data(self.name, data)?;
        let mut out: Shape = Shape::from_slice(&[data[0], p.num_filter]);
        for (i, &x) in data[2..].iter().enumerate() {
            let k = dilated(p.kernel[i], p.dilate[i]);
            if k > x + 2 * p.pad[i] {
                return Err(shape_err(self.name, format!("kernel extent {k} (dilated) exceeds the padded input size {} on spatial axis {i} (data shape {data:?})", x + 2 * p.pad[i])));
            }
            out.push((x + 2 * p.pad[i] - k) / p.stride[i] + 1);
        }
        let mut weight = Shape::from_slice(&[p.num_filter, c / p.groups]);
        weight.extend_from_slice(&p.kernel);
        let geom = p.geometry(c / p.groups, &data[2..], &out[2..], &p.pad);
        Ok(Shapes { plan: ConvPlan { batch: data[0], groups: p.groups, out_channels: p.num_filter, geom }, out, weight })
    }

    fn run(&self, ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let data = if self.backward { &inputs[1] } else { &inputs[0] };
        let s = self.shapes(&data.shape)?;
        let spatial = s.plan.geom.output_size();
        if !self.backward {
            let bias = (!self.p.no_bias).then(|| &inputs[2]);
            conv::forward(&s.plan, &inputs[0], &inputs[1], bias, &mut outputs[0])?;
            return Ok(());
        }
        let (dy, x, w) = (&inputs[0], &inputs[1], &inputs[2]);
        // The first layer's data needs no gradient: its col2im and product are skipped.
        if ctx.wants(0) {
            conv::backward_data(&s.plan, dy, w, &mut outputs[0])?;
        }
        conv::backward_weight(&s.plan, dy, x, &mut outputs[1])?;
        if !self.p.no_bias {
            conv::bias_grad(dy, &mut outputs[2], spatial)?;
        }
        Ok(())
    }
}

impl Operator for Conv {
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

    fn compute(&self, ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        self.run(ctx, inputs, outputs)
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
        let grads = g.op("_backward_Convolution", args.attrs, &[args.out_grads[0], args.inputs[0], args.inputs[1]])?;
        Ok(grads.into_iter().map(Some).collect())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    Ok(Box::new(Conv { name, p: ConvParams::parse(name, attrs, false)?, backward: name.starts_with("_backward") }))
}

/// Parameters of Convolution (Deconvolution adds `adj` and `target_shape`).
pub const CONV_PARAMS: &[ParamDoc] = &[
    param("kernel", "Shape(tuple)", "", "window size: (w,), (h, w) or (d, h, w)"),
    param("num_filter", "int", "", "number of output channels"),
    param("stride", "Shape(tuple)", "()", "step per spatial axis (1 each when empty)"),
    param("dilate", "Shape(tuple)", "()", "dilation per spatial axis (1 each when empty)"),
    param("pad", "Shape(tuple)", "()", "zero padding on both sides per spatial axis (0 each when empty)"),
    param("num_group", "int", "1", "groups: channels and filters split into this many independent convolutions"),
    param("workspace", "long", "1024", "accepted for compatibility (MB of scratch in MXNet)"),
    param("no_bias", "boolean", "False", "without a bias input"),
    param("cudnn_tune", "{None, 'fastest', 'limited_workspace', 'off'}", "None", "accepted for compatibility"),
    param("cudnn_off", "boolean", "False", "accepted for compatibility"),
    param("layout", "{None, 'NCW', 'NCHW', 'NCDHW'}", "None", "only channel-first layouts are supported"),
];

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "Convolution",
        aliases: &[],
        doc: "Grouped 1-D/2-D/3-D convolution with stride, dilation and zero padding (see module doc).",
        inputs: Arity::Fixed(&["data", "weight", "bias"]),
        params: CONV_PARAMS,
        create,
    },
    OpDef {
        name: "_backward_Convolution",
        aliases: &[],
        doc: "Gradients of Convolution's data, weight and bias from (out_grad, data, weight).",
        inputs: Arity::Fixed(&["out_grad", "data", "weight"]),
        params: CONV_PARAMS,
        create,
    },
];
