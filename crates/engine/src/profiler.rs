//! The engine's profiler (behind `mx.profiler`): while it runs, every operation a worker executes
//! is recorded with its name, device, worker thread and start and end times, for a Chrome trace.
//! Off (the default) it costs one relaxed atomic load per operation.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use crate::context::Context;

/// One executed operation. Times are microseconds since the profiler's epoch ([`now_us`]).
#[derive(Clone, Debug)]
pub struct ProfileEvent {
    pub name: String,
    pub ctx: Context,
    /// A small number per thread, in the order threads first ran an operation.
    pub thread: u64,
    pub start_us: f64,
    pub dur_us: f64,
}

static RUNNING: AtomicBool = AtomicBool::new(false);
static EVENTS: Mutex<Vec<ProfileEvent>> = Mutex::new(Vec::new());
static NEXT_THREAD: AtomicU64 = AtomicU64::new(1);

thread_local! {
    static THREAD: u64 = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Microseconds since the profiler's epoch (the first use of the profiler in this process).
pub fn now_us() -> f64 {
    epoch().elapsed().as_secs_f64() * 1e6
}

/// Starts or stops recording.
pub fn set_running(on: bool) {
    epoch();
    RUNNING.store(on, Ordering::Release);
}

pub fn is_running() -> bool {
    RUNNING.load(Ordering::Relaxed)
}

/// The events recorded so far, oldest first; `clear` empties the record.
pub fn events(clear: bool) -> Vec<ProfileEvent> {
    let mut events = EVENTS.lock().unwrap_or_else(|e| e.into_inner());
    if clear {
        std::mem::take(&mut *events)
    } else {
        events.clone()
    }
}

/// The number this thread has in the events it records.
pub fn thread_number() -> u64 {
    THREAD.with(|t| *t)
}

/// Records an operation that ran from `start_us` until now (an asynchronous one, which ends on
/// another thread: the thread recorded is the one that started it), if the profiler runs.
pub(crate) fn finished(name: &str, ctx: Context, start_us: f64, thread: u64) {
    if is_running() {
        let event = ProfileEvent { name: name.to_string(), ctx, thread, start_us, dur_us: now_us() - start_us };
        EVENTS.lock().unwrap_or_else(|e| e.into_inner()).push(event);
    }
}

/// Runs `f`, recording it as `name` on `ctx` while the profiler runs.
pub(crate) fn timed<R>(name: &str, ctx: Context, f: impl FnOnce() -> R) -> R {
    if !is_running() {
        return f();
    }
    let start = now_us();
    let result = f();
    let end = now_us();
    let event = ProfileEvent { name: name.to_string(), ctx, thread: thread_number(), start_us: start, dur_us: end - start };
    EVENTS.lock().unwrap_or_else(|e| e.into_inner()).push(event);
    result
}
