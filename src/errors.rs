//! The one place Rust errors cross into Python. Each Rust error family maps to one class of the
//! `rmx.base` hierarchy (all under `rmx.base.MXNetError`), chosen by variant, never by message.

use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyType;

use rmx_engine::EngineError;
use rmx_graph::GraphError;
use rmx_kernels::KernelError;
use rmx_kvstore::KVStoreError;

/// Builds an exception of class `rmx.base.<class>`; falls back to `RuntimeError` only if the
/// Python package itself is broken.
pub fn raise(py: Python<'_>, class: &str, message: String) -> PyErr {
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
    if let Some(cause) = error.cause() {
        if let Some(err) = cause.downcast_ref::<PyErr>() {
            return err.clone_ref(py);
        }
        // A kernel's own typed failure keeps its class (an index out of range stays an IndexError).
        if let Some(err) = cause.downcast_ref::<GraphError>() {
            return graph_class(py, err, format!("{error}"));
        }
        if let Some(err) = cause.downcast_ref::<KernelError>() {
            return raise(py, kernel_class(err), format!("{error}"));
        }
        if let Some(err) = cause.downcast_ref::<KVStoreError>() {
            return raise(py, kvstore_class(err), format!("{error}"));
        }
    }
    // Every other engine failure (a Rust error, a caught panic, a deleted variable) is one class.
    raise(py, "EngineError", error.to_string())
}

/// A bad argument from Python: `rmx.base.MXNetError` subclass `ValueError`-like.
pub fn invalid_argument(py: Python<'_>, message: String) -> PyErr {
    raise(py, "InvalidArgumentError", message)
}

/// A graph error (operator call, array handling) as its `rmx.base` class.
pub fn graph_error(py: Python<'_>, error: GraphError) -> PyErr {
    match error {
        GraphError::Engine(e) => engine_error(py, e),
        other => {
            let message = other.to_string();
            graph_class(py, &other, message)
        }
    }
}

fn graph_class(py: Python<'_>, error: &GraphError, message: String) -> PyErr {
    let class = match error {
        GraphError::Shape { .. } => "ShapeError",
        GraphError::DType { .. } => "DTypeError",
        GraphError::Param { .. } => "ParameterError",
        GraphError::UnknownOp(_) => "OperatorError",
        GraphError::Device { .. } => "DeviceError",
        GraphError::Invalid(_) => "InvalidArgumentError",
        GraphError::Index(_) => "IndexError",
        GraphError::Io { .. } => "FileError",
        GraphError::Engine(_) => "EngineError",
        GraphError::Kernel(k) => kernel_class(k),
    };
    raise(py, class, message)
}

/// A store error as its `rmx.base` class: an updater's own Python exception as raised; key
/// errors as MXNet's `MXNetError`; store types rmx lacks as `UnsupportedKVStoreError`.
pub fn kvstore_error(py: Python<'_>, error: KVStoreError) -> PyErr {
    let message = error.to_string();
    match error {
        KVStoreError::Graph(e) => graph_error(py, e),
        KVStoreError::Updater { source, .. } => match source.downcast::<PyErr>() {
            Ok(err) => *err,
            Err(_) => raise(py, "MXNetError", message),
        },
        other => raise(py, kvstore_class(&other), message),
    }
}

fn kvstore_class(error: &KVStoreError) -> &'static str {
    match error {
        KVStoreError::Unsupported(_) => "UnsupportedKVStoreError",
        KVStoreError::Shape { .. } => "InvalidArgumentError",
        KVStoreError::PeerLost(_) | KVStoreError::Protocol(_) | KVStoreError::Net { .. } | KVStoreError::Config(_) => "KVStoreError",
        _ => "MXNetError",
    }
}

fn kernel_class(error: &KernelError) -> &'static str {
    match error {
        KernelError::SizeOverflow { .. } => "ShapeError",
        KernelError::OutOfMemory { .. } => "OutOfMemoryError",
        KernelError::Device { .. } | KernelError::Unsupported { .. } | KernelError::Compile { .. } => "DeviceError",
        KernelError::DType { .. } => "DTypeError",
        KernelError::Index { .. } => "IndexError",
        KernelError::Invalid(_) => "InvalidArgumentError",
    }
}

/// Runs `f`, turning a Rust panic (a broken invariant in rmx) into `rmx.base.MXNetError` so that
/// no panic reaches Python as pyo3's `PanicException`.
pub fn guard<T>(py: Python<'_>, what: &str, f: impl FnOnce() -> PyResult<T>) -> PyResult<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(result) => result,
        Err(panic) => {
            let detail = panic.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| panic.downcast_ref::<String>().cloned()).unwrap_or_default();
            Err(raise(py, "MXNetError", format!("internal error in {what}: {detail} (please report it)")))
        }
    }
}

/// A data-path error as its `rmx.base` class: unreadable files as `FileError`, malformed records
/// and images as `DataError`, bad arguments as `InvalidArgumentError`.
pub fn io_error(py: Python<'_>, error: rmx_io::IoError) -> PyErr {
    use rmx_io::IoError;
    let class = match &error {
        IoError::Os { .. } => "FileError",
        IoError::Format { .. } | IoError::Decode { .. } | IoError::Encode(_) => "DataError",
        IoError::Invalid(_) => "InvalidArgumentError",
        IoError::Pipeline(_) => "MXNetError",
    };
    raise(py, class, error.to_string())
}
