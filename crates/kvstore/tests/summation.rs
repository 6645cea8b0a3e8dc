//! The order of the sums against serial references: `local` adds as MXNet's `CommCPU`
//! (`v0 + (v1 + v2 + v3 + v4) + (v5 + ...)`), `device` left to right; bit for bit.

mod common;

use common::{array, noise, values};
use rmx_engine::Context;
use rmx_graph::NDArray;
use rmx_kernels::DType;
use rmx_kvstore::{KVStore, Key, StoreKind};

fn local_reference(vals: &[Vec<f32>]) -> Vec<f32> {
    let mut acc = vals[0].clone();
    for group in vals[1..].chunks(4) {
        let mut total = group[0].clone();
        for v in &group[1..] {
            total.iter_mut().zip(v).for_each(|(t, x)| *t += x);
        }
        acc.iter_mut().zip(&total).for_each(|(a, t)| *a += t);
    }
    acc
}

fn device_reference(vals: &[Vec<f32>]) -> Vec<f32> {
    let mut acc = vals[0].clone();
    for v in &vals[1..] {
        acc.iter_mut().zip(v).for_each(|(a, x)| *a += x);
    }
    acc
}

/// Pushes `vals` (value i on `cpu(i % 6)`) to a fresh key and pulls the sum.
fn pushed_sum(kind: StoreKind, vals: &[Vec<f32>]) -> Vec<f32> {
    let mut kv = KVStore::new(kind);
    let n = vals[0].len();
    kv.init(&[(Key::Int(0), array(&vec![0.0; n], 0))]).unwrap();
    let pairs: Vec<(Key, NDArray)> = vals.iter().enumerate().map(|(i, v)| (Key::Int(0), array(v, i as u32 % 6))).collect();
    kv.push(&pairs).unwrap();
    let out = NDArray::zeros(&[n], DType::F32, Context::cpu(1)).unwrap();
    kv.pull(&[(Key::Int(0), out.clone())]).unwrap();
    values(&out)
}

#[test]
fn cancelling_values_tell_the_orders_apart() {
    let vals = vec![vec![1.0], vec![1e8], vec![-1e8]];
    assert_eq!(pushed_sum(StoreKind::Local, &vals), vec![1.0]);
    assert_eq!(pushed_sum(StoreKind::Device, &vals), vec![0.0]);
}

#[test]
fn sums_match_the_serial_references_bit_for_bit() {
    let mut local_differs = false;
    for n in 1..=11 {
        for seed in 0..4u64 {
            let vals: Vec<Vec<f32>> = (0..n).map(|i| noise(seed * 100 + i as u64, 64)).collect();
            let local = pushed_sum(StoreKind::Local, &vals);
            let device = pushed_sum(StoreKind::Device, &vals);
            let (lr, dr) = (local_reference(&vals), device_reference(&vals));
            assert_eq!(local.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), lr.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "local, n={n}");
            assert_eq!(device.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), dr.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), "device, n={n}");
            local_differs |= lr != dr;
        }
    }
    assert!(local_differs, "the test values never told the two orders apart");
}

#[test]
fn repeated_pushes_reuse_the_merge_buffer_and_stay_exact() {
    let mut kv = KVStore::new(StoreKind::Local);
    kv.init(&[(Key::from("w"), array(&[0.0; 8], 0))]).unwrap();
    for round in 0..3u64 {
        let vals: Vec<Vec<f32>> = (0..6).map(|i| noise(round * 10 + i, 8)).collect();
        let pairs: Vec<(Key, NDArray)> = vals.iter().enumerate().map(|(i, v)| (Key::from("w"), array(v, i as u32))).collect();
        kv.push(&pairs).unwrap();
        assert_eq!(values(&kv.get(&Key::from("w")).unwrap()), local_reference(&vals), "round {round}");
    }
}

#[test]
fn device_sums_in_the_keys_initial_dtype() {
    let mut kv = KVStore::new(StoreKind::Device);
    let init = NDArray::zeros(&[2], DType::F64, Context::cpu(0)).unwrap();
    kv.init(&[(Key::Int(1), init)]).unwrap();
    kv.push(&[(Key::Int(1), array(&[1.5, 2.0], 0)), (Key::Int(1), array(&[0.25, 1.0], 1))]).unwrap();
    let stored = kv.get(&Key::Int(1)).unwrap();
    assert_eq!(stored.dtype(), DType::F64);
    let out = NDArray::zeros(&[2], DType::F32, Context::cpu(0)).unwrap();
    kv.pull(&[(Key::Int(1), out.clone())]).unwrap();
    assert_eq!(values(&out), vec![1.75, 3.0]);
}
