//! `KVStoreError`: what can go wrong in a store. Each variant maps to one Python class in the
//! binding crate's `errors.rs`; the key messages are MXNet's own.

use rmx_engine::BoxError;
use rmx_graph::GraphError;

use crate::key::Key;

#[derive(Debug, thiserror::Error)]
pub enum KVStoreError {
    /// A store type rmx does not have (distributed, NCCL, Horovod, BytePS).
    #[error("{0}")]
    Unsupported(String),
    /// An int key given to a store of str keys, or the reverse.
    #[error("Mixed key types are not allowed")]
    MixedKeyTypes,
    /// A str key that was never initialized (str keys get their ids at `init`).
    #[error("key {0} doesn't exist. Did you init?")]
    UnknownKey(String),
    /// A key pushed or pulled before `init`.
    #[error("key {0} has not been inited")]
    NotInited(Key),
    /// A second `init` (or `broadcast`) of a key.
    #[error("duplicate init of key {0}{hint}", hint = duplicate_hint(.0))]
    DuplicateInit(Key),
    /// A copy between arrays of different shapes (a pull into an output of another shape).
    #[error("copyto: shape {} into shape {}", shape_text(.from), shape_text(.into))]
    Shape { from: Vec<usize>, into: Vec<usize> },
    /// An operator call of the reduction or a copy refused (shapes, dtypes, devices).
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// A distributed job's environment is missing or wrong (`DMLC_*`, `RMX_KVSTORE_*`).
    #[error("kvstore configuration: {0}")]
    Config(String),
    /// A process of the job died or stopped answering: its name and what was seen.
    #[error("{0}")]
    PeerLost(String),
    /// A peer sent something the protocol does not allow (or a refused operation on a server).
    #[error("kvstore protocol: {0}")]
    Protocol(String),
    /// A socket could not be opened or used.
    #[error("kvstore network: {what}: {source}")]
    Net { what: String, source: std::io::Error },
    /// The updater failed; `source` is its own error (a Python exception in the bindings).
    #[error("the updater failed on key {key}: {source}")]
    Updater { key: Key, source: BoxError },
}

/// MXNet's hint, given for int keys only.
fn duplicate_hint(key: &Key) -> &'static str {
    match key {
        Key::Int(_) => ". Please double check if you called kv.init or kv.broadcast with this key multiple times",
        Key::Str(_) => "",
    }
}

/// A shape as Python writes a tuple: `(2,)`, `(2, 3)`.
fn shape_text(shape: &[usize]) -> String {
    match shape {
        [d] => format!("({d},)"),
        _ => format!("({})", shape.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    }
}

pub type Result<T> = std::result::Result<T, KVStoreError>;
