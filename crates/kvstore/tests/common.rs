//! Helpers shared by the store's tests: f32 arrays in and out.
#![allow(dead_code)] // each test file uses some of the helpers

use rmx_engine::Context;
use rmx_graph::NDArray;
use rmx_kernels::DType;

pub fn array(values: &[f32], dev: u32) -> NDArray {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    NDArray::from_bytes(&[values.len()], DType::F32, Context::cpu(dev), &bytes).unwrap()
}

pub fn values(a: &NDArray) -> Vec<f32> {
    let mut bytes = vec![0u8; a.nbytes()];
    a.read_into(&mut bytes).unwrap();
    bytes.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect()
}

/// A deterministic stream of values spanning many magnitudes, so that sums round differently
/// in different orders.
pub fn noise(seed: u64, n: usize) -> Vec<f32> {
    let mut s = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let unit = ((s >> 40) as f32) / (1u64 << 24) as f32 - 0.5;
            let scale = [1e-3f32, 1.0, 1e4, 1e8][(s >> 20) as usize % 4];
            unit * scale
        })
        .collect()
}
