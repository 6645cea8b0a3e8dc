//! The executor: a symbol bound to arrays. Binding infers every shape, builds the backward graph
//! with the gradient pass, plans buffers and then, for each `forward`/`backward`, pushes each
//! node's kernel to the engine exactly as the imperative path does (`push_compute`), so both
//! paths share kernels, asynchrony and error behaviour.

pub mod epilogue;
pub mod fuse;
mod gradient;
pub mod memory;

use std::sync::Arc;

use rmx_engine::Context;

use rmx_operators::error::{GraphError, Result};
use crate::invoke::{invoke, push_compute};
use crate::ndarray::{Chunk, NDArray};
pub use memory::{MemoryPlan, MemoryStrategy, Step};
use rmx_operators::operator::{OpCtx, Operator, TensorDesc};
use crate::symbol::{infer, IndexedGraph, Symbol};
use crate::Attrs;

/// How an argument's (or autograd variable's) gradient is stored: MXNet's `grad_req`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GradReq {
    Null,
    Write,
    Add,
}

impl GradReq {
    pub fn parse(s: &str) -> Result<GradReq> {
        match s {
            "null" => Ok(GradReq::Null),
            "write" | "inplace" => Ok(GradReq::Write),
            "add" => Ok(GradReq::Add),
            other => Err(GraphError::Invalid(format!("grad_req must be 'write', 'add' or 'null', got '{other}'"))),
        }
    }

    /// MXNet's name for it.
    pub fn name(self) -> &'static str {
        match self {
            GradReq::Null => "null",
            GradReq::Write => "write",
            GradReq::Add => "add",
        }
    }
}

/// One operator call of the bound graph, on entry ids.
#[derive(Clone)]
pub(crate) struct ExecNode {
    pub op: Arc<dyn Operator>,
    pub op_name: &'static str,
    pub name: String,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
    /// Bit `i`: output `i` is read by nothing (set at bind, passed on in `OpCtx::unused`).
    pub unused: u64,
}

pub struct Executor {
    pub symbol: Symbol,
    pub ctx: Context,
    pub arg_names: Vec<String>,
    pub aux_names: Vec<String>,
    pub arg_arrays: Vec<NDArray>,
    pub grad_arrays: Vec<Option<NDArray>>,
    pub grad_reqs: Vec<GradReq>,
    pub aux_arrays: Vec<NDArray>,
    pub outputs: Vec<NDArray>,
    forward_nodes: Vec<ExecNode>,
    backward_nodes: Vec<ExecNode>,
    /// Every entry's shape and dtype (forward, then backward).
    descs: Vec<TensorDesc>,
    arrays: Vec<NDArray>,
    head_grads: Vec<usize>,
    /// Bytes of the buffers the executor allocated itself (not arguments, gradients, aux).
    internal_bytes: usize,
    strategy: MemoryStrategy,
}

fn mismatch(kind: &str, name: &str, given: &TensorDesc, inferred: &TensorDesc) -> GraphError {
    rmx_operators::error::shape_err(
        "bind",
        format!("{kind} '{name}' is {:?} {}, but the graph infers {:?} {}", given.shape.as_slice(), given.dtype, inferred.shape.as_slice(), inferred.dtype),
    )
}

/// A graph ready to allocate: every entry's shape and dtype, the forward and backward nodes.
struct Prepared {
    g: IndexedGraph,
    forward_nodes: Vec<ExecNode>,
    grad: gradient::Plan,
}

