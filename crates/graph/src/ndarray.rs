//! `NDArray`: a handle to (part of) a storage chunk with the chunk's engine variable, and its
//! shape, strides, dtype. Views (slices, reshapes) share the chunk and so the variable: a write
//! through a view orders with every read of the base. Only reading into the host blocks.
//!
//! Every layout an `NDArray` holds lies inside its chunk: constructors check it, so the raw
//! addresses handed to kernels never reach outside a buffer.

use std::sync::Arc;

use rmx_engine::{engine, Context, DeviceKind, FnProperty, Var};
use rmx_kernels::copy::{self, Region};
use rmx_kernels::{checked_bytes, contiguous_strides, cuda, DType, Layout, Shape, Storage, Tensor};

use rmx_operators::error::{GraphError, Result};

/// A buffer and the variable that orders every access to it.
pub struct Chunk {
    pub storage: Storage,
    pub var: Var,
}

impl Chunk {
    /// `bytes` of zeroed storage with a fresh variable.
    pub fn new(bytes: usize, ctx: Context) -> Result<Arc<Chunk>> {
        Ok(Arc::new(Chunk { storage: Storage::zeroed(bytes, ctx)?, var: engine().new_var() }))
    }
}

#[derive(Clone)]
pub struct NDArray {
    chunk: Arc<Chunk>,
    layout: Layout,
    dtype: DType,
}

/// Refuses devices operator `op` cannot compute on: a GPU without a driver (or past the
/// driver's count), and for now every GPU, whose kernels land with the CUDA issue (arrays can
/// already live there and be copied to and from the host).
pub fn check_device(op: &str, ctx: Context) -> Result<()> {
    if ctx.kind != DeviceKind::Gpu {
        return Ok(());
    }
    let message = match cuda::check(ctx) {
        Err(e) => e.to_string(),
        Ok(()) => format!("{op} has no kernel for {ctx} yet: rmx computes on the CPU only until its CUDA kernels land"),
    };
    Err(GraphError::Device { op: op.to_string(), message })
}

impl NDArray {
    /// A new dense array, zero-filled, with a fresh variable.
    pub fn zeros(shape: &[usize], dtype: DType, ctx: Context) -> Result<Self> {
        let chunk = Chunk::new(checked_bytes(shape, dtype)?, ctx)?;
        Ok(NDArray { chunk, layout: Layout::contiguous(shape), dtype })
    }

    /// An array over `storage` (memory shared from another library) with `layout`, refused
    /// unless every element it can address lies inside the storage.
    pub fn over(storage: Storage, layout: Layout, dtype: DType) -> Result<Self> {
        check_inside(&layout, dtype, storage.bytes())?;
        Ok(NDArray { chunk: Arc::new(Chunk { storage, var: engine().new_var() }), layout, dtype })
    }

    /// A dense array of `shape` and `dtype` at the start of `chunk`, which must be large enough
    /// (the executor's planned buffers: entries that never live at once share one chunk).
    pub fn view_of(chunk: &Arc<Chunk>, shape: &[usize], dtype: DType) -> Result<Self> {
        NDArray { chunk: chunk.clone(), layout: Layout::contiguous(&[0]), dtype }.with_layout(Layout::contiguous(shape))
    }

