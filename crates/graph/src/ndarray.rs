//! `NDArray`: a handle to (part of) a storage chunk with the chunk's engine variable, and its
//! shape, strides, dtype. Views (slices, reshapes) share the chunk and so the variable: a write
//! through a view orders with every read of the base. Only reading into the host blocks.

use std::sync::Arc;

use rmx_engine::{engine, Context, DeviceKind, FnProperty, Var};
use rmx_kernels::copy::copy_strided;
use rmx_kernels::{contiguous_strides, numel, DType, Layout, Shape, Storage};

use crate::error::{GraphError, Result};

/// A buffer and the variable that orders every access to it.
pub struct Chunk {
    pub storage: Storage,
    pub var: Var,
}

impl Chunk {
    /// `bytes` of zeroed storage with a fresh variable.
    pub fn new(bytes: usize, ctx: Context) -> Result<Arc<Chunk>> {
        check_device("empty", ctx)?;
        Ok(Arc::new(Chunk { storage: Storage::zeroed(bytes, ctx), var: engine().new_var() }))
    }
}

#[derive(Clone)]
pub struct NDArray {
    chunk: Arc<Chunk>,
    layout: Layout,
    dtype: DType,
}

/// Refuses devices this build cannot compute on.
pub fn check_device(op: &str, ctx: Context) -> Result<()> {
    match ctx.kind {
        DeviceKind::Gpu => Err(GraphError::Device {
            op: op.to_string(),
            message: format!("{ctx} is not available: this build of rmx has no CUDA support yet (the GPU path lands with the CUDA issue)"),
        }),
        _ => Ok(()),
    }
}

impl NDArray {
    /// A new dense array, zero-filled, with a fresh variable.
    pub fn zeros(shape: &[usize], dtype: DType, ctx: Context) -> Result<Self> {
        let chunk = Chunk::new(numel(shape) * dtype.size(), ctx)?;
        Ok(NDArray { chunk, layout: Layout::contiguous(shape), dtype })
    }

    /// A dense array of `shape` and `dtype` at the start of `chunk`, which must be large enough
    /// (the executor's planned buffers: entries that never live at once share one chunk).
    pub fn view_of(chunk: &Arc<Chunk>, shape: &[usize], dtype: DType) -> Self {
        assert!(numel(shape) * dtype.size() <= chunk.storage.bytes(), "a view past the end of its chunk");
        NDArray { chunk: chunk.clone(), layout: Layout::contiguous(shape), dtype }
    }

    /// A new dense array holding `bytes` (row-major, `dtype`'s native layout).
    pub fn from_bytes(shape: &[usize], dtype: DType, ctx: Context, bytes: &[u8]) -> Result<Self> {
        let a = Self::zeros(shape, dtype, ctx)?;
        if bytes.len() != a.nbytes() {
            return Err(GraphError::Invalid(format!("array: {} bytes given for shape {shape:?} of {dtype} ({} expected)", bytes.len(), a.nbytes())));
        }
        // SAFETY: the array is new; nothing else can reach its storage yet.
        unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), a.chunk.storage.as_ptr(), bytes.len()) };
        Ok(a)
    }

    pub fn shape(&self) -> &[usize] {
        &self.layout.shape
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn ctx(&self) -> Context {
        self.chunk.storage.ctx()
    }

    pub fn var(&self) -> &Var {
        &self.chunk.var
    }

    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    pub fn numel(&self) -> usize {
        self.layout.numel()
    }

    pub fn nbytes(&self) -> usize {
        self.numel() * self.dtype.size()
    }

    pub fn is_contiguous(&self) -> bool {
        self.layout.is_contiguous()
    }

    pub fn chunk(&self) -> &Arc<Chunk> {
        &self.chunk
    }

    pub fn same_chunk(&self, other: &NDArray) -> bool {
        Arc::ptr_eq(&self.chunk, &other.chunk)
    }

    /// Address of the first element.
    pub fn data_ptr(&self) -> *mut u8 {
        // SAFETY: the offset lies inside the storage by construction of every layout.
        unsafe { self.chunk.storage.as_ptr().add(self.layout.offset * self.dtype.size()) }
    }

    /// Another view of the same chunk. The caller keeps `layout` inside the chunk.
    pub fn with_layout(&self, layout: Layout) -> NDArray {
        NDArray { chunk: self.chunk.clone(), layout, dtype: self.dtype }
    }

    /// A view of the same elements in another shape; only dense arrays have one.
    pub fn reshape_view(&self, shape: &[usize]) -> Option<NDArray> {
        if !self.is_contiguous() || numel(shape) != self.numel() {
            return None;
        }
        let layout = Layout { shape: Shape::from(shape), strides: contiguous_strides(shape), offset: self.layout.offset };
        Some(self.with_layout(layout))
    }

    /// Waits for pending writes, then copies the elements into `dst` row-major.
    pub fn read_into(&self, dst: &mut [u8]) -> Result<()> {
        if dst.len() != self.nbytes() {
            return Err(GraphError::Invalid(format!("asnumpy: buffer of {} bytes for {} bytes of data", dst.len(), self.nbytes())));
        }
        engine().wait_for_var(&self.chunk.var)?;
        // SAFETY: the wait above completed every write; reads beside us do not conflict, and a
        // write pushed after the wait is ordered after this call returns only by the caller
        // (as in MXNet, reading an array while pushing writes to it is the caller's race).
        unsafe {
            copy_strided(self.dtype.size(), self.shape(), self.data_ptr(), &self.layout.strides, dst.as_mut_ptr(), &contiguous_strides(self.shape()));
        }
        Ok(())
    }

    /// Pushes a write of `bytes` (row-major, this dtype) into this array or view.
    pub fn write_bytes(&self, bytes: Vec<u8>) -> Result<()> {
        if bytes.len() != self.nbytes() {
            return Err(GraphError::Shape {
                op: "__setitem__".into(),
                message: format!("{} bytes given for shape {:?} of {}", bytes.len(), self.shape(), self.dtype),
            });
        }
        let target = self.clone();
        let body = Box::new(move |_: &rmx_engine::RunContext| {
            let strides = contiguous_strides(target.shape());
            // SAFETY: this push writes the target's variable.
            unsafe { copy_strided(target.dtype.size(), target.shape(), bytes.as_ptr(), &strides, target.data_ptr(), &target.layout.strides) };
            Ok(())
        });
        engine().push(body, self.ctx(), &[], &[self.var().clone()], FnProperty::Normal, 0, "_set_value".into())?;
        Ok(())
    }

    /// Blocks until pending writes are done; returns the failure they carry, if any.
    pub fn wait_to_read(&self) -> Result<()> {
        Ok(engine().wait_for_var(&self.chunk.var)?)
    }
}
