//! LeakyReLU's rectifiers on the host, forward and backward, elementwise in f64 (elu, selu, gelu)
//! or the element type (leaky, prelu, rrelu), in `PARALLEL_GRAIN` pieces on the rayon pool when
//! large. rrelu's slopes come from the process random stream, drawn serially so that a seed
//! fixes them; prelu's gamma gradient is summed serially, in element order.

use rayon::prelude::*;

use super::elementwise::PARALLEL_GRAIN;
use super::random::RandomState;
use crate::float::Float;
use crate::leaky_relu::Kind;

const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
const SELU_LAMBDA: f64 = 1.050_700_987_355_480_5;

/// Runs `f(offset, chunk)` over `y` in pieces, on the rayon pool when it is large.
fn chunked<T: Send>(y: &mut [T], f: impl Fn(usize, &mut [T]) + Sync) {
    if y.len() <= PARALLEL_GRAIN {
        f(0, y);
    } else {
        y.par_chunks_mut(PARALLEL_GRAIN).enumerate().for_each(|(i, c)| f(i * PARALLEL_GRAIN, c));
    }
}

/// `(channels, inner)` for prelu's gamma: element `i` uses `gamma[(i / inner) % channels]`.
fn gamma_layout(data: &[usize], gamma_len: usize) -> (usize, usize) {
    if gamma_len == 1 {
        (1, 1)
    } else {
        (data[1], data[2..].iter().product())
    }
}

fn gelu(x: f64) -> f64 {
    0.5 * x * (1.0 + libm::erf(x * std::f64::consts::FRAC_1_SQRT_2))
}

fn gelu_grad(x: f64) -> f64 {
    let cdf = 0.5 * (1.0 + libm::erf(x * std::f64::consts::FRAC_1_SQRT_2));
    let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    cdf + x * pdf
}

/// `y = f(x)` for every kind but rrelu (`rrelu_forward`); `shape` is the data's, `gamma`
/// prelu's slopes.
pub fn forward<T: Float>(kind: Kind, slope: f64, shape: &[usize], xs: &[T], gamma: Option<&[T]>, y: &mut [T]) {
    let a = slope;
    let slope = T::from_f64(slope);
    match kind {
        Kind::Leaky => chunked(y, |o, ys| {
            for (v, &x) in ys.iter_mut().zip(&xs[o..]) {
                *v = if x > T::ZERO { x } else { slope * x };
            }
        }),
        Kind::PRelu => {
            let g = gamma.expect("prelu has gamma");
            let (channels, inner) = gamma_layout(shape, g.len());
            chunked(y, |o, ys| {
                for (i, (v, &x)) in ys.iter_mut().zip(&xs[o..]).enumerate() {
                    *v = if x > T::ZERO { x } else { g[((o + i) / inner) % channels] * x };
                }
            });
        }
        Kind::RRelu => unreachable!("rrelu draws its slopes: rrelu_forward"),
        Kind::Elu | Kind::Selu | Kind::Gelu => chunked(y, |o, ys| {
            for (v, &x) in ys.iter_mut().zip(&xs[o..]) {
                let x = x.to_f64();
                *v = T::from_f64(match kind {
                    Kind::Elu => if x > 0.0 { x } else { a * x.exp_m1() },
                    Kind::Selu => SELU_LAMBDA * if x > 0.0 { x } else { SELU_ALPHA * x.exp_m1() },
                    _ => gelu(x),
                });
            }
        }),
    }
}

/// rrelu's forward: the slopes into `m` (drawn from `rng`, or their mean without one), then
/// `y = x > 0 ? x : s·x`.
pub fn rrelu_forward<T: Float>(lower: f64, upper: f64, rng: Option<&mut RandomState>, xs: &[T], y: &mut [T], m: &mut [T]) {
    match rng {
        Some(rng) => rng.uniform(lower, upper, m),
        None => m.fill(T::from_f64((lower + upper) / 2.0)),
    }
    for ((v, &x), &s) in y.iter_mut().zip(xs).zip(m.iter()) {
        *v = if x > T::ZERO { x } else { s * x };
    }
}

/// `dx` (and prelu's `dgamma`) from `dy` and the data; `third` is prelu's gamma or rrelu's
/// mask; `shape` is the data's.
#[allow(clippy::too_many_arguments)]
pub fn backward<T: Float>(kind: Kind, slope: f64, shape: &[usize], dy: &[T], xs: &[T], third: Option<&[T]>, dx: &mut [T], dgamma: Option<&mut [T]>) {
    let a = slope;
    match kind {
        Kind::Leaky | Kind::PRelu | Kind::RRelu => {
            let (channels, inner) = match kind {
                Kind::PRelu => gamma_layout(shape, third.map_or(1, <[T]>::len)),
                _ => (1, 1),
            };
            let slope = T::from_f64(a);
            chunked(dx, |o, out| {
                for (i, v) in out.iter_mut().enumerate() {
                    let j = o + i;
                    let s = match kind {
                        Kind::Leaky => slope,
                        Kind::PRelu => third.expect("prelu has gamma")[(j / inner) % channels],
                        _ => third.expect("rrelu has its mask")[j],
                    };
                    *v = if xs[j] > T::ZERO { dy[j] } else { s * dy[j] };
                }
            });
            if kind == Kind::PRelu {
                let dg = dgamma.expect("prelu has a gamma gradient");
                dg.fill(T::ZERO);
                for (j, (&x, &g)) in xs.iter().zip(dy).enumerate() {
                    if x <= T::ZERO {
                        dg[(j / inner) % channels] += g * x;
                    }
                }
            }
        }
        Kind::Elu | Kind::Selu | Kind::Gelu => chunked(dx, |o, out| {
            for ((v, &g), &x) in out.iter_mut().zip(&dy[o..]).zip(&xs[o..]) {
                let x = x.to_f64();
                let d = match kind {
                    Kind::Elu => if x > 0.0 { 1.0 } else { a * x.exp() },
                    Kind::Selu => SELU_LAMBDA * if x > 0.0 { 1.0 } else { SELU_ALPHA * x.exp() },
                    _ => gelu_grad(x),
                };
                *v = T::from_f64(g.to_f64() * d);
            }
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gelu_and_its_derivative_at_known_points() {
        assert_eq!(gelu(0.0), 0.0);
        assert_eq!(gelu_grad(0.0), 0.5);
        // Φ(1) = 0.841344746068543.
        assert!((gelu(1.0) - 0.841_344_746_068_543).abs() < 1e-14);
        let h = 1e-6;
        assert!((gelu_grad(0.7) - (gelu(0.7 + h) - gelu(0.7 - h)) / (2.0 * h)).abs() < 1e-8);
    }

    #[test]
    fn prelu_gamma_follows_axis_1_or_is_one_value() {
        assert_eq!(gamma_layout(&[2, 3, 4, 5], 3), (3, 20));
        assert_eq!(gamma_layout(&[2, 3], 1), (1, 1));
    }
}
