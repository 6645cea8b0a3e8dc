//! `Dropout`: in training (or always, with `mode='always'`) each element is kept with probability
//! `1 - p` and scaled by `1 / (1 - p)`, else zeroed; otherwise the output is the input. With
//! `axes`, one draw is shared along those axes (the mask is constant along them), as in
//! variational dropout. The second, hidden output `mask` holds the factor applied to each element
//! (0 or `1 / (1 - p)`, and 1 when not dropping), so the gradient is `out_grad * mask`: one
//! `elemwise_mul`, which needs no kernel of its own. Draws come from the process random stream.
//!
//! `p = 1` drops everything: output and gradient are 0 (MXNet 1.9.1 returns NaN there, `0 · ∞`).

use rmx_engine::BoxError;
use rmx_kernels::dropout;

use super::axes::axis;
use super::float::float_dtype;
use crate::attrs::Attrs;
use crate::error::{param_err, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{param, Arity, OpCtx, OpDef, Operator, Tensor, TensorDesc};

struct Dropout {
    name: &'static str,
    p: f64,
    always: bool,
    axes: Vec<i64>,
}

impl Dropout {
    /// Which axes of a `ndim`-d input share one draw.
    fn shared_axes(&self, ndim: usize) -> Result<Vec<bool>> {
        let mut shared = vec![false; ndim];
        for &a in &self.axes {
            shared[axis(self.name, "axes", a, ndim)?] = true;
        }
        Ok(shared)
    }
}

impl Operator for Dropout {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        float_dtype(self.name, [inputs[0].dtype])?;
        for &a in &self.axes {
            axis(self.name, "axes", a, inputs[0].shape.len())?;
        }
        Ok(vec![inputs[0].clone(), inputs[0].clone()])
    }

    fn compute(&self, ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        let x = &inputs[0];
        let [y, mask] = outputs else { unreachable!("Dropout has two outputs") };
        let dropping = (self.always || ctx.is_train) && self.p > 0.0;
        if !dropping {
            dropout::identity(x, y, mask)?;
            return Ok(());
        }
        let shared = self.shared_axes(x.shape.len())?;
        // The push holds the random stream's variable; the lock is released after the draw.
        dropout::draw_mask(self.p, &shared, &mut crate::rng::lock(), mask)?;
        dropout::apply(x, mask, y)?;
        Ok(())
    }

    fn uses_rng(&self) -> bool {
        true
    }

    fn num_outputs(&self) -> usize {
        2
    }

    fn num_visible_outputs(&self) -> usize {
        1
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Ok(vec![Some(g.mul(args.out_grads[0], args.outputs[1])?)])
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let p = attrs.f64(name, "p", 0.5)?;
    if !(0.0..=1.0).contains(&p) {
        return Err(param_err(name, "p", format!("must be in [0, 1], got {p}")));
    }
    let always = attrs.choice(name, "mode", "training", &["training", "always"])? == "always";
    Ok(Box::new(Dropout { name, p, always, axes: attrs.ints(name, "axes")?.unwrap_or_default() }))
}

pub static DEFS: &[OpDef] = &[OpDef {
    name: "Dropout",
    aliases: &[],
    doc: "Zeroes elements with probability p and scales the rest by 1/(1-p), in training (see module doc).",
    inputs: Arity::Fixed(&["data"]),
    params: &[
        param("p", "float", "0.5", "the fraction of elements dropped"),
        param("mode", "{'always', 'training'}", "'training'", "drop only in training, or always"),
        param("axes", "Shape(tuple)", "()", "axes along which one draw is shared"),
        param("cudnn_off", "boolean or None", "False", "accepted for compatibility"),
    ],
    create,
}];

#[cfg(test)]
mod tests {
    use crate::invoke::{invoke, invoke_with};
    use crate::testing::{analytic_grads, array, check_gradient, uniform, values};
    use crate::{Attrs, OpCtx};
    use rmx_engine::Context;

    fn run(params: &[(&str, &str)], x: &[f64], shape: &[usize], is_train: bool) -> (Vec<f64>, Vec<f64>) {
        let outs = invoke_with("Dropout", &[array(shape, x)], &Attrs::from_pairs(params.iter().copied()), None, Context::cpu(0), OpCtx { is_train, ..Default::default() }).unwrap();
        (values(&outs[0]), values(&outs[1]))
    }

    #[test]
    fn identity_outside_training_in_training_mode() {
        let x = uniform(12, -1.0, 1.0, 1);
        let (y, mask) = run(&[("p", "0.7")], &x, &[3, 4], false);
        assert_eq!((y, mask), (x.clone(), vec![1.0; 12]));
        check_gradient("Dropout", &[("p", "0.7")], &[array(&[3, 4], &x)], &[], false);
        // p = 0 keeps everything even in training.
        assert_eq!(run(&[("p", "0")], &x, &[3, 4], true).0, x);
    }

    #[test]
    fn training_drops_a_fraction_p_and_scales_the_rest() {
        // Large enough for the parallel path.
        let n = 40000;
        let x = uniform(n, 0.5, 1.5, 2);
        for (p, mode, train) in [(0.3, "training", true), (0.5, "always", false)] {
            let ps = p.to_string();
            let (y, mask) = run(&[("p", &ps), ("mode", mode)], &x, &[n], train);
            let scale = 1.0 / (1.0 - p);
            assert!(mask.iter().all(|&m| m == 0.0 || (m - scale).abs() < 1e-12));
            assert!(y.iter().zip(&x).zip(&mask).all(|((y, x), m)| (y - x * m).abs() < 1e-12));
            let dropped = mask.iter().filter(|&&m| m == 0.0).count() as f64 / n as f64;
            assert!((dropped - p).abs() < 0.02, "dropped {dropped}, p {p}");
        }
        // Dropping everything gives zeros, not NaN.
        let (y, _) = run(&[("p", "1")], &x[..10], &[10], true);
        assert_eq!(y, vec![0.0; 10]);
    }

    #[test]
    fn axes_share_one_draw() {
        let x = vec![1.0; 40 * 3 * 5];
        let (_, mask) = run(&[("axes", "(1,)")], &x, &[40, 3, 5], true);
        for i in 0..40 {
            for k in 0..5 {
                let m = mask[i * 15 + k];
                assert!((0..3).all(|j| mask[i * 15 + j * 5 + k] == m));
            }
        }
        assert!(mask.contains(&0.0) && mask.contains(&2.0));
    }

    #[test]
    fn gradient_is_the_output_gradient_times_the_mask() {
        let n = 5000;
        let g = analytic_grads("Dropout", &[("p", "0.25")], &[array(&[n], &vec![1.0; n])], &[array(&[n], &vec![3.0; n]), array(&[n], &vec![0.0; n])], true)[0].clone().unwrap();
        assert!(g.iter().all(|&v| v == 0.0 || (v - 4.0).abs() < 1e-12));
        let dropped = g.iter().filter(|&&v| v == 0.0).count() as f64 / n as f64;
        assert!((dropped - 0.25).abs() < 0.03, "dropped {dropped}");
    }

    #[test]
    fn bad_p_and_axes_are_refused() {
        let x = array(&[2, 2], &[0.0; 4]);
        let err = invoke("Dropout", std::slice::from_ref(&x), &Attrs::from_pairs([("p", "1.5")]), None, Context::cpu(0)).err().unwrap().to_string();
        assert!(err.contains("Dropout") && err.contains("'p'"), "{err}");
        let err = invoke("Dropout", &[x], &Attrs::from_pairs([("axes", "(3,)")]), None, Context::cpu(0)).err().unwrap().to_string();
        assert!(err.contains("axes") && err.contains("out of range"), "{err}");
        let op = crate::lookup("Dropout").unwrap().instantiate(&Attrs::new()).unwrap();
        assert_eq!((op.num_outputs(), op.num_visible_outputs()), (2, 1));
    }
}
