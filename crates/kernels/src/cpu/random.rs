//! The random number generator behind `mx.random`: one stream per process, advanced only by
//! operations that write its engine variable, so a seed fixes every draw whatever the timing.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Exp, Gamma, Poisson, StandardNormal};

use crate::dtype::Element;

pub struct RandomState {
    rng: StdRng,
}

impl RandomState {
    pub fn new(seed: u64) -> Self {
        RandomState { rng: StdRng::seed_from_u64(seed) }
    }

    pub fn seed(&mut self, seed: u64) {
        self.rng = StdRng::seed_from_u64(seed);
    }

    /// Uniform on `[low, high)`.
    pub fn uniform<T: Element>(&mut self, low: f64, high: f64, y: &mut [T]) {
        for v in y {
            *v = T::from_f64(low + (high - low) * self.rng.random::<f64>());
        }
    }

    pub fn normal<T: Element>(&mut self, loc: f64, scale: f64, y: &mut [T]) {
        for v in y {
            let z: f64 = StandardNormal.sample(&mut self.rng);
            *v = T::from_f64(loc + scale * z);
        }
    }

    /// Integers uniform on `[low, high)`.
    pub fn randint<T: Element>(&mut self, low: i64, high: i64, y: &mut [T]) {
        for v in y {
            *v = T::from_i64(self.rng.random_range(low..high));
        }
    }

    /// `y` in consecutive runs, one per parameter set `(a[i], b[i])`, each drawn from `dist`.
    /// Parameters outside a distribution's domain give NaN (MXNet leaves them unchecked).
    pub fn sample<T: Element>(&mut self, dist: Dist, a: &[f64], b: &[f64], y: &mut [T]) {
        let per = if a.is_empty() { 0 } else { y.len() / a.len() };
        if per == 0 {
            return;
        }
        for (i, run) in y.chunks_mut(per).enumerate() {
            let (p, q) = (a[i], b.get(i).copied().unwrap_or(0.0));
            for v in run {
                *v = T::from_f64(self.draw(dist, p, q));
            }
        }
    }

    fn draw(&mut self, dist: Dist, p: f64, q: f64) -> f64 {
        let rng = &mut self.rng;
        match dist {
            Dist::Uniform => p + (q - p) * rng.random::<f64>(),
            Dist::Normal => {
                let z: f64 = StandardNormal.sample(rng);
                p + q * z
            }
            Dist::Gamma => Gamma::new(p, q).map_or(f64::NAN, |g| g.sample(rng)),
            Dist::Exponential => Exp::new(p).map_or(f64::NAN, |e| e.sample(rng)),
            Dist::Poisson => poisson(rng, p),
            // Failures before the k-th success: Poisson of a Gamma(k, (1 - p) / p) rate.
            Dist::NegativeBinomial => match Gamma::new(p, (1.0 - q) / q) {
                Ok(g) => {
                    let rate = g.sample(rng);
                    poisson(rng, rate)
                }
                Err(_) if q == 1.0 => 0.0,
                Err(_) => f64::NAN,
            },
            // Mean mu, variance mu + alpha mu²: Poisson of a Gamma(1 / alpha, alpha mu) rate.
            Dist::GeneralizedNegativeBinomial if q == 0.0 => poisson(rng, p),
            Dist::GeneralizedNegativeBinomial => match Gamma::new(1.0 / q, q * p) {
                Ok(g) => {
                    let rate = g.sample(rng);
                    poisson(rng, rate)
                }
                Err(_) => f64::NAN,
            },
        }
    }

    /// Per row of `probs` (`k` categories), `per` category indices drawn from it, and each
    /// draw's log-probability when `logp` is given.
    pub fn multinomial<P: Element, T: Element>(&mut self, probs: &[P], k: usize, y: &mut [T], mut logp: Option<&mut [P]>) {
        let rows = if k == 0 { 0 } else { probs.len() / k };
        let per = if rows == 0 { 0 } else { y.len() / rows };
        for r in 0..rows {
            let row = &probs[r * k..(r + 1) * k];
            for j in 0..per {
                let u: f64 = self.rng.random::<f64>();
                let (mut acc, mut pick) = (0.0, k - 1);
                for (c, p) in row.iter().enumerate() {
                    acc += p.to_f64();
                    if u < acc {
                        pick = c;
                        break;
                    }
                }
                y[r * per + j] = T::from_f64(pick as f64);
                if let Some(l) = logp.as_deref_mut() {
                    l[r * per + j] = P::from_f64(row[pick].to_f64().ln());
                }
            }
        }
    }

    /// A uniformly random permutation of `0..n` (Fisher-Yates).
    pub fn permutation(&mut self, n: usize) -> Vec<usize> {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            let j = self.rng.random_range(0..=i);
            p.swap(i, j);
        }
        p
    }
}

/// The distributions [`RandomState::sample`] draws from, by MXNet's parameters `(a, b)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Dist {
    /// `[low, high)`.
    Uniform,
    /// Mean and standard deviation.
    Normal,
    /// Shape `alpha` and scale `beta`.
    Gamma,
    /// Rate `lam`.
    Exponential,
    /// Rate `lam`.
    Poisson,
    /// `k` successes, success probability `p`.
    NegativeBinomial,
    /// Mean `mu` and dispersion `alpha`.
    GeneralizedNegativeBinomial,
}

/// A Poisson count of rate `lam` (0 at rate 0; NaN for a negative or NaN rate).
fn poisson(rng: &mut StdRng, lam: f64) -> f64 {
    if lam == 0.0 {
        return 0.0;
    }
    Poisson::new(lam).map_or(f64::NAN, |d| d.sample(rng))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_fixes_the_stream_and_ranges_hold() {
        let (mut a, mut b) = (RandomState::new(7), RandomState::new(7));
        let (mut x, mut y) = (vec![0f32; 100], vec![0f32; 100]);
        a.uniform(-2.0, 3.0, &mut x);
        b.uniform(-2.0, 3.0, &mut y);
        assert_eq!(x, y);
        assert!(x.iter().all(|&v| (-2.0..3.0).contains(&v)));
        let mut k = vec![0i32; 1000];
        a.randint(3, 6, &mut k);
        assert!(k.iter().all(|&v| (3..6).contains(&v)) && k.contains(&3) && k.contains(&5));
        let mut p = a.permutation(50);
        p.sort();
        assert_eq!(p, (0..50).collect::<Vec<_>>());
    }
}
