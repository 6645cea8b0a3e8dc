//! The `Custom` operator's backend: property objects and computations in Python. Python's
//! `rmx.operator` keeps the registered `CustomOpProp` classes; `rmx.operator._prop(op_type,
//! params)` gives a handle whose methods answer [`CustomProp`]'s questions and run the
//! user's `CustomOp` on copies of the arrays. Computations run on a thread of their own (the
//! engine operation waits for its completion, not a worker), or inline under the naive engine,
//! which runs every push on the pushing thread.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use rmx_engine::{engine, BoxError, EngineKind};
use rmx_graph::ops::custom::{self, CustomBackend, CustomProp};
use rmx_graph::{HostArray, HostCallback, HostDone, TensorDesc};
use rmx_kernels::{DType, Shape};

struct PyBackend;

impl CustomBackend for PyBackend {
    fn prop(&self, op_type: &str, params: &[(String, String)]) -> Result<Arc<dyn CustomProp>, String> {
        Python::attach(|py| {
            let module = py.import("rmx.operator").map_err(|e| e.to_string())?;
            let handle = module.call_method1("_prop", (op_type, params.to_vec())).map_err(|e| e.to_string())?;
            Ok(Arc::new(PyProp(Arc::new(handle.unbind()))) as Arc<dyn CustomProp>)
        })
    }
}

struct PyProp(Arc<Py<PyAny>>);

impl PyProp {
    fn names(&self, method: &str) -> Result<Vec<String>, String> {
        Python::attach(|py| self.0.call_method0(py, method).and_then(|r| r.extract(py)).map_err(|e| describe(py, &e)))
    }
}

fn dtype(name: &str) -> Result<DType, String> {
    DType::from_name(name).ok_or_else(|| format!("unsupported dtype {name}"))
}

impl CustomProp for PyProp {
    fn list_arguments(&self) -> Result<Vec<String>, String> {
        self.names("list_arguments")
    }

    fn list_outputs(&self) -> Result<Vec<String>, String> {
        self.names("list_outputs")
    }

    fn list_auxiliary_states(&self) -> Result<Vec<String>, String> {
        self.names("list_auxiliary_states")
    }

    fn infer_shape(&self, inputs: &[Shape]) -> Result<(Vec<Shape>, Vec<Shape>), String> {
        let dims: Vec<Vec<usize>> = inputs.iter().map(|s| s.to_vec()).collect();
        let (ins, outs): (Vec<Vec<usize>>, Vec<Vec<usize>>) = Python::attach(|py| self.0.call_method1(py, "infer_shape", (dims,)).and_then(|r| r.extract(py))).map_err(|e| e.to_string())?;
        let shape = |v: Vec<Vec<usize>>| v.into_iter().map(|d| Shape::from_slice(&d)).collect();
        Ok((shape(ins), shape(outs)))
    }

    fn infer_type(&self, inputs: &[DType]) -> Result<(Vec<DType>, Vec<DType>), String> {
        let names: Vec<&str> = inputs.iter().map(|d| d.name()).collect();
        let (ins, outs): (Vec<String>, Vec<String>) = Python::attach(|py| self.0.call_method1(py, "infer_type", (names,)).and_then(|r| r.extract(py))).map_err(|e| e.to_string())?;
        let parse = |v: Vec<String>| v.iter().map(|n| dtype(n)).collect::<Result<Vec<_>, _>>();
        Ok((parse(ins)?, parse(outs)?))
    }

    fn callback(&self, backward: bool) -> Arc<dyn HostCallback> {
        Arc::new(PyRun { handle: self.0.clone(), backward })
    }
}

struct PyRun {
    handle: Arc<Py<PyAny>>,
    backward: bool,
}

impl HostCallback for PyRun {
    fn call(&self, is_train: bool, inputs: Vec<HostArray>, outputs: Vec<TensorDesc>, done: HostDone) {
        let (handle, backward) = (self.handle.clone(), self.backward);
        let job = move || done(run(&handle, backward, is_train, inputs, outputs));
        if engine().kind() == EngineKind::Naive {
            job();
        } else {
            std::thread::spawn(job);
        }
    }
}

/// Calls the handle's `run` with `(shape, dtype, bytes)` triples and converts its answer back.
fn run(handle: &Py<PyAny>, backward: bool, is_train: bool, inputs: Vec<HostArray>, outputs: Vec<TensorDesc>) -> Result<Vec<HostArray>, BoxError> {
    Python::attach(|py| {
        let arrays: Vec<(Vec<usize>, &str, Bound<'_, PyBytes>)> = inputs.iter().map(|h| (h.shape.to_vec(), h.dtype.name(), PyBytes::new(py, &h.bytes))).collect();
        let descs: Vec<(Vec<usize>, &str)> = outputs.iter().map(|d| (d.shape.to_vec(), d.dtype.name())).collect();
        // `bytes` objects, read as one buffer each (not one Python int per byte).
        let result = handle.call_method1(py, "run", (backward, is_train, arrays, descs)).and_then(|r| r.into_bound(py).extract::<Vec<(Vec<usize>, String, Bound<'_, PyBytes>)>>());
        let triples = result.map_err(|e| -> BoxError { format!("custom operator: {}", describe(py, &e)).into() })?;
        triples.into_iter().map(|(shape, name, bytes)| Ok(HostArray { shape: Shape::from_slice(&shape), dtype: dtype(&name)?, bytes: bytes.as_bytes().to_vec() })).collect::<Result<_, String>>().map_err(BoxError::from)
    })
}

/// The Python exception with its traceback, as the user will want to read it.
fn describe(py: Python<'_>, e: &PyErr) -> String {
    let tb = e.traceback(py).and_then(|t| t.format().ok()).unwrap_or_default();
    format!("{tb}{e}")
}

pub fn register(_m: &Bound<'_, PyModule>) -> PyResult<()> {
    custom::set_backend(Box::new(PyBackend));
    Ok(())
}
