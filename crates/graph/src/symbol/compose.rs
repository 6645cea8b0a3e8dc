//! Making operator nodes (`mx.sym.FullyConnected(data=x, num_hidden=10, name='fc1')`) and
//! composing a symbol by call (`net(data=other)`), both with MXNet's naming rules.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use super::{Entry, Node, OpNode, Symbol};
use rmx_operators::attrs::Attrs;
use rmx_operators::error::{GraphError, Result};
use rmx_operators::operator::Arity;
use rmx_operators::registry::lookup;

fn single_entry(op: &str, arg: &str, s: &Symbol) -> Result<Entry> {
    match s.outputs.as_slice() {
        [e] => Ok(e.clone()),
        outs => Err(GraphError::Invalid(format!("{op}: input '{arg}' is a symbol with {} outputs; pass one output (index it)", outs.len()))),
    }
}

/// Applies operator `op_name` to inputs given by position and by name; inputs not given become
/// variables named `<name>_<input>` carrying a copy of the node's attributes (MXNet does so).
pub fn create_op(op_name: &str, name: &str, attrs: Attrs, args: &[Symbol], kwargs: &[(String, Symbol)]) -> Result<Symbol> {
    build_op(op_name, name, attrs, args, kwargs, true)
}

/// `create_op`; `mark_mutated` gives mutated inputs entry version 1 as NNVM does on
/// composition (a loaded file keeps the versions it states instead).
pub(crate) fn build_op(op_name: &str, name: &str, attrs: Attrs, args: &[Symbol], kwargs: &[(String, Symbol)], mark_mutated: bool) -> Result<Symbol> {
    let def = lookup(op_name)?;
    let mut attrs = attrs;
    // Variadic operators count their inputs in `num_args` (set for the caller, as MXNet's
    // Python front end does).
    if matches!(def.inputs, Arity::Variadic(_)) && def.params.iter().any(|p| p.name == "num_args") && attrs.get("num_args").is_none() {
        attrs.set("num_args", (args.len() + kwargs.len()).to_string());
    }
    let op = Arc::<dyn rmx_operators::operator::Operator>::from(def.instantiate(&attrs.op_params())?);
    let names: Vec<String> = match (op.input_names(), def.inputs) {
        (Some(n), _) => n.iter().map(|s| s.to_string()).collect(),
        (None, Arity::Fixed(n)) => n.iter().map(|s| s.to_string()).collect(),
        (None, Arity::Variadic(_)) => (0..args.len() + kwargs.len()).map(|i| format!("arg{i}")).collect(),
    };
    if args.len() > names.len() {
        return Err(GraphError::Invalid(format!("{op_name} '{name}': {} inputs given by position, the operator takes {} ({})", args.len(), names.len(), names.join(", "))));
    }
    let mut slots: Vec<Option<Entry>> = vec![None; names.len()];
    for (i, s) in args.iter().enumerate() {
        slots[i] = Some(single_entry(op_name, &names[i], s)?);
    }
    for (key, s) in kwargs {
        let i = names.iter().position(|n| n == key).ok_or_else(|| {
            GraphError::Invalid(format!("{op_name} '{name}': unknown input '{key}'; its inputs are {}", names.join(", ")))
        })?;
        if slots[i].is_some() {
            return Err(GraphError::Invalid(format!("{op_name} '{name}': input '{key}' given twice")));
        }
        slots[i] = Some(single_entry(op_name, key, s)?);
    }
    let mutated = op.mutated_inputs();
    let inputs = slots
        .into_iter()
        .enumerate()
        .map(|(i, slot)| {
            let mut e = slot.unwrap_or_else(|| {
                let mut var_attrs = attrs.clone();
                if let Some(init) = op.input_init(&names[i]) {
                    var_attrs.set("__init__", init);
                }
                Symbol::variable(&format!("{name}_{}", names[i]), var_attrs).outputs.remove(0)
            });
            if mark_mutated && mutated.contains(&i) {
                e.version = 1;
            }
            e
        })
        .collect();
    let node = Arc::new(Node { op: Some(OpNode { def, op }), name: name.to_string(), attrs: RwLock::new(attrs), inputs, control_deps: vec![] });
    let n = node.num_visible_outputs();
    Ok(Symbol { outputs: (0..n).map(|index| Entry { node: node.clone(), index, version: 0 }).collect() })
}

/// `sym(*args, **kwargs)`: replaces free variables by position (in `list_arguments` order) or
/// by name with the given single-output symbols, copying only the nodes above them.
pub fn compose(sym: &Symbol, args: &[Symbol], kwargs: &[(String, Symbol)]) -> Result<Symbol> {
    let arguments = sym.list_arguments();
    if args.len() > arguments.len() {
        return Err(GraphError::Invalid(format!("compose: {} positional inputs for {} arguments", args.len(), arguments.len())));
    }
    let mut replace: HashMap<String, Entry> = HashMap::new();
    for (i, s) in args.iter().enumerate() {
        replace.insert(arguments[i].clone(), single_entry("compose", &arguments[i], s)?);
    }
    for (k, s) in kwargs {
        if !sym.list_inputs().contains(k) {
            return Err(GraphError::Invalid(format!("compose: the symbol has no argument '{k}'; its arguments are {}", arguments.join(", "))));
        }
        replace.insert(k.clone(), single_entry("compose", k, s)?);
    }
    let mut memo: HashMap<*const Node, Arc<Node>> = HashMap::new();
    let mut out = Vec::new();
    for node in sym.topo_nodes() {
        let new = if node.is_variable() {
            match replace.get(&node.name) {
                // The replacement is an entry, not a node: variables map to its node, and the
                // entry index is patched where it is used (below).
                Some(_) => continue,
                None => node.clone(),
            }
        } else {
            let remap = |e: &Entry| -> Entry {
                if e.node.is_variable() {
                    if let Some(r) = replace.get(&e.node.name) {
                        return Entry { node: r.node.clone(), index: r.index, version: e.version };
                    }
                }
                Entry { node: memo.get(&Arc::as_ptr(&e.node)).cloned().unwrap_or_else(|| e.node.clone()), index: e.index, version: e.version }
            };
            let inputs: Vec<Entry> = node.inputs.iter().map(remap).collect();
            if inputs.iter().zip(&node.inputs).all(|(a, b)| a.same(b)) {
                node.clone()
            } else {
                let op = node.op.as_ref().map(|o| OpNode { def: o.def, op: o.op.clone() });
                Arc::new(Node { op, name: node.name.clone(), attrs: RwLock::new(node.attrs()), inputs, control_deps: node.control_deps.clone() })
            }
        };
        memo.insert(Arc::as_ptr(&node), new);
    }
    for e in &sym.outputs {
        if e.node.is_variable() {
            if let Some(r) = replace.get(&e.node.name) {
                out.push(r.clone());
                continue;
            }
        }
        out.push(Entry { node: memo[&Arc::as_ptr(&e.node)].clone(), index: e.index, version: e.version });
    }
    Ok(Symbol { outputs: out })
}
