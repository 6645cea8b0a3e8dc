//! Push-to-completion cost per operation: independent tiny operations (each writes its own
//! variable) and a dependency chain (every operation writes one variable), on the threaded and
//! naive engines. Per-operation cost = 1 / the reported throughput. Results: benches/RESULTS.md.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
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

fn bench(c: &mut Criterion) {
    let counter = Arc::new(AtomicU64::new(0));
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(OPS as u64));
    group.sample_size(20).warm_up_time(Duration::from_secs(1)).measurement_time(Duration::from_secs(3));
    for (label, engine) in engines() {
        let independent: Vec<Var> = (0..OPS).map(|_| engine.new_var()).collect();
        group.bench_with_input(BenchmarkId::new("independent", label), &independent, |b, vars| {
            b.iter(|| run(engine.as_ref(), black_box(vars), &counter))
        });
        let one = engine.new_var();
        let chain: Vec<Var> = (0..OPS).map(|_| one.clone()).collect();
        group.bench_with_input(BenchmarkId::new("chain", label), &chain, |b, vars| {
            b.iter(|| run(engine.as_ref(), black_box(vars), &counter))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