impl Prepared {
    /// Infers every entry from the arguments' and auxiliary states' descriptions, then builds
    /// the backward graph for `grad_reqs`.
    fn new(sym: &Symbol, args: &[TensorDesc], aux: &[TensorDesc], grad_reqs: &[GradReq]) -> Result<Prepared> {
        let g = IndexedGraph::new(sym);
        let name = |n: &usize| g.nodes[*n].name.clone();
        if args.len() != g.args.len() || grad_reqs.len() != g.args.len() {
            let names: Vec<String> = g.args.iter().map(name).collect();
            return Err(GraphError::Invalid(format!("bind: the symbol has {} arguments ({}), got {} arrays and {} grad_req", names.len(), names.join(", "), args.len(), grad_reqs.len())));
        }
        if aux.len() != g.aux.len() {
            let names: Vec<String> = g.aux.iter().map(name).collect();
            return Err(GraphError::Invalid(format!("bind: the symbol has {} auxiliary states ({}), got {} arrays", names.len(), names.join(", "), aux.len())));
        }
        let n_entries = g.num_entries();
        let mut shapes = vec![None; n_entries];
        let mut dtypes = vec![None; n_entries];
        for (&n, a) in g.args.iter().zip(args).chain(g.aux.iter().zip(aux)) {
            shapes[g.entry(n, 0)] = Some(a.shape.clone());
            dtypes[g.entry(n, 0)] = Some(a.dtype);
        }
        let inf = infer(&g, shapes, dtypes)?;
        let mut descs = Vec::with_capacity(n_entries);
        for e in 0..n_entries {
            match (&inf.shapes[e], inf.dtypes[e]) {
                (Some(s), Some(d)) => descs.push(TensorDesc { shape: s.clone(), dtype: d }),
                _ => {
                    let node = &g.nodes[g.producer(e)];
                    return Err(GraphError::Shape { op: "bind".into(), message: format!("cannot infer the shape of '{}' from the given arrays", node.output_name(e - g.row_ptr[g.producer(e)])) });
                }
            }
        }
        for (&n, a) in g.args.iter().zip(args) {
            if *a != descs[g.entry(n, 0)] {
                return Err(mismatch("argument", &g.nodes[n].name, a, &descs[g.entry(n, 0)]));
            }
        }
        let forward_nodes: Vec<ExecNode> = g
            .nodes
            .iter()
            .enumerate()
            .filter_map(|(n, node)| {
                node.op.as_ref().map(|o| ExecNode {
                    op: o.op.clone(),
                    op_name: o.def.name,
                    name: node.name.clone(),
                    inputs: g.inputs[n].clone(),
                    outputs: (0..node.num_outputs()).map(|k| g.entry(n, k)).collect(),
                    unused: 0,
                })
            })
            .collect();
        let grad = gradient::build(&g, &forward_nodes, descs, grad_reqs)?;
        let forward_nodes = if epilogue::enabled() { epilogue::fuse(forward_nodes, &grad.nodes, &grad.descs, &g.heads) } else { forward_nodes };
        let forward_nodes = if fuse::enabled() { fuse::fuse(forward_nodes, &grad.nodes, &grad.descs, &g.heads) } else { forward_nodes };
        Ok(Prepared { g, forward_nodes, grad })
    }

    /// Plans the buffers of every entry not bound to a user's array, over the execution order:
    /// forward, then `backward` filling the head gradients, then the backward nodes.
    fn plan(&self, strategy: MemoryStrategy) -> MemoryPlan {
        let (g, descs) = (&self.g, &self.grad.descs);
        let mut external = vec![false; descs.len()];
        for &n in g.args.iter().chain(&g.aux) {
            external[g.entry(n, 0)] = true;
        }
        for &e in self.grad.grad_entries.iter().flatten() {
            external[e] = true;
        }
        let mut keep = vec![false; descs.len()];
        for &h in &g.heads {
            keep[h] = true;
        }
        fn step(n: &ExecNode) -> Step<'_> {
            Step { inputs: &n.inputs, outputs: &n.outputs, inplace: n.op.inplace_option() }
        }
        let heads = Step { inputs: &[], outputs: &self.grad.head_grads, inplace: Vec::new() };
        let steps: Vec<Step> = self.forward_nodes.iter().map(step).chain(std::iter::once(heads)).chain(self.grad.nodes.iter().map(step)).collect();
        memory::plan(&steps, descs, &external, &keep, strategy)
    }
}

/// Marks each node's outputs that nothing reads: no node takes them, and they are not an
/// output of the graph, an argument, an auxiliary state or a gradient the user bound.
fn mark_unused(exec: &mut Executor, g: &IndexedGraph, grad_entries: &[Option<usize>]) {
    let mut read = vec![false; exec.descs.len()];
    let bound = g.heads.iter().chain(&exec.head_grads).copied().chain(grad_entries.iter().flatten().copied());
    let args = g.args.iter().chain(&g.aux).map(|&n| g.entry(n, 0));
    for e in bound.chain(args) {
        read[e] = true;
    }
    for n in exec.forward_nodes.iter().chain(&exec.backward_nodes) {
        for &e in &n.inputs {
            read[e] = true;
        }
    }
    for n in exec.forward_nodes.iter_mut().chain(exec.backward_nodes.iter_mut()) {
        n.unused = n.outputs.iter().take(64).enumerate().filter(|(_, &e)| !read[e]).fold(0, |m, (i, _)| m | 1 << i);
    }
}

/// What a bind would allocate, without allocating (`Symbol.plan_memory`).
#[derive(Clone, Debug)]
pub struct MemoryReport {
    pub plan: MemoryPlan,
    /// Bytes of the internal entries if none shared a buffer.
    pub unshared_bytes: usize,
    pub arg_bytes: usize,
    pub grad_bytes: usize,
    pub aux_bytes: usize,
    pub forward_nodes: usize,
    pub backward_nodes: usize,
}

fn nbytes(d: &TensorDesc) -> usize {
    d.shape.iter().product::<usize>() * d.dtype.size()
}

