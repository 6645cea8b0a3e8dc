//! `rmx.engine` bindings: variables, pushes of Python callables, waits (which release the GIL)
//! and engine selection.

use pyo3::prelude::*;

use rmx_engine::{engine, set_engine_kind, Context, DeviceKind, EngineKind, FnProperty, Var};

use crate::errors::{engine_error, guard, invalid_argument};

/// An engine variable: a tag for one mutable resource.
#[pyclass(name = "Var", module = "rmx.engine", frozen)]
pub struct PyVar(pub Var);

#[pymethods]
impl PyVar {
    /// A number unique to the variable in this process.
    #[getter]
    fn id(&self) -> u64 {
        self.0.id()
    }

    /// How many writes have completed on it.
    #[getter]
    fn version(&self) -> u64 {
        self.0.version()
    }

    fn __repr__(&self) -> String {
        format!("<Var {} version={}>", self.0.id(), self.0.version())
    }
}

#[pyfunction]
fn new_var() -> PyVar {
    PyVar(engine().new_var())
}

fn context(py: Python<'_>, dev_type: i32, dev_id: u32) -> PyResult<Context> {
    let kind = DeviceKind::from_code(dev_type)
        .ok_or_else(|| invalid_argument(py, format!("engine.push: unknown device type code {dev_type}")))?;
    Ok(Context { kind, ordinal: dev_id })
}

/// Pushes `func()` (a Python callable taking no arguments) with its read and write sets. An
/// exception it raises is stored on `writes` and re-raised at the wait that reports it.
#[pyfunction]
#[pyo3(signature = (func, reads, writes, prop="normal", priority=0, name="python_fn".to_string(), dev_type=1, dev_id=0))]
#[allow(clippy::too_many_arguments)]
fn push(
    py: Python<'_>,
    func: Py<PyAny>,
    reads: Vec<PyRef<'_, PyVar>>,
    writes: Vec<PyRef<'_, PyVar>>,
    prop: &str,
    priority: i32,
    name: String,
    dev_type: i32,
    dev_id: u32,
) -> PyResult<()> {
    guard(py, "engine.push", || {
        let prop = FnProperty::parse(prop).ok_or_else(|| {
            invalid_argument(py, format!("engine.push: unknown prop {prop:?}; expected normal, copy_from_gpu, copy_to_gpu, cpu_prioritized, async, gpu_prioritized"))
        })?;
        let ctx = context(py, dev_type, dev_id)?;
        let reads: Vec<Var> = reads.iter().map(|v| v.0.clone()).collect();
        let writes: Vec<Var> = writes.iter().map(|v| v.0.clone()).collect();
        let body = Box::new(move |_: &rmx_engine::RunContext| {
            Python::attach(|py| {
                let result = func.call0(py).map(drop);
                drop(func);
                result.map_err(|e| Box::new(e) as rmx_engine::BoxError)
            })
        });
        engine().push(body, ctx, &reads, &writes, prop, priority, name.into()).map_err(|e| engine_error(py, e))
    })
}

/// Blocks (without the GIL) until the variable's pending writes are done; raises its failure.
#[pyfunction]
fn wait_for_var(py: Python<'_>, var: PyRef<'_, PyVar>) -> PyResult<()> {
    guard(py, "wait_for_var", || {
        let var = var.0.clone();
        py.detach(|| engine().wait_for_var(&var)).map_err(|e| engine_error(py, e))
    })
}

/// Blocks (without the GIL) until all pushed work is done; raises the oldest unreported failure.
#[pyfunction]
fn waitall(py: Python<'_>) -> PyResult<()> {
    guard(py, "waitall", || {
        py.detach(|| engine().wait_all()).map_err(|e| engine_error(py, e))
    })
}

#[pyfunction]
fn delete_var(py: Python<'_>, var: PyRef<'_, PyVar>) -> PyResult<()> {
    guard(py, "delete_var", || {
        engine().delete_var(var.0.clone());
        Ok(())
    })
}

/// The running engine's name (`ThreadedEnginePerDevice` or `NaiveEngine`).
#[pyfunction]
fn engine_type() -> &'static str {
    engine().kind().name()
}

