//! `FullyConnected`: `y = x·Wᵀ + b` with `weight` of shape `(num_hidden, in)` and `bias` of shape
//! `(num_hidden,)` (absent when `no_bias`). With `flatten` (the default) the data is read as
//! `(shape[0], prod(shape[1..]))` and the output is `(shape[0], num_hidden)`; without it the
//! product applies to the last axis and the output is `shape[..-1] + (num_hidden,)`.
//! `_backward_FullyConnected` returns every input gradient from one call:
//! `dX = dY·W`, `dW = dYᵀ·X`, `db = Σ_rows dY`.

use rmx_engine::BoxError;
use rmx_kernels::gemm::{linear, linear_backward, Linear};
use rmx_kernels::Shape;

use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{OpCtx, param, Arity, OpDef, Operator, ParamDoc, Tensor, TensorDesc};

struct FullyConnected {
    name: &'static str,
    num_hidden: usize,
    no_bias: bool,
    flatten: bool,
    /// The `_backward_` kernel rather than the forward operator.
    backward: bool,
}

/// The data as a `(rows, cols)` matrix, and the forward output's shape.
struct Geometry {
    rows: usize,
    cols: usize,
    out: Shape,
}

impl FullyConnected {
    fn geometry(&self, data: &[usize]) -> Result<Geometry> {
        if data.is_empty() {
            return Err(shape_err(self.name, "input 'data' must have at least one axis, got a 0-d array"));
        }
        if self.flatten {
            let rows = data[0];
            return Ok(Geometry { rows, cols: data[1..].iter().product(), out: Shape::from_slice(&[rows, self.num_hidden]) });
        }
        let (keep, last) = data.split_at(data.len() - 1);
        let mut out: Shape = keep.into();
        out.push(self.num_hidden);
        Ok(Geometry { rows: keep.iter().product(), cols: last[0], out })
    }

    /// The data's geometry as the primitive's dense layer.
    fn linear(&self, data: &[usize]) -> Result<Linear> {
        let g = self.geometry(data)?;
        Ok(Linear { rows: g.rows, cols: g.cols, hidden: self.num_hidden })
    }

    /// Checks `weight` (and `bias`) against the data's geometry.
    fn check_params(&self, g: &Geometry, weight: &[usize], bias: Option<&[usize]>) -> Result<()> {
        if weight != [self.num_hidden, g.cols] {
            return Err(shape_err(
                self.name,
                format!("input 'weight' has shape {weight:?}, expected [{}, {}] (num_hidden, input features)", self.num_hidden, g.cols),
            ));
        }
        if let Some(b) = bias {
            if b != [self.num_hidden] {
                return Err(shape_err(self.name, format!("input 'bias' has shape {b:?}, expected [{}] (num_hidden)", self.num_hidden)));
            }
        }
        Ok(())
    }

    fn infer_forward(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let dtype = float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        let g = self.geometry(&inputs[0].shape)?;
        self.check_params(&g, &inputs[1].shape, inputs.get(2).map(|b| b.shape.as_slice()))?;
        Ok(vec![TensorDesc { shape: g.out, dtype }])
    }

    /// Inputs `[out_grad, data, weight]`; outputs the gradients of data, weight and bias.
    fn infer_backward(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let dtype = float_dtype(self.name, inputs.iter().map(|d| d.dtype))?;
        let g = self.geometry(&inputs[1].shape)?;
        self.check_params(&g, &inputs[2].shape, None)?;
        if inputs[0].shape != g.out {
            return Err(shape_err(self.name, format!("input 'out_grad' has shape {:?}, expected {:?}", inputs[0].shape.as_slice(), g.out.as_slice())));
        }
        let mut outs = vec![inputs[1].clone(), inputs[2].clone()];
        if !self.no_bias {
            outs.push(TensorDesc::new(&[self.num_hidden], dtype));
        }
        Ok(outs)
    }
}

