//! `Symbol`: a declarative graph. Nodes are immutable and shared (`Arc`), so composing never
//! copies what it does not change; a symbol is a list of output entries. Variables are nodes
//! without an operator. Names and the DFS order of `list_arguments` follow MXNet's NNVM, since
//! user code and checkpoints depend on them.

mod compose;
mod indexed;
mod infer;
mod json;

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

pub use compose::{compose, create_op};
pub use indexed::IndexedGraph;
pub use infer::{infer, Inferred};
pub use json::{from_json, to_json};

use rmx_operators::attrs::{is_hidden_key, Attrs};
use rmx_operators::error::{GraphError, Result};
use rmx_operators::operator::{OpDef, Operator};

/// An operator node's operator: its registry entry and typed instance.
pub struct OpNode {
    pub def: &'static OpDef,
    pub op: Arc<dyn Operator>,
}

/// One node: a variable (`op` is `None`) or an operator applied to input entries.
pub struct Node {
    pub op: Option<OpNode>,
    pub name: String,
    /// Operator parameters and `__key__` attributes together, as MXNet keeps them (and writes
    /// them to JSON). Settable after creation (`_set_attr`), hence the lock.
    pub attrs: RwLock<Attrs>,
    pub inputs: Vec<Entry>,
    pub control_deps: Vec<Arc<Node>>,
}

/// Output `index` of `node`. `version` is what JSON records for inputs an operator mutates.
#[derive(Clone)]
pub struct Entry {
    pub node: Arc<Node>,
    pub index: usize,
    pub version: u32,
}

impl Entry {
    pub fn same(&self, other: &Entry) -> bool {
        Arc::ptr_eq(&self.node, &other.node) && self.index == other.index
    }
}

#[derive(Clone)]
pub struct Symbol {
    pub outputs: Vec<Entry>,
}

impl Node {
    pub fn is_variable(&self) -> bool {
        self.op.is_none()
    }

    pub fn num_outputs(&self) -> usize {
        self.op.as_ref().map_or(1, |o| o.op.num_outputs())
    }

    pub fn num_visible_outputs(&self) -> usize {
        self.op.as_ref().map_or(1, |o| o.op.num_visible_outputs())
    }

    /// The name of output `i` as `list_outputs` shows it.
    pub fn output_name(&self, i: usize) -> String {
        match &self.op {
            None => self.name.clone(),
            Some(o) => {
                let names = o.op.output_names();
                match names.get(i) {
                    Some(n) => format!("{}_{n}", self.name),
                    None => format!("{}_output{i}", self.name),
                }
            }
        }
    }

    /// The names of the inputs, from the instance or the registry entry.
    pub fn input_names(&self) -> Vec<String> {
        let Some(o) = &self.op else { return Vec::new() };
        if let Some(names) = o.op.input_names() {
            return names.iter().map(|s| s.to_string()).collect();
        }
        match o.def.inputs {
            rmx_operators::operator::Arity::Fixed(names) => names.iter().map(|s| s.to_string()).collect(),
            rmx_operators::operator::Arity::Variadic(_) => (0..self.inputs.len()).map(|i| format!("arg{i}")).collect(),
        }
    }

    pub fn attr(&self, key: &str) -> Option<String> {
        self.attrs.read().unwrap().get(key).map(str::to_string)
    }

    pub fn attrs(&self) -> Attrs {
        self.attrs.read().unwrap().clone()
    }

    pub fn mutated_inputs(&self) -> Vec<usize> {
        self.op.as_ref().map_or_else(Vec::new, |o| o.op.mutated_inputs())
    }
}

impl Symbol {
    /// A variable named `name` with attributes (`__shape__`, `__init__`, ...).
    pub fn variable(name: &str, attrs: Attrs) -> Symbol {
        let node = Arc::new(Node { op: None, name: name.to_string(), attrs: RwLock::new(attrs), inputs: vec![], control_deps: vec![] });
        Symbol { outputs: vec![Entry { node, index: 0, version: 0 }] }
    }

    /// The outputs of several symbols as one.
    pub fn group(symbols: &[Symbol]) -> Symbol {
        Symbol { outputs: symbols.iter().flat_map(|s| s.outputs.iter().cloned()).collect() }
    }

