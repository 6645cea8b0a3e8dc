//! `ThreadedEngine`: MXNet's `ThreadedEnginePerDevice`. Each operation counts its unmet
//! dependencies; the variable queues release it, and the last release sends it to the pool of its
//! context and property.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, RwLock};

use crate::config::{EngineConfig, EngineKind};
use crate::context::{Context, DeviceKind};
use crate::engine::Engine;
use crate::error::{EngineError, OprName};
use crate::error_log::ErrorLog;
use crate::opr::{AsyncOprFn, Body, Deps, Latch, OprBlock, OprFn, Outcome};
use crate::pool::{Order, Pool, Runner};
use crate::property::FnProperty;
use crate::var::{Released, Var};

/// The threaded engine. Dropping it waits for pending work and stops its threads.
pub struct ThreadedEngine {
    shared: Arc<Shared>,
}

/// Which pool an operation goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum PoolKey {
    Compute(Context),
    Copy(Context),
    GpuPriority(Context),
    CpuPriority,
}

struct Shared {
    config: EngineConfig,
    pools: RwLock<HashMap<PoolKey, Pool>>,
    /// Pushed operations not yet completed.
    pending: AtomicUsize,
    /// Threads inside `wait_idle`; completions take `idle_lock` only when there are some.
    idle_waiters: AtomicUsize,
    idle_lock: Mutex<()>,
    idle: Condvar,
    errors: ErrorLog,
}

impl ThreadedEngine {
    pub fn new(config: EngineConfig) -> Self {
        let shared = Shared {
            config,
            pools: RwLock::new(HashMap::new()),
            pending: AtomicUsize::new(0),
            idle_waiters: AtomicUsize::new(0),
            idle_lock: Mutex::new(()),
            idle: Condvar::new(),
            errors: ErrorLog::default(),
        };
        ThreadedEngine { shared: Arc::new(shared) }
    }

    pub fn config(&self) -> &EngineConfig {
        &self.shared.config
    }

    fn push_block(&self, body: Body, ctx: Context, deps: Deps, prop: FnProperty, priority: i32, name: OprName) {
        let opr = OprBlock::new(body, ctx, deps, prop, priority, name);
        self.shared.pending.fetch_add(1, Ordering::SeqCst);
        // The count starts one above the number of dependencies and the pusher drops that extra
        // one last, so no decrement below can reach zero while registration is under way.
        for v in &opr.reads {
            if v.append_read(&opr) {
                opr.decr_wait();
            }
        }
        for v in &opr.writes {
            if v.append_write(&opr) {
                opr.decr_wait();
            }
        }
        if opr.decr_wait() {
            if opr.prop == FnProperty::Async {
                // MXNet's kAsync rule: ready at push time, so run it here; a handoff to a worker
                // would cost more than the small operations pushed this way.
                self.shared.run(opr);
            } else {
                self.shared.dispatch(opr);
            }
        }
    }
}

impl Shared {
    fn dispatch(self: &Arc<Self>, opr: Arc<OprBlock>) {
        if opr.inline {
            self.run(opr);
            return;
        }
        let key = self.pool_key(&opr);
        {
            let pools = self.pools.read().unwrap_or_else(|e| e.into_inner());
            if let Some(pool) = pools.get(&key) {
                pool.submit(opr);
                return;
            }
        }
        let mut pools = self.pools.write().unwrap_or_else(|e| e.into_inner());
        pools.entry(key).or_insert_with(|| self.start_pool(key)).submit(opr);
    }

    fn pool_key(&self, opr: &OprBlock) -> PoolKey {
        let on_gpu = opr.ctx.kind == DeviceKind::Gpu;
        match opr.prop {
            FnProperty::CpuPrioritized => PoolKey::CpuPriority,
            FnProperty::CopyFromGpu | FnProperty::CopyToGpu if on_gpu => PoolKey::Copy(opr.ctx),
            FnProperty::GpuPrioritized if on_gpu => PoolKey::GpuPriority(opr.ctx),
            _ => PoolKey::Compute(opr.ctx),
        }
    }

    fn start_pool(self: &Arc<Self>, key: PoolKey) -> Pool {
        let c = &self.config;
        let host_compute = matches!(key, PoolKey::Compute(ctx) if ctx.kind.is_host());
        let (name, workers, order) = match key {
            PoolKey::Compute(ctx) if ctx.kind.is_host() => (format!("rmx-{ctx}"), c.cpu_workers, Order::Fifo),
            PoolKey::Compute(ctx) => (format!("rmx-{ctx}"), c.gpu_workers, Order::Fifo),
            PoolKey::Copy(ctx) => (format!("rmx-{ctx}-copy"), c.gpu_copy_workers, Order::Priority),
            PoolKey::GpuPriority(ctx) => (format!("rmx-{ctx}-prio"), c.gpu_workers, Order::Priority),
            PoolKey::CpuPriority => ("rmx-cpu-prio".to_string(), c.cpu_priority_workers, Order::Priority),
        };
        let me = self.clone();
        let runner: Runner = Arc::new(move |opr| me.run(opr));
        Pool::start(&name, workers, order, runner, host_compute)
    }

