//! `Pad` (`pad`): pads the spatial axes of 4-D or 5-D data; `pad_width` gives (before, after)
//! per axis, `2 * ndim` values whose first four (batch and channel) must be 0, as MXNet. Modes:
//! `constant` fills with `constant_value`, `edge` repeats the border element, `reflect` mirrors
//! without repeating the border (`x[-1] = x[1]`), so its pads must be smaller than the axis.
//! `_backward_Pad(out_grad)` sums each output gradient back into the element it copies.

use rayon::prelude::*;
use rmx_engine::BoxError;
use rmx_kernels::Shape;

use super::float::{float_dtype, with_float, Float};
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Constant,
    Edge,
    Reflect,
}

struct Pad {
    name: &'static str,
    mode: Mode,
    width: Vec<usize>,
    value: f64,
    backward: bool,
}

impl Pad {
    /// Checks the input shape and returns the padded one.
    fn padded(&self, x: &[usize]) -> Result<Shape> {
        if x.len() != 4 && x.len() != 5 {
            return Err(shape_err(self.name, format!("only 4-D or 5-D data can be padded, got shape {x:?}")));
        }
        if self.width.len() != 2 * x.len() {
            return Err(param_err(self.name, "pad_width", format!("needs {} values (before, after per axis) for data of shape {x:?}, got {}", 2 * x.len(), self.width.len())));
        }
        if self.width[..4].iter().any(|&w| w != 0) {
            return Err(param_err(self.name, "pad_width", format!("the batch and channel axes cannot be padded: the first four values must be 0, got {:?}", self.width)));
        }
        let mut out = Shape::new();
        for (i, &n) in x.iter().enumerate() {
            let (lo, hi) = (self.width[2 * i], self.width[2 * i + 1]);
            let bad = match self.mode {
                Mode::Reflect => (lo > 0 || hi > 0) && (lo >= n || hi >= n),
                Mode::Edge => (lo > 0 || hi > 0) && n == 0,
                Mode::Constant => false,
            };
            if bad {
                return Err(param_err(self.name, "pad_width", format!("{:?} padding of ({lo}, {hi}) does not fit axis {i} of size {n} (reflect needs pads smaller than the axis)", self.mode)));
            }
            out.push(n + lo + hi);
        }
        Ok(out)
    }

    /// The data shape whose padding is `out` (for the backward, which sees only `out_grad`).
    fn unpadded(&self, out: &[usize]) -> Result<Shape> {
        let x: Option<Shape> = if self.width.len() == 2 * out.len() {
            out.iter().enumerate().map(|(i, &n)| n.checked_sub(self.width[2 * i] + self.width[2 * i + 1])).collect()
        } else {
            None
        };
        let x = x.ok_or_else(|| shape_err(self.name, format!("out_grad of shape {out:?} is not a padding by {:?}", self.width)))?;
        self.padded(&x)?;
        Ok(x)
    }

    /// For each output coordinate of each spatial axis (as three), the input coordinate it
    /// copies, or `None` in constant padding.
    fn maps(&self, x: &[usize]) -> [Vec<Option<usize>>; 3] {
        let spatial = &x[2..];
        let lead = 3 - spatial.len();
        std::array::from_fn(|a| {
            if a < lead {
                return vec![Some(0)];
            }
            let i = a - lead + 2;
            let (n, lo, hi) = (x[i] as isize, self.width[2 * i] as isize, self.width[2 * i + 1] as isize);
            (-lo..n + hi)
                .map(|j| match self.mode {
                    _ if (0..n).contains(&j) => Some(j as usize),
                    Mode::Constant => None,
                    Mode::Edge => Some(j.clamp(0, n - 1) as usize),
                    Mode::Reflect if j < 0 => Some((-j) as usize),
                    Mode::Reflect => Some((2 * (n - 1) - j) as usize),
                })
                .collect()
        })
    }