impl Operator for FullyConnected {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if self.backward { self.infer_backward(inputs) } else { self.infer_forward(inputs) }
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        if !self.backward {
            let p = self.linear(&inputs[0].shape)?;
            let bias = if self.no_bias { None } else { Some(&inputs[2]) };
            linear(&p, &inputs[0], &inputs[1], bias, &mut outputs[0])?;
            return Ok(());
        }
        let p = self.linear(&inputs[1].shape)?;
        let (dx, rest) = outputs.split_at_mut(1);
        let (dw, db) = rest.split_at_mut(1);
        linear_backward(&p, &inputs[0], &inputs[1], &inputs[2], &mut dx[0], &mut dw[0], db.first_mut())?;
        Ok(())
    }

    fn num_outputs(&self) -> usize {
        match (self.backward, self.no_bias) {
            (false, _) => 1,
            (true, true) => 2,
            (true, false) => 3,
        }
    }

    fn input_names(&self) -> Option<Vec<&'static str>> {
        match (self.backward, self.no_bias) {
            (true, _) => None,
            (false, true) => Some(vec!["data", "weight"]),
            (false, false) => Some(vec!["data", "weight", "bias"]),
        }
    }

    fn complete_inputs(&self, known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        if self.backward {
            return Vec::new();
        }
        let Some(Ok(g)) = known.first().and_then(|d| d.as_ref()).map(|d| self.geometry(d)) else {
            return Vec::new();
        };
        let mut shapes = vec![None, Some(Shape::from_slice(&[self.num_hidden, g.cols]))];
        if !self.no_bias {
            shapes.push(Some(Shape::from_slice(&[self.num_hidden])));
        }
        shapes
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        let grads = g.op("_backward_FullyConnected", args.attrs, &[args.out_grads[0], args.inputs[0], args.inputs[1]])?;
        Ok(grads.into_iter().map(Some).collect())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let num_hidden = attrs.opt_int(name, "num_hidden")?.ok_or_else(|| param_err(name, "num_hidden", "required"))?;
    if num_hidden < 1 {
        return Err(param_err(name, "num_hidden", format!("must be positive, got {num_hidden}")));
    }
    Ok(Box::new(FullyConnected {
        name,
        num_hidden: num_hidden as usize,
        no_bias: attrs.bool(name, "no_bias", false)?,
        flatten: attrs.bool(name, "flatten", true)?,
        backward: name.starts_with("_backward_"),
    }))
}

const PARAMS: &[ParamDoc] = &[
    param("num_hidden", "int", "", "number of output features"),
    param("no_bias", "boolean", "False", "leave out the bias"),
    param("flatten", "boolean", "True", "flatten the data to 2-d first (else apply to the last axis)"),
];

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "FullyConnected",
        aliases: &[],
        doc: "A dense layer: data·weightᵀ + bias (see module doc).",
        inputs: Arity::Fixed(&["data", "weight", "bias"]),
        params: PARAMS,
        create,
    },
    OpDef {
        name: "_backward_FullyConnected",
        aliases: &[],
        doc: "Gradients of FullyConnected's data, weight and bias from the output's.",
        inputs: Arity::Fixed(&["out_grad", "data", "weight"]),
        params: PARAMS,
        create,
    },
];

#[cfg(test)]
mod tests {
    use crate::invoke::invoke;
    use crate::testing::{analytic_grads, array, check_gradient, uniform, values};
    use crate::Attrs;
    use rmx_engine::Context;

    fn reference(x: &[f64], w: &[f64], b: Option<&[f64]>, rows: usize, cols: usize, nh: usize) -> Vec<f64> {
        let mut y = vec![0.0; rows * nh];
        for r in 0..rows {
            for j in 0..nh {
                let mut s = b.map_or(0.0, |b| b[j]);
                for k in 0..cols {
                    s += x[r * cols + k] * w[j * cols + k];
                }
                y[r * nh + j] = s;
            }
        }
        y
    }

    #[test]
    fn forward_matches_naive_product_flattened_or_on_last_axis() {
        for (shape, flatten, nh, no_bias) in [
            (vec![4, 3], true, 5, false),
            (vec![2, 3, 4], true, 3, true),
            (vec![2, 3, 4], false, 2, false),
            (vec![7], true, 3, false),
            (vec![7], false, 4, true),
        ] {
            let (rows, cols) = if flatten { (shape[0], shape[1..].iter().product()) } else { (shape[..shape.len() - 1].iter().product(), *shape.last().unwrap()) };
            let x = uniform(rows * cols, -1.0, 1.0, 1);
            let w = uniform(nh * cols, -1.0, 1.0, 2);
            let b = uniform(nh, -1.0, 1.0, 3);
            let mut ins = vec![array(&shape, &x), array(&[nh, cols], &w)];
            if !no_bias {
                ins.push(array(&[nh], &b));
            }
            let nhs = nh.to_string();
            let attrs = Attrs::from_pairs([("num_hidden", nhs.as_str()), ("flatten", if flatten { "True" } else { "False" }), ("no_bias", if no_bias { "True" } else { "False" })]);
            let y = &invoke("FullyConnected", &ins, &attrs, None, Context::cpu(0)).unwrap()[0];
            let mut want_shape = if flatten { vec![shape[0]] } else { shape[..shape.len() - 1].to_vec() };
            want_shape.push(nh);
            assert_eq!(y.shape(), want_shape.as_slice());
            let want = reference(&x, &w, (!no_bias).then_some(&b[..]), rows, cols, nh);
            for (a, e) in values(y).iter().zip(&want) {
                assert!((a - e).abs() < 1e-12, "{shape:?}: {a} vs {e}");
            }
        }
    }

