//! Dropout on the host: the mask drawn serially from the process random stream (so a seed fixes
//! it), broadcast along shared axes; applying it in `PARALLEL_GRAIN` pieces on the rayon pool when
//! large.

use rayon::prelude::*;

use super::elementwise::PARALLEL_GRAIN;
use super::random::RandomState;
use crate::float::Float;
use crate::layout::contiguous_strides;

/// Writes `src`, of `shape` with the axes where `shared` is true reduced to 1, broadcast over
/// `shape` into `dst`.
fn broadcast_shared<T: Copy>(shape: &[usize], shared: &[bool], src: &[T], dst: &mut [T]) {
    let reduced: Vec<usize> = shape.iter().zip(shared).map(|(&n, &s)| if s { 1 } else { n }).collect();
    let strides: Vec<usize> = contiguous_strides(&reduced).iter().zip(shared).map(|(&st, &s)| if s { 0 } else { st as usize }).collect();
    let mut index = vec![0usize; shape.len()];
    let mut offset = 0usize;
    for d in dst.iter_mut() {
        *d = src[offset];
        for k in (0..shape.len()).rev() {
            index[k] += 1;
            offset += strides[k];
            if index[k] < shape[k] {
                break;
            }
            offset -= strides[k] * shape[k];
            index[k] = 0;
        }
    }
}

/// Fills `mask` (of `shape`) with 0 or `1 / (1 - p)` from the random stream, one draw per
/// position of the axes not `shared`.
pub fn draw_mask<T: Float>(p: f64, shape: &[usize], shared: &[bool], rng: &mut RandomState, mask: &mut [T]) {
    let keep = 1.0 - p;
    let scale = if keep > 0.0 { T::from_f64(1.0 / keep) } else { T::ZERO };
    let decide = |m: &mut T| *m = if m.to_f64() < keep { scale } else { T::ZERO };
    if !shared.contains(&true) {
        rng.uniform(0.0, 1.0, mask);
        mask.iter_mut().for_each(decide);
    } else {
        let n: usize = shape.iter().zip(shared).map(|(&n, &s)| if s { 1 } else { n }).product();
        let mut draws = vec![T::ZERO; n];
        rng.uniform(0.0, 1.0, &mut draws);
        draws.iter_mut().for_each(decide);
        broadcast_shared(shape, shared, &draws, mask);
    }
}

/// `y = x * m`.
pub fn apply<T: Float>(xs: &[T], ms: &[T], ys: &mut [T]) {
    let apply = |((y, x), m): ((&mut [T], &[T]), &[T])| {
        for ((y, &x), &m) in y.iter_mut().zip(x).zip(m) {
            *y = x * m;
        }
    };
    if ys.len() <= PARALLEL_GRAIN {
        apply(((ys, xs), ms));
    } else {
        ys.par_chunks_mut(PARALLEL_GRAIN).zip(xs.par_chunks(PARALLEL_GRAIN)).zip(ms.par_chunks(PARALLEL_GRAIN)).for_each(apply);
    }
}

/// `y = x`, `m = 1`.
pub fn identity<T: Float>(xs: &[T], ys: &mut [T], ms: &mut [T]) {
    ys.copy_from_slice(xs);
    ms.fill(T::from_f64(1.0));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shared_axes_repeat_the_reduced_values() {
        // (2, 3, 2) with axis 1 shared: the source is (2, 1, 2).
        let mut dst = [0; 12];
        broadcast_shared(&[2, 3, 2], &[false, true, false], &[1, 2, 3, 4], &mut dst);
        assert_eq!(dst, [1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4]);
    }

    #[test]
    fn a_seed_fixes_the_mask_and_it_holds_zero_or_the_scale() {
        let (mut a, mut b) = (RandomState::new(3), RandomState::new(3));
        let (mut m1, mut m2) = (vec![0f32; 1000], vec![0f32; 1000]);
        draw_mask(0.25, &[1000], &[false], &mut a, &mut m1);
        draw_mask(0.25, &[1000], &[false], &mut b, &mut m2);
        assert_eq!(m1, m2);
        assert!(m1.iter().all(|&m| m == 0.0 || m == (1.0 / 0.75) as f32));
        draw_mask(1.0, &[1000], &[false], &mut a, &mut m1);
        assert!(m1.iter().all(|&m| m == 0.0));
    }
}
