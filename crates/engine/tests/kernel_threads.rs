//! The host compute pool's first worker becomes thread 0 of rayon's global pool (the kernels'
//! threads), so a kernel it runs computes there instead of handing its work over and sleeping.
//! Its own test binary: rayon's global pool starts once per process, and this test must be the
//! first to start it.

mod common;

use std::sync::{Arc, Mutex};

use common::{push, within};
use rayon::prelude::*;
use rmx_engine::{Engine, EngineConfig, EngineKind, ThreadedEngine};

/// What a kernel saw: its rayon thread index, the pool's size, and a parallel sum.
type Seen = Arc<Mutex<Vec<(Option<usize>, usize, u64)>>>;

fn kernel(seen: &Seen) -> rmx_engine::OprFn {
    let seen = seen.clone();
    Box::new(move |_| {
        let sum = (0..1_000_000u64).into_par_iter().sum();
        seen.lock().unwrap().push((rayon::current_thread_index(), rayon::current_num_threads(), sum));
        Ok(())
    })
}

#[test]
fn the_host_worker_computes_as_the_kernel_pools_thread_0() {
    // Two threads, whatever this machine has, so the joined pool has a thread of its own.
    std::env::set_var("RAYON_NUM_THREADS", "2");
    within(60, || {
        let want = (0..1_000_000u64).sum::<u64>();
        let seen: Seen = Arc::default();
        let one = ThreadedEngine::new(EngineConfig::default().with_kind(EngineKind::Threaded).with_cpu_workers(1));
        let v = one.new_var();
        for _ in 0..20 {
            push(&one, &[], std::slice::from_ref(&v), "sum", kernel(&seen));
        }
        one.wait_all().unwrap();
        assert!(seen.lock().unwrap().iter().all(|&s| s == (Some(0), 2, want)), "{:?}", seen.lock().unwrap());
        // Kernels run from outside the pool (this thread) still get its other thread.
        assert_eq!((0..1_000_000u64).into_par_iter().sum::<u64>(), want);
        drop(one);

        // A later engine finds the pool running: its workers hand their work over, as before.
        let seen: Seen = Arc::default();
        let two = ThreadedEngine::new(EngineConfig::default().with_kind(EngineKind::Threaded).with_cpu_workers(2));
        let vars: Vec<_> = (0..4).map(|_| two.new_var()).collect();
        for i in 0..40 {
            push(&two, &[], &[vars[i % 4].clone()], "sum", kernel(&seen));
        }
        two.wait_all().unwrap();
        let seen = seen.lock().unwrap();
        assert_eq!(seen.len(), 40);
        assert!(seen.iter().all(|&(at, n, sum)| at.is_none() && n == 2 && sum == want), "{seen:?}");
    });
}
