//! The gradient pass: walks the forward nodes backwards, asks each operator for its gradient
//! (`Operator::gradient`, as calls of registry operators), sums contributions that meet at one
//! entry with `add_n`, and ends with each argument's gradient stored as its `grad_req` says.
//! Nodes none of whose inputs lead to a gradient-taking argument are skipped, as are nodes no
//! gradient reaches.

use std::collections::HashMap;
use std::sync::Arc;

use super::{ExecNode, GradReq};
use rmx_operators::attrs::Attrs;
use rmx_operators::error::{GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use rmx_operators::operator::{Operator, TensorDesc};
use rmx_operators::registry::lookup;
use crate::symbol::IndexedGraph;

pub(crate) struct Plan {
    pub nodes: Vec<ExecNode>,
    pub descs: Vec<TensorDesc>,
    /// The entries backward fills with the outputs' gradients.
    pub head_grads: Vec<usize>,
    /// Per argument, the entry bound to its gradient array (if any).
    pub grad_entries: Vec<Option<usize>>,
}

/// Appends nodes to the backward graph, inferring each new entry at once (shapes are known).
struct Builder<'a> {
    nodes: &'a mut Vec<ExecNode>,
    descs: &'a mut Vec<TensorDesc>,
    /// The forward node whose gradient is being built, to name the new nodes.
    current: String,
}

impl Builder<'_> {
    fn new_entry(&mut self, d: TensorDesc) -> usize {
        self.descs.push(d);
        self.descs.len() - 1
    }

    fn push(&mut self, name: &str, attrs: &Attrs, inputs: &[usize], outputs: Option<Vec<usize>>) -> Result<Vec<usize>> {
        let (op, out_descs) = self.instantiate(name, attrs, inputs)?;
        let outputs = match outputs {
            Some(o) => o,
            None => out_descs.into_iter().map(|d| self.new_entry(d)).collect(),
        };
        self.nodes.push(ExecNode { op, op_name: lookup(name)?.name, name: format!("{}_backward", self.current), inputs: inputs.to_vec(), outputs: outputs.clone(), unused: 0 });
        Ok(outputs)
    }

    /// A node writing entries that exist already (to insert rather than append).
    fn node(&mut self, name: &str, attrs: &Attrs, inputs: &[usize], outputs: Vec<usize>) -> Result<ExecNode> {
        let (op, _) = self.instantiate(name, attrs, inputs)?;
        Ok(ExecNode { op, op_name: lookup(name)?.name, name: format!("{}_backward", self.current), inputs: inputs.to_vec(), outputs, unused: 0 })
    }

    fn instantiate(&self, name: &str, attrs: &Attrs, inputs: &[usize]) -> Result<(Arc<dyn Operator>, Vec<TensorDesc>)> {
        let op: Arc<dyn Operator> = Arc::from(lookup(name)?.instantiate(&attrs.op_params())?);
        let in_descs: Vec<TensorDesc> = inputs.iter().map(|&e| self.descs[e].clone()).collect();
        let out_descs = op.infer(&in_descs).map_err(|e| GraphError::Invalid(format!("gradient of '{}': {e}", self.current)))?;
        Ok((op, out_descs))
    }

    /// The sum of `parts` as one entry.
    fn sum(&mut self, parts: &[usize]) -> Result<usize> {
        match parts {
            [one] => Ok(*one),
            many => {
                let attrs = Attrs::from_pairs([("num_args", many.len().to_string())]);
                Ok(self.push("add_n", &attrs, many, None)?[0])
            }
        }
    }
}

impl GradBuilder for Builder<'_> {
    fn op(&mut self, name: &str, attrs: &Attrs, inputs: &[Value]) -> Result<Vec<Value>> {
        let ins: Vec<usize> = inputs.iter().map(|v| v.0).collect();
        Ok(self.push(name, attrs, &ins, None)?.into_iter().map(Value).collect())
    }
}