/// Plans the memory of binding `sym` with arguments and auxiliary states of these shapes and
/// dtypes, and the gradients `grad_reqs` asks for.
pub fn plan_memory(sym: &Symbol, args: &[TensorDesc], aux: &[TensorDesc], grad_reqs: &[GradReq], strategy: MemoryStrategy) -> Result<MemoryReport> {
    let p = Prepared::new(sym, args, aux, grad_reqs)?;
    let plan = p.plan(strategy);
    let descs = &p.grad.descs;
    let unshared_bytes = plan.block_of.iter().zip(descs).filter(|(b, _)| b.is_some()).map(|(_, d)| nbytes(d)).sum();
    let grad_bytes = p.grad.grad_entries.iter().flatten().map(|&e| nbytes(&descs[e])).sum();
    Ok(MemoryReport {
        plan,
        unshared_bytes,
        arg_bytes: args.iter().map(nbytes).sum(),
        grad_bytes,
        aux_bytes: aux.iter().map(nbytes).sum(),
        forward_nodes: p.forward_nodes.len(),
        backward_nodes: p.grad.nodes.len(),
    })
}

impl Executor {
    /// Binds `sym` to argument arrays (in `list_arguments` order), gradient arrays (`None`
    /// where `grad_reqs` is `Null`) and auxiliary arrays, sharing internal buffers as
    /// `strategy` says.
    pub fn bind(sym: &Symbol, ctx: Context, args: Vec<NDArray>, grads: Vec<Option<NDArray>>, grad_reqs: Vec<GradReq>, aux: Vec<NDArray>, strategy: MemoryStrategy) -> Result<Executor> {
        let desc = |a: &NDArray| TensorDesc::new(a.shape(), a.dtype());
        if grads.len() != args.len() {
            return Err(GraphError::Invalid(format!("bind: {} gradient arrays for {} arguments", grads.len(), args.len())));
        }
        let p = Prepared::new(sym, &args.iter().map(desc).collect::<Vec<_>>(), &aux.iter().map(desc).collect::<Vec<_>>(), &grad_reqs)?;
        let g = &p.g;
        let arg_names: Vec<String> = g.args.iter().map(|&n| g.nodes[n].name.clone()).collect();
        let aux_names: Vec<String> = g.aux.iter().map(|&n| g.nodes[n].name.clone()).collect();
        for (i, a) in args.iter().enumerate() {
            if let Some(gr) = &grads[i] {
                if desc(gr) != desc(a) {
                    return Err(mismatch("gradient of", &arg_names[i], &desc(gr), &desc(a)));
                }
            } else if grad_reqs[i] != GradReq::Null {
                return Err(GraphError::Invalid(format!("bind: argument '{}' has grad_req {:?} but no gradient array", arg_names[i], grad_reqs[i])));
            }
        }
        let plan = p.plan(strategy);
        let mut exec = Executor {
            symbol: sym.clone(),
            ctx,
            arg_names,
            aux_names,
            arg_arrays: args,
            grad_arrays: grads,
            grad_reqs,
            aux_arrays: aux,
            outputs: Vec::new(),
            forward_nodes: Vec::new(),
            backward_nodes: Vec::new(),
            descs: Vec::new(),
            arrays: Vec::new(),
            head_grads: Vec::new(),
            internal_bytes: plan.total_bytes(),
            strategy,
        };
        let Prepared { g, forward_nodes, grad } = p;
        exec.descs = grad.descs;
        exec.allocate(&g, &grad.grad_entries, &plan)?;
        exec.forward_nodes = forward_nodes;
        exec.backward_nodes = grad.nodes;
        exec.head_grads = grad.head_grads;
        mark_unused(&mut exec, &g, &grad.grad_entries);
        exec.outputs = g.heads.iter().map(|&e| exec.arrays[e].clone()).collect();
        Ok(exec)
    }

    /// Arguments, gradients and aux states are the user's arrays; every other entry is a view
    /// of its planned buffer.
    fn allocate(&mut self, g: &IndexedGraph, grad_entries: &[Option<usize>], plan: &MemoryPlan) -> Result<()> {
        let mut bound: Vec<Option<NDArray>> = vec![None; self.descs.len()];
        for (&n, a) in g.args.iter().zip(&self.arg_arrays).chain(g.aux.iter().zip(&self.aux_arrays)) {
            bound[g.entry(n, 0)] = Some(a.clone());
        }
        for (e, gr) in grad_entries.iter().zip(&self.grad_arrays) {
            if let (Some(e), Some(gr)) = (e, gr) {
                bound[*e] = Some(gr.clone());
            }
        }
        let blocks: Vec<Arc<Chunk>> = plan.block_bytes.iter().map(|&b| Chunk::new(b, self.ctx)).collect::<Result<_>>()?;
        self.arrays = bound
            .into_iter()
            .enumerate()
            .map(|(e, b)| match (b, plan.block_of[e]) {
                (Some(a), _) => Ok(a),
                (None, Some(k)) => NDArray::view_of(&blocks[k], &self.descs[e].shape, self.descs[e].dtype),
                // Fused away: no node makes or reads it.
                (None, None) => NDArray::zeros(&[0], self.descs[e].dtype, self.ctx),
            })
            .collect::<Result<_>>()?;
        Ok(())
    }

