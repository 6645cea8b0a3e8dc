//! The store's errors (MXNet's messages) and its quirks: a single pushed value kept as is, the
//! updater's calls.

mod common;

use std::sync::{Arc, Mutex};

use common::{array, values};
use rmx_engine::{BoxError, Context};
use rmx_graph::NDArray;
use rmx_kvstore::{KVStore, KVStoreError, Key, StoreKind};

fn store(kind: StoreKind) -> KVStore {
    KVStore::new(kind)
}

#[test]
fn key_errors_carry_mxnets_messages() {
    let mut kv = store(StoreKind::Local);
    kv.init(&[(Key::Int(3), array(&[0.0], 0))]).unwrap();
    let e = kv.init(&[(Key::Int(3), array(&[0.0], 0))]).unwrap_err();
    assert!(matches!(e, KVStoreError::DuplicateInit(Key::Int(3))));
    assert!(e.to_string().starts_with("duplicate init of key 3. Please double check"), "{e}");
    let e = kv.init(&[(Key::from("a"), array(&[0.0], 0))]).unwrap_err();
    assert!(matches!(e, KVStoreError::MixedKeyTypes));
    assert_eq!(e.to_string(), "Mixed key types are not allowed");
    let e = kv.pull(&[(Key::Int(11), array(&[0.0], 0))]).unwrap_err();
    assert_eq!(e.to_string(), "key 11 has not been inited");
    let e = kv.push(&[(Key::Int(12), array(&[0.0], 0))]).unwrap_err();
    assert!(matches!(e, KVStoreError::NotInited(Key::Int(12))));

    let mut kv = store(StoreKind::Device);
    kv.init(&[(Key::from("s"), array(&[0.0], 0))]).unwrap();
    assert_eq!(kv.init(&[(Key::from("s"), array(&[0.0], 0))]).unwrap_err().to_string(), "duplicate init of key s");
    assert_eq!(kv.pull(&[(Key::from("t"), array(&[0.0], 0))]).unwrap_err().to_string(), "key t doesn't exist. Did you init?");
    assert!(matches!(kv.pull(&[(Key::Int(0), array(&[0.0], 0))]).unwrap_err(), KVStoreError::MixedKeyTypes));
}

#[test]
fn shape_and_operator_errors_are_typed() {
    let mut kv = store(StoreKind::Local);
    kv.init(&[(Key::Int(0), array(&[0.0, 1.0], 0))]).unwrap();
    let e = kv.pull(&[(Key::Int(0), array(&[0.0], 0))]).unwrap_err();
    assert!(matches!(e, KVStoreError::Shape { .. }));
    assert_eq!(e.to_string(), "copyto: shape (2,) into shape (1,)");
    let e = kv.push(&[(Key::Int(0), array(&[0.0, 1.0], 0)), (Key::Int(0), array(&[1.0], 1))]).unwrap_err();
    assert!(matches!(e, KVStoreError::Shape { .. } | KVStoreError::Graph(_)), "{e:?}");
}

#[test]
fn store_names() {
    assert_eq!(StoreKind::from_name("local").unwrap(), StoreKind::Local);
    assert_eq!(StoreKind::from_name("local_update_cpu").unwrap(), StoreKind::Local);
    assert_eq!(StoreKind::from_name("local_allreduce_device").unwrap(), StoreKind::Device);
    for name in ["dist_sync", "dist_device_sync", "nccl", "horovod", "byteps"] {
        assert!(matches!(StoreKind::from_name(name), Err(KVStoreError::Unsupported(_))), "{name}");
    }
    let e = StoreKind::from_name("dist_async").unwrap_err().to_string();
    assert!(e.contains("is distributed"), "{e}");
}

#[test]
fn a_single_pushed_value_is_kept_not_copied() {
    let mut kv = store(StoreKind::Local);
    kv.init(&[(Key::Int(5), array(&[0.0; 3], 0))]).unwrap();
    let a = array(&[1.0; 3], 0);
    kv.push(&[(Key::Int(5), a.clone())]).unwrap();
    assert!(kv.get(&Key::Int(5)).unwrap().same_chunk(&a));
    kv.push(&[(Key::Int(5), array(&[1.0; 3], 0)), (Key::Int(5), array(&[1.0; 3], 1))]).unwrap();
    assert!(!kv.get(&Key::Int(5)).unwrap().same_chunk(&a));
    assert_eq!(values(&kv.get(&Key::Int(5)).unwrap()), vec![2.0; 3]);
}

#[test]
fn the_updater_runs_per_key_in_id_order_on_the_stored_device() {
    type Calls = Arc<Mutex<Vec<(Key, Context, Context)>>>;
    let calls: Calls = Arc::default();
    let seen = calls.clone();
    let mut kv = store(StoreKind::Device);
    kv.init(&[(Key::Int(9), array(&[0.0], 0)), (Key::Int(2), array(&[0.0, 0.0], 0))]).unwrap();
    kv.set_updater(Some(Box::new(move |key: &Key, grad: &NDArray, stored: &NDArray| -> Result<(), BoxError> {
        seen.lock().unwrap().push((key.clone(), grad.ctx(), stored.ctx()));
        Ok(())
    })));
    kv.push(&[(Key::Int(9), array(&[1.0], 1)), (Key::Int(2), array(&[1.0, 1.0], 1)), (Key::Int(9), array(&[1.0], 2))]).unwrap();
    let calls = calls.lock().unwrap();
    assert_eq!(calls.iter().map(|c| c.0.clone()).collect::<Vec<_>>(), vec![Key::Int(2), Key::Int(9)]);
    assert!(calls.iter().all(|c| c.1 == Context::cpu(0) && c.2 == Context::cpu(0)));
}

#[test]
fn an_updater_failure_names_the_key_and_keeps_its_cause() {
    let mut kv = store(StoreKind::Local);
    kv.init(&[(Key::from("w"), array(&[0.0], 0))]).unwrap();
    kv.set_updater(Some(Box::new(|_: &Key, _: &NDArray, _: &NDArray| -> Result<(), BoxError> { Err("no optimizer".into()) })));
    match kv.push(&[(Key::from("w"), array(&[1.0], 0))]).unwrap_err() {
        KVStoreError::Updater { key, source } => {
            assert_eq!(key, Key::from("w"));
            assert_eq!(source.to_string(), "no optimizer");
        }
        other => panic!("{other:?}"),
    }
}
