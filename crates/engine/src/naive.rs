//! `NaiveEngine`: runs every push on the pushing thread before `push` returns. The reference
//! schedule for tests and the engine to debug with (`RMX_ENGINE_TYPE=NaiveEngine`); it follows
//! the same error rule as the threaded engine, so switching engines changes timing, not results.

use crate::config::EngineKind;
use crate::context::Context;
use crate::engine::Engine;
use crate::error::{EngineError, OprName};
use crate::error_log::ErrorLog;
use std::sync::mpsc;

use crate::opr::{run_user, start_async, AsyncOprFn, Deps, OprFn, Outcome};
use crate::property::FnProperty;
use crate::var::Var;

#[derive(Default)]
pub struct NaiveEngine {
    errors: ErrorLog,
}

impl NaiveEngine {
    pub fn new() -> Self {
        Self::default()
    }
}

impl NaiveEngine {
    /// Records a new failure and stores the outcome on the written variables.
    fn settle(&self, deps: &Deps, outcome: Outcome) {
        if outcome.fresh {
            if let Some(e) = &outcome.error {
                self.errors.record(e.clone());
            }
        }
        for v in &deps.writes {
            v.set_error(outcome.error.clone());
        }
    }
}

impl Engine for NaiveEngine {
    fn new_var(&self) -> Var {
        Var::new()
    }

    fn push(
        &self,
        f: OprFn,
        ctx: Context,
        reads: &[Var],
        writes: &[Var],
        _prop: FnProperty,
        _priority: i32,
        name: OprName,
    ) -> Result<(), EngineError> {
        let deps = Deps::new(reads, writes);
        deps.check_deleted(&name)?;
        let outcome = run_user(f, &name, ctx, &deps.inherits);
        self.settle(&deps, outcome);
        Ok(())
    }

    fn push_async(
        &self,
        f: AsyncOprFn,
        ctx: Context,
        reads: &[Var],
        writes: &[Var],
        _prop: FnProperty,
        _priority: i32,
        name: OprName,
    ) -> Result<(), EngineError> {
        let deps = Deps::new(reads, writes);
        deps.check_deleted(&name)?;
        let (tx, rx) = mpsc::channel();
        start_async(f, &name, ctx, &deps.inherits, move |outcome| {
            let _ = tx.send(outcome);
        });
        // The completion always reports (dropping it reports a failure), so this returns.
        let outcome = rx.recv().unwrap_or(Outcome { error: None, fresh: false });
        self.settle(&deps, outcome);
        Ok(())
    }

    fn wait_for_var(&self, var: &Var) -> Result<(), EngineError> {
        match var.stored_error() {
            None => Ok(()),
            Some(error) => {
                self.errors.mark_reported(&error);
                Err((*error).clone())
            }
        }
    }

    fn wait_all(&self) -> Result<(), EngineError> {
        self.errors.take_first().map_or(Ok(()), Err)
    }

    fn delete_var(&self, var: Var) {
        var.mark_deleted();
    }

    fn kind(&self) -> EngineKind {
        EngineKind::Naive
    }
}
