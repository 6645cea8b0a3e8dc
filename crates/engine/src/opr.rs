//! `OprBlock`: one pushed operation with its dependency count, and the code both engines share to
//! run an operation's function under the error rule (see the crate doc).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use smallvec::SmallVec;

use crate::context::Context;
use crate::error::{BoxError, EngineError, OprName};
use crate::property::FnProperty;
use crate::var::Var;

/// What a pushed function sees when it runs: the device, and for a GPU which of the device's
/// streams the running worker owns (each GPU worker gets its own, so kernels it launches order
/// among themselves without waiting on other workers). Scratch memory comes from the device's
/// allocator (`rmx_kernels::Storage`) on `ctx`.
#[derive(Clone, Copy, Debug)]
pub struct RunContext {
    pub ctx: Context,
    /// The worker's stream on a GPU; 0 on the CPU, where there are none.
    pub stream: usize,
}

impl Default for RunContext {
    fn default() -> Self {
        RunContext { ctx: Context::cpu(0), stream: 0 }
    }
}

/// A pushed function. It reports failure by returning an error; a panic is caught as well.
pub type OprFn = Box<dyn FnOnce(&RunContext) -> Result<(), BoxError> + Send + 'static>;

pub(crate) type VarList = SmallVec<[Var; 4]>;

/// What an operation does once its dependencies are met.
pub(crate) enum Body {
    /// A user function.
    Run(OprFn),
    /// A wait: record the variable's failure and wake the waiter.
    Wake(Arc<Latch>),
    /// `delete_var`: nothing left to do once every earlier operation is done.
    Delete,
}

pub(crate) struct OprBlock {
    /// Dependencies not yet met, plus one held by the pusher until registration is complete.
    wait: AtomicUsize,
    /// Runs on the thread that makes it ready (waits and deletions) instead of going to a pool.
    pub(crate) inline: bool,
    body: Mutex<Option<Body>>,
    pub(crate) ctx: Context,
    pub(crate) prop: FnProperty,
    pub(crate) priority: i32,
    pub(crate) name: OprName,
    pub(crate) reads: VarList,
    pub(crate) writes: VarList,
    /// Variables whose failure this operation inherits: its reads, and writes it also read.
    pub(crate) inherits: VarList,
}

/// The outcome of running one operation: the failure to store on its writes, and whether it
/// started here (it then joins the engine's list of errors not yet reported).
pub(crate) struct Outcome {
    pub(crate) error: Option<Arc<EngineError>>,
    pub(crate) fresh: bool,
}

/// The read and write sets of a push, normalized: no duplicates, a variable listed in both is a
/// write (and is remembered as read, so that it inherits a failure).
pub(crate) struct Deps {
    pub(crate) reads: VarList,
    pub(crate) writes: VarList,
    pub(crate) inherits: VarList,
}

impl Deps {
    pub(crate) fn new(reads: &[Var], writes: &[Var]) -> Self {
        let mut w = VarList::new();
        for v in writes {
            if !w.iter().any(|x| x.same(v)) {
                w.push(v.clone());
            }
        }
        let mut r = VarList::new();
        let mut inherits = VarList::new();
        for v in reads {
            if !inherits.iter().any(|x| x.same(v)) {
                inherits.push(v.clone());
                if !w.iter().any(|x| x.same(v)) {
                    r.push(v.clone());
                }
            }
        }
        Deps { reads: r, writes: w, inherits }
    }

    pub(crate) fn check_deleted(&self, name: &OprName) -> Result<(), EngineError> {
        if self.reads.iter().chain(&self.writes).any(Var::is_deleted) {
            return Err(EngineError::VarDeleted { op: name.clone() });
        }
        Ok(())
    }
}

impl OprBlock {
    pub(crate) fn new(body: Body, ctx: Context, deps: Deps, prop: FnProperty, priority: i32, name: OprName) -> Arc<Self> {
        let wait = deps.reads.len() + deps.writes.len() + 1;
        let inline = prop == FnProperty::DeleteVar || !matches!(body, Body::Run(_));
        Arc::new(OprBlock {
            wait: AtomicUsize::new(wait),
            inline,
            body: Mutex::new(Some(body)),
            ctx,
            prop,
            priority,
            name,
            reads: deps.reads,
            writes: deps.writes,
            inherits: deps.inherits,
        })
    }

    /// One dependency met; true when it was the last and the operation may run.
    pub(crate) fn decr_wait(&self) -> bool {
        self.wait.fetch_sub(1, Ordering::AcqRel) == 1
    }

    fn lock_body(&self) -> std::sync::MutexGuard<'_, Option<Body>> {
        self.body.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs the body once; its dependencies are met, so the inherited variables are settled.
    pub(crate) fn execute(&self) -> Outcome {
        let body = self.lock_body().take();
        match body {
            Some(Body::Run(f)) => run_user(f, &self.name, self.ctx, &self.inherits),
            Some(Body::Wake(latch)) => {
                latch.open(self.reads.first().and_then(Var::stored_error));
                Outcome { error: None, fresh: false }
            }
            Some(Body::Delete) | None => Outcome { error: None, fresh: false },
        }
    }
}

/// The error rule in one place: inherit a failure from what the operation reads, else run the
/// function, catching errors and panics.
pub(crate) fn run_user(f: OprFn, name: &OprName, ctx: Context, inherits: &[Var]) -> Outcome {
    if let Some(error) = inherits.iter().find_map(Var::stored_error) {
        return Outcome { error: Some(error), fresh: false };
    }
    let rctx = RunContext { ctx, stream: 0 };
    let error = match catch_unwind(AssertUnwindSafe(|| f(&rctx))) {
        Ok(Ok(())) => return Outcome { error: None, fresh: false },
        Ok(Err(cause)) => EngineError::OpFailed { op: name.clone(), cause: Arc::from(cause) },
        Err(panic) => EngineError::OpPanicked { op: name.clone(), message: panic_message(&*panic) },
    };
    Outcome { error: Some(Arc::new(error)), fresh: true }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic payload".to_string()
    }
}

/// A one-shot gate a waiting thread sleeps on; it carries the failure the wait observed.
#[derive(Default)]
pub(crate) struct Latch {
    state: Mutex<Option<Option<Arc<EngineError>>>>,
    opened: Condvar,
}

impl Latch {
    pub(crate) fn open(&self, seen: Option<Arc<EngineError>>) {
        *self.state.lock().unwrap_or_else(|e| e.into_inner()) = Some(seen);
        self.opened.notify_all();
    }

    pub(crate) fn wait(&self) -> Option<Arc<EngineError>> {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(seen) = state.take() {
                return seen;
            }
            state = self.opened.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }
}