    fn run<T: Float>(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (xshape, oshape) = if self.backward { (outputs[0].shape.clone(), inputs[0].shape.clone()) } else { (inputs[0].shape.clone(), outputs[0].shape.clone()) };
        let [md, mh, mw] = self.maps(&xshape);
        let plane = |s: &[usize]| s[2..].iter().product::<usize>();
        let (ip, op) = (plane(&xshape), plane(&oshape));
        if ip == 0 && op == 0 {
            return Ok(());
        }
        let (ih, iw) = (xshape[xshape.len() - 2], xshape[xshape.len() - 1]);
        // Visits (output index, input index if any) over one plane, row by row.
        let visit = |f: &mut dyn FnMut(usize, Option<usize>)| {
            let mut o = 0;
            for z in &md {
                for y in &mh {
                    let row = z.zip(*y).map(|(z, y)| (z * ih + y) * iw);
                    for x in &mw {
                        f(o, row.zip(*x).map(|(r, x)| r + x));
                        o += 1;
                    }
                }
            }
        };
        if self.backward {
            let dy = inputs[0].data::<T>();
            let dx = outputs[0].data_mut::<T>();
            if ip == 0 {
                return Ok(());
            }
            dx.par_chunks_mut(ip).zip(dy.par_chunks(op)).for_each(|(dx, dy)| {
                dx.fill(T::ZERO);
                visit(&mut |o, i| {
                    if let Some(i) = i {
                        dx[i] += dy[o];
                    }
                });
            });
        } else {
            let fill = T::from_f64(self.value);
            let x = inputs[0].data::<T>();
            let y = outputs[0].data_mut::<T>();
            if ip == 0 {
                y.fill(fill);
                return Ok(());
            }
            y.par_chunks_mut(op).zip(x.par_chunks(ip)).for_each(|(y, x)| visit(&mut |o, i| y[o] = i.map_or(fill, |i| x[i])));
        }
        Ok(())
    }
}

impl Operator for Pad {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let dtype = float_dtype(self.name, [inputs[0].dtype])?;
        let shape = if self.backward { self.unpadded(&inputs[0].shape)? } else { self.padded(&inputs[0].shape)? };
        Ok(vec![TensorDesc { shape, dtype }])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        with_float!(inputs[0].dtype, T => self.run::<T>(inputs, outputs))
    }

    fn input_names(&self) -> Option<Vec<&'static str>> {
        Some(vec![if self.backward { "out_grad" } else { "data" }])
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(g.op1("_backward_Pad", args.attrs, &[args.out_grads[0]])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let mode = match attrs.get("mode").ok_or_else(|| param_err(name, "mode", "required ('constant', 'edge' or 'reflect')"))? {
        "constant" => Mode::Constant,
        "edge" => Mode::Edge,
        "reflect" => Mode::Reflect,
        other => return Err(param_err(name, "mode", format!("expected 'constant', 'edge' or 'reflect', got {other:?}"))),
    };
    let width = attrs.ints(name, "pad_width")?.ok_or_else(|| param_err(name, "pad_width", "required"))?;
    if width.iter().any(|&w| w < 0) {
        return Err(param_err(name, "pad_width", format!("pads must be non-negative, got {width:?}")));
    }
    Ok(Box::new(Pad {
        name,
        mode,
        width: width.into_iter().map(|w| w as usize).collect(),
        value: attrs.f64(name, "constant_value", 0.0)?,
        backward: name.starts_with("_backward"),
    }))
}

const PARAMS: &[ParamDoc] = &[
    param("mode", "{'constant', 'edge', 'reflect'}", "", "how the padding is filled"),
    param("pad_width", "Shape(tuple)", "", "(before, after) per axis; the first four must be 0"),
    param("constant_value", "double", "0", "the fill of constant mode"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "Pad", aliases: &["pad"], doc: "Pads the spatial axes of 4-D or 5-D data (see module doc).", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef { name: "_backward_Pad", aliases: &[], doc: "Gradient of Pad's data from out_grad.", inputs: Arity::Fixed(&["out_grad"]), params: PARAMS, create },
];
