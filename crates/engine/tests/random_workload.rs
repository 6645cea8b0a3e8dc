//! Randomized workloads against serial execution: thousands of operations over tens of variables
//! with random read and write sets, each a non-commutative update. Whatever the schedule, every
//! operation must see the values serial execution in push order gives it, and the final values
//! must match. Also checks the reader/writer exclusion directly while operations run.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use common::{all_engines, within, Rng};
use rmx_engine::{Context, Engine, FnProperty, Var};

const VARS: usize = 24;
const OPS: usize = 3_000;

#[derive(Clone)]
struct Op {
    reads: Vec<usize>,
    writes: Vec<usize>,
    ctx: Context,
    prop: FnProperty,
    priority: i32,
    spin: u32,
}

fn random_ops(seed: u64) -> Vec<Op> {
    let mut rng = Rng(seed);
    (0..OPS)
        .map(|_| {
            let pick = |rng: &mut Rng, max: usize| (0..rng.below(max + 1)).map(|_| rng.below(VARS)).collect::<Vec<_>>();
            let reads = pick(&mut rng, 3);
            let writes = pick(&mut rng, 2);
            // Async runs inline on the pusher when ready at push time: a third schedule to mix in.
            let prop = match rng.below(6) {
                0 => FnProperty::CpuPrioritized,
                1 | 2 => FnProperty::Async,
                _ => FnProperty::Normal,
            };
            Op {
                reads,
                writes,
                ctx: Context::cpu(rng.below(3) as u32),
                prop,
                priority: rng.below(7) as i32 - 3,
                spin: if rng.below(20) == 0 { 2_000 } else { 0 },
            }
        })
        .collect()
}

/// The update every operation applies: order matters for both arguments.
fn mix(old: u64, seen: u64, op: usize) -> u64 {
    (old.rotate_left(7) ^ seen).wrapping_mul(0x100_0000_01B3).wrapping_add(op as u64 + 1)
}

fn digest(values: impl Iterator<Item = u64>) -> u64 {
    values.fold(0xCBF2_9CE4_8422_2325, |acc, v| (acc ^ v).wrapping_mul(0x100_0000_01B3))
}

/// Serial execution in push order: what each operation sees and the final values.
fn serial(ops: &[Op]) -> (Vec<u64>, Vec<u64>) {
    let mut values: Vec<u64> = (0..VARS as u64).collect();
    let mut seen = Vec::with_capacity(ops.len());
    for (i, op) in ops.iter().enumerate() {
        let s = digest(op.reads.iter().map(|&r| values[r]));
        for &w in &op.writes {
            values[w] = mix(values[w], s, i);
        }
        seen.push(s);
    }
    (seen, values)
}

struct Shared {
    values: Vec<AtomicU64>,
    seen: Vec<AtomicU64>,
    readers: Vec<AtomicUsize>,
    writer: Vec<AtomicBool>,
    violations: AtomicUsize,
}

fn run_on(engine: &dyn Engine, ops: &[Op]) -> (Vec<u64>, Vec<u64>, usize) {
    let vars: Vec<Var> = (0..VARS).map(|_| engine.new_var()).collect();
    let shared = Arc::new(Shared {
        values: (0..VARS as u64).map(AtomicU64::new).collect(),
        seen: (0..ops.len()).map(|_| AtomicU64::new(0)).collect(),
        readers: (0..VARS).map(|_| AtomicUsize::new(0)).collect(),
        writer: (0..VARS).map(|_| AtomicBool::new(false)).collect(),
        violations: AtomicUsize::new(0),
    });
    for (i, op) in ops.iter().enumerate() {
        let (sh, op2) = (shared.clone(), op.clone());
        let reads: Vec<Var> = op.reads.iter().map(|&r| vars[r].clone()).collect();
        let writes: Vec<Var> = op.writes.iter().map(|&w| vars[w].clone()).collect();
        let body = Box::new(move |_: &rmx_engine::RunContext| {
            apply(&sh, &op2, i);
            Ok(())
        });
        engine.push(body, op.ctx, &reads, &writes, op.prop, op.priority, "mix".into()).unwrap();
    }
    engine.wait_all().unwrap();
    let seen = shared.seen.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    let values = shared.values.iter().map(|a| a.load(Ordering::SeqCst)).collect();
    (seen, values, shared.violations.load(Ordering::SeqCst))
}