/// Switches engines after the current one has finished its work.
#[pyfunction]
fn set_engine_type(py: Python<'_>, name: &str) -> PyResult<()> {
    guard(py, "set_engine_type", || {
        let kind = EngineKind::parse(name).ok_or_else(|| {
            invalid_argument(py, format!("set_engine_type: unknown engine {name:?}; expected ThreadedEnginePerDevice or NaiveEngine"))
        })?;
        py.detach(|| set_engine_kind(kind)).map_err(|e| engine_error(py, e))
    })
}

/// GPUs the CUDA driver reports; 0 without a driver.
#[pyfunction]
fn num_gpus() -> usize {
    rmx_kernels::cuda::device_count()
}

/// `(free, total)` bytes of GPU `dev_id`.
#[pyfunction]
fn gpu_memory_info(py: Python<'_>, dev_id: u32) -> PyResult<(usize, usize)> {
    guard(py, "gpu_memory_info", || {
        rmx_kernels::cuda::memory_info(rmx_engine::Context::gpu(dev_id)).map_err(|e| crate::errors::graph_error(py, e.into()))
    })
}

/// Gives GPU `dev_id`'s kept buffers back to the driver (`Context.empty_cache()`).
#[pyfunction]
fn gpu_empty_cache(py: Python<'_>, dev_id: u32) -> PyResult<()> {
    guard(py, "empty_cache", || {
        py.detach(|| rmx_kernels::cuda::empty_cache(rmx_engine::Context::gpu(dev_id))).map_err(|e| crate::errors::graph_error(py, e.into()))
    })
}

/// GPU `dev_id`'s memory pool: bytes in use and kept, and counts of device allocations,
/// reuses and emptyings.
#[pyfunction]
fn gpu_pool_stats(py: Python<'_>, dev_id: u32) -> PyResult<std::collections::HashMap<&'static str, u64>> {
    guard(py, "gpu_memory_pool_stats", || {
        let s = rmx_kernels::cuda::pool_stats(rmx_engine::Context::gpu(dev_id)).map_err(|e| crate::errors::graph_error(py, e.into()))?;
        Ok([
            ("in_use", s.in_use as u64),
            ("pooled", s.pooled as u64),
            ("device_allocations", s.device_allocations),
            ("reuses", s.reuses),
            ("releases", s.releases),
        ]
        .into_iter()
        .collect())
    })
}

/// Starts or stops the engine's profiler (`mx.profiler.set_state`).
#[pyfunction]
fn profiler_set_running(on: bool) {
    rmx_engine::profiler::set_running(on);
}

/// The operations recorded so far as `(name, device, thread, start_us, dur_us)`; `clear`
/// empties the record.
#[pyfunction]
#[pyo3(signature = (clear=false))]
fn profiler_events(clear: bool) -> Vec<(String, String, u64, f64, f64)> {
    rmx_engine::profiler::events(clear).into_iter().map(|e| (e.name, e.ctx.to_string(), e.thread, e.start_us, e.dur_us)).collect()
}

/// Microseconds on the profiler's clock, and the calling thread's number in its events.
#[pyfunction]
fn profiler_now() -> (f64, u64) {
    (rmx_engine::profiler::now_us(), rmx_engine::profiler::thread_number())
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(profiler_set_running, m)?)?;
    m.add_function(wrap_pyfunction!(profiler_events, m)?)?;
    m.add_function(wrap_pyfunction!(profiler_now, m)?)?;
    m.add_function(wrap_pyfunction!(num_gpus, m)?)?;
    m.add_function(wrap_pyfunction!(gpu_memory_info, m)?)?;
    m.add_function(wrap_pyfunction!(gpu_empty_cache, m)?)?;
    m.add_function(wrap_pyfunction!(gpu_pool_stats, m)?)?;
    m.add_class::<PyVar>()?;
    m.add_function(wrap_pyfunction!(new_var, m)?)?;
    m.add_function(wrap_pyfunction!(push, m)?)?;
    m.add_function(wrap_pyfunction!(wait_for_var, m)?)?;
    m.add_function(wrap_pyfunction!(waitall, m)?)?;
    m.add_function(wrap_pyfunction!(delete_var, m)?)?;
    m.add_function(wrap_pyfunction!(engine_type, m)?)?;
    m.add_function(wrap_pyfunction!(set_engine_type, m)?)?;
    Ok(())
}
