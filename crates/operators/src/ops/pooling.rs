//! `Pooling`: max, average, sum or Lp (`(sum x^p)^(1/p)`) over windows of 1-D, 2-D or 3-D
//! channel-first data. Output size per axis: `valid` `1 + (in + 2 * pad - kernel) / stride`,
//! `full` the same rounded up, `same` (1-D max pooling only, as MXNet) `ceil(in / stride)`;
//! `global_pool` pools each whole plane. Stride defaults to 1. Padding never wins a max (an
//! all-padding window gives the lowest finite value), and adds zeros to sums. Averages divide
//! by the window clipped to the padded input when `count_include_pad` (the default), else by
//! the window clipped to the input; an empty window averages to 0.
//! `_backward_Pooling(out_grad, data)`: max routes each gradient to the first maximum of its
//! window, avg and sum spread it, Lp scales it by `(x / y)^(p - 1)`.

use rmx_engine::BoxError;
use rmx_kernels::pooling::{self, PoolKind as Kind, PoolPlan};
use rmx_kernels::window::{three, Geometry};
use rmx_kernels::Shape;

use super::float::float_dtype;
use super::window::{axis_tuple, kernel_tuple};
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Convention {
    Valid,
    Full,
    Same,
}

struct Pool {
    name: &'static str,
    kernel: Vec<usize>,
    stride: Vec<usize>,
    pad: Vec<usize>,
    kind: Kind,
    global: bool,
    convention: Convention,
    count_include_pad: bool,
    backward: bool,
    /// A hidden second output, as MXNet 1.9.1's oneDNN build declares for max pooling (its
    /// workspace). rmx never uses it; it exists so that node counts, entry ids and symbol JSON
    /// match files MXNet writes. It is one element.
    workspace: bool,
}

impl Pool {
    /// One data shape's windows and the pooled shape.
    fn windows(&self, data: &[usize]) -> Result<(PoolPlan, Shape)> {
        let nd = if self.global { data.len().saturating_sub(2) } else { self.kernel.len() };
        if data.len() != nd + 2 || !(1..=3).contains(&nd) {
            return Err(shape_err(self.name, format!("data must be {}-D (batch, channel, {nd} spatial axes) for a {nd}-D kernel, got shape {data:?}", nd + 2)));
        }
        let spatial = &data[2..];
        let mut out: Shape = Shape::from_slice(&data[..2]);
        let (kernel, stride, mut pad) = if self.global {
            (spatial.to_vec(), vec![1; nd], vec![0; nd])
        } else {
            (self.kernel.clone(), self.stride.clone(), self.pad.clone())
        };
        for i in 0..nd {
            let (x, k, s, p) = (spatial[i], kernel[i], stride[i], pad[i]);
            if k > x + 2 * p {
                return Err(shape_err(self.name, format!("kernel size {k} exceeds the padded input size {} on spatial axis {i} (data shape {data:?})", x + 2 * p)));
            }
            let o = match self.convention {
                _ if self.global => 1,
                Convention::Valid => 1 + (x + 2 * p - k) / s,
                Convention::Full => 1 + (x + 2 * p - k).div_ceil(s),
                Convention::Same => {
                    let o = x.div_ceil(s);
                    pad[i] = ((o - 1) * s + k).saturating_sub(x) / 2;
                    o
                }
            };
            out.push(o);
        }
        let geom = Geometry {
            channels: data[1],
            input: three(spatial, 1),
            output: three(&out[2..], 1),
            kernel: three(&kernel, 1),
            stride: three(&stride, 1),
            pad: three(&pad, 0),
            dilate: [1; 3],
        };
        let plan = PoolPlan { batch: data[0], kind: self.kind, geom, global: self.global, count_include_pad: self.count_include_pad };
        Ok((plan, out))
    }

    fn run(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let data = if self.backward { &inputs[1] } else { &inputs[0] };
        let (plan, _) = self.windows(&data.shape)?;
        if self.backward {
            pooling::backward(&plan, &inputs[0], &inputs[1], &mut outputs[0])?;
        } else {
            pooling::forward(&plan, &inputs[0], &mut outputs[0])?;
        }
        Ok(())
    }
}

