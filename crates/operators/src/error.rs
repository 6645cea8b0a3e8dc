//! `GraphError`: what can go wrong calling an operator or handling arrays; each variant maps to
//! one Python class in the binding crate's `errors.rs`.

use rmx_engine::EngineError;
use rmx_kernels::DType;

#[derive(Debug, thiserror::Error)]
pub enum GraphError {
    /// Shapes that do not fit the operator.
    #[error("{op}: {message}")]
    Shape { op: String, message: String },
    /// A dtype the operator does not take, or inputs whose dtypes differ.
    #[error("{op}: {message}")]
    DType { op: String, message: String },
    /// A parameter that is unknown, missing, or has a value that does not parse.
    #[error("{op}: parameter '{param}': {message}")]
    Param { op: String, param: String, message: String },
    /// No operator of that name is registered.
    #[error("unknown operator '{0}'")]
    UnknownOp(String),
    /// Arrays on different devices, or a device rmx cannot use.
    #[error("{op}: {message}")]
    Device { op: String, message: String },
    /// A bad value that is no operator parameter (an index out of range, a malformed file).
    #[error("{0}")]
    Invalid(String),
    /// An index outside its range, found before anything runs (a symbol's output index). One
    /// found by a kernel at run time is [`rmx_kernels::KernelError::Index`], raised at the next
    /// wait as the same Python class.
    #[error("{0}")]
    Index(String),
    /// A buffer that could not be sized or allocated, a device or kernel that is unavailable, or
    /// an index a kernel found out of range.
    #[error(transparent)]
    Kernel(#[from] rmx_kernels::KernelError),
    /// A failure carried from the engine, raised at a wait.
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
}

pub type Result<T> = std::result::Result<T, GraphError>;

pub fn shape_err(op: &str, message: impl Into<String>) -> GraphError {
    GraphError::Shape { op: op.to_string(), message: message.into() }
}

pub fn dtype_err(op: &str, message: impl Into<String>) -> GraphError {
    GraphError::DType { op: op.to_string(), message: message.into() }
}

pub fn param_err(op: &str, param: &str, message: impl Into<String>) -> GraphError {
    GraphError::Param { op: op.to_string(), param: param.to_string(), message: message.into() }
}

/// Inputs of one operator must share a dtype.
pub fn same_dtype(op: &str, dtypes: impl IntoIterator<Item = DType>) -> Result<DType> {
    let mut it = dtypes.into_iter();
    let first = it.next().ok_or_else(|| dtype_err(op, "no inputs"))?;
    for d in it {
        if d != first {
            return Err(dtype_err(op, format!("inputs have different dtypes: {first} and {d}")));
        }
    }
    Ok(first)
}
