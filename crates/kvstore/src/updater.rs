//! The updater a store runs on every push once set: `(key, merged gradient, stored value)`.
//! rmx's optimizers are Python, so the bindings wrap a Python callable; Rust closures work too.

use rmx_engine::BoxError;
use rmx_graph::NDArray;

use crate::key::Key;

/// Updates `stored` from the merged gradient `merged` of `key` (by pushing engine operations).
pub trait Updater: Send + Sync {
    fn update(&mut self, key: &Key, merged: &NDArray, stored: &NDArray) -> Result<(), BoxError>;

    /// The optimizer's states in the host's own format (a distributed store's checkpoint).
    fn get_states(&self) -> Result<Vec<u8>, BoxError> {
        Err("this updater cannot save its states".into())
    }

    /// Replaces the optimizer's states with what `get_states` returned.
    fn set_states(&mut self, _bytes: &[u8]) -> Result<(), BoxError> {
        Err("this updater cannot load states".into())
    }
}

impl<F> Updater for F
where
    F: FnMut(&Key, &NDArray, &NDArray) -> Result<(), BoxError> + Send + Sync,
{
    fn update(&mut self, key: &Key, merged: &NDArray, stored: &NDArray) -> Result<(), BoxError> {
        self(key, merged, stored)
    }
}
