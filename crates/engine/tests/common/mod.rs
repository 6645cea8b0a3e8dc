//! Helpers shared by the engine's integration tests.
#![allow(dead_code)]

use std::sync::mpsc;
use std::time::Duration;

use rmx_engine::{Context, Engine, EngineConfig, EngineKind, FnProperty, NaiveEngine, OprFn, ThreadedEngine, Var};

/// Every engine flavour the tests must agree on: threaded with 1, 2 and 8 workers, and naive.
pub fn all_engines() -> Vec<(String, Box<dyn Engine>)> {
    let mut list: Vec<(String, Box<dyn Engine>)> = [1, 2, 8]
        .into_iter()
        .map(|n| {
            let config = EngineConfig::default().with_kind(EngineKind::Threaded).with_cpu_workers(n);
            (format!("threaded-{n}"), Box::new(ThreadedEngine::new(config)) as Box<dyn Engine>)
        })
        .collect();
    list.push(("naive".to_string(), Box::new(NaiveEngine::new())));
    list
}

/// Runs `f` on its own thread and fails the test if it has not finished within `secs`: a
/// deadlock becomes a failure instead of a hung test run.
pub fn within<T: Send + 'static>(secs: u64, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(secs)).expect("engine did not finish in time (deadlock?)")
}

pub fn push(engine: &dyn Engine, reads: &[Var], writes: &[Var], name: &'static str, f: OprFn) {
    engine.push(f, Context::cpu(0), reads, writes, FnProperty::Normal, 0, name.into()).expect("push refused");
}

/// A small deterministic generator (splitmix64), so every failing seed can be replayed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}
