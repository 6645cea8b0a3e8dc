//! `LRN`: local response normalization across channels (axis 1),
//! `y_c = x_c * n_c^-beta` with `n_c = knorm + alpha / nsize * sum_{|c' - c| <= (nsize-1)/2} x_c'^2`
//! (the sum is clipped at the channel ends; MXNet 1.9.1 scales by `alpha / nsize` and, for an
//! even `nsize`, still sums `(nsize-1)/2` channels on each side). Like MXNet it has a hidden
//! second output, `n` (`tmp_norm`). `_backward_LRN(out_grad, data, tmp_norm)` is exact:
//! `dx_j = dy_j n_j^-beta - 2 beta alpha / nsize * x_j * sum_{c near j} dy_c x_c n_c^(-beta-1)`.

use rayon::prelude::*;
use rmx_engine::BoxError;

use super::float::{float_dtype, with_float, Float};
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

struct Lrn {
    name: &'static str,
    half: usize,
    /// `alpha / nsize`.
    scale: f64,
    beta: f64,
    knorm: f64,
    backward: bool,
}

impl Lrn {
    /// Channels of the window around `c` among `channels`.
    fn window(&self, c: usize, channels: usize) -> std::ops::Range<usize> {
        c.saturating_sub(self.half)..(c + self.half + 1).min(channels)
    }

    /// One image (`channels x inner`): every channel's `norm` first, then `y` pointwise, so
    /// that `y` may be written over `x` (`x: None`, the planner's in-place choice).
    fn forward_image<T: Float>(&self, x: Option<&[T]>, norm: &mut [T], y: &mut [T], inner: usize) {
        let channels = norm.len() / inner;
        let (k, s, nb) = (T::from_f64(self.knorm), T::from_f64(self.scale), T::from_f64(-self.beta));
        let xs: &[T] = x.unwrap_or(y);
        for c in 0..channels {
            let nc = &mut norm[c * inner..][..inner];
            nc.fill(T::ZERO);
            for w in self.window(c, channels) {
                for (n, &v) in nc.iter_mut().zip(&xs[w * inner..][..inner]) {
                    *n += v * v;
                }
            }
            nc.iter_mut().for_each(|n| *n = k + s * *n);
        }
        match x {
            Some(x) => y.iter_mut().zip(x).zip(norm.iter()).for_each(|((yv, &xv), &n)| *yv = xv * n.powf(nb)),
            None => y.iter_mut().zip(norm.iter()).for_each(|(yv, &n)| *yv *= n.powf(nb)),
        }
    }

    /// One image's `dx` from `dy`, `x` and the forward's `norm`; `t` is scratch of `x`'s size.
    fn backward_image<T: Float>(&self, dy: &[T], x: &[T], norm: &[T], dx: &mut [T], t: &mut [T], inner: usize) {
        let channels = x.len() / inner;
        let (nb, nb1) = (T::from_f64(-self.beta), T::from_f64(-self.beta - 1.0));
        let coef = T::from_f64(-2.0 * self.beta * self.scale);
        // t_c = dy_c x_c n_c^(-beta-1)
        for (((t, &g), &v), &n) in t.iter_mut().zip(dy).zip(x).zip(norm) {
            *t = g * v * n.powf(nb1);
        }
        for c in 0..channels {
            let dxc = &mut dx[c * inner..][..inner];
            dxc.fill(T::ZERO);
            for w in self.window(c, channels) {
                for (d, &tv) in dxc.iter_mut().zip(&t[w * inner..][..inner]) {
                    *d += tv;
                }
            }
            let at = c * inner..(c + 1) * inner;
            for (((d, &g), &v), &n) in dxc.iter_mut().zip(&dy[at.clone()]).zip(&x[at.clone()]).zip(&norm[at]) {
                *d = g * n.powf(nb) + coef * v * *d;
            }
        }
    }

