//! The process's engine: created on first use from [`EngineConfig::from_env`], replaceable for
//! debugging (`rmx.engine.set_engine_type("NaiveEngine")` from Python).

use std::sync::{Arc, RwLock};

use crate::config::{EngineConfig, EngineKind};
use crate::engine::Engine;
use crate::error::EngineError;
use crate::naive::NaiveEngine;
use crate::threaded::ThreadedEngine;

static CURRENT: RwLock<Option<Arc<dyn Engine>>> = RwLock::new(None);

/// Builds an engine of the configured kind.
pub fn create(config: EngineConfig) -> Arc<dyn Engine> {
    match config.kind {
        EngineKind::Naive => Arc::new(NaiveEngine::new()),
        EngineKind::Threaded => Arc::new(ThreadedEngine::new(config)),
    }
}

/// The process's engine.
pub fn engine() -> Arc<dyn Engine> {
    if let Some(e) = CURRENT.read().unwrap_or_else(|e| e.into_inner()).as_ref() {
        return e.clone();
    }
    let mut slot = CURRENT.write().unwrap_or_else(|e| e.into_inner());
    slot.get_or_insert_with(|| create(EngineConfig::from_env())).clone()
}

/// Replaces the process's engine with one of `kind` (pool sizes from the environment), after the
/// old one has finished its work. Returns the old engine's unreported failure, if any; the switch
/// happens either way. Variables carry over: they belong to no engine.
pub fn set_engine_kind(kind: EngineKind) -> Result<(), EngineError> {
    let old = engine();
    let finished = old.wait_all();
    *CURRENT.write().unwrap_or_else(|e| e.into_inner()) = Some(create(EngineConfig::from_env().with_kind(kind)));
    finished
}
