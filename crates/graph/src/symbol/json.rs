//! MXNet 1.x symbol JSON: `to_json` writes the text MXNet 1.9.1 writes, byte for byte (dmlc's
//! JSON writer layout), and `from_json` reads it, including the legacy pre-NNVM layout
//! (`param`/`attr` keys, no version, plain hidden keys, BatchNorm without its moving statistics).

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Arc;

use serde_json::Value as Json;

use super::compose::build_op;
use super::{Entry, IndexedGraph, Node, Symbol};
use rmx_operators::attrs::Attrs;
use rmx_operators::error::{GraphError, Result};

/// `MXNET_VERSION` of 1.9.1 (major*10000 + minor*100 + patch).
const MXNET_VERSION: i64 = 10901;

/// Keys that old files wrote plainly and 1.x writes as `__key__`.
const HIDDEN_KEYS: [&str; 5] = ["ctx_group", "lr_mult", "wd_mult", "force_mirroring", "mirror_stage"];

/// A JSON value as dmlc's writer lays it out.
enum Out {
    Str(String),
    Int(i64),
    /// (elements, written one per line)
    Arr(Vec<Out>, bool),
    Obj(Vec<(String, Out)>, bool),
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialize")
}

fn write_out(o: &Out, indent: usize, buf: &mut String) {
    let pad = |n: usize| "  ".repeat(n);
    match o {
        Out::Str(s) => buf.push_str(&quote(s)),
        Out::Int(i) => write!(buf, "{i}").unwrap(),
        Out::Arr(items, multi) => {
            if items.is_empty() {
                buf.push_str("[]");
                return;
            }
            buf.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    buf.push_str(", ");
                }
                if *multi {
                    buf.push('\n');
                    buf.push_str(&pad(indent + 1));
                }
                write_out(item, indent + 1, buf);
            }
            if *multi {
                buf.push('\n');
                buf.push_str(&pad(indent));
            }
            buf.push(']');
        }
        Out::Obj(items, multi) => {
            buf.push('{');
            for (i, (k, v)) in items.iter().enumerate() {
                if i > 0 {
                    buf.push_str(", ");
                }
                if *multi {
                    buf.push('\n');
                    buf.push_str(&pad(indent + 1));
                }
                buf.push_str(&quote(k));
                buf.push_str(": ");
                write_out(v, indent + 1, buf);
            }
            if *multi {
                buf.push('\n');
                buf.push_str(&pad(indent));
            }
            buf.push('}');
        }
    }
}

/// dmlc writes arrays of more than ten elements one per line, maps of more than one key.
fn arr(items: Vec<Out>) -> Out {
    let multi = items.len() > 10;
    Out::Arr(items, multi)
}

fn ints(v: impl IntoIterator<Item = usize>) -> Out {
    arr(v.into_iter().map(|i| Out::Int(i as i64)).collect())
}

fn triple(node: usize, index: usize, version: u32) -> Out {
    Out::Arr(vec![Out::Int(node as i64), Out::Int(index as i64), Out::Int(version as i64)], false)
}

pub fn to_json(sym: &Symbol) -> String {
    let g = IndexedGraph::new(sym);
    let index: HashMap<*const Node, usize> = g.nodes.iter().enumerate().map(|(i, n)| (Arc::as_ptr(n), i)).collect();
    let entry = |e: &Entry| triple(index[&Arc::as_ptr(&e.node)], e.index, e.version);
    let nodes = g
        .nodes
        .iter()
        .map(|n| {
            let mut fields = vec![
                ("op".to_string(), Out::Str(n.op.as_ref().map_or("null", |o| o.def.name).to_string())),
                ("name".to_string(), Out::Str(n.name.clone())),
            ];
            let mut attrs: Vec<(String, String)> = n.attrs().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
            attrs.sort();
            if !attrs.is_empty() {
                let multi = attrs.len() > 1;
                fields.push(("attrs".into(), Out::Obj(attrs.into_iter().map(|(k, v)| (k, Out::Str(v))).collect(), multi)));
            }
            fields.push(("inputs".into(), arr(n.inputs.iter().map(entry).collect())));
            if !n.control_deps.is_empty() {
                fields.push(("control_deps".into(), ints(n.control_deps.iter().map(|c| index[&Arc::as_ptr(c)]))));
            }
            Out::Obj(fields, true)
        })
        .collect();
    let arg_nodes = g.nodes.iter().enumerate().filter(|(_, n)| n.is_variable()).map(|(i, _)| i);
    let version = Out::Obj(vec![("mxnet_version".into(), Out::Arr(vec![Out::Str("int".into()), Out::Int(MXNET_VERSION)], false))], false);
    let top = Out::Obj(
        vec![
            ("nodes".into(), Out::Arr(nodes, true)),
            ("arg_nodes".into(), ints(arg_nodes)),
            ("node_row_ptr".into(), ints(g.row_ptr.iter().copied())),
            ("heads".into(), arr(sym.outputs.iter().map(entry).collect())),
            ("attrs".into(), version),
        ],
        true,
    );
    let mut buf = String::new();
    write_out(&top, 0, &mut buf);
    buf
}

fn bad(msg: impl Into<String>) -> GraphError {
    GraphError::Invalid(format!("symbol JSON: {}", msg.into()))
}

