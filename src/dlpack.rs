//! DLPack: rmx arrays shared with other libraries without a copy, both ways. An exported
//! capsule (`"dltensor"`, the DLPack 0.x struct every consumer reads) keeps the array's buffer
//! alive until its consumer calls the deleter; an imported one becomes an array over the
//! producer's memory, handed back (its deleter called, with the GIL) when the last rmx array
//! over it is gone. Host memory only for imports; GPU arrays export their device address.

use std::ffi::{c_void, CStr};
use std::ptr::NonNull;

use pyo3::ffi;
use pyo3::prelude::*;

use rmx_engine::{Context, DeviceKind};
use rmx_graph::NDArray;
use rmx_kernels::{checked_bytes, DType, Layout, Storage};

use crate::errors::{graph_error, guard, invalid_argument};
use crate::ndarray::PyNDArray;

const NAME: &CStr = c"dltensor";
const USED: &CStr = c"used_dltensor";

const CPU: i32 = 1;
const CUDA: i32 = 2;
const CUDA_HOST: i32 = 3;

const INT: u8 = 0;
const UINT: u8 = 1;
const FLOAT: u8 = 2;
const BOOL: u8 = 6;

#[repr(C)]
struct DLDevice {
    device_type: i32,
    device_id: i32,
}

#[repr(C)]
#[derive(Clone, Copy)]
struct DLDataType {
    code: u8,
    bits: u8,
    lanes: u16,
}

#[repr(C)]
struct DLTensor {
    data: *mut c_void,
    device: DLDevice,
    ndim: i32,
    dtype: DLDataType,
    shape: *mut i64,
    strides: *mut i64,
    byte_offset: u64,
}

#[repr(C)]
struct DLManagedTensor {
    dl_tensor: DLTensor,
    manager_ctx: *mut c_void,
    deleter: Option<unsafe extern "C" fn(*mut DLManagedTensor)>,
}

fn code_of(dtype: DType) -> DLDataType {
    let code = match dtype {
        DType::F16 | DType::F32 | DType::F64 => FLOAT,
        DType::U8 => UINT,
        DType::I8 | DType::I32 | DType::I64 => INT,
        DType::Bool => BOOL,
    };
    DLDataType { code, bits: (dtype.size() * 8) as u8, lanes: 1 }
}

fn dtype_of(t: DLDataType) -> Option<DType> {
    Some(match (t.code, t.bits, t.lanes) {
        (FLOAT, 16, 1) => DType::F16,
        (FLOAT, 32, 1) => DType::F32,
        (FLOAT, 64, 1) => DType::F64,
        (UINT, 8, 1) => DType::U8,
        (INT, 8, 1) => DType::I8,
        (INT, 32, 1) => DType::I32,
        (INT, 64, 1) => DType::I64,
        (BOOL, 8, 1) => DType::Bool,
        _ => return None,
    })
}

/// What an exported tensor keeps alive: the array (so its buffer) and the shape and strides
/// the struct points into.
struct Owner {
    _array: NDArray,
    shape: Vec<i64>,
    strides: Vec<i64>,
}

unsafe extern "C" fn delete_exported(m: *mut DLManagedTensor) {
    // SAFETY: `m` and its owner were boxed by `export` and are freed once, here.
    unsafe {
        let m = Box::from_raw(m);
        drop(Box::from_raw(m.manager_ctx as *mut Owner));
    }
}

/// A capsule that nobody consumed still owns its tensor: free it with the capsule.
unsafe extern "C" fn drop_capsule(capsule: *mut ffi::PyObject) {
    // SAFETY: called by Python with the GIL on a capsule `export` made; a consumed one was
    // renamed and is no longer valid under `NAME`. An exception may be propagating while the
    // capsule dies (a frame's locals freed on the way out): it is set aside and put back, so
    // neither the check nor the deleter loses or clobbers it.
    unsafe {
        let (mut kind, mut value, mut trace) = (std::ptr::null_mut(), std::ptr::null_mut(), std::ptr::null_mut());
        ffi::PyErr_Fetch(&mut kind, &mut value, &mut trace);
        if ffi::PyCapsule_IsValid(capsule, NAME.as_ptr()) == 1 {
            let m = ffi::PyCapsule_GetPointer(capsule, NAME.as_ptr()) as *mut DLManagedTensor;
            if let Some(delete) = m.as_ref().and_then(|m| m.deleter) {
                delete(m);
            }
        }
        ffi::PyErr_Restore(kind, value, trace);
    }
}

