//! `EngineError`: why a pushed operation, a push or a wait failed.

use std::borrow::Cow;
use std::sync::Arc;

/// The name an operation is pushed under (a registry name such as `"elemwise_add"`).
pub type OprName = Cow<'static, str>;

/// Whatever error a pushed function returns. Later crates downcast it back to their own types
/// (the Python binding does, to raise the right class).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The engine's errors. Cheap to clone: one failure is stored on every variable it reaches.
#[derive(Debug, Clone, thiserror::Error)]
pub enum EngineError {
    /// The function of operation `op` returned an error.
    #[error("operator {op} failed: {cause}")]
    OpFailed { op: OprName, cause: Arc<dyn std::error::Error + Send + Sync + 'static> },
    /// The function of operation `op` panicked; the worker caught it and lives on.
    #[error("operator {op} panicked: {message}")]
    OpPanicked { op: OprName, message: String },
    /// An operation named a variable that `delete_var` had already been called on.
    #[error("operator {op} uses a variable that was deleted")]
    VarDeleted { op: OprName },
}

impl EngineError {
    /// The name of the operation where the failure started.
    pub fn op(&self) -> &str {
        match self {
            Self::OpFailed { op, .. } | Self::OpPanicked { op, .. } | Self::VarDeleted { op } => op,
        }
    }

    /// The error the operation's function returned, to downcast to the caller's own type.
    pub fn cause(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match self {
            Self::OpFailed { cause, .. } => Some(cause.as_ref()),
            _ => None,
        }
    }
}
