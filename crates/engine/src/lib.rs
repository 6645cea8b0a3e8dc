//! rmx's dependency engine: every computation, copy and communication in rmx is a push of a
//! function with the variables it reads and writes; the engine runs it once those are ready.
//!
//! Three nouns: a [`Var`] tags one mutable resource; an [`Engine`] takes pushes and waits; a
//! [`Context`] says which device's workers run a push. [`ThreadedEngine`] keeps worker pools per
//! context and per [`FnProperty`]; [`NaiveEngine`] runs each push inline, for debugging and as
//! the reference schedule. [`engine()`] is the process's engine, chosen by `RMX_ENGINE_TYPE`.
//!
//! ```
//! use rmx_engine::{Context, Engine, EngineConfig, FnProperty, ThreadedEngine};
//! use std::sync::{Arc, Mutex};
//!
//! let engine = ThreadedEngine::new(EngineConfig::default());
//! let (a, b) = (engine.new_var(), engine.new_var());
//! let log = Arc::new(Mutex::new(Vec::new()));
//! for step in 0..3 {
//!     let log = log.clone();
//!     let f = Box::new(move |_: &_| { log.lock().unwrap().push(step); Ok(()) });
//!     engine.push(f, Context::cpu(0), &[a.clone()], &[b.clone()], FnProperty::Normal, 0, "step".into()).unwrap();
//! }
//! engine.wait_for_var(&b).unwrap();
//! assert_eq!(*log.lock().unwrap(), vec![0, 1, 2]); // writes of `b` run in push order
//! ```
//!
//! # Scheduling
//! Reads of one version of a variable run concurrently; a write runs alone, after every earlier
//! operation on the variable, in push order. A variable listed as both read and written is a write.
//!
//! # The error rule
//! 1. An operation whose function returns an error or panics (the worker catches it and lives on)
//!    fails; its failure is stored on every variable it writes.
//! 2. An operation that reads a failed variable (also through a read-modify-write) does not run
//!    its function: it fails with that same failure, which so flows down the dependency chain.
//!    An operation that only writes a failed variable runs as usual.
//! 3. A successful write clears the failure of the variables it writes: their value is new.
//! 4. `wait_for_var(v)` returns the failure `v` carries after its pending writes, and keeps
//!    returning it until rule 3 clears it. Independent variables never see it.
//! 5. `wait_all()` returns the oldest failure that no wait has returned yet, once; a failure
//!    returned by `wait_for_var` is not returned again by `wait_all`.
//!
//! Both engines follow these rules, so switching engines changes timing, never results. (MXNet's
//! naive engine raises at the push instead; rmx's raises at the same wait as the threaded one.)

mod config;
mod context;
mod current;
mod engine;
mod error;
mod error_log;
mod naive;
mod opr;
mod pool;
pub mod profiler;
mod property;
mod threaded;
mod var;

pub use config::{EngineConfig, EngineKind};
pub use context::{Context, DeviceKind};
pub use current::{create, engine, set_engine_kind};
pub use engine::Engine;
pub use error::{BoxError, EngineError, OprName};
pub use naive::NaiveEngine;
pub use opr::{AsyncOprFn, Completion, OprFn, RunContext};
pub use property::FnProperty;
pub use threaded::ThreadedEngine;
pub use var::Var;
