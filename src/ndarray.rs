//! `rmx._rmx.NDArrayHandle` and the imperative entry points: one generic `invoke` for every
//! registered operator (the Python functions are generated from `op_list`), array creation from
//! and reading into Python buffers, and views.

use std::sync::Mutex;

use pyo3::buffer::PyBuffer;
use pyo3::prelude::*;

use rmx_engine::{Context, DeviceKind};
use rmx_graph::autograd::{invoke_tracked, Entry, Tracked};
use rmx_graph::{all_ops, Arity, Attrs, NDArray};
use rmx_kernels::{DType, Layout};

use crate::errors::{graph_error, guard, invalid_argument};

/// The Rust side of `rmx.nd.NDArray`: the array, and where autograd recorded it from (set by a
/// recorded call or `mark_variable`; an `out=` array takes the entry of the call that wrote it).
#[pyclass(name = "NDArrayHandle", module = "rmx._rmx", frozen)]
pub struct PyNDArray(pub NDArray, pub Mutex<Option<Entry>>);

impl From<NDArray> for PyNDArray {
    fn from(a: NDArray) -> Self {
        PyNDArray(a, Mutex::new(None))
    }
}

impl PyNDArray {
    pub fn tracked(a: Tracked) -> Self {
        PyNDArray(a.0, Mutex::new(a.1))
    }

    pub fn entry(&self) -> Option<Entry> {
        self.1.lock().unwrap().clone()
    }

    pub fn set_entry(&self, e: Option<Entry>) {
        *self.1.lock().unwrap() = e;
    }
}

pub fn context(py: Python<'_>, dev_type: i32, dev_id: u32) -> PyResult<Context> {
    let kind = DeviceKind::from_code(dev_type).ok_or_else(|| invalid_argument(py, format!("unknown device type code {dev_type}")))?;
    Ok(Context { kind, ordinal: dev_id })
}

fn dtype(py: Python<'_>, name: &str) -> PyResult<DType> {
    DType::from_name(name).ok_or_else(|| {
        crate::errors::raise(py, "DTypeError", format!("unsupported dtype {name:?}; rmx supports float32, float64, float16, uint8, int8, int32, int64, bool"))
    })
}

/// A contiguous `uint8` buffer over the caller's NumPy array.
fn byte_buffer(py: Python<'_>, obj: &Bound<'_, PyAny>, writable: bool) -> PyResult<PyBuffer<u8>> {
    let buf = PyBuffer::<u8>::get(obj).map_err(|e| invalid_argument(py, format!("expected a C-contiguous uint8 view of the data: {e}")))?;
    if !buf.is_c_contiguous() || (writable && buf.readonly()) {
        return Err(invalid_argument(py, "expected a C-contiguous uint8 view of the data".into()));
    }
    Ok(buf)
}

#[pymethods]
impl PyNDArray {
    #[getter]
    fn shape(&self) -> Vec<usize> {
        self.0.shape().to_vec()
    }

    #[getter]
    fn dtype(&self) -> &'static str {
        self.0.dtype().name()
    }

    /// `(device type code, device id)`.
    #[getter]
    fn ctx(&self) -> (i32, u32) {
        let c = self.0.ctx();
        (c.kind.code(), c.ordinal)
    }

    #[getter]
    fn strides(&self) -> Vec<isize> {
        self.0.layout().strides.to_vec()
    }

    #[getter]
    fn offset(&self) -> usize {
        self.0.layout().offset
    }

    #[getter]
    fn is_contiguous(&self) -> bool {
        self.0.is_contiguous()
    }

    /// Whether two handles share storage (one is a view of the other's chunk).
    fn same_chunk(&self, other: PyRef<'_, PyNDArray>) -> bool {
        self.0.same_chunk(&other.0)
    }

    /// Waits (without the GIL) and copies the data into `buf`, a writable uint8 buffer.
    fn read_into(&self, py: Python<'_>, buf: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, "asnumpy", || {
            let buf = byte_buffer(py, buf, true)?;
            let len = buf.item_count();
            let ptr = buf.buf_ptr() as *mut u8;
            let array = self.0.clone();
            // SAFETY: the buffer stays alive (held by `buf`) and unaliased by Rust while we write it.
            let dst = unsafe { std::slice::from_raw_parts_mut(ptr, len) };
            py.detach(|| array.read_into(dst)).map_err(|e| graph_error(py, e))
        })
    }

    /// Pushes a write of `buf` (row-major bytes of this dtype) into this array or view.
    fn write_from(&self, py: Python<'_>, buf: &Bound<'_, PyAny>) -> PyResult<()> {
        guard(py, "__setitem__", || {
            let bytes = byte_buffer(py, buf, false)?.to_vec(py)?;
            self.0.write_bytes(bytes).map_err(|e| graph_error(py, e))
        })
    }

    fn wait_to_read(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, "wait_to_read", || {
            let array = self.0.clone();
            py.detach(|| array.wait_to_read()).map_err(|e| graph_error(py, e))
        })
    }

    /// A view with the given geometry (elements, relative to the chunk start); refused when
    /// it would reach outside the chunk.
    fn view(&self, py: Python<'_>, shape: Vec<usize>, strides: Vec<isize>, offset: usize) -> PyResult<PyNDArray> {
        guard(py, "view", || {
            let layout = Layout { shape: shape.as_slice().into(), strides: strides.as_slice().into(), offset };
            self.0.with_layout(layout).map(PyNDArray::from).map_err(|e| graph_error(py, e))
        })
    }

    /// A view in another shape, or None if this array is not dense.
    fn reshape_view(&self, py: Python<'_>, shape: Vec<usize>) -> PyResult<Option<PyNDArray>> {
        guard(py, "reshape", || Ok({
            self.0.reshape_view(&shape).map(PyNDArray::from)
        }))
    }
}

