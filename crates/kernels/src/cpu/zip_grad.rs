//! The host loop of a two-input function's gradients (`_backward_binary`): both input gradients
//! from `(out_grad, lhs, rhs)` in one pass when no input was broadcast, else each at the
//! broadcast shape, summed down to its input's shape.

use crate::dtype::Element;
use crate::layout::{contiguous_strides, Layout};

use super::elementwise::{map3_broadcast, map3_into2};
use super::reduce::ReduceFn;
use super::reduce_to::reduce_to;

/// The shapes of one backward call: `out` is the broadcast shape of `lhs` and `rhs`.
pub struct Shapes<'a> {
    pub out: &'a [usize],
    pub lhs: &'a [usize],
    pub rhs: &'a [usize],
}

/// `(dl, dr) = f(g, l, r)` (the scaled partial derivatives), each reduced with `S` (a sum) down
/// to its input's shape where that input was broadcast. `constant`: both partials are these
/// constants (add, sub), so a broadcast input's gradient is `g` summed, times its constant.
#[allow(clippy::too_many_arguments)]
pub fn zip_grad<T: Element, S: ReduceFn, F: Fn(T, T, T) -> (T, T) + Sync>(
    shapes: &Shapes,
    gs: &[T],
    ls: &[T],
    rs: &[T],
    dl: &mut [T],
    dr: &mut [T],
    f: &F,
    constant: Option<[f64; 2]>,
) {
    let shape = shapes.out;
    if shapes.lhs == shape && shapes.rhs == shape {
        map3_into2(gs, ls, rs, dl, dr, f);
        return;
    }
    let strides = [contiguous_strides(shape), Layout::contiguous(shapes.lhs).broadcast_strides(shape), Layout::contiguous(shapes.rhs).broadcast_strides(shape)];
    let outs: [(&[usize], &mut [T]); 2] = [(shapes.lhs, dl), (shapes.rhs, dr)];
    for (side, (to, y)) in outs.into_iter().enumerate() {
        let pick = |g: T, a: T, b: T| {
            let d = f(g, a, b);
            if side == 0 { d.0 } else { d.1 }
        };
        if to == shape {
            map3_broadcast(shape, gs, &strides[0], ls, &strides[1], rs, &strides[2], y, &pick);
        } else if let Some(constant) = constant {
            reduce_to::<T, S>(gs, shape, to, y);
            let c = constant[side];
            if c != 1.0 {
                y.iter_mut().for_each(|v| *v = T::from_f64(c * v.to_f64()));
            }
        } else {
            let mut full = vec![T::default(); gs.len()];
            map3_broadcast(shape, gs, &strides[0], ls, &strides[1], rs, &strides[2], &mut full, &pick);
            reduce_to::<T, S>(&full, shape, to, y);
        }
    }
}