    /// Runs a ready operation; it completes when its body reports the outcome (at once, or for
    /// an asynchronous body when its work ends, on whatever thread that is).
    fn run(self: &Arc<Self>, opr: Arc<OprBlock>) {
        let (me, block) = (self.clone(), opr.clone());
        opr.execute(move |outcome| me.complete(block, outcome));
    }

    fn complete(self: &Arc<Self>, opr: Arc<OprBlock>, outcome: Outcome) {
        if outcome.fresh {
            if let Some(e) = &outcome.error {
                self.errors.record(e.clone());
            }
        }
        for v in &opr.reads {
            self.release(v.complete_read());
        }
        for v in &opr.writes {
            self.release(v.complete_write(outcome.error.clone()));
        }
        drop(opr);
        // SeqCst on `pending` and `idle_waiters` (here and in `wait_idle`): either the waiter sees
        // zero pending or this thread sees the waiter, so no wake-up is lost.
        if self.pending.fetch_sub(1, Ordering::SeqCst) == 1 && self.idle_waiters.load(Ordering::SeqCst) > 0 {
            let _guard = self.idle_lock.lock().unwrap_or_else(|e| e.into_inner());
            self.idle.notify_all();
        }
    }

    fn release(self: &Arc<Self>, released: Released) {
        for opr in released {
            if opr.decr_wait() {
                self.dispatch(opr);
            }
        }
    }

    fn wait_idle(&self) {
        if self.pending.load(Ordering::SeqCst) == 0 {
            return;
        }
        let mut guard = self.idle_lock.lock().unwrap_or_else(|e| e.into_inner());
        self.idle_waiters.fetch_add(1, Ordering::SeqCst);
        while self.pending.load(Ordering::SeqCst) != 0 {
            guard = self.idle.wait(guard).unwrap_or_else(|e| e.into_inner());
        }
        self.idle_waiters.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Engine for ThreadedEngine {
    fn new_var(&self) -> Var {
        Var::new()
    }

    fn push(
        &self,
        f: OprFn,
        ctx: Context,
        reads: &[Var],
        writes: &[Var],
        prop: FnProperty,
        priority: i32,
        name: OprName,
    ) -> Result<(), EngineError> {
        let deps = Deps::new(reads, writes);
        deps.check_deleted(&name)?;
        self.push_block(Body::Run(f), ctx, deps, prop, priority, name);
        Ok(())
    }

    fn push_async(
        &self,
        f: AsyncOprFn,
        ctx: Context,
        reads: &[Var],
        writes: &[Var],
        prop: FnProperty,
        priority: i32,
        name: OprName,
    ) -> Result<(), EngineError> {
        let deps = Deps::new(reads, writes);
        deps.check_deleted(&name)?;
        self.push_block(Body::Async(f), ctx, deps, prop, priority, name);
        Ok(())
    }

    fn wait_for_var(&self, var: &Var) -> Result<(), EngineError> {
        let seen = if var.is_idle() {
            var.stored_error()
        } else {
            let latch = Arc::new(Latch::default());
            let deps = Deps::new(std::slice::from_ref(var), &[]);
            self.push_block(Body::Wake(latch.clone()), Context::default(), deps, FnProperty::Normal, 0, "WaitForVar".into());
            latch.wait()
        };
        match seen {
            None => Ok(()),
            Some(error) => {
                self.shared.errors.mark_reported(&error);
                Err((*error).clone())
            }
        }
    }

    fn wait_all(&self) -> Result<(), EngineError> {
        self.shared.wait_idle();
        self.shared.errors.take_first().map_or(Ok(()), Err)
    }

    fn delete_var(&self, var: Var) {
        var.mark_deleted();
        let deps = Deps::new(&[], std::slice::from_ref(&var));
        self.push_block(Body::Delete, Context::default(), deps, FnProperty::DeleteVar, 0, "DeleteVariable".into());
    }

    fn kind(&self) -> EngineKind {
        EngineKind::Threaded
    }
}

impl Drop for ThreadedEngine {
    fn drop(&mut self) {
        self.shared.wait_idle();
        // Dropping the pools stops their threads, which hold the last other references to `shared`.
        self.shared.pools.write().unwrap_or_else(|e| e.into_inner()).clear();
    }
}