/// `array` as a DLPack capsule, after its pending writes (and, `for_write`, its pending reads
/// too) are done: the consumer then reads or writes the memory directly.
fn export(py: Python<'_>, array: &NDArray, for_write: bool) -> PyResult<Py<PyAny>> {
    let waited = array.clone();
    py.detach(|| if for_write { waited.wait_to_write() } else { waited.wait_to_read() }).map_err(|e| graph_error(py, e))?;
    let ctx = array.ctx();
    let device = match ctx.kind {
        DeviceKind::Gpu => DLDevice { device_type: CUDA, device_id: ctx.ordinal as i32 },
        _ => DLDevice { device_type: CPU, device_id: 0 },
    };
    let mut owner = Box::new(Owner {
        _array: array.clone(),
        shape: array.shape().iter().map(|&n| n as i64).collect(),
        strides: array.layout().strides.iter().map(|&s| s as i64).collect(),
    });
    let tensor = DLTensor {
        data: array.data_ptr() as *mut c_void,
        device,
        ndim: array.shape().len() as i32,
        dtype: code_of(array.dtype()),
        shape: owner.shape.as_mut_ptr(),
        strides: owner.strides.as_mut_ptr(),
        byte_offset: 0,
    };
    let managed = Box::into_raw(Box::new(DLManagedTensor { dl_tensor: tensor, manager_ctx: Box::into_raw(owner) as *mut c_void, deleter: Some(delete_exported) }));
    // SAFETY: a valid pointer and a static name; the destructor frees an unconsumed tensor.
    let capsule = unsafe { ffi::PyCapsule_New(managed as *mut c_void, NAME.as_ptr(), Some(drop_capsule)) };
    if capsule.is_null() {
        // SAFETY: the capsule was not made, so the tensor is still ours to free.
        unsafe { delete_exported(managed) };
        return Err(PyErr::fetch(py));
    }
    // SAFETY: a new reference just returned by Python.
    Ok(unsafe { Bound::from_owned_ptr(py, capsule) }.unbind())
}

/// The deleter of an imported tensor, as something `Send` to run when its buffer is dropped.
struct Release(*mut DLManagedTensor);

// SAFETY: the pointer is only used once, under the GIL (the producer's deleter may touch Python
// objects: NumPy's drops the array it exported).
unsafe impl Send for Release {}

impl Release {
    fn run(self) {
        // During interpreter shutdown the GIL can no longer be taken: the memory is then left to
        // the process's exit.
        let _ = Python::try_attach(|_| {
            // SAFETY: the producer's own deleter, called once for the tensor it made.
            unsafe {
                if let Some(delete) = (*self.0).deleter {
                    delete(self.0);
                }
            }
        });
    }
}

