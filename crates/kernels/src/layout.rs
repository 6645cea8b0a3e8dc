//! `Shape` and `Layout`: how an array's elements sit in its storage (shape, strides in elements,
//! offset), plus NumPy's broadcasting rule.

use smallvec::SmallVec;

pub type Shape = SmallVec<[usize; 6]>;
pub type Strides = SmallVec<[isize; 6]>;

pub fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Row-major strides of a dense array of `shape`.
pub fn contiguous_strides(shape: &[usize]) -> Strides {
    let mut strides: Strides = SmallVec::from_elem(0, shape.len());
    let mut acc = 1isize;
    for i in (0..shape.len()).rev() {
        strides[i] = acc;
        acc *= shape[i] as isize;
    }
    strides
}

/// Whether `to` broadcasts to `from` (so that `from` reduces down to `to`).
pub fn sums_to(from: &[usize], to: &[usize]) -> bool {
    to.len() <= from.len() && to.iter().rev().zip(from.iter().rev()).all(|(&t, &f)| t == f || t == 1)
}

/// NumPy's broadcast of two shapes (aligned at the right; a 1 stretches), or None.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Option<Shape> {
    let n = a.len().max(b.len());
    let mut out: Shape = SmallVec::from_elem(0, n);
    for i in 0..n {
        let da = if i + a.len() >= n { a[i + a.len() - n] } else { 1 };
        let db = if i + b.len() >= n { b[i + b.len() - n] } else { 1 };
        out[i] = match (da, db) {
            (x, y) if x == y => x,
            (1, y) => y,
            (x, 1) => x,
            _ => return None,
        };
    }
    Some(out)
}

/// Where each element of an array lives in its storage.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub shape: Shape,
    pub strides: Strides,
    /// In elements, from the start of the storage.
    pub offset: usize,
}

impl Layout {
    pub fn contiguous(shape: &[usize]) -> Self {
        Layout { shape: shape.into(), strides: contiguous_strides(shape), offset: 0 }
    }

    pub fn numel(&self) -> usize {
        numel(&self.shape)
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Dense row-major: the elements are `offset..offset + numel` in order.
    pub fn is_contiguous(&self) -> bool {
        let mut acc = 1isize;
        for i in (0..self.shape.len()).rev() {
            if self.shape[i] != 1 && self.strides[i] != acc {
                return false;
            }
            acc *= self.shape[i] as isize;
        }
        true
    }

    /// The strides with which this array reads as if it had `target` shape: broadcast
    /// dimensions get stride 0. `target` must be a broadcast of `self.shape`.
    pub fn broadcast_strides(&self, target: &[usize]) -> Strides {
        let pad = target.len() - self.shape.len();
        (0..target.len())
            .map(|i| if i < pad || self.shape[i - pad] == 1 { 0 } else { self.strides[i - pad] })
            .collect()
    }
}

/// Merges adjacent dimensions that every operand walks contiguously, so kernels run long inner
/// loops: shape (64, 128) with strides [(128,1), (128,1)] becomes (8192) with [(1), (1)].
pub fn collapse(shape: &[usize], strides: &mut [Strides]) -> Shape {
    let mut out_shape: Shape = SmallVec::new();
    let mut out_strides: Vec<Strides> = vec![SmallVec::new(); strides.len()];
    for d in 0..shape.len() {
        if shape[d] == 1 && !out_shape.is_empty() {
            continue;
        }
        let mergeable = !out_shape.is_empty()
            && strides.iter().zip(&out_strides).all(|(s, o)| *o.last().unwrap() == s[d] * shape[d] as isize);
        if mergeable {
            *out_shape.last_mut().unwrap() *= shape[d];
            for (s, o) in strides.iter().zip(out_strides.iter_mut()) {
                *o.last_mut().unwrap() = s[d];
            }
        } else {
            out_shape.push(shape[d]);
            for (s, o) in strides.iter().zip(out_strides.iter_mut()) {
                o.push(s[d]);
            }
        }
    }
    if out_shape.is_empty() {
        out_shape.push(1);
        for o in out_strides.iter_mut() {
            o.push(0);
        }
    }
    for (s, o) in strides.iter_mut().zip(out_strides) {
        *s = o;
    }
    out_shape
}

#[cfg(test)]
mod tests {
    use super::*;
    use smallvec::smallvec;

    #[test]
    fn broadcasting_follows_numpy() {
        assert_eq!(broadcast_shapes(&[2, 1, 3], &[4, 1]).unwrap().as_slice(), &[2, 4, 3]);
        assert_eq!(broadcast_shapes(&[], &[5]).unwrap().as_slice(), &[5]);
        assert!(broadcast_shapes(&[2, 3], &[3, 2]).is_none());
    }

    #[test]
    fn contiguity_and_collapse() {
        let l = Layout::contiguous(&[2, 3, 4]);
        assert!(l.is_contiguous());
        let t = Layout { shape: smallvec![4, 3], strides: smallvec![1, 4], offset: 0 };
        assert!(!t.is_contiguous());
        let mut s = vec![contiguous_strides(&[2, 3, 4]), smallvec![0, 0, 1]];
        let shape = collapse(&[2, 3, 4], &mut s);
        assert_eq!(shape.as_slice(), &[6, 4]);
        assert_eq!(s[0].as_slice(), &[4, 1]);
        assert_eq!(s[1].as_slice(), &[0, 1]);
    }
}