/// A new array holding `buf`'s bytes.
#[pyfunction]
fn nd_from_buffer(py: Python<'_>, buf: &Bound<'_, PyAny>, shape: Vec<usize>, dtype_name: &str, dev_type: i32, dev_id: u32) -> PyResult<PyNDArray> {
    guard(py, "array", || {
        let d = dtype(py, dtype_name)?;
        let ctx = context(py, dev_type, dev_id)?;
        let buf = byte_buffer(py, buf, false)?;
        // SAFETY: the buffer is alive and contiguous for `item_count` bytes while `buf` is held.
        let bytes = unsafe { std::slice::from_raw_parts(buf.buf_ptr() as *const u8, buf.item_count()) };
        NDArray::from_bytes(&shape, d, ctx, bytes).map(PyNDArray::from).map_err(|e| graph_error(py, e))
    })
}

/// A new zero-filled array (MXNet's `empty` is zero-filled here: fresh pages cost nothing more).
#[pyfunction]
fn nd_zeros(py: Python<'_>, shape: Vec<usize>, dtype_name: &str, dev_type: i32, dev_id: u32) -> PyResult<PyNDArray> {
    guard(py, "zeros", || {
        let d = dtype(py, dtype_name)?;
        let ctx = context(py, dev_type, dev_id)?;
        NDArray::zeros(&shape, d, ctx).map(PyNDArray::from).map_err(|e| graph_error(py, e))
    })
}

/// Runs a registered operator: the one generic entry point behind every `mx.nd.*` function.
#[pyfunction]
#[pyo3(signature = (name, inputs, attrs, out=None, dev_type=1, dev_id=0, visible_only=false))]
#[allow(clippy::too_many_arguments)]
fn invoke(
    py: Python<'_>,
    name: &str,
    inputs: Vec<PyRef<'_, PyNDArray>>,
    attrs: Vec<(String, String)>,
    out: Option<Vec<PyRef<'_, PyNDArray>>>,
    dev_type: i32,
    dev_id: u32,
    visible_only: bool,
) -> PyResult<Vec<PyNDArray>> {
    let ctx = context(py, dev_type, dev_id)?;
    check_inplace(py, &inputs, out.as_deref())?;
    let tracked: Vec<Tracked> = inputs.iter().map(|h| (h.0.clone(), h.entry())).collect();
    let out_arrays = out.as_ref().map(|v| v.iter().map(|h| h.0.clone()).collect());
    let attrs = Attrs::from_pairs(attrs);
    let mut outs = guard(py, name, || invoke_tracked(name, &tracked, &attrs, out_arrays, ctx).map_err(|e| graph_error(py, e)))?;
    take_entries(out.as_deref(), &outs);
    if visible_only && outs.len() > 1 {
        // Hidden outputs (Dropout's mask, BatchNorm's batch statistics) stay on the tape only.
        let visible = guard(py, name, || Ok(rmx_graph::lookup(name).and_then(|d| d.instantiate(&attrs)).map_or(outs.len(), |op| op.num_visible_outputs())))?;
        outs.truncate(visible);
    }
    Ok(outs.into_iter().map(PyNDArray::tracked).collect())
}

/// While recording, an operation may not overwrite an array the tape refers to, nor write over
/// one of its inputs when an input is recorded (MXNet refuses both: the tape keeps arrays, not
/// copies, so the gradient would read the overwritten values).
fn check_inplace(py: Python<'_>, inputs: &[PyRef<'_, PyNDArray>], out: Option<&[PyRef<'_, PyNDArray>]>) -> PyResult<()> {
    let Some(out) = out else { return Ok(()) };
    if !rmx_graph::autograd::is_recording() {
        return Ok(());
    }
    let any_tracked = inputs.iter().any(|h| h.entry().is_some());
    for o in out {
        if o.entry().is_some() || (any_tracked && inputs.iter().any(|i| i.0.same_chunk(&o.0))) {
            return Err(crate::errors::raise(py, "MXNetError", "Inplace operations (+=, -=, x[:]=, etc) are not supported when recording with autograd.".into()));
        }
    }
    Ok(())
}

