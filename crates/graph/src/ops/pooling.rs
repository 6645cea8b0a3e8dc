//! `Pooling`: max, average, sum or Lp (`(sum x^p)^(1/p)`) over windows of 1-D, 2-D or 3-D
//! channel-first data. Output size per axis: `valid` `1 + (in + 2 * pad - kernel) / stride`,
//! `full` the same rounded up, `same` (1-D max pooling only, as MXNet) `ceil(in / stride)`;
//! `global_pool` pools each whole plane. Stride defaults to 1. Padding never wins a max (an
//! all-padding window gives the lowest finite value), and adds zeros to sums. Averages divide
//! by the window clipped to the padded input when `count_include_pad` (the default), else by
//! the window clipped to the input; an empty window averages to 0.
//! `_backward_Pooling(out_grad, data)`: max routes each gradient to the first maximum of its
//! window, avg and sum spread it, Lp scales it by `(x / y)^(p - 1)`.

use rayon::prelude::*;
use rmx_engine::BoxError;
use rmx_kernels::Shape;

use super::float::{float_dtype, with_float, Float};
use rmx_kernels::window::three;

use super::window::{axis_tuple, kernel_tuple};
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Max,
    Avg,
    Sum,
    Lp(f64),
}

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

/// One data shape's windows, spatial axes as three.
struct Windows {
    planes: usize,
    input: [usize; 3],
    output: [usize; 3],
    kernel: [usize; 3],
    stride: [usize; 3],
    /// Padding before each axis.
    pad: [usize; 3],
    /// Where windows may reach for `count_include_pad`: the input plus the padding after it.
    limit: [usize; 3],
}

impl Windows {
    /// Output position `o`'s window clipped to the input, and its averaging divisor.
    #[inline]
    fn window(&self, o: [usize; 3], count_include_pad: bool) -> ([usize; 3], [usize; 3], usize) {
        let (mut lo, mut hi, mut padded) = ([0; 3], [0; 3], 1);
        for i in 0..3 {
            let start = (o[i] * self.stride[i]) as isize - self.pad[i] as isize;
            let end = start + self.kernel[i] as isize;
            padded *= (end.min(self.limit[i] as isize) - start).max(0) as usize;
            lo[i] = start.max(0) as usize;
            hi[i] = (end.min(self.input[i] as isize).max(0) as usize).max(lo[i]);
        }
        let count = if count_include_pad { padded } else { (0..3).map(|i| hi[i] - lo[i]).product() };
        (lo, hi, count)
    }

    fn positions(&self) -> impl Iterator<Item = [usize; 3]> {
        let [a, b, c] = self.output;
        (0..a).flat_map(move |z| (0..b).flat_map(move |y| (0..c).map(move |x| [z, y, x])))
    }
}

/// Calls `f(index)` for each input index of the window `lo..hi` (per axis), in row-major order.
#[inline]
fn each_in<F: FnMut(usize)>(input: [usize; 3], lo: [usize; 3], hi: [usize; 3], mut f: F) {
    for z in lo[0]..hi[0] {
        for y in lo[1]..hi[1] {
            let row = (z * input[1] + y) * input[2];
            for x in lo[2]..hi[2] {
                f(row + x);
            }
        }
    }
}

