//! Host loops of [`crate::pdf`]: densities and their gradients, in float64 per element.

use crate::dtype::Element;
use crate::pdf::Density;
use crate::special::Gamma as _;

/// `(log density, d/d sample, d/d first parameter, d/d second parameter)` at `x`.
fn log_density(d: Density, x: f64, a: f64, b: f64) -> [f64; 4] {
    match d {
        Density::Uniform => {
            if x < a || x > b {
                [f64::NEG_INFINITY, 0.0, 0.0, 0.0]
            } else {
                let w = b - a;
                [-w.ln(), 0.0, 1.0 / w, -1.0 / w]
            }
        }
        Density::Normal => {
            let z = (x - a) / b;
            [-0.5 * z * z - b.ln() - 0.5 * (2.0 * std::f64::consts::PI).ln(), -z / b, z / b, (z * z - 1.0) / b]
        }
        Density::Gamma => [a * b.ln() + (a - 1.0) * x.ln() - b * x - a.gammaln(), (a - 1.0) / x - b, b.ln() + x.ln() - a.digamma(), a / b - x],
        Density::Exponential => [a.ln() - a * x, -a, 1.0 / a - x, 0.0],
        Density::Poisson => [x * a.ln() - a - (x + 1.0).gammaln(), 0.0, x / a - 1.0, 0.0],
        Density::NegativeBinomial => negative_binomial(x, a, b),
        Density::GeneralizedNegativeBinomial => {
            // k = 1 / alpha, p = 1 / (mu alpha + 1), through the negative binomial's.
            let (mu, alpha) = (a, b);
            let q = mu * alpha + 1.0;
            let [l, _, dk, dp] = negative_binomial(x, 1.0 / alpha, 1.0 / q);
            [l, 0.0, dp * (-alpha / (q * q)), dk * (-1.0 / (alpha * alpha)) + dp * (-mu / (q * q))]
        }
        Density::Dirichlet => unreachable!("the Dirichlet density has vector parameters"),
    }
}

fn negative_binomial(x: f64, k: f64, p: f64) -> [f64; 4] {
    let l = (x + k).gammaln() - k.gammaln() - (x + 1.0).gammaln() + k * p.ln() + x * (1.0 - p).ln();
    [l, 0.0, (x + k).digamma() - k.digamma() + p.ln(), k / p - x / (1.0 - p)]
}

/// The geometry: `sets` parameter sets, `per` samples each, `k` components (Dirichlet).
#[derive(Clone, Copy)]
pub struct Layout {
    pub sets: usize,
    pub per: usize,
    pub k: usize,
}

/// Dirichlet: (log density, d/d x_i, d/d alpha_i) for one sample `x` and parameters `alpha`.
fn dirichlet(x: &[f64], alpha: &[f64]) -> (f64, Vec<f64>, Vec<f64>) {
    let sum: f64 = alpha.iter().sum();
    let mut l = sum.gammaln();
    for (&xi, &ai) in x.iter().zip(alpha) {
        l += (ai - 1.0) * xi.ln() - ai.gammaln();
    }
    let dx = x.iter().zip(alpha).map(|(&xi, &ai)| (ai - 1.0) / xi).collect();
    let da = x.iter().zip(alpha).map(|(&xi, &ai)| sum.digamma() - ai.digamma() + xi.ln()).collect();
    (l, dx, da)
}

fn read<T: Element>(t: &[T]) -> Vec<f64> {
    t.iter().map(|v| v.to_f64()).collect()
}

pub fn forward<T: Element>(d: Density, g: Layout, sample: &[T], params: &[&[T]], is_log: bool, out: &mut [T]) {
    let p: Vec<Vec<f64>> = params.iter().map(|t| read(t)).collect();
    let finish = |l: f64| if is_log { l } else { l.exp() };
    for s in 0..g.sets {
        for j in 0..g.per {
            let o = s * g.per + j;
            let v = if d == Density::Dirichlet {
                let x = read(&sample[o * g.k..(o + 1) * g.k]);
                dirichlet(&x, &p[0][s * g.k..(s + 1) * g.k]).0
            } else {
                log_density(d, sample[o].to_f64(), p[0][s], p.get(1).map_or(0.0, |b| b[s]))[0]
            };
            out[o] = T::from_f64(finish(v));
        }
    }
}

/// Gradients of the density (or log density) times `og`: the sample's, and each parameter's
/// summed over its samples.
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Element>(d: Density, g: Layout, og: &[T], sample: &[T], params: &[&[T]], is_log: bool, dsample: &mut [T], dparams: &mut [&mut [T]]) {
    let p: Vec<Vec<f64>> = params.iter().map(|t| read(t)).collect();
    let mut acc: Vec<Vec<f64>> = p.iter().map(|v| vec![0.0; v.len()]).collect();
    for s in 0..g.sets {
        for j in 0..g.per {
            let o = s * g.per + j;
            if d == Density::Dirichlet {
                let x = read(&sample[o * g.k..(o + 1) * g.k]);
                let (l, dx, da) = dirichlet(&x, &p[0][s * g.k..(s + 1) * g.k]);
                let scale = og[o].to_f64() * if is_log { 1.0 } else { l.exp() };
                for i in 0..g.k {
                    dsample[o * g.k + i] = T::from_f64(scale * dx[i]);
                    acc[0][s * g.k + i] += scale * da[i];
                }
                continue;
            }
            let [l, dx, da, db] = log_density(d, sample[o].to_f64(), p[0][s], p.get(1).map_or(0.0, |b| b[s]));
            let scale = og[o].to_f64() * if is_log { 1.0 } else { l.exp() };
            dsample[o] = T::from_f64(if scale == 0.0 { 0.0 } else { scale * dx });
            if scale != 0.0 {
                acc[0][s] += scale * da;
                if let Some(b) = acc.get_mut(1) {
                    b[s] += scale * db;
                }
            }
        }
    }
    for (out, a) in dparams.iter_mut().zip(acc) {
        out.iter_mut().zip(a).for_each(|(o, v)| *o = T::from_f64(v));
    }
}
