//! The executor: a symbol bound to arrays. Binding infers every shape, builds the backward graph
//! with the gradient pass, plans buffers and then, for each `forward`/`backward`, pushes each
//! node's kernel to the engine exactly as the imperative path does (`push_compute`), so both
//! paths share kernels, asynchrony and error behaviour.

mod gradient;

use std::sync::Arc;

use rmx_engine::Context;

use crate::error::{GraphError, Result};
use crate::invoke::{invoke, push_compute};
use crate::ndarray::NDArray;
use crate::operator::{OpCtx, Operator, TensorDesc};
use crate::symbol::{infer, IndexedGraph, Symbol};
use crate::Attrs;

/// How an argument's gradient is stored.
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
}

/// One operator call of the bound graph, on entry ids.
pub(crate) struct ExecNode {
    pub op: Arc<dyn Operator>,
    pub op_name: &'static str,
    pub name: String,
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
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
}

fn mismatch(kind: &str, name: &str, given: &TensorDesc, inferred: &TensorDesc) -> GraphError {
    crate::error::shape_err(
        "bind",
        format!("{kind} '{name}' is {:?} {}, but the graph infers {:?} {}", given.shape.as_slice(), given.dtype, inferred.shape.as_slice(), inferred.dtype),
    )
}

impl Executor {
    /// Binds `sym` to argument arrays (in `list_arguments` order), gradient arrays (`None`
    /// where `grad_reqs` is `Null`) and auxiliary arrays.
    pub fn bind(sym: &Symbol, ctx: Context, args: Vec<NDArray>, grads: Vec<Option<NDArray>>, grad_reqs: Vec<GradReq>, aux: Vec<NDArray>) -> Result<Executor> {
        let g = IndexedGraph::new(sym);
        let arg_names: Vec<String> = g.args.iter().map(|&n| g.nodes[n].name.clone()).collect();
        let aux_names: Vec<String> = g.aux.iter().map(|&n| g.nodes[n].name.clone()).collect();
        if args.len() != arg_names.len() || grads.len() != arg_names.len() || grad_reqs.len() != arg_names.len() {
            return Err(GraphError::Invalid(format!("bind: the symbol has {} arguments ({}), got {} arrays, {} gradients, {} grad_req", arg_names.len(), arg_names.join(", "), args.len(), grads.len(), grad_reqs.len())));
        }
        if aux.len() != aux_names.len() {
            return Err(GraphError::Invalid(format!("bind: the symbol has {} auxiliary states ({}), got {} arrays", aux_names.len(), aux_names.join(", "), aux.len())));
        }
        let n_entries = g.num_entries();
        let mut shapes = vec![None; n_entries];
        let mut dtypes = vec![None; n_entries];
        for (&n, a) in g.args.iter().zip(&args).chain(g.aux.iter().zip(&aux)) {
            shapes[g.entry(n, 0)] = Some(a.shape().into());
            dtypes[g.entry(n, 0)] = Some(a.dtype());
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
        for (i, (&n, a)) in g.args.iter().zip(&args).enumerate() {
            let d = TensorDesc::new(a.shape(), a.dtype());
            if d != descs[g.entry(n, 0)] {
                return Err(mismatch("argument", &arg_names[i], &d, &descs[g.entry(n, 0)]));
            }
            if let Some(gr) = &grads[i] {
                let gd = TensorDesc::new(gr.shape(), gr.dtype());
                if gd != d {
                    return Err(mismatch("gradient of", &arg_names[i], &gd, &d));
                }
            } else if grad_reqs[i] != GradReq::Null {
                return Err(GraphError::Invalid(format!("bind: argument '{}' has grad_req {:?} but no gradient array", arg_names[i], grad_reqs[i])));
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
                })
            })
            .collect();
        let plan = gradient::build(&g, &forward_nodes, descs, &grad_reqs)?;
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
            forward_nodes,
            backward_nodes: plan.nodes,
            descs: plan.descs,
            arrays: Vec::new(),
            head_grads: plan.head_grads,
            internal_bytes: 0,
        };
        exec.allocate(&g, &plan.grad_entries)?;
        exec.outputs = g.heads.iter().map(|&e| exec.arrays[e].clone()).collect();
        Ok(exec)
    }

    /// One buffer per entry: arguments, gradients and aux states are the user's arrays; every
    /// other entry gets its own (the memory-planning pass makes them share).
    fn allocate(&mut self, g: &IndexedGraph, grad_entries: &[Option<usize>]) -> Result<()> {
        let mut bound: Vec<Option<NDArray>> = vec![None; self.descs.len()];
        for (&n, a) in g.args.iter().zip(&self.arg_arrays).chain(g.aux.iter().zip(&self.aux_arrays)) {
            bound[g.entry(n, 0)] = Some(a.clone());
        }
        for (e, gr) in grad_entries.iter().zip(&self.grad_arrays) {
            if let (Some(e), Some(gr)) = (e, gr) {
                bound[*e] = Some(gr.clone());
            }
        }
        let mut internal = 0;
        self.arrays = bound
            .into_iter()
            .zip(&self.descs)
            .map(|(b, d)| match b {
                Some(a) => Ok(a),
                None => {
                    internal += d.shape.iter().product::<usize>() * d.dtype.size();
                    NDArray::zeros(&d.shape, d.dtype, self.ctx)
                }
            })
            .collect::<Result<_>>()?;
        self.internal_bytes = internal;
        Ok(())
    }

    fn run(&self, nodes: &[ExecNode], is_train: bool) -> Result<()> {
        let ctx = OpCtx { is_train };
        for node in nodes {
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
                        return Err(crate::error::shape_err("backward", format!("out_grads[{i}] has shape {:?}, output {i} has shape {:?}", src.shape(), self.descs[e].shape.as_slice())));
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
        s += &format!("Total {} MB allocated\n", self.internal_bytes >> 20);
        s
    }
}