/// An array over a DLPack capsule's memory (which the capsule's producer keeps until rmx
/// releases it); the capsule is marked consumed.
fn import(py: Python<'_>, capsule: &Bound<'_, PyAny>) -> PyResult<NDArray> {
    // SAFETY: checked to be a valid capsule of this name before the pointer is read.
    let managed = unsafe {
        if ffi::PyCapsule_IsValid(capsule.as_ptr(), NAME.as_ptr()) != 1 {
            return Err(invalid_argument(py, "from_dlpack expects an unconsumed DLPack capsule named 'dltensor' (or an object with __dlpack__)".into()));
        }
        ffi::PyCapsule_GetPointer(capsule.as_ptr(), NAME.as_ptr()) as *mut DLManagedTensor
    };
    // SAFETY: a valid capsule holds a valid DLManagedTensor (the DLPack contract).
    let t = unsafe { &(*managed).dl_tensor };
    let ctx = match t.device.device_type {
        CPU | CUDA_HOST => Context::cpu(0),
        CUDA => return Err(invalid_argument(py, "from_dlpack of GPU memory is not supported yet: copy it to the host first".into())),
        other => return Err(invalid_argument(py, format!("from_dlpack: unsupported DLPack device type {other}"))),
    };
    let dtype = dtype_of(t.dtype).ok_or_else(|| invalid_argument(py, format!("from_dlpack: unsupported DLPack dtype (code {}, bits {}, lanes {})", t.dtype.code, t.dtype.bits, t.dtype.lanes)))?;
    let ndim = usize::try_from(t.ndim).map_err(|_| invalid_argument(py, "from_dlpack: negative ndim".into()))?;
    // SAFETY: `shape` (and `strides`, unless null) hold `ndim` values (the DLPack contract).
    let shape_in: &[i64] = if ndim == 0 { &[] } else { unsafe { std::slice::from_raw_parts(t.shape, ndim) } };
    let shape: Vec<usize> = shape_in.iter().map(|&n| usize::try_from(n)).collect::<Result<_, _>>().map_err(|_| invalid_argument(py, "from_dlpack: negative extent".into()))?;
    let strides: Vec<isize> = if t.strides.is_null() || ndim == 0 {
        rmx_kernels::contiguous_strides(&shape).to_vec()
    } else {
        // SAFETY: as above.
        unsafe { std::slice::from_raw_parts(t.strides, ndim) }.iter().map(|&s| s as isize).collect()
    };
    let refuse = |why: String| invalid_argument(py, format!("from_dlpack: shape {shape:?} with strides {strides:?} {why}"));
    // Every element must be addressable by a checked size, as any array's.
    checked_bytes(&shape, dtype).map_err(|_| refuse("has more elements than the address space holds".into()))?;
    // Elements that share memory (a stretched axis, as `expand` makes) would be written by
    // several threads at once: such a tensor is copied first (`from_dlpack(t.contiguous())`).
    if shape.iter().zip(&strides).any(|(&n, &s)| n > 1 && s == 0) {
        return Err(refuse("repeats elements (a stride of 0): pass a contiguous copy".into()));
    }
    // The storage starts at the lowest element any index reaches (strides may be negative).
    let too_large = || refuse("spans more memory than the address space holds".into());
    let (mut lo, mut hi) = (0i128, 0i128);
    if !shape.contains(&0) {
        for (&n, &s) in shape.iter().zip(&strides) {
            let reach = (n as i128 - 1).checked_mul(s as i128).ok_or_else(too_large)?;
            let side = if reach < 0 { &mut lo } else { &mut hi };
            *side = side.checked_add(reach).ok_or_else(too_large)?;
        }
    }
    let bytes = if shape.contains(&0) {
        0
    } else {
        let span = hi.checked_sub(lo).and_then(|d| d.checked_add(1)).ok_or_else(too_large)?;
        usize::try_from(span).ok().and_then(|n| n.checked_mul(dtype.size())).filter(|&b| b <= isize::MAX as usize).ok_or_else(too_large)?
    };
    let first = (t.data as *mut u8).wrapping_add(t.byte_offset as usize).wrapping_offset(lo as isize * dtype.size() as isize);
    // Kernels read elements as typed slices: the data must be aligned to its dtype. An empty
    // tensor may come with a null (or any) pointer: nothing is read, any aligned address does.
    let base = if bytes == 0 {
        NonNull::new(dtype.size() as *mut u8).expect("a dtype has a non-zero size")
    } else if (first as usize) % dtype.size() != 0 || first.is_null() {
        return Err(refuse(format!("starts at address {first:p}, not aligned to its {}-byte elements: pass an aligned copy", dtype.size())));
    } else {
        NonNull::new(first).expect("checked non-null")
    };
    let layout = Layout { shape: shape.as_slice().into(), strides: strides.as_slice().into(), offset: (-lo) as usize };
    // Consumed from here: the capsule no longer frees the tensor; rmx's buffer does.
    // SAFETY: a valid capsule, renamed as DLPack's consumers do.
    unsafe { ffi::PyCapsule_SetName(capsule.as_ptr(), USED.as_ptr()) };
    let release = Release(managed);
    // SAFETY: the producer keeps `bytes` bytes from `base` valid until its deleter runs.
    let storage = unsafe { Storage::external_host(base, bytes, ctx, Box::new(move || release.run())) };
    NDArray::over(storage, layout, dtype).map_err(|e| graph_error(py, e))
}

/// A DLPack capsule over `array` (`for_write`: after every pending operation).
#[pyfunction]
fn nd_to_dlpack(py: Python<'_>, array: PyRef<'_, PyNDArray>, for_write: bool) -> PyResult<Py<PyAny>> {
    guard(py, "to_dlpack", || export(py, &array.0, for_write))
}

/// An array sharing a DLPack capsule's memory.
#[pyfunction]
fn nd_from_dlpack(py: Python<'_>, capsule: &Bound<'_, PyAny>) -> PyResult<PyNDArray> {
    guard(py, "from_dlpack", || import(py, capsule).map(PyNDArray::from))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(nd_to_dlpack, m)?)?;
    m.add_function(wrap_pyfunction!(nd_from_dlpack, m)?)?;
    Ok(())
}
