//! Asynchronous operations (`push_async`): the operation holds its variables until its
//! completion reports, from another thread; a failure reported there follows the error rule; a
//! dropped completion fails the operation instead of holding its variables forever; and no worker
//! thread waits meanwhile (one worker runs other pushes while an asynchronous one is open).

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{all_engines, within};
use rmx_engine::{AsyncOprFn, Completion, Context, EngineConfig, EngineKind, FnProperty, ThreadedEngine, Engine};

fn later(delay_ms: u64, log: Arc<Mutex<Vec<&'static str>>>, tag: &'static str, fail: bool) -> AsyncOprFn {
    Box::new(move |_: &_, done: Completion| {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(delay_ms));
            log.lock().unwrap().push(tag);
            done.done(if fail { Err("remote peer lost".into()) } else { Ok(()) });
        });
    })
}

#[test]
fn a_write_after_an_async_write_waits_for_its_completion() {
    for (name, engine) in all_engines() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let v = engine.new_var();
        engine.push_async(later(50, log.clone(), "async", false), Context::cpu(0), &[], &[v.clone()], FnProperty::Normal, 0, "recv".into()).unwrap();
        let l = log.clone();
        engine.push(Box::new(move |_: &_| { l.lock().unwrap().push("after"); Ok(()) }), Context::cpu(0), &[v.clone()], &[], FnProperty::Normal, 0, "read".into()).unwrap();
        engine.wait_all().unwrap();
        assert_eq!(*log.lock().unwrap(), vec!["async", "after"], "{name}");
    }
}

#[test]
fn a_failure_reported_by_the_completion_lands_on_the_writes() {
    for (name, engine) in all_engines() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let v = engine.new_var();
        engine.push_async(later(10, log, "x", true), Context::cpu(0), &[], &[v.clone()], FnProperty::Normal, 0, "KVStoreDistPull".into()).unwrap();
        let err = engine.wait_for_var(&v).unwrap_err();
        assert_eq!(err.op(), "KVStoreDistPull", "{name}");
        assert!(err.to_string().contains("remote peer lost"), "{name}: {err}");
    }
}

#[test]
fn a_dropped_completion_fails_the_operation() {
    for (name, engine) in all_engines() {
        let v = engine.new_var();
        engine.push_async(Box::new(|_: &_, done: Completion| drop(done)), Context::cpu(0), &[], &[v.clone()], FnProperty::Normal, 0, "lost".into()).unwrap();
        let err = within(10, move || engine.wait_for_var(&v)).unwrap_err();
        assert!(err.to_string().contains("without reporting its completion"), "{name}: {err}");
    }
}

#[test]
fn an_open_async_operation_blocks_no_worker() {
    let engine = ThreadedEngine::new(EngineConfig::default().with_kind(EngineKind::Threaded).with_cpu_workers(1));
    let (a, b) = (engine.new_var(), engine.new_var());
    let (tx, rx) = mpsc::channel::<Completion>();
    let hold: AsyncOprFn = Box::new(move |_: &_, done: Completion| tx.send(done).unwrap());
    engine.push_async(hold, Context::cpu(0), &[], &[a.clone()], FnProperty::Normal, 0, "hold".into()).unwrap();
    engine.push(Box::new(|_: &_| Ok(())), Context::cpu(0), &[], &[b.clone()], FnProperty::Normal, 0, "other".into()).unwrap();
    let done = rx.recv_timeout(Duration::from_secs(10)).unwrap();
    let engine = Arc::new(engine);
    let e = engine.clone();
    within(10, move || e.wait_for_var(&b)).unwrap(); // ran on the single worker while `hold` is open
    done.done(Ok(()));
    within(10, move || engine.wait_for_var(&a)).unwrap();
}