    /// A new dense array holding `bytes` (row-major, `dtype`'s native layout).
    pub fn from_bytes(shape: &[usize], dtype: DType, ctx: Context, bytes: &[u8]) -> Result<Self> {
        let a = Self::zeros(shape, dtype, ctx)?;
        if bytes.len() != a.nbytes() {
            return Err(GraphError::Invalid(format!("array: {} bytes given for shape {shape:?} of {dtype} ({} expected)", bytes.len(), a.nbytes())));
        }
        match &a.chunk.storage {
            // SAFETY: the array is new; nothing else can reach its storage yet.
            Storage::Host(h) => unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), h.as_ptr(), bytes.len()) },
            Storage::Cuda(d) => d.write(0, bytes)?,
        }
        Ok(a)
    }

    /// A new host array whose bytes `fill` writes in place (zeroed before): producers such as
    /// the data iterators build a batch straight into its storage, without a copy.
    pub fn new_host_with<R>(shape: &[usize], dtype: DType, ctx: Context, fill: impl FnOnce(&mut [u8]) -> R) -> Result<(Self, R)> {
        if ctx.kind != DeviceKind::Cpu {
            return Err(GraphError::Invalid(format!("new_host_with: {ctx} is not host memory")));
        }
        let a = Self::zeros(shape, dtype, ctx)?;
        let host = a.chunk.storage.host().expect("a CPU array lives in host memory");
        // SAFETY: the array is new and not yet returned, so this is the only reference to its
        // storage, which holds `nbytes` bytes.
        let bytes = unsafe { std::slice::from_raw_parts_mut(host.as_ptr(), a.nbytes()) };
        let r = fill(bytes);
        Ok((a, r))
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

    /// Address of the first element in the device's address space.
    pub fn data_ptr(&self) -> *mut u8 {
        // The offset lies inside the storage (every layout is checked); wrapping arithmetic
        // because a device address is no host allocation.
        self.chunk.storage.base().wrapping_add(self.layout.offset * self.dtype.size())
    }

    /// The whole chunk as a one-dimensional tensor of this array's dtype: what a strided copy
    /// reads or writes this array's [`region`](Self::region) of.
    ///
    /// # Safety
    /// The caller holds this array's variable for the tensor's use (in a push's read set to read
    /// it, its write set to write it), so no other computation touches the chunk meanwhile.
    pub unsafe fn chunk_tensor(&self) -> Tensor {
        let n = self.chunk.storage.bytes() / self.dtype.size();
        // SAFETY: `base` addresses the chunk's `bytes`, which hold `n` whole elements and more.
        unsafe { Tensor::new(self.chunk.storage.base(), [n][..].into(), self.dtype, self.ctx()) }
    }

    /// This array's elements as a region of [`chunk_tensor`](Self::chunk_tensor).
    pub fn region(&self) -> Region<'_> {
        Region { shape: self.shape(), strides: &self.layout.strides, offset: self.layout.offset as isize }
    }

    /// Another view of the same chunk, refused unless every element it can address lies
    /// inside the chunk.
    pub fn with_layout(&self, layout: Layout) -> Result<NDArray> {
        check_inside(&layout, self.dtype, self.chunk.storage.bytes())?;
        Ok(NDArray { chunk: self.chunk.clone(), layout, dtype: self.dtype })
    }

    /// A view of the same elements in another shape; only dense arrays have one.
    pub fn reshape_view(&self, shape: &[usize]) -> Option<NDArray> {
        if !self.is_contiguous() || shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)) != Some(self.numel()) {
            return None;
        }
        let layout = Layout { shape: Shape::from(shape), strides: contiguous_strides(shape), offset: self.layout.offset };
        Some(NDArray { chunk: self.chunk.clone(), layout, dtype: self.dtype })
    }

    /// Waits for pending writes, then copies the elements into `dst` row-major.
    pub fn read_into(&self, dst: &mut [u8]) -> Result<()> {
        if dst.len() != self.nbytes() {
            return Err(GraphError::Invalid(format!("asnumpy: buffer of {} bytes for {} bytes of data", dst.len(), self.nbytes())));
        }
        engine().wait_for_var(&self.chunk.var)?;
        if let Storage::Cuda(d) = &self.chunk.storage {
            return Ok(d.read(self.dense_byte_offset("asnumpy")?, dst)?);
        }
        // SAFETY: `dst` is host memory of `nbytes` (checked above), borrowed mutably for this
        // call. The wait above completed every write to the chunk; reads beside us do not
        // conflict, and a write pushed after the wait is ordered after this call returns only by
        // the caller (as in MXNet, reading an array while pushing writes to it is the caller's race).
        let mut dense = unsafe { Tensor::new(dst.as_mut_ptr(), self.shape().into(), self.dtype, Context::cpu(0)) };
        copy::read_strided(&unsafe { self.chunk_tensor() }, &self.region(), &mut dense)?;
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
        if let Storage::Cuda(_) = &self.chunk.storage {
            let offset = self.dense_byte_offset("__setitem__")?;
            let body = Box::new(move |_: &rmx_engine::RunContext| match &target.chunk.storage {
                Storage::Cuda(d) => d.write(offset, &bytes).map_err(Into::into),
                Storage::Host(_) => unreachable!("checked above"),
            });
            engine().push(body, self.ctx(), &[], &[self.var().clone()], FnProperty::Normal, 0, "_set_value".into())?;
            return Ok(());
        }
        let body = Box::new(move |_: &rmx_engine::RunContext| {
            // SAFETY: `bytes` holds the target's dense elements (checked above) and is only read;
            // this push writes the target's variable, so nothing else touches its chunk.
            let dense = unsafe { Tensor::new(bytes.as_ptr() as *mut u8, target.shape().into(), target.dtype, Context::cpu(0)) };
            copy::write_strided(&dense, &mut unsafe { target.chunk_tensor() }, &target.region())?;
            Ok(())
        });
        engine().push(body, self.ctx(), &[], &[self.var().clone()], FnProperty::Normal, 0, "_set_value".into())?;
        Ok(())
    }

    /// The byte offset of a dense array (device copies move dense ranges only, for now).
    fn dense_byte_offset(&self, op: &str) -> Result<usize> {
        if !self.is_contiguous() {
            return Err(GraphError::Device { op: op.into(), message: format!("strided views of {} arrays cannot be copied yet", self.ctx()) });
        }
        Ok(self.layout.offset * self.dtype.size())
    }

    /// Blocks until pending writes are done; returns the failure they carry, if any.
    pub fn wait_to_read(&self) -> Result<()> {
        Ok(engine().wait_for_var(&self.chunk.var)?)
    }

    /// Blocks until every operation pushed on the array so far, reads included, is done (what
    /// a writer outside the engine needs: DLPack's `for_write`); returns a pending write's
    /// failure, if any.
    pub fn wait_to_write(&self) -> Result<()> {
        self.wait_to_read()?;
        let (done, finished) = std::sync::mpsc::channel::<()>();
        let body: rmx_engine::OprFn = Box::new(move |_| {
            let _ = done.send(());
            Ok(())
        });
        engine().push(body, self.ctx(), &[], &[self.var().clone()], FnProperty::Normal, 0, "WaitToWrite".into())?;
        // Whether it ran or was dropped unrun (the engine skips work on a failed variable), the
        // channel ends: this never hangs.
        let _ = finished.recv();
        Ok(())
    }
}