impl Operator for Pool {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let want = if self.backward { 2 } else { 1 };
        if inputs.len() != want {
            return Err(shape_err(self.name, format!("takes {want} inputs, got {}", inputs.len())));
        }
        let dtype = float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        let data = inputs.last().unwrap();
        let (_, out) = self.windows(&data.shape)?;
        if self.backward {
            if inputs[0].shape != out {
                return Err(shape_err(self.name, format!("out_grad has shape {:?}, the pooled data has shape {:?}", inputs[0].shape.as_slice(), out.as_slice())));
            }
            return Ok(vec![TensorDesc { shape: data.shape.clone(), dtype }]);
        }
        let mut outs = vec![TensorDesc { shape: out, dtype }];
        if self.workspace {
            outs.push(TensorDesc::new(&[1], dtype));
        }
        Ok(outs)
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        self.run(inputs, &mut outputs[..1])
    }

    fn num_outputs(&self) -> usize {
        1 + self.workspace as usize
    }

    fn num_visible_outputs(&self) -> usize {
        1
    }

    fn input_names(&self) -> Option<Vec<&'static str>> {
        Some(if self.backward { vec!["out_grad", "data"] } else { vec!["data"] })
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(g.op1("_backward_Pooling", args.attrs, &[args.out_grads[0], args.inputs[0]])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let global = attrs.bool(name, "global_pool", false)?;
    let kernel = kernel_tuple(name, attrs, !global)?;
    let nd = kernel.len();
    let kind = match attrs.choice(name, "pool_type", "max", &["max", "avg", "sum", "lp"])? {
        "max" => Kind::Max,
        "avg" => Kind::Avg,
        "sum" => Kind::Sum,
        _ => {
            let p = attrs.opt_int(name, "p_value")?.ok_or_else(|| param_err(name, "p_value", "required for pool_type 'lp'"))?;
            if p < 1 {
                return Err(param_err(name, "p_value", format!("must be positive, got {p}")));
            }
            Kind::Lp(p as f64)
        }
    };
    let convention = match attrs.choice(name, "pooling_convention", "valid", &["valid", "full", "same"])? {
        "valid" => Convention::Valid,
        "full" => Convention::Full,
        _ => Convention::Same,
    };
    let stride = axis_tuple(name, attrs, "stride", nd, 1, 1)?;
    let pad = axis_tuple(name, attrs, "pad", nd, 0, 0)?;
    if convention == Convention::Same && !global {
        if nd != 1 || kind != Kind::Max {
            return Err(param_err(name, "pooling_convention", "'same' supports only 1-D max pooling (as in MXNet)"));
        }
        if pad.iter().any(|&p| p != 0) {
            return Err(param_err(name, "pad", "must be empty or 0 with pooling_convention 'same'"));
        }
    }
    let layout = attrs.str("layout", "None");
    if !["None", "NCW", "NCHW", "NCDHW"].contains(&layout) || (!global && layout != "None" && layout.len() != nd + 2) {
        return Err(param_err(name, "layout", format!("only channel-first layouts (NCW, NCHW, NCDHW) matching the kernel are supported, got {layout}")));
    }
    attrs.bool(name, "cudnn_off", false)?;
    Ok(Box::new(Pool {
        name,
        kernel,
        stride,
        pad,
        kind,
        global,
        convention,
        count_include_pad: match attrs.get("count_include_pad") {
            None | Some("None") => true,
            Some(_) => attrs.bool(name, "count_include_pad", true)?,
        },
        backward: name.starts_with("_backward"),
        workspace: !name.starts_with("_backward") && kind == Kind::Max && nd > 0,
    }))
}

const PARAMS: &[ParamDoc] = &[
    param("kernel", "Shape(tuple)", "()", "window size: (w,), (h, w) or (d, h, w); required unless global_pool"),
    param("pool_type", "{'avg', 'lp', 'max', 'sum'}", "'max'", "what each window computes"),
    param("global_pool", "boolean", "False", "pool whole planes (kernel, stride and pad ignored)"),
    param("cudnn_off", "boolean", "False", "accepted for compatibility"),
    param("pooling_convention", "{'full', 'same', 'valid'}", "'valid'", "output size rounding: valid floors, full ceils, same is ceil(in / stride)"),
    param("stride", "Shape(tuple)", "()", "step per spatial axis (1 each when empty)"),
    param("pad", "Shape(tuple)", "()", "padding on both sides per spatial axis (0 each when empty)"),
    param("p_value", "int or None", "None", "the power of Lp pooling (required for 'lp')"),
    param("count_include_pad", "boolean or None", "None", "average over padding too (True when None)"),
    param("layout", "{None, 'NCW', 'NCHW', 'NCDHW'}", "None", "only channel-first layouts are supported"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "Pooling", aliases: &[], doc: "Max, average, sum or Lp pooling over windows (see module doc).", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef {
        name: "_backward_Pooling",
        aliases: &[],
        doc: "Gradient of Pooling's data from (out_grad, data).",
        inputs: Arity::Fixed(&["out_grad", "data"]),
        params: PARAMS,
        create,
    },
];