/// The operation body: claims its variables (counting any breach of reader/writer exclusion),
/// reads, optionally lingers, writes, releases.
fn apply(sh: &Shared, op: &Op, i: usize) {
    let writes_also_read = |v: usize| op.writes.contains(&v);
    let mut reads: Vec<usize> = op.reads.iter().copied().filter(|&r| !writes_also_read(r)).collect();
    reads.sort_unstable();
    reads.dedup();
    let mut writes = op.writes.clone();
    writes.sort_unstable();
    writes.dedup();
    for &r in &reads {
        if sh.writer[r].load(Ordering::SeqCst) {
            sh.violations.fetch_add(1, Ordering::SeqCst);
        }
        sh.readers[r].fetch_add(1, Ordering::SeqCst);
    }
    for &w in &writes {
        if sh.writer[w].swap(true, Ordering::SeqCst) || sh.readers[w].load(Ordering::SeqCst) > 0 {
            sh.violations.fetch_add(1, Ordering::SeqCst);
        }
    }
    let s = digest(op.reads.iter().map(|&r| sh.values[r].load(Ordering::SeqCst)));
    for _ in 0..op.spin {
        std::hint::spin_loop();
    }
    sh.seen[i].store(s, Ordering::SeqCst);
    for &w in &op.writes {
        let old = sh.values[w].load(Ordering::SeqCst);
        sh.values[w].store(mix(old, s, i), Ordering::SeqCst);
    }
    for &w in &writes {
        sh.writer[w].store(false, Ordering::SeqCst);
    }
    for &r in &reads {
        sh.readers[r].fetch_sub(1, Ordering::SeqCst);
    }
}

#[test]
fn any_schedule_gives_the_serial_result() {
    within(300, || {
        for seed in 0..6u64 {
            let ops = random_ops(seed);
            let (want_seen, want_values) = serial(&ops);
            for (label, engine) in all_engines() {
                let (seen, values, violations) = run_on(engine.as_ref(), &ops);
                assert_eq!(violations, 0, "{label} seed {seed}: reader/writer exclusion broken");
                let first_bad = seen.iter().zip(&want_seen).position(|(a, b)| a != b);
                assert_eq!(first_bad, None, "{label} seed {seed}: an operation saw values serial execution does not give it");
                assert_eq!(values, want_values, "{label} seed {seed}: final values differ from serial execution");
            }
        }
    });
}

#[test]
fn pushes_from_several_threads_keep_each_threads_order() {
    // Two threads push disjoint halves of the variables; each half must match its own serial run.
    within(120, || {
        for (label, engine) in all_engines() {
            let engine: Arc<dyn Engine> = Arc::from(engine);
            let halves: Vec<(Vec<Op>, Vec<Var>, Arc<Vec<AtomicU64>>)> = (0..2u64)
                .map(|t| {
                    let ops = random_ops(100 + t);
                    let vars = (0..VARS).map(|_| engine.new_var()).collect();
                    (ops, vars, Arc::new((0..VARS as u64).map(AtomicU64::new).collect()))
                })
                .collect();
            std::thread::scope(|s| {
                for (ops, vars, values) in &halves {
                    let engine = engine.clone();
                    s.spawn(move || push_plain(engine.as_ref(), ops, vars, values));
                }
            });
            engine.wait_all().unwrap();
            for (ops, _, values) in &halves {
                let got: Vec<u64> = values.iter().map(|a| a.load(Ordering::SeqCst)).collect();
                assert_eq!(got, serial(ops).1, "{label}: concurrent pushers disturbed each other's order");
            }
        }
    });
}

fn push_plain(engine: &dyn Engine, ops: &[Op], vars: &[Var], values: &Arc<Vec<AtomicU64>>) {
    for (i, op) in ops.iter().enumerate() {
        let (values, op2) = (values.clone(), op.clone());
        let reads: Vec<Var> = op.reads.iter().map(|&r| vars[r].clone()).collect();
        let writes: Vec<Var> = op.writes.iter().map(|&w| vars[w].clone()).collect();
        let body = Box::new(move |_: &rmx_engine::RunContext| {
            let s = digest(op2.reads.iter().map(|&r| values[r].load(Ordering::SeqCst)));
            for &w in &op2.writes {
                values[w].store(mix(values[w].load(Ordering::SeqCst), s, i), Ordering::SeqCst);
            }
            Ok(())
        });
        engine.push(body, op.ctx, &reads, &writes, op.prop, op.priority, "mix".into()).unwrap();
    }
}
