//! Variable deletion while work is pending, waits with nothing pushed, and a stress run of
//! 100,000 tiny operations pushed from two threads at once.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::{all_engines, push, within};
use rmx_engine::{Context, Engine, EngineError, FnProperty};

#[test]
fn wait_all_with_nothing_pushed_returns() {
    within(10, || {
        for (_, e) in all_engines() {
            assert!(e.wait_all().is_ok());
            let v = e.new_var();
            assert!(e.wait_for_var(&v).is_ok());
            assert_eq!(v.version(), 0);
        }
    });
}

#[test]
fn delete_var_waits_for_pending_work_and_refuses_later_pushes() {
    within(30, || {
        for (label, e) in all_engines() {
            let v = e.new_var();
            let done = Arc::new(AtomicUsize::new(0));
            for _ in 0..5 {
                let done = done.clone();
                push(e.as_ref(), &[], &[v.clone()], "slow_write", Box::new(move |_| {
                    std::thread::sleep(Duration::from_millis(5));
                    done.fetch_add(1, Ordering::SeqCst);
                    Ok(())
                }));
            }
            e.delete_var(v.clone());
            let refused = e.push(Box::new(|_| Ok(())), Context::cpu(0), &[v.clone()], &[], FnProperty::Normal, 0, "late_read".into());
            assert!(matches!(refused, Err(EngineError::VarDeleted { .. })), "{label}: {refused:?}");
            assert!(e.wait_all().is_ok(), "{label}");
            assert_eq!(done.load(Ordering::SeqCst), 5, "{label}: pending work on a deleted variable still runs");
        }
    });
}

#[test]
fn stress_100k_tiny_ops_from_two_threads() {
    within(120, || {
        for (label, e) in all_engines() {
            let e: Arc<dyn Engine> = Arc::from(e);
            let shared = e.new_var();
            let count = Arc::new(AtomicUsize::new(0));
            std::thread::scope(|s| {
                for t in 0..2 {
                    let (e, shared, count) = (e.clone(), shared.clone(), count.clone());
                    s.spawn(move || {
                        let own: Vec<_> = (0..16).map(|_| e.new_var()).collect();
                        for i in 0..50_000 {
                            let count = count.clone();
                            let body = Box::new(move |_: &_| {
                                count.fetch_add(1, Ordering::Relaxed);
                                Ok(())
                            });
                            // Mostly independent writes, sometimes a read of or a write to a variable both threads use.
                            let v = own[i % own.len()].clone();
                            match (i + t) % 10 {
                                0 => push(e.as_ref(), &[shared.clone()], &[v], "tiny", body),
                                5 => push(e.as_ref(), &[v], &[shared.clone()], "tiny", body),
                                _ => push(e.as_ref(), &[], &[v], "tiny", body),
                            }
                        }
                    });
                }
            });
            assert!(e.wait_all().is_ok(), "{label}");
            assert_eq!(count.load(Ordering::Relaxed), 100_000, "{label}");
        }
    });
}
