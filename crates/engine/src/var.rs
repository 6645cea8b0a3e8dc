//! `Var`: a tag for one mutable resource (an array's storage, a random state), with the queue of
//! operations waiting on it.
//!
//! The queue is MXNet's versioned variable queue reduced to its rule: reads of one version run
//! together, a write runs alone and in push order. Invariant: while no write runs, the queue is
//! empty or starts with a write (reads that reach the front are released at once).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use smallvec::SmallVec;

use crate::error::EngineError;
use crate::opr::OprBlock;

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// Operations released by a completion; few, so they stay on the stack.
pub(crate) type Released = SmallVec<[Arc<OprBlock>; 4]>;

/// A handle to an engine variable. Clones name the same variable.
#[derive(Clone)]
pub struct Var(pub(crate) Arc<VarInner>);

pub(crate) struct VarInner {
    id: u64,
    state: Mutex<VarState>,
}

#[derive(Default)]
struct VarState {
    /// Operations not yet dispatched on this variable, in push order.
    queue: VecDeque<Pending>,
    running_reads: usize,
    write_running: bool,
    /// Completed writes; a wait can tell what it saw.
    version: u64,
    /// The failure of the last write, cleared by the next successful one.
    error: Option<Arc<EngineError>>,
    /// `delete_var` was called: later pushes naming the variable are refused.
    deleted: bool,
}

struct Pending {
    opr: Arc<OprBlock>,
    write: bool,
}

impl Var {
    pub(crate) fn new() -> Self {
        let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
        Var(Arc::new(VarInner { id, state: Mutex::new(VarState::default()) }))
    }

    /// A number unique to this variable in the process, for debugging and ordering.
    pub fn id(&self) -> u64 {
        self.0.id
    }

    /// How many writes have completed on the variable.
    pub fn version(&self) -> u64 {
        self.lock().version
    }

    /// The failure carried by the variable's current value, if its last write failed.
    pub fn error(&self) -> Option<EngineError> {
        self.lock().error.as_deref().cloned()
    }

    pub fn same(&self, other: &Var) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    fn lock(&self) -> MutexGuard<'_, VarState> {
        // A poisoned lock can only come from a panic inside this file's short critical
        // sections, which hold no user code; the state is still consistent.
        self.0.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn stored_error(&self) -> Option<Arc<EngineError>> {
        self.lock().error.clone()
    }

    pub(crate) fn set_error(&self, error: Option<Arc<EngineError>>) {
        let mut s = self.lock();
        s.error = error;
        s.version += 1;
    }

    pub(crate) fn is_deleted(&self) -> bool {
        self.lock().deleted
    }

    pub(crate) fn mark_deleted(&self) {
        self.lock().deleted = true;
    }

    /// No write is running or waiting: the current value is final for readers.
    pub(crate) fn is_idle(&self) -> bool {
        let s = self.lock();
        !s.write_running && s.queue.is_empty()
    }

    /// Registers a read; true when it may run at once.
    pub(crate) fn append_read(&self, opr: &Arc<OprBlock>) -> bool {
        let mut s = self.lock();
        if !s.write_running && s.queue.is_empty() {
            s.running_reads += 1;
            true
        } else {
            s.queue.push_back(Pending { opr: opr.clone(), write: false });
            false
        }
    }

    /// Registers a write; true when it may run at once.
    pub(crate) fn append_write(&self, opr: &Arc<OprBlock>) -> bool {
        let mut s = self.lock();
        if !s.write_running && s.running_reads == 0 && s.queue.is_empty() {
            s.write_running = true;
            true
        } else {
            s.queue.push_back(Pending { opr: opr.clone(), write: true });
            false
        }
    }

    /// A read finished: the last reader out lets the waiting write in.
    pub(crate) fn complete_read(&self) -> Released {
        let mut s = self.lock();
        s.running_reads -= 1;
        let mut released = Released::new();
        if s.running_reads == 0 && !s.write_running {
            if let Some(p) = s.queue.pop_front() {
                debug_assert!(p.write, "a read waited while no write ran");
                s.write_running = true;
                released.push(p.opr);
            }
        }
        released
    }

    /// A write finished with `error` (None on success): the next version's readers run together,
    /// or else the next write.
    pub(crate) fn complete_write(&self, error: Option<Arc<EngineError>>) -> Released {
        let mut s = self.lock();
        s.write_running = false;
        s.version += 1;
        s.error = error;
        let mut released = Released::new();
        while s.queue.front().is_some_and(|p| !p.write) {
            let p = s.queue.pop_front().expect("front exists");
            s.running_reads += 1;
            released.push(p.opr);
        }
        if released.is_empty() {
            if let Some(p) = s.queue.pop_front() {
                s.write_running = true;
                released.push(p.opr);
            }
        }
        released
    }
}

impl std::fmt::Debug for Var {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Var({})", self.0.id)
    }
}
