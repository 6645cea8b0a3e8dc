//! `rmx._rmx.KVStoreHandle`: the Rust side of `rmx.kvstore.KVStore` (`local` and `device`).
//! Calls take `(key, NDArrayHandle)` pairs already flattened by the Python wrapper; the updater
//! is a Python callable `(key, grad, stored)` given handles, and keys as ints or bytes.

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyString};

use rmx_engine::BoxError;
use rmx_graph::NDArray;
use rmx_kvstore::{KVStore, Key, StoreKind, Updater};

use crate::errors::{guard, kvstore_error};
use crate::ndarray::PyNDArray;

pub(crate) type Pairs<'py> = Vec<(Bound<'py, PyAny>, PyRef<'py, PyNDArray>)>;

#[pyclass(name = "KVStoreHandle", module = "rmx._rmx")]
pub struct PyKVStore(KVStore);

fn key(obj: &Bound<'_, PyAny>) -> PyResult<Key> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Key::Str(s.to_str()?.to_string()));
    }
    Ok(Key::Int(obj.extract::<i64>()?))
}

pub(crate) fn pairs(pairs: &Pairs<'_>) -> PyResult<Vec<(Key, NDArray)>> {
    pairs.iter().map(|(k, v)| Ok((key(k)?, v.0.clone()))).collect()
}

/// A Python updater: called with the key (an int, or bytes for a str key, as MXNet's C callback
/// gives it) and two `NDArrayHandle`s; its exception travels back as the error's cause.
pub(crate) struct PyUpdater(pub(crate) Py<PyAny>);

impl Updater for PyUpdater {
    fn update(&mut self, key: &Key, merged: &NDArray, stored: &NDArray) -> Result<(), BoxError> {
        Python::attach(|py| {
            let key: Py<PyAny> = match key {
                Key::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
                Key::Str(s) => PyBytes::new(py, s.as_bytes()).into_any().unbind(),
            };
            self.0.call1(py, (key, PyNDArray::from(merged.clone()), PyNDArray::from(stored.clone())))?;
            Ok(())
        })
        .map_err(|e: PyErr| Box::new(e) as BoxError)
    }

    /// A distributed server's checkpoint: the Python updater's `states_to_bytes()`.
    fn get_states(&self) -> Result<Vec<u8>, BoxError> {
        Python::attach(|py| self.0.call_method0(py, "states_to_bytes")?.extract::<Vec<u8>>(py)).map_err(|e: PyErr| Box::new(e) as BoxError)
    }

    fn set_states(&mut self, bytes: &[u8]) -> Result<(), BoxError> {
        Python::attach(|py| self.0.call_method1(py, "states_from_bytes", (PyBytes::new(py, bytes),)).map(drop)).map_err(|e: PyErr| Box::new(e) as BoxError)
    }
}

#[pymethods]
impl PyKVStore {
    /// A store for `name` (lowercased): `local`, `device`, or an MXNet alias of either.
    #[new]
    fn new(py: Python<'_>, name: &str) -> PyResult<Self> {
        guard(py, "kvstore.create", || {
            let kind = StoreKind::from_name(name).map_err(|e| kvstore_error(py, e))?;
            Ok(PyKVStore(KVStore::new(kind)))
        })
    }

    /// Whether values are summed on a pushing device (`device`) rather than the CPU (`local`).
    #[getter]
    fn device_comm(&self) -> bool {
        self.0.kind() == StoreKind::Device
    }

    fn init(&mut self, py: Python<'_>, pairs: Pairs<'_>) -> PyResult<()> {
        guard(py, "kvstore.init", || {
            let pairs = self::pairs(&pairs)?;
            self.0.init(&pairs).map_err(|e| kvstore_error(py, e))
        })
    }

    fn push(&mut self, py: Python<'_>, pairs: Pairs<'_>) -> PyResult<()> {
        guard(py, "kvstore.push", || {
            let pairs = self::pairs(&pairs)?;
            self.0.push(&pairs).map_err(|e| kvstore_error(py, e))
        })
    }

    fn pull(&mut self, py: Python<'_>, pairs: Pairs<'_>) -> PyResult<()> {
        guard(py, "kvstore.pull", || {
            let pairs = self::pairs(&pairs)?;
            self.0.pull(&pairs).map_err(|e| kvstore_error(py, e))
        })
    }

    fn pushpull(&mut self, py: Python<'_>, values: Pairs<'_>, outs: Pairs<'_>) -> PyResult<()> {
        guard(py, "kvstore.pushpull", || {
            let (values, outs) = (pairs(&values)?, pairs(&outs)?);
            self.0.pushpull(&values, &outs).map_err(|e| kvstore_error(py, e))
        })
    }

    fn broadcast(&mut self, py: Python<'_>, values: Pairs<'_>, outs: Pairs<'_>) -> PyResult<()> {
        guard(py, "kvstore.broadcast", || {
            let (values, outs) = (pairs(&values)?, pairs(&outs)?);
            self.0.broadcast(&values, &outs).map_err(|e| kvstore_error(py, e))
        })
    }

    /// Sets the updater run on every push (None: pushes assign the sum).
    #[pyo3(signature = (updater=None))]
    fn set_updater(&mut self, py: Python<'_>, updater: Option<Py<PyAny>>) -> PyResult<()> {
        guard(py, "kvstore.set_updater", || {
            self.0.set_updater(updater.map(|u| Box::new(PyUpdater(u)) as Box<dyn Updater>));
            Ok(())
        })
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyKVStore>()
}