/// Refuses a layout that could address a byte outside `bytes`: from its offset, the furthest
/// steps back and forward along each axis (strides may be negative: `x[::-1]`) must stay inside.
/// Wide arithmetic, so no shape or stride a caller passes can wrap the check.
fn check_inside(layout: &Layout, dtype: DType, bytes: usize) -> Result<()> {
    let bad = || GraphError::Invalid(format!("a view {:?} (strides {:?}, offset {}) of {dtype} reaches outside its buffer of {bytes} bytes", layout.shape.as_slice(), layout.strides.as_slice(), layout.offset));
    if layout.strides.len() != layout.shape.len() {
        return Err(bad());
    }
    let (mut lo, mut hi) = (layout.offset as i128, layout.offset as i128);
    if layout.shape.contains(&0) {
        hi -= 1; // no element: only the offset must be in range
    } else {
        for (&n, &st) in layout.shape.iter().zip(&layout.strides) {
            let reach = (n as i128 - 1).checked_mul(st as i128).ok_or_else(bad)?;
            if reach < 0 { lo = lo.checked_add(reach).ok_or_else(bad)? } else { hi = hi.checked_add(reach).ok_or_else(bad)? }
        }
    }
    let end = (hi + 1).checked_mul(dtype.size() as i128).ok_or_else(bad)?;
    if lo < 0 || end > bytes as i128 {
        return Err(bad());
    }
    Ok(())
}
