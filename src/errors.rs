//! The one place Rust errors cross into Python. Each Rust error family maps to one class of the
//! `rmx.base` hierarchy (all under `rmx.base.MXNetError`), chosen by variant, never by message.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;

use rmx_engine::EngineError;

/// Builds an exception of class `rmx.base.<class>`; falls back to `RuntimeError` only if the
/// Python package itself is broken.
fn raise(py: Python<'_>, class: &str, message: String) -> PyErr {
    let cls = py
        .import("rmx.base")
        .and_then(|m| m.getattr(class))
        .and_then(|c| c.cast_into::<PyType>().map_err(PyErr::from));
    match cls {
        Ok(cls) => PyErr::from_type(cls, message),
        Err(_) => PyRuntimeError::new_err(message),
    }
}

/// An engine failure as Python sees it at a wait: the original exception when a Python function
/// raised it, otherwise an `rmx.base.EngineError` naming the operator.
pub fn engine_error(py: Python<'_>, error: EngineError) -> PyErr {
    if let Some(err) = error.cause().and_then(|c| c.downcast_ref::<PyErr>()) {
        return err.clone_ref(py);
    }
    match &error {
        EngineError::VarDeleted { .. } => raise(py, "EngineError", error.to_string()),
        EngineError::OpPanicked { .. } | EngineError::OpFailed { .. } => raise(py, "EngineError", error.to_string()),
    }
}

/// A bad argument from Python: `rmx.base.MXNetError` subclass `ValueError`-like.
pub fn invalid_argument(py: Python<'_>, message: String) -> PyErr {
    raise(py, "InvalidArgumentError", message)
}