    /// Every node reachable from the outputs, inputs before users (NNVM's post-order DFS).
    pub fn topo_nodes(&self) -> Vec<Arc<Node>> {
        let mut seen: HashSet<*const Node> = HashSet::new();
        let mut order = Vec::new();
        for e in &self.outputs {
            // Iterative post-order: (node, next child to visit).
            let mut stack: Vec<(Arc<Node>, usize)> = Vec::new();
            if seen.insert(Arc::as_ptr(&e.node)) {
                stack.push((e.node.clone(), 0));
            }
            while let Some((node, child)) = stack.last_mut() {
                let children = node.control_deps.len() + node.inputs.len();
                if *child < children {
                    let next = if *child < node.inputs.len() { node.inputs[*child].node.clone() } else { node.control_deps[*child - node.inputs.len()].clone() };
                    *child += 1;
                    if seen.insert(Arc::as_ptr(&next)) {
                        stack.push((next, 0));
                    }
                } else {
                    order.push(node.clone());
                    stack.pop();
                }
            }
        }
        order
    }

    /// Variables that some operator mutates (auxiliary states).
    fn aux_set(nodes: &[Arc<Node>]) -> HashSet<*const Node> {
        let mut aux = HashSet::new();
        for n in nodes {
            for i in n.mutated_inputs() {
                if let Some(e) = n.inputs.get(i) {
                    if e.node.is_variable() {
                        aux.insert(Arc::as_ptr(&e.node));
                    }
                }
            }
        }
        aux
    }

    fn variables(&self, want_aux: Option<bool>) -> Vec<Arc<Node>> {
        let nodes = self.topo_nodes();
        let aux = Self::aux_set(&nodes);
        nodes.into_iter().filter(|n| n.is_variable() && want_aux.is_none_or(|w| w == aux.contains(&Arc::as_ptr(n)))).collect()
    }

    pub fn list_arguments(&self) -> Vec<String> {
        self.variables(Some(false)).iter().map(|n| n.name.clone()).collect()
    }

    pub fn list_auxiliary_states(&self) -> Vec<String> {
        self.variables(Some(true)).iter().map(|n| n.name.clone()).collect()
    }

    pub fn list_inputs(&self) -> Vec<String> {
        self.variables(None).iter().map(|n| n.name.clone()).collect()
    }

    /// Argument and auxiliary variable nodes, in `list_arguments` / `list_auxiliary_states` order.
    pub fn argument_nodes(&self) -> (Vec<Arc<Node>>, Vec<Arc<Node>>) {
        (self.variables(Some(false)), self.variables(Some(true)))
    }

    pub fn list_outputs(&self) -> Vec<String> {
        self.outputs.iter().map(|e| e.node.output_name(e.index)).collect()
    }

    /// Every visible output of every node, in DFS order.
    pub fn internals(&self) -> Symbol {
        let mut outputs = Vec::new();
        for node in self.topo_nodes() {
            for index in 0..node.num_visible_outputs() {
                outputs.push(Entry { node: node.clone(), index, version: 0 });
            }
        }
        Symbol { outputs }
    }

    /// The inputs of the output node(s); `None` for a variable.
    pub fn children(&self) -> Option<Symbol> {
        let outputs: Vec<Entry> = self.outputs.iter().flat_map(|e| e.node.inputs.iter().cloned()).collect();
        if outputs.is_empty() {
            None
        } else {
            Some(Symbol { outputs })
        }
    }

    pub fn output(&self, index: usize) -> Result<Symbol> {
        let e = self.outputs.get(index).ok_or_else(|| GraphError::Index(format!("symbol output index {index} out of range: the symbol has {} outputs", self.outputs.len())))?;
        Ok(Symbol { outputs: vec![e.clone()] })
    }

    /// The name of a single-output symbol (its node's name).
    pub fn name(&self) -> Option<String> {
        match self.outputs.as_slice() {
            [e] => Some(e.node.name.clone()),
            _ => None,
        }
    }

    /// Attributes of every node by name (`list_attr(recursive=True)` / `attr_dict`), only
    /// the nodes that have some.
    pub fn attr_dict(&self) -> Vec<(String, Attrs)> {
        self.topo_nodes().iter().map(|n| (n.name.clone(), n.attrs())).filter(|(_, a)| a.iter().next().is_some()).collect()
    }
}

/// Reads a hidden attribute under either of its names (`lr_mult` or `__lr_mult__`).
pub fn lookup_attr(attrs: &Attrs, key: &str) -> Option<String> {
    if let Some(v) = attrs.get(key) {
        return Some(v.to_string());
    }
    if !is_hidden_key(key) {
        return attrs.get(&format!("__{key}__")).map(str::to_string);
    }
    None
}
