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

/// An asynchronous pushed function (MXNet's `PushAsync`): it starts its work and returns; the
/// operation ends when the work calls [`Completion::done`], from any thread. Until then the
/// operation holds its variables, so the work may read and write their memory without a copy
/// (the distributed kvstore sends and receives arrays this way, with no worker thread blocked).
pub type AsyncOprFn = Box<dyn FnOnce(&RunContext, Completion) + Send + 'static>;

type Finish = Box<dyn FnOnce(Result<(), BoxError>) + Send + 'static>;

/// The end of an asynchronous operation. Dropping it without `done` (a panic in the work, a
/// forgotten path) fails the operation rather than leaving its variables held forever.
pub struct Completion {
    finish: Option<Finish>,
}

impl Completion {
    pub(crate) fn new(finish: Finish) -> Self {
        Completion { finish: Some(finish) }
    }

    /// Ends the operation: `Ok` releases its variables, `Err` stores the failure on its writes.
    pub fn done(mut self, result: Result<(), BoxError>) {
        if let Some(finish) = self.finish.take() {
            finish(result);
        }
    }
}

impl Drop for Completion {
    fn drop(&mut self) {
        if let Some(finish) = self.finish.take() {
            finish(Err("the asynchronous operation ended without reporting its completion (it panicked or dropped it)".into()));
        }
    }
}

pub(crate) type VarList = SmallVec<[Var; 4]>;

/// What an operation does once its dependencies are met.
pub(crate) enum Body {
    /// A user function.
    Run(OprFn),
    /// A user function that ends through its [`Completion`].
    Async(AsyncOprFn),
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
        let inline = prop == FnProperty::DeleteVar || matches!(body, Body::Wake(_) | Body::Delete);
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
    /// `finish` receives the outcome: at once, or for an asynchronous body when its work ends.
    pub(crate) fn execute(&self, finish: impl FnOnce(Outcome) + Send + 'static) {
        let body = self.lock_body().take();
        match body {
            Some(Body::Async(f)) => start_async(f, &self.name, self.ctx, &self.inherits, finish),
            other => finish(self.execute_sync(other)),
        }
    }

    fn execute_sync(&self, body: Option<Body>) -> Outcome {
        match body {
            Some(Body::Run(f)) => run_user(f, &self.name, self.ctx, &self.inherits),
            Some(Body::Async(_)) => unreachable!("asynchronous bodies go through start_async"),
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
    let error = match crate::profiler::timed(name, ctx, || catch_unwind(AssertUnwindSafe(|| f(&rctx)))) {
        Ok(Ok(())) => return Outcome { error: None, fresh: false },
        Ok(Err(cause)) => EngineError::OpFailed { op: name.clone(), cause: Arc::from(cause) },
        Err(panic) => EngineError::OpPanicked { op: name.clone(), message: panic_message(&*panic) },
    };
    Outcome { error: Some(Arc::new(error)), fresh: true }
}

/// The error rule for an asynchronous function: inherit a failure, else start the work with a
/// [`Completion`] that hands its result to `finish`. A panic while starting fails the operation
/// with the panic's message (the completion, dropped by the unwinding, reports nothing more).
pub(crate) fn start_async(f: AsyncOprFn, name: &OprName, ctx: Context, inherits: &[Var], finish: impl FnOnce(Outcome) + Send + 'static) {
    if let Some(error) = inherits.iter().find_map(Var::stored_error) {
        return finish(Outcome { error: Some(error), fresh: false });
    }
    let finish = Arc::new(Mutex::new(Some(finish)));
    let (on_done, op) = (finish.clone(), name.clone());
    let (started, thread) = (crate::profiler::now_us(), crate::profiler::thread_number());
    let completion = Completion::new(Box::new(move |result| {
        crate::profiler::finished(&op, ctx, started, thread);
        let outcome = match result {
            Ok(()) => Outcome { error: None, fresh: false },
            Err(cause) => Outcome { error: Some(Arc::new(EngineError::OpFailed { op, cause: Arc::from(cause) })), fresh: true },
        };
        if let Some(finish) = on_done.lock().unwrap_or_else(|e| e.into_inner()).take() {
            finish(outcome);
        }
    }));
    let rctx = RunContext { ctx, stream: 0 };
    if let Err(panic) = catch_unwind(AssertUnwindSafe(|| f(&rctx, completion))) {
        let error = EngineError::OpPanicked { op: name.clone(), message: panic_message(&*panic) };
        if let Some(finish) = finish.lock().unwrap_or_else(|e| e.into_inner()).take() {
            finish(Outcome { error: Some(Arc::new(error)), fresh: true });
        }
    }
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