pub(crate) fn build(g: &IndexedGraph, forward: &[ExecNode], mut descs: Vec<TensorDesc>, reqs: &[GradReq]) -> Result<Plan> {
    let mut nodes = Vec::new();
    let mut grad_entries = vec![None; reqs.len()];
    if reqs.iter().all(|r| *r == GradReq::Null) {
        return Ok(Plan { nodes, descs, head_grads: Vec::new(), grad_entries });
    }
    // Which entries lead to an argument whose gradient is wanted.
    let mut needs = vec![false; descs.len()];
    for (&n, r) in g.args.iter().zip(reqs) {
        needs[g.entry(n, 0)] = *r != GradReq::Null;
    }
    for node in forward {
        if node.inputs.iter().any(|&e| needs[e]) {
            for &o in &node.outputs {
                needs[o] = true;
            }
        }
    }
    let mut contributions: HashMap<usize, Vec<usize>> = HashMap::new();
    let mut b = Builder { nodes: &mut nodes, descs: &mut descs, current: String::new() };
    let mut head_grads = Vec::new();
    for &h in &g.heads {
        let e = b.new_entry(b.descs[h].clone());
        head_grads.push(e);
        contributions.entry(h).or_default().push(e);
    }
    let mut fwd_attrs: HashMap<usize, Attrs> = HashMap::new();
    for (n, node) in g.nodes.iter().enumerate() {
        if !node.is_variable() {
            fwd_attrs.insert(g.entry(n, 0), node.attrs().op_params());
        }
    }
    for node in forward.iter().rev() {
        if !node.inputs.iter().any(|&e| needs[e]) || !node.outputs.iter().any(|o| contributions.contains_key(o)) {
            continue;
        }
        b.current = node.name.clone();
        let mut out_grads = Vec::with_capacity(node.outputs.len());
        // Outputs no gradient reaches (hidden ones: LRN's norms, Dropout's mask) get zeros only
        // if the operator's gradient reads them; most never do, and a zero array as large as
        // the output would cost memory for nothing.
        let mut zeros = Vec::new();
        for &o in &node.outputs {
            let v = match contributions.remove(&o) {
                Some(parts) => b.sum(&parts)?,
                None => {
                    let e = b.new_entry(b.descs[o].clone());
                    zeros.push((e, o));
                    e
                }
            };
            out_grads.push(Value(v));
        }
        let first = b.nodes.len();
        let attrs = &fwd_attrs[&node.outputs[0]];
        let inputs: Vec<Value> = node.inputs.iter().map(|&e| Value(e)).collect();
        let outputs: Vec<Value> = node.outputs.iter().map(|&e| Value(e)).collect();
        let args = GradArgs { op: node.op_name, attrs, inputs: &inputs, outputs: &outputs, out_grads: &out_grads };
        let grads = node.op.gradient(&mut b as &mut dyn GradBuilder, &args).map_err(|e| match e {
            GraphError::Invalid(m) => GraphError::Invalid(format!("node '{}': {m}", node.name)),
            other => other,
        })?;
        if grads.len() != node.inputs.len() {
            return Err(GraphError::Invalid(format!("node '{}': {} gave {} gradients for {} inputs", node.name, node.op_name, grads.len(), node.inputs.len())));
        }
        for (e, o) in zeros {
            let read = b.nodes[first..].iter().any(|n| n.inputs.contains(&e)) || grads.iter().flatten().any(|v| v.0 == e);
            if read {
                let zero = b.node("zeros_like", &Attrs::new(), &[o], vec![e])?;
                b.nodes.insert(first, zero);
            }
        }
        for (&e, grad) in node.inputs.iter().zip(grads) {
            if let (true, Some(v)) = (needs[e], grad) {
                contributions.entry(e).or_default().push(v.0);
            }
        }
    }
    // Store each wanted gradient: straight into the gradient array when a node made it for
    // this argument alone, else by a copy (write) or an in-place add (add).
    let n_forward = g.num_entries();
    // Each wanted gradient's total first: one entry may be the total of several arguments
    // (`a + b` passes one gradient to both), and then none of them may take it over.
    let mut totals: Vec<Option<usize>> = vec![None; reqs.len()];
    for (i, (&n, req)) in g.args.iter().zip(reqs).enumerate() {
        if *req == GradReq::Null {
            continue;
        }
        b.current = g.nodes[n].name.clone();
        let parts = contributions.remove(&g.entry(n, 0)).unwrap_or_default();
        if !parts.is_empty() {
            totals[i] = Some(b.sum(&parts)?);
        }
    }
    let mut uses: HashMap<usize, usize> = HashMap::new();
    for node in b.nodes.iter() {
        for &e in &node.inputs {
            *uses.entry(e).or_default() += 1;
        }
    }
    let mut shared: HashMap<usize, usize> = HashMap::new();
    for t in totals.iter().flatten() {
        *shared.entry(*t).or_default() += 1;
    }
    for (i, (&n, req)) in g.args.iter().zip(reqs).enumerate() {
        if *req == GradReq::Null {
            continue;
        }
        let var_entry = g.entry(n, 0);
        let target = b.new_entry(b.descs[var_entry].clone());
        grad_entries[i] = Some(target);
        b.current = g.nodes[n].name.clone();
        match (req, totals[i]) {
            (GradReq::Add, None) => {}
            (GradReq::Write, None) => {
                b.push("zeros_like", &Attrs::new(), &[var_entry], Some(vec![target]))?;
            }
            (GradReq::Write, Some(total)) => {
                let made_here = total >= n_forward && !head_grads.contains(&total) && uses.get(&total).copied().unwrap_or(0) == 0 && shared[&total] == 1;
                let producer = b.nodes.iter_mut().rev().find(|nd| nd.outputs.contains(&total));
                match (made_here, producer) {
                    (true, Some(p)) => {
                        for o in p.outputs.iter_mut().filter(|o| **o == total) {
                            *o = target;
                        }
                    }
                    _ => {
                        b.push("_copy", &Attrs::new(), &[total], Some(vec![target]))?;
                    }
                }
            }
            (GradReq::Add, Some(total)) => {
                b.push("elemwise_add", &Attrs::new(), &[target, total], Some(vec![target]))?;
            }
            (GradReq::Null, _) => unreachable!(),
        }
    }
    Ok(Plan { nodes, descs, head_grads, grad_entries })
}
