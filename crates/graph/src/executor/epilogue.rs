//! Epilogue fusion (on by default): a dense layer whose output one elementwise activation alone
//! reads (`relu(FullyConnected(x))`) becomes one node that writes the activation's result as
//! it writes the product, while each band of the output is in cache: one operator and one
//! pass over memory fewer, and no buffer for the pre-activation values.
//!
//! The activation's output entry stays what it was, so the backward graph is unchanged: the
//! activation's gradient reads that output, and the layer's gradient reads its inputs and the
//! activation's gradient, never the pre-activation values. When something else reads them (a
//! graph output, softsign's gradient, a second reader), the pair is left alone. The layer maps
//! with the activation's own block kernel, so the fused graph computes the unfused numbers bit
//! for bit. `RMX_FUSE_EPILOGUE=0` turns it off (to compare, or to profile the two operators).

use std::collections::HashMap;

use rmx_kernels::DType;
use rmx_operators::operator::TensorDesc;

use super::fuse::reader_counts;
use super::ExecNode;

/// The switch (on unless set to `0`, `false` or `off`).
pub const EPILOGUE_ENV: &str = "RMX_FUSE_EPILOGUE";

pub fn enabled() -> bool {
    !std::env::var(EPILOGUE_ENV).is_ok_and(|v| matches!(v.trim(), "0" | "false" | "off"))
}

/// The name fused nodes run under (in the profiler, and in errors).
pub const FUSED_NAME: &str = "FullyConnected+Activation";

/// The forward nodes with each fusable (layer, activation) pair made one node, at the
/// activation's place; `backward` and `heads` say which entries other nodes still read.
pub(crate) fn fuse(forward: Vec<ExecNode>, backward: &[ExecNode], descs: &[TensorDesc], heads: &[usize]) -> Vec<ExecNode> {
    let readers = reader_counts(&forward, backward, heads, descs.len());
    let producer: HashMap<usize, usize> = forward.iter().enumerate().flat_map(|(k, n)| n.outputs.iter().map(move |&e| (e, k))).collect();
    // fused[k] for an activation k: its layer's node index and the fused node.
    let mut fused: HashMap<usize, (usize, ExecNode)> = HashMap::new();
    for (k, act) in forward.iter().enumerate() {
        let ([e], [out]) = (act.inputs.as_slice(), act.outputs.as_slice()) else { continue };
        let Some(&p) = producer.get(e) else { continue };
        let layer = &forward[p];
        let float = matches!(descs[*out].dtype, DType::F32 | DType::F64);
        if readers[*e] != 1 || layer.outputs.len() != 1 || !float || descs[*e] != descs[*out] {
            continue;
        }
        let Some(op) = act.op.block_kernel().and_then(|post| layer.op.with_epilogue(post)) else { continue };
        let node = ExecNode { op, op_name: FUSED_NAME, name: act.name.clone(), inputs: layer.inputs.clone(), outputs: act.outputs.clone(), unused: 0 };
        fused.insert(k, (p, node));
    }
    if fused.is_empty() {
        return forward;
    }
    let layers: Vec<usize> = fused.values().map(|(p, _)| *p).collect();
    let mut out = Vec::with_capacity(forward.len() - fused.len());
    for (k, node) in forward.into_iter().enumerate() {
        if layers.contains(&k) {
            continue;
        }
        out.push(fused.remove(&k).map_or(node, |(_, f)| f));
    }
    out
}