    #[test]
    fn float32_forward_agrees_with_float64() {
        let x: Vec<f32> = uniform(6 * 5, -1.0, 1.0, 4).iter().map(|&v| v as f32).collect();
        let w: Vec<f32> = uniform(3 * 5, -1.0, 1.0, 5).iter().map(|&v| v as f32).collect();
        let b: Vec<f32> = vec![0.5, -0.25, 1.0];
        let bytes = |v: &[f32]| v.iter().flat_map(|f| f.to_le_bytes()).collect::<Vec<u8>>();
        let mk = |s: &[usize], v: &[f32]| crate::NDArray::from_bytes(s, rmx_kernels::DType::F32, Context::cpu(0), &bytes(v)).unwrap();
        let y = &invoke("FullyConnected", &[mk(&[6, 5], &x), mk(&[3, 5], &w), mk(&[3], &b)], &Attrs::from_pairs([("num_hidden", "3")]), None, Context::cpu(0)).unwrap()[0];
        let mut out = vec![0u8; y.nbytes()];
        y.read_into(&mut out).unwrap();
        let got: Vec<f32> = out.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        let f64s = |v: &[f32]| v.iter().map(|&f| f as f64).collect::<Vec<_>>();
        let want = reference(&f64s(&x), &f64s(&w), Some(&f64s(&b)), 6, 5, 3);
        for (a, e) in got.iter().zip(&want) {
            assert!((*a as f64 - e).abs() < 1e-5);
        }
    }

    #[test]
    fn gradients_match_finite_differences() {
        for (shape, params) in [
            (vec![3, 4], vec![("num_hidden", "2")]),
            (vec![2, 2, 3], vec![("num_hidden", "3"), ("no_bias", "True")]),
            (vec![2, 2, 3], vec![("num_hidden", "2"), ("flatten", "False")]),
        ] {
            let no_bias = params.iter().any(|p| p.0 == "no_bias");
            let flatten = !params.iter().any(|p| p.0 == "flatten");
            let nh: usize = params[0].1.parse().unwrap();
            let cols = if flatten { shape[1..].iter().product() } else { *shape.last().unwrap() };
            let n: usize = shape.iter().product();
            let mut ins = vec![array(&shape, &uniform(n, -1.0, 1.0, 11)), array(&[nh, cols], &uniform(nh * cols, -1.0, 1.0, 12))];
            if !no_bias {
                ins.push(array(&[nh], &uniform(nh, -1.0, 1.0, 13)));
            }
            check_gradient("FullyConnected", &params, &ins, &[], false);
        }
    }

    #[test]
    fn bias_gradient_sums_rows() {
        let ins = [array(&[2, 2], &[1.0, 2.0, 3.0, 4.0]), array(&[1, 2], &[1.0, 1.0]), array(&[1], &[0.0])];
        let g = analytic_grads("FullyConnected", &[("num_hidden", "1")], &ins, &[array(&[2, 1], &[2.0, 5.0])], false);
        assert_eq!(g[2].as_ref().unwrap(), &vec![7.0]);
        assert_eq!(g[1].as_ref().unwrap(), &vec![17.0, 24.0]);
    }

    #[test]
    fn bad_weight_shape_and_missing_num_hidden_are_named() {
        let ins = [array(&[2, 3], &[0.0; 6]), array(&[4, 2], &[0.0; 8]), array(&[4], &[0.0; 4])];
        let err = invoke("FullyConnected", &ins, &Attrs::from_pairs([("num_hidden", "4")]), None, Context::cpu(0)).err().unwrap().to_string();
        assert!(err.contains("FullyConnected") && err.contains("'weight'") && err.contains("[4, 3]"), "{err}");
        let err = invoke("FullyConnected", &ins, &Attrs::new(), None, Context::cpu(0)).err().unwrap().to_string();
        assert!(err.contains("num_hidden") && err.contains("required"), "{err}");
    }

    #[test]
    fn weight_and_bias_shapes_complete_from_data() {
        let def = crate::lookup("FullyConnected").unwrap();
        let op = def.instantiate(&Attrs::from_pairs([("num_hidden", "5")])).unwrap();
        let got = op.complete_inputs(&[Some([2usize, 3, 4][..].into()), None, None]);
        assert_eq!(got[1].as_deref(), Some(&[5usize, 12][..]));
        assert_eq!(got[2].as_deref(), Some(&[5usize][..]));
        let op = def.instantiate(&Attrs::from_pairs([("num_hidden", "5"), ("flatten", "False"), ("no_bias", "True")])).unwrap();
        assert_eq!(op.input_names(), Some(vec!["data", "weight"]));
        let got = op.complete_inputs(&[Some([2usize, 3, 4][..].into()), None]);
        assert_eq!(got, vec![None, Some([5usize, 4][..].into())]);
    }
}