/// `out=` arrays now hold what a recorded call wrote, and so its entries; a call not recorded
/// leaves them as they were (a variable written in place outside `record()` stays a variable).
fn take_entries(out: Option<&[PyRef<'_, PyNDArray>]>, outs: &[Tracked]) {
    for (h, (_, e)) in out.unwrap_or_default().iter().zip(outs) {
        if e.is_some() {
            h.set_entry(e.clone());
        }
    }
}

/// `x <op> scalar` for a scalar operator (`_plus_scalar`, ...): the hot path of imperative code,
/// without the argument lists of `invoke`.
#[pyfunction]
#[pyo3(signature = (name, x, scalar, out=None))]
fn scalar_op(py: Python<'_>, name: &str, x: PyRef<'_, PyNDArray>, scalar: f64, out: Option<PyRef<'_, PyNDArray>>) -> PyResult<PyNDArray> {
    let mut attrs = Attrs::new();
    // Whole numbers (the usual `x + 1`) format through the cheap integer path.
    let text = if scalar.fract() == 0.0 && scalar.abs() < 1e15 { (scalar as i64).to_string() } else { format!("{scalar:?}") };
    attrs.set("scalar", text);
    check_inplace(py, std::slice::from_ref(&x), out.as_ref().map(std::slice::from_ref))?;
    let out_array = out.as_ref().map(|o| vec![o.0.clone()]);
    let ctx = x.0.ctx();
    let outs = guard(py, name, || invoke_tracked(name, &[(x.0.clone(), x.entry())], &attrs, out_array, ctx).map_err(|e| graph_error(py, e)))?;
    take_entries(out.as_ref().map(std::slice::from_ref), &outs);
    Ok(PyNDArray::tracked(outs.into_iter().next().expect("one output")))
}

/// `(name, aliases, doc, inputs, variadic, params)` for every operator, params as
/// `(name, type, default, doc)`: what `rmx.ndarray.register` generates functions from.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn op_list() -> Vec<(&'static str, Vec<&'static str>, &'static str, Vec<&'static str>, bool, Vec<(&'static str, &'static str, &'static str, &'static str)>)> {
    all_ops()
        .map(|d| {
            let (inputs, variadic) = match d.inputs {
                Arity::Fixed(names) => (names.to_vec(), false),
                Arity::Variadic(name) => (vec![name], true),
            };
            let params = d.params.iter().map(|p| (p.name, p.ty, p.default, p.doc)).collect();
            (d.name, d.aliases.to_vec(), d.doc, inputs, variadic, params)
        })
        .collect()
}

/// MXNet's NDArray file bytes for `arrays` (`names` empty for a list save). Waits for each
/// array without the GIL.
#[pyfunction]
fn nd_save_bytes<'py>(py: Python<'py>, arrays: Vec<PyRef<'py, PyNDArray>>, names: Vec<String>) -> PyResult<Bound<'py, pyo3::types::PyBytes>> {
    guard(py, "save", || {
        let arrays: Vec<NDArray> = arrays.iter().map(|h| h.0.clone()).collect();
        let bytes = py.detach(|| rmx_graph::ndarray_file::save_to_bytes(&arrays, &names)).map_err(|e| graph_error(py, e))?;
        Ok(pyo3::types::PyBytes::new(py, &bytes))
    })
}

/// Arrays and names (empty for a list) from MXNet's NDArray file bytes.
#[pyfunction]
fn nd_load_bytes(py: Python<'_>, data: &[u8]) -> PyResult<(Vec<PyNDArray>, Vec<String>)> {
    guard(py, "load", || {
        let (arrays, names) = rmx_graph::ndarray_file::load_from_bytes(data).map_err(|e| graph_error(py, e))?;
        Ok((arrays.into_iter().map(PyNDArray::from).collect(), names))
    })
}

/// The shape `NDArray.reshape` gives: MXNet's special values resolved.
#[pyfunction]
#[pyo3(signature = (shape, spec, reverse=false))]
fn infer_reshape(py: Python<'_>, shape: Vec<usize>, spec: Vec<i64>, reverse: bool) -> PyResult<Vec<usize>> {
    guard(py, "reshape", || {
        rmx_graph::ops::reshape::reshape_target("reshape", &shape, &spec, reverse).map(|s| s.to_vec()).map_err(|e| graph_error(py, e))
    })
}

/// Reseeds the random stream after every random operation pushed so far.
#[pyfunction]
fn random_seed(py: Python<'_>, seed: u64) -> PyResult<()> {
    guard(py, "seed", || {
        rmx_graph::rng::seed(seed);
        Ok(())
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyNDArray>()?;
    m.add_function(wrap_pyfunction!(nd_from_buffer, m)?)?;
    m.add_function(wrap_pyfunction!(nd_zeros, m)?)?;
    m.add_function(wrap_pyfunction!(invoke, m)?)?;
    m.add_function(wrap_pyfunction!(scalar_op, m)?)?;
    m.add_function(wrap_pyfunction!(op_list, m)?)?;
    m.add_function(wrap_pyfunction!(random_seed, m)?)?;
    m.add_function(wrap_pyfunction!(nd_save_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(nd_load_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(infer_reshape, m)?)?;
    Ok(())
}
