//! Push-to-completion cost per operation: independent tiny operations (each writes its own
//! variable) and a dependency chain (every operation writes one variable), on the threaded and
//! naive engines, as the median of timed runs (a plain harness: no benchmark crate, so the
//! workspace's test build shares every artifact with the extension's). Results: benches/RESULTS.md.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rmx_engine::{Context, Engine, EngineConfig, EngineKind, FnProperty, NaiveEngine, ThreadedEngine, Var};

const OPS: usize = 10_000;

fn tiny_op(counter: &Arc<AtomicU64>) -> rmx_engine::OprFn {
    let counter = counter.clone();
    Box::new(move |_| {
        counter.fetch_add(1, Ordering::Relaxed);
        Ok(())
    })
}

fn run(engine: &dyn Engine, vars: &[Var], counter: &Arc<AtomicU64>) {
    for v in vars {
        engine
            .push(tiny_op(counter), Context::cpu(0), &[], std::slice::from_ref(v), FnProperty::Normal, 0, "tiny".into())
            .unwrap();
    }
    engine.wait_all().unwrap();
}

fn engines() -> Vec<(&'static str, Box<dyn Engine>)> {
    let threaded = |n| Box::new(ThreadedEngine::new(EngineConfig::default().with_kind(EngineKind::Threaded).with_cpu_workers(n)));
    vec![
        ("threaded-1worker", threaded(1) as Box<dyn Engine>),
        ("threaded-2workers", threaded(2)),
        ("naive", Box::new(NaiveEngine::new())),
    ]
}

/// The median of `rounds` timings of `f`, after one warm-up run.
fn median(rounds: usize, mut f: impl FnMut()) -> Duration {
    f();
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[rounds / 2]
}

fn main() {
    let counter = Arc::new(AtomicU64::new(0));
    println!("engine push-to-completion, {OPS} operations per run, median of 20 runs");
    for (label, engine) in engines() {
        let independent: Vec<Var> = (0..OPS).map(|_| engine.new_var()).collect();
        let one = engine.new_var();
        let chain: Vec<Var> = (0..OPS).map(|_| one.clone()).collect();
        for (kind, vars) in [("independent", &independent), ("chain", &chain)] {
            let t = median(20, || run(engine.as_ref(), black_box(vars), &counter));
            println!("{kind:>12} {label:<18} {:7.3} us/op", t.as_secs_f64() * 1e6 / OPS as f64);
        }
    }
}
