//! The error rule (crate doc of rmx-engine): a failure lands on what the failing operation writes,
//! flows to what reads it, surfaces at the waits on those variables and at `wait_all`, and only
//! there; a later successful write clears it. Every case runs on every engine flavour.

mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;

use common::{all_engines, push, within};
use rmx_engine::{EngineError, OprFn};

#[derive(Debug)]
struct Boom;
impl std::fmt::Display for Boom {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("boom")
    }
}
impl std::error::Error for Boom {}

fn ok() -> OprFn {
    Box::new(|_| Ok(()))
}

fn fail() -> OprFn {
    Box::new(|_| Err(Box::new(Boom)))
}

fn flag(ran: &Arc<AtomicBool>) -> OprFn {
    let ran = ran.clone();
    Box::new(move |_| {
        ran.store(true, Ordering::SeqCst);
        Ok(())
    })
}

/// A slow first operation, so later pushes queue behind it on the threaded engines.
fn slow() -> OprFn {
    Box::new(|_| {
        std::thread::sleep(std::time::Duration::from_millis(20));
        Ok(())
    })
}

fn failed_at(result: Result<(), EngineError>, op: &str) {
    match result {
        Err(e) => {
            assert_eq!(e.op(), op, "failure should name the operation it started in: {e}");
            if let EngineError::OpFailed { cause, .. } = &e {
                assert!(cause.downcast_ref::<Boom>().is_some(), "the original error must be kept");
            }
        }
        Ok(()) => panic!("expected the failure of {op}"),
    }
}

#[test]
fn failure_mid_chain_reaches_dependents_only() {
    within(60, || {
        for (label, e) in all_engines() {
            let (a, b, c, d, x) = (e.new_var(), e.new_var(), e.new_var(), e.new_var(), e.new_var());
            let (ran_c, ran_d, ran_x) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)), Arc::new(AtomicBool::new(false)));
            push(e.as_ref(), &[], std::slice::from_ref(&a), "make_a", slow());
            push(e.as_ref(), std::slice::from_ref(&a), std::slice::from_ref(&b), "bad_op", fail());
            push(e.as_ref(), std::slice::from_ref(&b), std::slice::from_ref(&c), "use_b", flag(&ran_c));
            push(e.as_ref(), &[c.clone(), a.clone()], &[d.clone()], "use_c", flag(&ran_d));
            push(e.as_ref(), std::slice::from_ref(&a), &[x.clone()], "independent", flag(&ran_x));

            assert!(e.wait_for_var(&x).is_ok(), "{label}: independent variable must not fail");
            assert!(e.wait_for_var(&a).is_ok(), "{label}: the failing op's input stays clean");
            failed_at(e.wait_for_var(&d), "bad_op");
            failed_at(e.wait_for_var(&c), "bad_op");
            failed_at(e.wait_for_var(&b), "bad_op");
            failed_at(e.wait_for_var(&b), "bad_op"); // it stays until a write replaces it
            assert!(ran_x.load(Ordering::SeqCst), "{label}");
            assert!(!ran_c.load(Ordering::SeqCst) && !ran_d.load(Ordering::SeqCst), "{label}: dependents must not run");
            // Reported at a wait already, so wait_all has nothing left to raise.
            assert!(e.wait_all().is_ok(), "{label}");
        }
    });
}

#[test]
fn wait_all_raises_an_unreported_failure_once() {
    within(60, || {
        for (label, e) in all_engines() {
            let (a, b) = (e.new_var(), e.new_var());
            push(e.as_ref(), &[], std::slice::from_ref(&a), "first_bad", fail());
            push(e.as_ref(), &[], std::slice::from_ref(&b), "second_bad", fail());
            failed_at(e.wait_all(), "first_bad");
            assert!(e.wait_all().is_ok(), "{label}: wait_all reports each failure once");
            // The values are still failed: a wait on them still says so.
            failed_at(e.wait_for_var(&b), "second_bad");
        }
    });
}

#[test]
fn a_successful_write_clears_a_failure_but_read_modify_write_inherits_it() {
    within(60, || {
        for (label, e) in all_engines() {
            let (a, b) = (e.new_var(), e.new_var());
            push(e.as_ref(), &[], std::slice::from_ref(&a), "bad_a", fail());
            push(e.as_ref(), &[], std::slice::from_ref(&b), "bad_b", fail());
            let ran = Arc::new(AtomicBool::new(false));
            push(e.as_ref(), std::slice::from_ref(&a), std::slice::from_ref(&a), "a_plus_1", flag(&ran)); // reads and writes a
            push(e.as_ref(), &[], std::slice::from_ref(&b), "reset_b", ok()); // writes b without reading it
            failed_at(e.wait_for_var(&a), "bad_a");
            assert!(!ran.load(Ordering::SeqCst), "{label}: a read-modify-write of a failed variable must not run");
            assert!(e.wait_for_var(&b).is_ok(), "{label}: a fresh write clears the failure");
            let _ = e.wait_all();
        }
    });
}

#[test]
fn a_panic_is_caught_and_the_workers_live_on() {
    within(60, || {
        for (label, e) in all_engines() {
            let v = e.new_var();
            push(e.as_ref(), &[], &[v.clone()], "panicky", Box::new(|_| panic!("kernel bug")));
            match e.wait_for_var(&v) {
                Err(EngineError::OpPanicked { op, message }) => {
                    assert_eq!(op, "panicky");
                    assert!(message.contains("kernel bug"), "{label}: {message}");
                }
                other => panic!("{label}: expected the panic as an error, got {other:?}"),
            }
            let count = Arc::new(AtomicUsize::new(0));
            for _ in 0..100 {
                let count = count.clone();
                let w = e.new_var();
                push(e.as_ref(), &[], &[w], "after", Box::new(move |_| {
                    count.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }));
            }
            assert!(e.wait_all().is_ok(), "{label}");
            assert_eq!(count.load(Ordering::SeqCst), 100, "{label}: workers must survive a panic");
        }
    });
}
