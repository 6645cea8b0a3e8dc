//! `rmx._rmx.DistKVStoreHandle`, `run_server` and `run_scheduler`: the distributed store's three
//! roles (crate `rmx-kvstore`, module `dist`). Every blocking call (joining the job, barriers,
//! commands, serving) releases the GIL; a server's optimizer is a Python updater built by the
//! hook `rmx.kvstore_server` passes, from the typed description a worker sent.

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use rmx_engine::BoxError;
use rmx_kvstore::dist::{run_scheduler as scheduler, run_server as server, DistConfig, DistKVStore, ServerHooks};
use rmx_kvstore::{KVStoreError, Key, Updater};

use crate::errors::{guard, kvstore_error};
use crate::kvstore::{pairs, Pairs, PyUpdater};

#[pyclass(name = "DistKVStoreHandle", module = "rmx._rmx")]
pub struct PyDistKVStore(DistKVStore);

#[pymethods]
impl PyDistKVStore {
    /// Joins the job the environment (`DMLC_*`) describes as a worker: blocks until every
    /// server and worker registered with the scheduler.
    #[new]
    fn new(py: Python<'_>, name: &str) -> PyResult<Self> {
        guard(py, "kvstore.create", || py.detach(|| DistKVStore::new(name)).map(PyDistKVStore).map_err(|e| kvstore_error(py, e)))
    }

    #[getter]
    fn rank(&self) -> usize {
        self.0.rank()
    }

    #[getter]
    fn num_workers(&self) -> usize {
        self.0.num_workers()
    }

    #[getter]
    fn num_servers(&self) -> usize {
        self.0.num_servers()
    }

    fn init(&mut self, py: Python<'_>, pairs: Pairs<'_>) -> PyResult<()> {
        guard(py, "kvstore.init", || {
            let pairs = self::pairs(&pairs)?;
            py.detach(|| self.0.init(&pairs)).map_err(|e| kvstore_error(py, e))
        })
    }

    #[pyo3(signature = (pairs, priority=0))]
    fn push(&mut self, py: Python<'_>, pairs: Pairs<'_>, priority: i32) -> PyResult<()> {
        guard(py, "kvstore.push", || {
            let pairs = self::pairs(&pairs)?;
            self.0.push(&pairs, priority).map_err(|e| kvstore_error(py, e))
        })
    }

    #[pyo3(signature = (pairs, priority=0))]
    fn pull(&mut self, py: Python<'_>, pairs: Pairs<'_>, priority: i32) -> PyResult<()> {
        guard(py, "kvstore.pull", || {
            let pairs = self::pairs(&pairs)?;
            self.0.pull(&pairs, priority).map_err(|e| kvstore_error(py, e))
        })
    }

    #[pyo3(signature = (values, outs, priority=0))]
    fn pushpull(&mut self, py: Python<'_>, values: Pairs<'_>, outs: Pairs<'_>, priority: i32) -> PyResult<()> {
        guard(py, "kvstore.pushpull", || {
            let (values, outs) = (pairs(&values)?, pairs(&outs)?);
            self.0.pushpull(&values, &outs, priority).map_err(|e| kvstore_error(py, e))
        })
    }

    #[pyo3(signature = (values, outs, priority=0))]
    fn broadcast(&mut self, py: Python<'_>, values: Pairs<'_>, outs: Pairs<'_>, priority: i32) -> PyResult<()> {
        guard(py, "kvstore.broadcast", || {
            let (values, outs) = (pairs(&values)?, pairs(&outs)?);
            py.detach(|| self.0.broadcast(&values, &outs, priority)).map_err(|e| kvstore_error(py, e))
        })
    }