impl Pool {
    fn windows(&self, data: &[usize]) -> Result<(Windows, Shape)> {
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
        let mut limit = Vec::new();
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
            limit.push(x + pad[i]);
        }
        let w = Windows {
            planes: data[0] * data[1],
            input: three(spatial, 1),
            output: three(&out[2..], 1),
            kernel: three(&kernel, 1),
            stride: three(&stride, 1),
            pad: three(&pad, 0),
            limit: three(&limit, 1),
        };
        Ok((w, out))
    }

    fn forward_plane<T: Float>(&self, w: &Windows, x: &[T], y: &mut [T]) {
        for (o, out) in w.positions().zip(y.iter_mut()) {
            let (lo, hi, count) = w.window(o, self.count_include_pad);
            *out = match self.kind {
                Kind::Max => {
                    let mut m = T::LOWEST;
                    each_in(w.input, lo, hi, |i| {
                        if x[i] > m {
                            m = x[i]
                        }
                    });
                    m
                }
                Kind::Sum | Kind::Avg => {
                    let mut s = T::ZERO;
                    each_in(w.input, lo, hi, |i| s += x[i]);
                    match self.kind {
                        Kind::Avg if count == 0 => T::ZERO,
                        Kind::Avg => s / T::from_f64(count as f64),
                        _ => s,
                    }
                }
                Kind::Lp(p) => {
                    let mut s = T::ZERO;
                    each_in(w.input, lo, hi, |i| s += lp_pow(x[i], p));
                    lp_root(s, p)
                }
            };
        }
    }

    fn backward_plane<T: Float>(&self, w: &Windows, dy: &[T], x: &[T], dx: &mut [T]) {
        dx.fill(T::ZERO);
        for (o, &g) in w.positions().zip(dy) {
            let (lo, hi, count) = w.window(o, self.count_include_pad);
            match self.kind {
                Kind::Max => {
                    let (mut m, mut at) = (T::LOWEST, None);
                    each_in(w.input, lo, hi, |i| {
                        if x[i] > m || at.is_none() {
                            (m, at) = (x[i], Some(i));
                        }
                    });
                    if let Some(i) = at {
                        dx[i] += g;
                    }
                }
                Kind::Sum => each_in(w.input, lo, hi, |i| dx[i] += g),
                Kind::Avg if count == 0 => {}
                Kind::Avg => {
                    let share = g / T::from_f64(count as f64);
                    each_in(w.input, lo, hi, |i| dx[i] += share);
                }
                Kind::Lp(p) => {
                    let mut s = T::ZERO;
                    each_in(w.input, lo, hi, |i| s += lp_pow(x[i], p));
                    let y = lp_root(s, p);
                    if y != T::ZERO {
                        each_in(w.input, lo, hi, |i| dx[i] += g * lp_pow(x[i] / y, p - 1.0));
                    }
                }
            }
        }
    }

    fn run<T: Float>(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let data = if self.backward { &inputs[1] } else { &inputs[0] };
        let (w, _) = self.windows(&data.shape)?;
        let (isz, osz) = (w.input.iter().product::<usize>(), w.output.iter().product::<usize>());
        if w.planes == 0 || isz == 0 || osz == 0 {
            outputs[0].data_mut::<T>().fill(T::ZERO);
            return Ok(());
        }
        if self.backward {
            let (dy, x) = (inputs[0].data::<T>(), inputs[1].data::<T>());
            let dx = outputs[0].data_mut::<T>();
            dx.par_chunks_mut(isz).zip(x.par_chunks(isz)).zip(dy.par_chunks(osz)).for_each(|((dx, x), dy)| self.backward_plane(&w, dy, x, dx));
        } else {
            let x = inputs[0].data::<T>();
            let y = outputs[0].data_mut::<T>();
            y.par_chunks_mut(osz).zip(x.par_chunks(isz)).for_each(|(y, x)| self.forward_plane(&w, x, y));
        }
        Ok(())
    }
}

/// `x^p`, exact for the common small powers.
#[inline]
fn lp_pow<T: Float>(x: T, p: f64) -> T {
    match p {
        1.0 => x,
        2.0 => x * x,
        3.0 => x * x * x,
        _ => x.powf(T::from_f64(p)),
    }
}

#[inline]
fn lp_root<T: Float>(s: T, p: f64) -> T {
    match p {
        1.0 => s,
        2.0 => s.sqrt(),
        3.0 => s.cbrt(),
        _ => s.powf(T::from_f64(1.0 / p)),
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
        with_float!(inputs[0].dtype, T => self.run::<T>(inputs, &mut outputs[..1]))
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
