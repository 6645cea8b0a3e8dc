//! The `Engine` trait: the whole surface the rest of rmx schedules work through.

use crate::config::EngineKind;
use crate::context::Context;
use crate::error::{EngineError, OprName};
use crate::opr::{AsyncOprFn, OprFn};
use crate::property::FnProperty;
use crate::var::Var;

/// MXNet's engine interface. Implemented by [`crate::ThreadedEngine`] and [`crate::NaiveEngine`].
pub trait Engine: Send + Sync {
    /// A fresh variable, readable at once.
    fn new_var(&self) -> Var;

    /// Schedules `f` to run once every earlier operation that writes one of `reads`, or reads or
    /// writes one of `writes`, has completed. Returns at once (the naive engine runs `f` first).
    /// Duplicates are merged and a variable in both lists is a write. Fails only when a variable
    /// was deleted; failures of `f` itself are stored on `writes` (see the crate doc).
    #[allow(clippy::too_many_arguments)]
    fn push(
        &self,
        f: OprFn,
        ctx: Context,
        reads: &[Var],
        writes: &[Var],
        prop: FnProperty,
        priority: i32,
        name: OprName,
    ) -> Result<(), EngineError>;

    /// As `push`, for a function that ends through its [`crate::Completion`] (MXNet's
    /// `PushAsync`): the operation holds its variables until then, and no worker waits for it.
    /// The naive engine blocks the pusher until the completion.
    #[allow(clippy::too_many_arguments)]
    fn push_async(
        &self,
        f: AsyncOprFn,
        ctx: Context,
        reads: &[Var],
        writes: &[Var],
        prop: FnProperty,
        priority: i32,
        name: OprName,
    ) -> Result<(), EngineError>;

    /// Blocks until every write pushed on `var` so far has completed, then returns the failure
    /// its value carries, if any. Must not be called from inside a pushed function.
    fn wait_for_var(&self, var: &Var) -> Result<(), EngineError>;

    /// Blocks until every pushed operation has completed, then returns the oldest failure that no
    /// wait has reported yet; after it, all failures count as reported.
    fn wait_all(&self) -> Result<(), EngineError>;

    /// Releases `var` once every operation pushed on it so far has completed; later pushes that
    /// name it are refused with [`EngineError::VarDeleted`].
    fn delete_var(&self, var: Var);

    fn kind(&self) -> EngineKind;
}