    fn run(&self, nodes: &[ExecNode], is_train: bool) -> Result<()> {
        for node in nodes {
            let ctx = OpCtx { is_train, unused: node.unused, ..Default::default() };
            let ins = node.inputs.iter().map(|&e| self.arrays[e].clone()).collect();
            let outs = node.outputs.iter().map(|&e| self.arrays[e].clone()).collect();
            push_compute(node.op.clone(), node.op_name.into(), ins, outs, ctx)?;
        }
        Ok(())
    }

    /// Pushes the forward computation; outputs are ready at their next wait.
    pub fn forward(&self, is_train: bool) -> Result<()> {
        self.run(&self.forward_nodes, is_train)
    }

    /// Pushes the backward computation. `out_grads`: one per output, or none (ones are used:
    /// loss heads ignore them).
    pub fn backward(&self, out_grads: &[NDArray]) -> Result<()> {
        if !out_grads.is_empty() && out_grads.len() != self.head_grads.len() {
            return Err(GraphError::Invalid(format!("backward: {} out_grads for {} outputs", out_grads.len(), self.head_grads.len())));
        }
        for (i, &e) in self.head_grads.iter().enumerate() {
            let dst = vec![self.arrays[e].clone()];
            match out_grads.get(i) {
                Some(src) => {
                    if src.shape() != self.descs[e].shape.as_slice() {
                        return Err(rmx_operators::error::shape_err("backward", format!("out_grads[{i}] has shape {:?}, output {i} has shape {:?}", src.shape(), self.descs[e].shape.as_slice())));
                    }
                    invoke("_copy", std::slice::from_ref(src), &Attrs::new(), Some(dst), self.ctx)?;
                }
                None => {
                    invoke("ones_like", std::slice::from_ref(&self.arrays[e]), &Attrs::new(), Some(dst), self.ctx)?;
                }
            }
        }
        self.run(&self.backward_nodes, true)
    }

    /// Bytes the executor allocated for internal buffers (everything but arguments, their
    /// gradients and auxiliary states).
    pub fn internal_bytes(&self) -> usize {
        self.internal_bytes
    }

    /// The nodes in execution order, then `Total N MB allocated`.
    pub fn debug_str(&self) -> String {
        let mut s = String::from("Symbol Outputs:\n");
        for (i, name) in self.symbol.list_outputs().iter().enumerate() {
            s += &format!("\toutput[{i}]={name}\n");
        }
        for (kind, nodes) in [("forward", &self.forward_nodes), ("backward", &self.backward_nodes)] {
            for n in nodes.iter() {
                s += &format!("--------------------\nOp:{}, Name={} ({kind})\n", n.op_name, n.name);
                for (k, &e) in n.inputs.iter().enumerate() {
                    s += &format!("\targ[{k}]=entry {e} {:?}\n", self.descs[e].shape.as_slice());
                }
            }
        }
        s += &format!("Memory strategy: {}\n", self.strategy.name());
        s += &format!("Total {} MB allocated\n", self.internal_bytes >> 20);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbol::create_op;
    use rmx_kernels::DType;

    /// `_backward_FullyConnected`'s unused-output mask for a dense layer bound with the data's
    /// `grad_req`: its data gradient (output 0) is unused exactly when the data needs none.
    fn backward_mask(data_req: GradReq) -> u64 {
        let data = Symbol::variable("data", Attrs::new());
        let attrs = Attrs::from_pairs([("num_hidden", "3")]);
        let fc = create_op("FullyConnected", "fc", attrs, &[data], &[]).unwrap();
        let cpu = Context::cpu(0);
        let arr = |s: &[usize]| NDArray::zeros(s, DType::F32, cpu).unwrap();
        let args = vec![arr(&[2, 4]), arr(&[3, 4]), arr(&[3])];
        let grads = vec![(data_req != GradReq::Null).then(|| arr(&[2, 4])), Some(arr(&[3, 4])), Some(arr(&[3]))];
        let reqs = vec![data_req, GradReq::Write, GradReq::Write];
        let ex = Executor::bind(&fc, cpu, args, grads, reqs, vec![], MemoryStrategy::Both).unwrap();
        let node = ex.backward_nodes.iter().find(|n| n.op_name == "_backward_FullyConnected").unwrap();
        node.unused
    }

    #[test]
    fn outputs_nothing_reads_are_marked_unused() {
        assert_eq!(backward_mask(GradReq::Null), 0b001);
        assert_eq!(backward_mask(GradReq::Write), 0);
    }
}
