//! `take`: slices of `a` along `axis` at `indices` (any shape; output shape is a's with that axis
//! replaced by the indices' shape). `mode`: `clip` (default) clamps, `wrap` wraps, `raise` fails
//! at run time, where the index values are first known, so the error surfaces at the next wait.
//! `pick`: one element per position along `axis`, chosen by `index`.

use rmx_engine::BoxError;
use rmx_kernels::{with_dtype, Element, Shape};

use super::axes::{axis, split_around};
use crate::attrs::Attrs;
use crate::error::{shape_err, GraphError, Result};
use crate::operator::{param, Arity, OpDef, Operator, Tensor, TensorDesc};

#[derive(Clone, Copy)]
enum Mode {
    Clip,
    Wrap,
    Raise,
}

fn resolve(op: &str, mode: Mode, i: f64, n: usize) -> std::result::Result<usize, BoxError> {
    let n_i = n as i64;
    let i = i as i64;
    Ok(match mode {
        Mode::Clip => i.clamp(0, n_i - 1) as usize,
        Mode::Wrap => i.rem_euclid(n_i) as usize,
        Mode::Raise => {
            let j = if i < 0 { i + n_i } else { i };
            if j < 0 || j >= n_i {
                return Err(Box::new(GraphError::Index(format!("{op}: index {i} is out of bounds for an axis of size {n}"))));
            }
            j as usize
        }
    })
}

struct Take {
    name: &'static str,
    axis: i64,
    mode: Mode,
    pick: bool,
    keepdims: bool,
}

impl Operator for Take {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (a, idx) = (&inputs[0].shape, &inputs[1].shape);
        let ax = axis(self.name, "axis", self.axis, a.len())?;
        if a[ax] == 0 {
            return Err(shape_err(self.name, format!("cannot index an empty axis of shape {:?}", a.as_slice())));
        }
        let shape: Shape = if self.pick {
            let mut want: Shape = a.clone();
            want.remove(ax);
            let mut kept = a.clone();
            kept[ax] = 1;
            if idx.as_slice() != want.as_slice() && idx.as_slice() != kept.as_slice() {
                return Err(shape_err(self.name, format!("index shape {:?} must be data shape {:?} without axis {ax}", idx.as_slice(), a.as_slice())));
            }
            if self.keepdims { kept } else if want.is_empty() { Shape::from_slice(&[1]) } else { want }
        } else {
            a[..ax].iter().chain(idx.iter()).chain(&a[ax + 1..]).copied().collect()
        };
        Ok(vec![TensorDesc { shape, dtype: inputs[0].dtype }])
    }

    fn compute(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let (a, idx) = (&inputs[0], &inputs[1]);
        let ax = axis(self.name, "axis", self.axis, a.shape.len())?;
        let (outer, n, inner) = split_around(&a.shape, ax, ax);
        let indices: Vec<f64> = with_dtype!(idx.dtype, I => idx.data::<I>().iter().map(|v| v.to_f64()).collect());
        let out = &mut outputs[0];
        with_dtype!(a.dtype, T => {
            let (x, y) = (a.data::<T>(), out.data_mut::<T>());
            if self.pick {
                for o in 0..outer {
                    for i in 0..inner {
                        let j = resolve(self.name, self.mode, indices[o * inner + i], n)?;
                        y[o * inner + i] = x[(o * n + j) * inner + i];
                    }
                }
            } else {
                let k = indices.len();
                for o in 0..outer {
                    for (p, &raw) in indices.iter().enumerate() {
                        let j = resolve(self.name, self.mode, raw, n)?;
                        let src = &x[(o * n + j) * inner..(o * n + j + 1) * inner];
                        y[(o * k + p) * inner..(o * k + p + 1) * inner].copy_from_slice(src);
                    }
                }
            }
        });
        Ok(())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let pick = name == "pick";
    let mode = match attrs.choice(name, "mode", "clip", &["clip", "wrap", "raise"])? {
        "wrap" => Mode::Wrap,
        "raise" => Mode::Raise,
        _ => Mode::Clip,
    };
    let default_axis = if pick { -1 } else { 0 };
    Ok(Box::new(Take { name, axis: attrs.int(name, "axis", default_axis)?, mode, pick, keepdims: attrs.bool(name, "keepdims", false)? }))
}

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "take",
        aliases: &[],
        doc: "Slices of `a` along `axis` at `indices`.",
        inputs: Arity::Fixed(&["a", "indices"]),
        params: &[param("axis", "int", "0", "the axis to index"), param("mode", "{'clip', 'wrap', 'raise'}", "clip", "out-of-range indices")],
        create,
    },
    OpDef {
        name: "pick",
        aliases: &[],
        doc: "One element per position along `axis`, chosen by `index`.",
        inputs: Arity::Fixed(&["data", "index"]),
        params: &[
            param("axis", "int", "-1", "the axis to pick along"),
            param("keepdims", "boolean", "False", "keep the axis with size 1"),
            param("mode", "{'clip', 'wrap'}", "clip", "out-of-range indices"),
        ],
        create,
    },
];