    fn run<T: Float>(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let data = if self.backward { &inputs[1] } else { &inputs[0] };
        let image: usize = data.shape[1..].iter().product();
        let inner = image / data.shape[1].max(1);
        if image == 0 || inner == 0 {
            return Ok(());
        }
        if self.backward {
            let (dy, x, norm) = (inputs[0].data::<T>(), inputs[1].data::<T>(), inputs[2].data::<T>());
            let dx = outputs[0].data_mut::<T>();
            dx.par_chunks_mut(image).enumerate().for_each_init(
                || vec![T::ZERO; image],
                |t, (b, dx)| {
                    let at = b * image..(b + 1) * image;
                    self.backward_image(&dy[at.clone()], &x[at.clone()], &norm[at], dx, t, inner);
                },
            );
        } else {
            let x = inputs[0].data_unless_in::<T>(&outputs[0]);
            let (y, norm) = outputs.split_at_mut(1);
            let (y, norm) = (y[0].data_mut::<T>(), norm[0].data_mut::<T>());
            let images = y.par_chunks_mut(image).zip(norm.par_chunks_mut(image)).enumerate();
            images.for_each(|(b, (y, n))| self.forward_image(x.map(|x| &x[b * image..][..image]), n, y, inner));
        }
        Ok(())
    }
}

impl Operator for Lrn {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let want = if self.backward { 3 } else { 1 };
        if inputs.len() != want {
            return Err(shape_err(self.name, format!("takes {want} inputs, got {}", inputs.len())));
        }
        float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        let data = if self.backward { &inputs[1] } else { &inputs[0] };
        if data.shape.len() < 2 {
            return Err(shape_err(self.name, format!("data needs a channel axis (axis 1), got shape {:?}", data.shape.as_slice())));
        }
        if self.backward {
            if inputs.iter().any(|d| d.shape != data.shape) {
                return Err(shape_err(self.name, "out_grad, data and tmp_norm must have one shape"));
            }
            return Ok(vec![data.clone()]);
        }
        Ok(vec![data.clone(), data.clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        with_float!(inputs[0].dtype, T => self.run::<T>(inputs, outputs))
    }

    fn num_outputs(&self) -> usize {
        if self.backward { 1 } else { 2 }
    }

    /// The output over the data (the norms are all made before any output element).
    fn inplace_option(&self) -> Vec<(usize, usize)> {
        if self.backward { Vec::new() } else { vec![(0, 0)] }
    }

    fn num_visible_outputs(&self) -> usize {
        1
    }

    fn input_names(&self) -> Option<Vec<&'static str>> {
        Some(if self.backward { vec!["out_grad", "data", "tmp_norm"] } else { vec!["data"] })
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(g.op1("_backward_LRN", args.attrs, &[args.out_grads[0], args.inputs[0], args.outputs[1]])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let nsize = attrs.opt_int(name, "nsize")?.ok_or_else(|| param_err(name, "nsize", "required"))?;
    if nsize < 1 {
        return Err(param_err(name, "nsize", format!("must be positive, got {nsize}")));
    }
    Ok(Box::new(Lrn {
        name,
        half: (nsize as usize - 1) / 2,
        scale: attrs.f64(name, "alpha", 1e-4)? / nsize as f64,
        beta: attrs.f64(name, "beta", 0.75)?,
        knorm: attrs.f64(name, "knorm", 2.0)?,
        backward: name.starts_with("_backward"),
    }))
}

const PARAMS: &[ParamDoc] = &[
    param("nsize", "int", "", "channels in the normalization window"),
    param("alpha", "float", "0.0001", "scale of the sum of squares (divided by nsize)"),
    param("beta", "float", "0.75", "exponent"),
    param("knorm", "float", "2", "additive constant"),
];

pub static DEFS: &[OpDef] = &[
    OpDef { name: "LRN", aliases: &[], doc: "Local response normalization across channels (see module doc).", inputs: Arity::Fixed(&["data"]), params: PARAMS, create },
    OpDef {
        name: "_backward_LRN",
        aliases: &[],
        doc: "Gradient of LRN's data from (out_grad, data, tmp_norm).",
        inputs: Arity::Fixed(&["out_grad", "data", "tmp_norm"]),
        params: PARAMS,
        create,
    },
];
