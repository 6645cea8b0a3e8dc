//! Epilogue fusion (on by default): a dense layer whose output one elementwise operator alone
//! reads (its activation, `relu(FullyConnected(x))`, or any one-input operator with a block
//! kernel, such as `FullyConnected(x) * 2`) becomes one node (`FullyConnected+Activation`,
//! `FullyConnected+_mul_scalar`) that writes the operator's result as it writes the product,
//! while each band of the output is in cache: one operator and one pass over memory fewer, and
//! no buffer for the pre-activation values.
//!
//! The activation's output entry stays what it was, so the backward graph is unchanged: the
//! activation's gradient reads that output, and the layer's gradient reads its inputs and the
//! activation's gradient, never the pre-activation values. When something else reads them (a
//! graph output, softsign's gradient, a second reader), the pair is left alone. The layer maps
//! with the activation's own block kernel, so the fused graph computes the unfused numbers bit
//! for bit. `RMX_FUSE_EPILOGUE=0` turns it off (to compare, or to profile the two operators).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rmx_kernels::DType;
use rmx_operators::operator::TensorDesc;

use super::fuse::reader_counts;
use super::ExecNode;

/// The switch (on unless set to `0`, `false` or `off`).
pub const EPILOGUE_ENV: &str = "RMX_FUSE_EPILOGUE";

pub fn enabled() -> bool {
    !std::env::var(EPILOGUE_ENV).is_ok_and(|v| matches!(v.trim(), "0" | "false" | "off"))
}

/// The name a fused node runs under (in the profiler and `debug_str`): `<layer>+<operator>`.
/// Interned once per pair of registered operator names (a bounded set).
fn fused_name(layer: &'static str, act: &'static str) -> &'static str {
    static NAMES: Mutex<Vec<((&'static str, &'static str), &'static str)>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(&(_, name)) = names.iter().find(|(pair, _)| *pair == (layer, act)) {
        return name;
    }
    let name: &'static str = Box::leak(format!("{layer}+{act}").into_boxed_str());
    names.push(((layer, act), name));
    name
}

/// The forward nodes with each fusable (layer, elementwise operator) pair made one node, at
/// the layer's place (the operator reads nothing else, so nothing it waited for is passed);
/// `backward` and `heads` say which entries other nodes still read.
pub(crate) fn fuse(forward: Vec<ExecNode>, backward: &[ExecNode], descs: &[TensorDesc], heads: &[usize]) -> Vec<ExecNode> {
    let readers = reader_counts(&forward, backward, heads, descs.len());
    let producer: HashMap<usize, usize> = forward.iter().enumerate().flat_map(|(k, n)| n.outputs.iter().map(move |&e| (e, k))).collect();
    // For a layer p: the fused node that takes its place; `gone[k]`: its operator node k.
    let mut fused: HashMap<usize, ExecNode> = HashMap::new();
    let mut gone = vec![false; forward.len()];
    for (k, act) in forward.iter().enumerate() {
        let ([e], [out]) = (act.inputs.as_slice(), act.outputs.as_slice()) else { continue };
        let Some(&p) = producer.get(e) else { continue };
        let layer = &forward[p];
        // Only where the layer computes in the output's own dtype: a float16 output rounds the
        // pre-activation before the operator reads it, which a fused float32 epilogue would not.
        let float = matches!(descs[*out].dtype, DType::F32 | DType::F64);
        if readers[*e] != 1 || layer.outputs.len() != 1 || !float || descs[*e] != descs[*out] {
            continue;
        }
        let Some(op) = act.op.block_kernel().and_then(|post| layer.op.with_epilogue(post)) else { continue };
        let name = fused_name(layer.op_name, act.op_name);
        fused.insert(p, ExecNode { op: Arc::from(op), op_name: name, name: act.name.clone(), inputs: layer.inputs.clone(), outputs: act.outputs.clone(), unused: 0 });
        gone[k] = true;
    }
    forward.into_iter().enumerate().filter(|(k, _)| !gone[*k]).map(|(k, node)| fused.remove(&k).unwrap_or(node)).collect()
}
