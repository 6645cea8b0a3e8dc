//! `Pool`: worker threads that run ready operations, fed in FIFO order (compute pools) or by
//! priority (copy and prioritized pools).

use std::cmp::Ordering as CmpOrdering;
use std::collections::BinaryHeap;
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{unbounded, Receiver, Sender, TryRecvError};

use crate::opr::OprBlock;

/// What a worker does with a ready operation (run it and complete it).
pub(crate) type Runner = Arc<dyn Fn(Arc<OprBlock>) + Send + Sync>;

/// How a pool orders its queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Order {
    Fifo,
    Priority,
}

pub(crate) struct Pool {
    queue: Queue,
}

enum Queue {
    Fifo(Sender<Arc<OprBlock>>),
    Priority(Arc<PriorityQueue>),
}

impl Pool {
    /// Starts `workers` threads named `name-i`. With `join_kernel_threads` (the host's compute
    /// pool), the first of them becomes thread 0 of rayon's global pool, the kernels' threads,
    /// where that pool has not started yet: returns once it has tried.
    ///
    /// Why: a kernel called from outside rayon's pool hands its work to the pool's threads and
    /// sleeps until they finish (a futex wait and wake per parallel loop), while one called
    /// from a thread of the pool takes a share of the work itself and waits by stealing. On the
    /// MLP's training step, a dozen parallel products of a fraction of a millisecond each, that
    /// hand-off was about a tenth of the step (issue 16). Rayon then starts one thread fewer
    /// (`RAYON_NUM_THREADS` counts this one), so as many threads compute as before.
    pub(crate) fn start(name: &str, workers: usize, order: Order, runner: Runner, join_kernel_threads: bool) -> Pool {
        let queue = match order {
            Order::Fifo => {
                let (tx, rx) = unbounded::<Arc<OprBlock>>();
                let (joined_tx, joined) = std::sync::mpsc::channel::<()>();
                for i in 0..workers.max(1) {
                    let (rx, runner, joined_tx) = (rx.clone(), runner.clone(), joined_tx.clone());
                    let join = join_kernel_threads && i == 0;
                    spawn(format!("{name}-{i}"), move || {
                        if join {
                            join_kernel_pool();
                            let _ = joined_tx.send(());
                        }
                        drop(joined_tx);
                        fifo_worker(&rx, &runner)
                    });
                }
                drop(joined_tx);
                if join_kernel_threads {
                    // Kernels the caller runs after this see the pool as the worker left it.
                    let _ = joined.recv();
                }
                Queue::Fifo(tx)
            }
            Order::Priority => {
                let q = Arc::new(PriorityQueue::default());
                for i in 0..workers.max(1) {
                    let (q, runner) = (q.clone(), runner.clone());
                    spawn(format!("{name}-{i}"), move || {
                        while let Some(opr) = q.pop() {
                            runner(opr);
                        }
                    });
                }
                Queue::Priority(q)
            }
        };
        Pool { queue }
    }

    pub(crate) fn submit(&self, opr: Arc<OprBlock>) {
        match &self.queue {
            // The receivers live as long as the pool's threads, which outlive the sender.
            Queue::Fifo(tx) => tx.send(opr).expect("engine worker pool stopped while in use"),
            Queue::Priority(q) => q.push(opr),
        }
    }
}

impl Drop for Pool {
    /// Workers finish what is queued, then exit (a FIFO pool's channel disconnects on its own).
    fn drop(&mut self) {
        if let Queue::Priority(q) = &self.queue {
            q.close();
        }
    }
}

/// How long an idle worker polls before sleeping: pushes from a Python loop arrive a few
/// microseconds apart, and waking a parked thread costs more than that (a futex call on each
/// side). Yielding while polling leaves the core to other threads when there are more threads
/// than cores.
const POLL_BEFORE_PARKING: Duration = Duration::from_micros(50);

/// Makes the calling thread thread 0 of rayon's global pool, as many threads in all as rayon
/// would start on its own. Not when that is one: the pool's thread 0 takes no work handed in
/// from outside while it waits for operations, so nothing else would run other threads' kernels.
/// Nor when the pool is already running (a kernel ran before the engine's first push, or an
/// earlier engine joined it): this worker then hands its kernels' work to the pool as before.
fn join_kernel_pool() {
    let from_env = std::env::var("RAYON_NUM_THREADS").ok().and_then(|v| v.parse::<usize>().ok()).filter(|&n| n > 0);
    let threads = from_env.unwrap_or_else(|| thread::available_parallelism().map_or(1, |n| n.get()));
    if threads >= 2 {
        let named = |i: usize| format!("rmx-kernels-{i}");
        let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).thread_name(named).use_current_thread().build_global();
    }
}

fn fifo_worker(rx: &Receiver<Arc<OprBlock>>, runner: &Runner) {
    loop {
        let mut polls = 0u32;
        let mut since: Option<Instant> = None;
        let opr = loop {
            match rx.try_recv() {
                Ok(opr) => break opr,
                Err(TryRecvError::Disconnected) => return,
                Err(TryRecvError::Empty) if since.is_none_or(|t| t.elapsed() < POLL_BEFORE_PARKING) => {
                    polls += 1;
                    if polls % 16 == 0 {
                        since.get_or_insert_with(Instant::now);
                        thread::yield_now();
                    } else {
                        std::hint::spin_loop();
                    }
                }
                Err(TryRecvError::Empty) => match rx.recv() {
                    Ok(opr) => break opr,
                    Err(_) => return,
                },
            }
        };
        runner(opr);
    }
}

fn spawn(name: String, body: impl FnOnce() + Send + 'static) {
    thread::Builder::new().name(name).spawn(body).expect("cannot start an engine worker thread");
}

struct Entry {
    priority: i32,
    seq: u64,
    opr: Arc<OprBlock>,
}

impl PartialEq for Entry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == CmpOrdering::Equal
    }
}
impl Eq for Entry {}
impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<CmpOrdering> {
        Some(self.cmp(other))
    }
}
impl Ord for Entry {
    /// Higher priority first; among equals, earlier pushes first.
    fn cmp(&self, other: &Self) -> CmpOrdering {
        self.priority.cmp(&other.priority).then_with(|| other.seq.cmp(&self.seq))
    }
}

#[derive(Default)]
struct PriorityQueue {
    state: Mutex<PriorityState>,
    ready: Condvar,
}

#[derive(Default)]
struct PriorityState {
    heap: BinaryHeap<Entry>,
    seq: u64,
    closed: bool,
}

impl PriorityQueue {
    fn lock(&self) -> std::sync::MutexGuard<'_, PriorityState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn push(&self, opr: Arc<OprBlock>) {
        let mut s = self.lock();
        s.seq += 1;
        let seq = s.seq;
        s.heap.push(Entry { priority: opr.priority, seq, opr });
        drop(s);
        self.ready.notify_one();
    }

    /// The next operation, or None once closed and drained.
    fn pop(&self) -> Option<Arc<OprBlock>> {
        let mut s = self.lock();
        loop {
            if let Some(e) = s.heap.pop() {
                return Some(e.opr);
            }
            if s.closed {
                return None;
            }
            s = self.ready.wait(s).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn close(&self) {
        self.lock().closed = true;
        self.ready.notify_all();
    }
}