    fn barrier(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, "kvstore.barrier", || py.detach(|| self.0.barrier()).map_err(|e| kvstore_error(py, e)))
    }

    /// Sends a typed optimizer description (JSON) to every server.
    fn set_optimizer(&mut self, py: Python<'_>, description: &str) -> PyResult<()> {
        guard(py, "kvstore.set_optimizer", || py.detach(|| self.0.set_optimizer(description)).map_err(|e| kvstore_error(py, e)))
    }

    fn set_gradient_compression(&mut self, py: Python<'_>, threshold: f32) -> PyResult<()> {
        guard(py, "kvstore.set_gradient_compression", || py.detach(|| self.0.set_gradient_compression(threshold)).map_err(|e| kvstore_error(py, e)))
    }

    /// Every key as the servers hold it: `(key, wire id, shape, dtype, [(server, start, end)])`.
    fn layout(&self, py: Python<'_>) -> PyResult<Vec<(Py<PyAny>, i64, Vec<usize>, &'static str, Vec<(usize, usize, usize)>)>> {
        self.0
            .layout()
            .into_iter()
            .map(|(key, id, shape, dtype, parts)| {
                let key = match key {
                    Key::Int(i) => i.into_pyobject(py)?.into_any().unbind(),
                    Key::Str(s) => s.into_pyobject(py)?.into_any().unbind(),
                };
                Ok((key, id, shape, dtype.name(), parts.iter().map(|p| (p.server, p.start, p.end)).collect()))
            })
            .collect()
    }

    /// Each server's optimizer states, as its updater's `states_to_bytes()` wrote them.
    fn optimizer_states<'py>(&self, py: Python<'py>) -> PyResult<Vec<Bound<'py, PyBytes>>> {
        guard(py, "kvstore.save_optimizer_states", || {
            let bodies = py.detach(|| self.0.optimizer_states()).map_err(|e| kvstore_error(py, e))?;
            Ok(bodies.iter().map(|b| PyBytes::new(py, b)).collect())
        })
    }

    /// Sends each server its states (one `bytes` per server, in server order).
    fn set_optimizer_states(&self, py: Python<'_>, bodies: Vec<Vec<u8>>) -> PyResult<()> {
        guard(py, "kvstore.load_optimizer_states", || py.detach(|| self.0.set_optimizer_states(&bodies)).map_err(|e| kvstore_error(py, e)))
    }

    /// Ends this worker's part and waits for the job's end.
    fn finish(&self, py: Python<'_>) -> PyResult<()> {
        guard(py, "kvstore.finish", || py.detach(|| self.0.finish()).map_err(|e| kvstore_error(py, e)))
    }
}

/// A server's hook: `hook(description) -> updater(key, grad_handle, weight_handle)`.
struct PyHooks(Py<PyAny>);

impl ServerHooks for PyHooks {
    fn optimizer(&self, description: &str) -> Result<Box<dyn Updater>, BoxError> {
        Python::attach(|py| {
            let updater = self.0.call1(py, (description,))?;
            Ok(Box::new(PyUpdater(updater)) as Box<dyn Updater>)
        })
        .map_err(|e: PyErr| Box::new(e) as BoxError)
    }
}

fn config(py: Python<'_>) -> PyResult<DistConfig> {
    DistConfig::from_env().map_err(|e| kvstore_error(py, e))
}

/// Runs this process as a server of the job until it ends (`DMLC_ROLE=server`).
#[pyfunction]
fn run_server(py: Python<'_>, optimizer_hook: Py<PyAny>) -> PyResult<()> {
    guard(py, "kvstore.run_server", || {
        let cfg = config(py)?;
        py.detach(|| server(&cfg, Box::new(PyHooks(optimizer_hook)))).map_err(|e| kvstore_error(py, e))
    })
}

/// Runs this process as the job's scheduler until it ends (`DMLC_ROLE=scheduler`).
#[pyfunction]
fn run_scheduler(py: Python<'_>) -> PyResult<()> {
    guard(py, "kvstore.run_scheduler", || {
        let cfg = config(py)?;
        py.detach(|| scheduler(&cfg)).map_err(|e: KVStoreError| kvstore_error(py, e))
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyDistKVStore>()?;
    m.add_function(wrap_pyfunction!(run_server, m)?)?;
    m.add_function(wrap_pyfunction!(run_scheduler, m)?)
}
