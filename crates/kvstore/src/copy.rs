//! Copies as engine operations (`_copy`, or `Cast` into another dtype), on any devices: what
//! `init` stores, what `pull` writes, and how values reach the device they are summed on.

use rmx_engine::Context;
use rmx_graph::{invoke, Attrs, NDArray};

use crate::error::{KVStoreError, Result};

/// Pushes a copy of `src` into `dst` (same shape, any dtype and device), as `NDArray.copyto`:
/// nothing to do when `dst` is `src` itself.
pub fn copy_into(src: &NDArray, dst: &NDArray) -> Result<()> {
    if src.shape() != dst.shape() {
        return Err(KVStoreError::Shape { from: src.shape().to_vec(), into: dst.shape().to_vec() });
    }
    if dst.same_chunk(src) && dst.layout().offset == src.layout().offset {
        return Ok(());
    }
    if src.dtype() == dst.dtype() {
        invoke("_copy", std::slice::from_ref(src), &Attrs::new(), Some(vec![dst.clone()]), dst.ctx())?;
    } else {
        let attrs = Attrs::from_pairs([("dtype", dst.dtype().name())]);
        invoke("Cast", std::slice::from_ref(src), &attrs, Some(vec![dst.clone()]), dst.ctx())?;
    }
    Ok(())
}

/// A new array on `ctx` holding a copy of `src`.
pub fn copy_to(src: &NDArray, ctx: Context) -> Result<NDArray> {
    let dst = NDArray::zeros(src.shape(), src.dtype(), ctx)?;
    copy_into(src, &dst)?;
    Ok(dst)
}
