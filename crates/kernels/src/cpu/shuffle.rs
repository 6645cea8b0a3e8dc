//! `_shuffle`'s host loop: the rows (first axis) of an array copied in a random order.

use crate::dtype::Element;

use super::random::RandomState;

/// `y[dst] = x[perm[dst]]` row by row, for `rows` rows of equal length and a fresh
/// permutation drawn from `state`.
pub fn shuffle_rows<T: Element>(state: &mut RandomState, x: &[T], rows: usize, y: &mut [T]) {
    let row = x.len() / rows.max(1);
    let perm = state.permutation(rows);
    for (dst, &src) in perm.iter().enumerate() {
        y[dst * row..(dst + 1) * row].copy_from_slice(&x[src * row..(src + 1) * row]);
    }
}
