//! Axis arguments as MXNet takes them: negative values count from the end; `None` means all.

use crate::error::{param_err, Result};

/// One axis in `0..ndim` (negative counts from the end).
pub fn axis(op: &str, name: &str, axis: i64, ndim: usize) -> Result<usize> {
    let a = if axis < 0 { axis + ndim as i64 } else { axis };
    if a < 0 || a >= ndim as i64 {
        return Err(param_err(op, name, format!("axis {axis} is out of range for a {ndim}-d input")));
    }
    Ok(a as usize)
}

/// Sorted, distinct axes; `None` means every axis; `exclude` takes the complement.
pub fn axes(op: &str, given: Option<&[i64]>, ndim: usize, exclude: bool) -> Result<Vec<usize>> {
    let mut list = match given {
        None => (0..ndim).collect::<Vec<_>>(),
        Some(v) => v.iter().map(|&a| axis(op, "axis", a, ndim)).collect::<Result<Vec<_>>>()?,
    };
    list.sort_unstable();
    list.dedup();
    if exclude {
        list = (0..ndim).filter(|a| !list.contains(a)).collect();
    }
    Ok(list)
}

/// Splits `shape` around a contiguous run of axes: (product before, product of, product after).
pub fn split_around(shape: &[usize], first: usize, last: usize) -> (usize, usize, usize) {
    let p = |s: &[usize]| s.iter().product::<usize>();
    (p(&shape[..first]), p(&shape[first..=last]), p(&shape[last + 1..]))
}
