//! `IndexedGraph`: a symbol's nodes in topological order with integer ids for nodes and
//! entries (entry id = `row_ptr[node] + output`), the form passes and the executor work on.

use std::collections::HashMap;
use std::sync::Arc;

use super::{Node, Symbol};

pub struct IndexedGraph {
    pub nodes: Vec<Arc<Node>>,
    /// Entry ids of each node's inputs.
    pub inputs: Vec<Vec<usize>>,
    /// `row_ptr[n]` is the id of node `n`'s first output; `row_ptr[len]` counts the entries.
    pub row_ptr: Vec<usize>,
    pub heads: Vec<usize>,
    /// Node ids of the argument and auxiliary variables, in `list_arguments` /
    /// `list_auxiliary_states` order.
    pub args: Vec<usize>,
    pub aux: Vec<usize>,
}

impl IndexedGraph {
    pub fn new(sym: &Symbol) -> Self {
        let nodes = sym.topo_nodes();
        let index: HashMap<*const Node, usize> = nodes.iter().enumerate().map(|(i, n)| (Arc::as_ptr(n), i)).collect();
        let mut row_ptr = vec![0];
        for n in &nodes {
            row_ptr.push(row_ptr.last().unwrap() + n.num_outputs());
        }
        let entry = |e: &super::Entry| row_ptr[index[&Arc::as_ptr(&e.node)]] + e.index;
        let inputs = nodes.iter().map(|n| n.inputs.iter().map(entry).collect()).collect();
        let heads = sym.outputs.iter().map(entry).collect();
        let (args, aux) = sym.argument_nodes();
        let ids = |v: Vec<Arc<Node>>| v.iter().map(|n| index[&Arc::as_ptr(n)]).collect();
        IndexedGraph { args: ids(args), aux: ids(aux), nodes, inputs, row_ptr, heads }
    }

    pub fn num_entries(&self) -> usize {
        *self.row_ptr.last().unwrap()
    }

    pub fn entry(&self, node: usize, output: usize) -> usize {
        self.row_ptr[node] + output
    }

    /// The node that makes an entry.
    pub fn producer(&self, entry: usize) -> usize {
        self.row_ptr.partition_point(|&r| r <= entry) - 1
    }
}
