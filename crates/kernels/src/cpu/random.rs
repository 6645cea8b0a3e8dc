//! The random number generator behind `mx.random`: one stream per process, advanced only by
//! operations that write its engine variable, so a seed fixes every draw whatever the timing.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};

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