/// A node's attributes from `attrs`, or the legacy `attr` and `param` keys (merged).
fn node_attrs(node: &Json) -> Result<Attrs> {
    let mut attrs = Attrs::new();
    for key in ["param", "attr", "attrs"] {
        if let Some(map) = node.get(key) {
            let map = map.as_object().ok_or_else(|| bad(format!("'{key}' of a node is not an object")))?;
            for (k, v) in map {
                let v = v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string());
                attrs.set(k.clone(), v);
            }
        }
    }
    Ok(attrs)
}

fn graph_version(doc: &Json) -> i64 {
    doc.get("attrs").and_then(|a| a.get("mxnet_version")).and_then(|v| v.get(1)).and_then(Json::as_i64).unwrap_or(800)
}

/// Legacy upgrade: plain hidden keys become `__key__`; `<input>_lr_mult` on an operator moves
/// to that input's variable (on a variable it stays as it is, as MXNet leaves it).
fn upgrade_hidden(attrs: &mut Attrs, moved: &mut Vec<(String, String, String)>, is_op: bool) {
    let mut out = Attrs::new();
    for (k, v) in attrs.iter() {
        if HIDDEN_KEYS.contains(&k) {
            out.set(format!("__{k}__"), v);
        } else if let Some((input, key)) = is_op.then_some(()).and_then(|_| HIDDEN_KEYS.iter().find_map(|h| k.strip_suffix(&format!("_{h}")).map(|i| (i, *h)))) {
            moved.push((input.to_string(), format!("__{key}__"), v.to_string()));
        } else {
            out.set(k, v);
        }
    }
    *attrs = out;
}

pub fn from_json(text: &str) -> Result<Symbol> {
    let doc: Json = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
    let legacy = graph_version(&doc) < 10000;
    let nodes_json = doc.get("nodes").and_then(Json::as_array).ok_or_else(|| bad("no 'nodes' list"))?;
    let mut nodes: Vec<Arc<Node>> = Vec::with_capacity(nodes_json.len());
    // Outputs of each node as symbols, so operators are rebuilt through the same path as
    // `mx.sym.X(...)` (missing legacy inputs are created by it).
    let mut outs: Vec<Symbol> = Vec::with_capacity(nodes_json.len());
    for (i, nj) in nodes_json.iter().enumerate() {
        let op = nj.get("op").and_then(Json::as_str).ok_or_else(|| bad(format!("node {i} has no 'op'")))?;
        let name = nj.get("name").and_then(Json::as_str).ok_or_else(|| bad(format!("node {i} has no 'name'")))?;
        let mut attrs = node_attrs(nj)?;
        let mut moved = Vec::new();
        if legacy {
            upgrade_hidden(&mut attrs, &mut moved, op != "null");
        }
        let sym = if op == "null" {
            Symbol::variable(name, attrs)
        } else {
            let mut args = Vec::new();
            for e in nj.get("inputs").and_then(Json::as_array).ok_or_else(|| bad(format!("node '{name}' has no 'inputs'")))? {
                let e = e.as_array().ok_or_else(|| bad(format!("node '{name}': an input is not a list")))?;
                let src = e.first().and_then(Json::as_u64).ok_or_else(|| bad(format!("node '{name}': bad input entry")))? as usize;
                let index = e.get(1).and_then(Json::as_u64).unwrap_or(0) as usize;
                let version = e.get(2).and_then(Json::as_u64).unwrap_or(0) as u32;
                if src >= i {
                    return Err(bad(format!("node '{name}' reads node {src}, which does not come before it")));
                }
                let node = nodes[src].clone();
                if index >= node.num_outputs() {
                    return Err(bad(format!("node '{name}' reads output {index} of '{}', which has {}", node.name, node.num_outputs())));
                }
                args.push(Symbol { outputs: vec![Entry { node, index, version }] });
            }
            let mut s = build_op(op, name, attrs, &args, &[], false).map_err(|e| match e {
                GraphError::UnknownOp(op) => bad(format!("node '{name}': unknown operator '{op}'")),
                other => other,
            })?;
            // `create_op` returns the visible outputs; JSON entries may address hidden ones.
            let node = s.outputs[0].node.clone();
            let input_names = node.input_names();
            for (input, key, value) in &moved {
                if let Some(k) = input_names.iter().position(|n| n == input) {
                    node.inputs[k].node.attrs.write().unwrap().set(key.clone(), value.clone());
                }
            }
            s.outputs = (0..node.num_outputs()).map(|index| Entry { node: node.clone(), index, version: 0 }).collect();
            s
        };
        nodes.push(sym.outputs[0].node.clone());
        outs.push(sym);
    }
    let heads = doc.get("heads").and_then(Json::as_array).ok_or_else(|| bad("no 'heads' list"))?;
    let mut outputs = Vec::new();
    for h in heads {
        let h = h.as_array().ok_or_else(|| bad("a head is not a list"))?;
        let n = h.first().and_then(Json::as_u64).ok_or_else(|| bad("bad head entry"))? as usize;
        let index = h.get(1).and_then(Json::as_u64).unwrap_or(0) as usize;
        let node = nodes.get(n).ok_or_else(|| bad(format!("head refers to node {n} of {}", nodes.len())))?;
        if index >= node.num_outputs() {
            return Err(bad(format!("a head reads output {index} of '{}', which has {}", node.name, node.num_outputs())));
        }
        outputs.push(Entry { node: node.clone(), index, version: 0 });
    }
    Ok(Symbol { outputs })
}
