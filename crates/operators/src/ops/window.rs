//! Parsing the per-axis window parameters Convolution, Deconvolution and Pooling share
//! (`kernel`, `stride`, `dilate`, `pad`); the geometry itself is `rmx_kernels::window`.

use crate::attrs::Attrs;
use crate::error::{param_err, Result};

/// A per-axis parameter (`stride`, `dilate`, `pad`) with `ndim` entries: absent or `()` gives
/// `default` on every axis. Values below `min` are refused.
pub fn axis_tuple(op: &str, attrs: &Attrs, key: &str, ndim: usize, default: usize, min: usize) -> Result<Vec<usize>> {
    let v = attrs.ints(op, key)?.unwrap_or_default();
    if v.is_empty() {
        return Ok(vec![default; ndim]);
    }
    if v.len() != ndim {
        return Err(param_err(op, key, format!("needs {ndim} values (one per kernel axis), got {v:?}")));
    }
    if let Some(bad) = v.iter().find(|&&x| x < min as i64) {
        return Err(param_err(op, key, format!("values must be at least {min}, got {bad}")));
    }
    Ok(v.into_iter().map(|x| x as usize).collect())
}

/// The window size `kernel` (1 to 3 positive values); `required` makes it mandatory.
pub fn kernel_tuple(op: &str, attrs: &Attrs, required: bool) -> Result<Vec<usize>> {
    let v = attrs.ints(op, "kernel")?.unwrap_or_default();
    if v.is_empty() {
        return if required { Err(param_err(op, "kernel", "required")) } else { Ok(Vec::new()) };
    }
    if v.len() > 3 || v.iter().any(|&k| k < 1) {
        return Err(param_err(op, "kernel", format!("needs 1 to 3 positive sizes (1-D, 2-D or 3-D), got {v:?}")));
    }
    Ok(v.into_iter().map(|x| x as usize).collect())
}
