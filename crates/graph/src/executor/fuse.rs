//! Elementwise fusion (CPU): chains of elementwise nodes (`a * b + 1`, `relu(x + bias)`) become
//! one `_FusedElemwise` node that runs every step over a cache-sized block before moving on, so
//! the intermediate arrays are never written to memory and need no buffer.
//!
//! A node's output is folded into its reader when both operators have block kernels
//! ([`Operator::block_kernel`]), the entry has that one reader (not a graph output, not read by
//! the backward graph) and every entry of the chain has one shape and a float dtype. Each step
//! runs the operator's own arithmetic, so the fused graph gives bitwise the unfused numbers.
//! Off unless `RMX_FUSE_ELEMWISE=1`.

use std::collections::HashMap;
use std::sync::Arc;

use rmx_engine::BoxError;
use rmx_kernels::fused::{self, Operand, Step};
use rmx_kernels::DType;

use super::ExecNode;
use rmx_operators::error::Result;
use rmx_operators::operator::{OpCtx, BlockKernel, Operator, Tensor, TensorDesc};

/// The switch.
pub const FUSION_ENV: &str = "RMX_FUSE_ELEMWISE";

pub fn enabled() -> bool {
    std::env::var(FUSION_ENV).is_ok_and(|v| matches!(v.trim(), "1" | "true" | "on"))
}

/// The fused chain: steps in order, each reading fused inputs or earlier steps; the last
/// step's result is the output.
struct FusedElemwise {
    steps: Vec<Step>,
    out: TensorDesc,
}

impl Operator for FusedElemwise {
    fn infer(&self, _inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        Ok(vec![self.out.clone()])
    }

    fn compute(&self, _ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        fused::run(&self.steps, inputs, &mut outputs[0])?;
        Ok(())
    }
}

/// The forward nodes with elementwise chains fused; `backward` and `heads` say which entries
/// must stay.
pub(crate) fn fuse(forward: Vec<ExecNode>, backward: &[ExecNode], descs: &[TensorDesc], heads: &[usize]) -> Vec<ExecNode> {
    let readers = reader_counts(&forward, backward, heads, descs.len());
    let float = |e: usize| matches!(descs[e].dtype, DType::F32 | DType::F64);
    let kernels: Vec<Option<BlockKernel>> = forward
        .iter()
        .map(|n| {
            let out = *n.outputs.first()?;
            let same = n.outputs.len() == 1 && float(out) && n.inputs.iter().all(|&e| descs[e] == descs[out]);
            if same { n.op.block_kernel() } else { None }
        })
        .collect();
    let producer: HashMap<usize, usize> = forward.iter().enumerate().flat_map(|(k, n)| n.outputs.iter().map(move |&e| (e, k))).collect();
    // A node is absorbed into the one node reading its output.
    let mut absorbed = vec![false; forward.len()];
    for (k, n) in forward.iter().enumerate() {
        if kernels[k].is_none() {
            continue;
        }
        for &e in &n.inputs {
            if let Some(&p) = producer.get(&e) {
                absorbed[p] |= kernels[p].is_some() && readers[e] == 1;
            }
        }
    }
    let mut out = Vec::with_capacity(forward.len());
    for k in 0..forward.len() {
        if absorbed[k] {
            continue;
        }
        let fused = kernels[k].is_some() && forward[k].inputs.iter().any(|e| producer.get(e).is_some_and(|&p| absorbed[p]));
        if !fused {
            out.push(forward[k].clone());
            continue;
        }
        out.push(chain(&forward, &kernels, &producer, &absorbed, k, descs));
    }
    out
}

/// How many reads each of the `n` entries has: forward and backward nodes' inputs, and a
/// graph output counted twice (so it is never taken for an intermediate with one reader).
pub(super) fn reader_counts(forward: &[ExecNode], backward: &[ExecNode], heads: &[usize], n: usize) -> Vec<usize> {
    let mut readers = vec![0usize; n];
    for node in forward.iter().chain(backward) {
        for &e in &node.inputs {
            readers[e] += 1;
        }
    }
    for &h in heads {
        readers[h] += 2;
    }
    readers
}

/// The `_FusedElemwise` node for the chain ending at node `root`.
fn chain(forward: &[ExecNode], kernels: &[Option<BlockKernel>], producer: &HashMap<usize, usize>, absorbed: &[bool], root: usize, descs: &[TensorDesc]) -> ExecNode {
    // The chain's nodes (a tree: each absorbed node has one reader), found without recursion.
    let mut members = vec![root];
    let mut stack = vec![root];
    while let Some(k) = stack.pop() {
        for e in &forward[k].inputs {
            if let Some(&p) = producer.get(e).filter(|&&p| absorbed[p]) {
                members.push(p);
                stack.push(p);
            }
        }
    }
    members.sort_unstable();
    let mut step_of: HashMap<usize, usize> = HashMap::new();
    let mut inputs: Vec<usize> = Vec::new();
    let mut steps = Vec::with_capacity(members.len());
    for (s, &k) in members.iter().enumerate() {
        let args = forward[k]
            .inputs
            .iter()
            .map(|e| match producer.get(e).and_then(|p| step_of.get(p)) {
                Some(&st) => Operand::Step(st),
                None => Operand::Input(inputs.iter().position(|x| x == e).unwrap_or_else(|| {
                    inputs.push(*e);
                    inputs.len() - 1
                })),
            })
            .collect();
        let kernel = kernels[k].clone().expect("a fused node has a block kernel");
        steps.push(Step { kernel, args });
        step_of.insert(k, s);
    }
    let r = &forward[root];
    let op: Arc<dyn Operator> = Arc::new(FusedElemwise { steps, out: descs[r.outputs[0]].clone() });
    ExecNode { op, op_name: "_FusedElemwise", name: r.name.clone(), inputs, outputs: r.outputs.clone(), unused: 0 }
}
