//! Shape and dtype inference over a graph from whatever is known: given shapes, the variables'
//! `__shape__`/`__dtype__` attributes, operators' completion of their inputs (weights from the
//! data, labels from predictions) and their output inference, repeated until nothing changes.
//! A conflict names the node, the input and both shapes.

use rmx_kernels::{DType, Shape};

use super::IndexedGraph;
use rmx_operators::attrs::Attrs;
use rmx_operators::error::{shape_err, GraphError, Result};
use rmx_operators::operator::TensorDesc;

/// What inference found, per entry of the indexed graph.
pub struct Inferred {
    pub shapes: Vec<Option<Shape>>,
    pub dtypes: Vec<Option<DType>>,
}

fn parse_shape(text: &str) -> Option<Shape> {
    let t = text.trim().trim_start_matches(['(', '[']).trim_end_matches([')', ']']);
    let dims: Option<Shape> = t.split(',').map(str::trim).filter(|s| !s.is_empty()).map(|s| s.trim_end_matches('L').parse::<usize>().ok()).collect();
    // Legacy shape semantics: 0 means unknown, and a shape with an unknown is no shape yet.
    dims.filter(|d| !d.is_empty() && d.iter().all(|&x| x > 0))
}

fn var_attr_dtype(attrs: &Attrs) -> Option<DType> {
    attrs.get("__dtype__").and_then(|v| v.parse::<i32>().ok()).and_then(DType::from_flag)
}

/// Sets `slot` to `value`, or checks they agree.
fn unify<T: PartialEq + Clone + std::fmt::Debug>(slot: &mut Option<T>, value: T, conflict: impl FnOnce(&T, &T) -> GraphError) -> Result<bool> {
    match slot {
        Some(old) if *old == value => Ok(false),
        Some(old) => Err(conflict(old, &value)),
        None => {
            *slot = Some(value);
            Ok(true)
        }
    }
}

/// Infers every entry's shape and dtype; `shapes`/`dtypes` give known values by entry id.
pub fn infer(g: &IndexedGraph, shapes: Vec<Option<Shape>>, dtypes: Vec<Option<DType>>) -> Result<Inferred> {
    let mut inf = Inferred { shapes, dtypes };
    for (n, node) in g.nodes.iter().enumerate() {
        if node.is_variable() {
            let e = g.entry(n, 0);
            let attrs = node.attrs();
            if inf.shapes[e].is_none() {
                inf.shapes[e] = attrs.get("__shape__").and_then(parse_shape);
            }
            if inf.dtypes[e].is_none() {
                inf.dtypes[e] = var_attr_dtype(&attrs);
            }
        }
    }
    // Each pass only adds information, so this ends; a few passes settle real graphs.
    for _ in 0..g.nodes.len() + 1 {
        if !pass(g, &mut inf)? {
            break;
        }
    }
    Ok(inf)
}

fn pass(g: &IndexedGraph, inf: &mut Inferred) -> Result<bool> {
    let mut changed = false;
    for (n, node) in g.nodes.iter().enumerate() {
        let Some(op) = &node.op else { continue };
        let ins = &g.inputs[n];
        let names = node.input_names();
        let input_name = |i: usize| -> String {
            let e = &node.inputs[i];
            format!("'{}' ({})", names.get(i).cloned().unwrap_or_else(|| format!("input {i}")), e.node.output_name(e.index))
        };
        let known: Vec<Option<Shape>> = ins.iter().map(|&e| inf.shapes[e].clone()).collect();
        for (i, want) in op.op.complete_inputs(&known).into_iter().enumerate() {
            if let Some(want) = want {
                changed |= unify(&mut inf.shapes[ins[i]], want, |old, new| {
                    shape_err(op.def.name, format!("node '{}': input {} has shape {:?}, but the operator needs {:?}", node.name, input_name(i), old.as_slice(), new.as_slice()))
                })?;
            }
        }
        let known_dt: Vec<Option<DType>> = ins.iter().map(|&e| inf.dtypes[e]).collect();
        for (i, want) in op.op.complete_dtypes(&known_dt).into_iter().enumerate() {
            if let Some(want) = want {
                if inf.dtypes[ins[i]].is_none() {
                    inf.dtypes[ins[i]] = Some(want);
                    changed = true;
                }
            }
        }
        // Shapes infer with float32 standing in for unknown dtypes; output dtypes are only
        // recorded from known input dtypes.
        let dtypes_known = ins.iter().all(|&e| inf.dtypes[e].is_some());
        let descs: Option<Vec<TensorDesc>> = ins.iter().map(|&e| Some(TensorDesc { shape: inf.shapes[e].clone()?, dtype: inf.dtypes[e].unwrap_or(DType::F32) })).collect();
        let first_out = g.entry(n, 0);
        if let Some(descs) = descs {
            if inf.shapes[first_out].is_some() && (inf.dtypes[first_out].is_some() || !dtypes_known) {
                continue;
            }
            let outs = op.op.infer(&descs).map_err(|e| with_node(e, &node.name))?;
            for (k, d) in outs.into_iter().enumerate() {
                let e = first_out + k;
                changed |= unify(&mut inf.shapes[e], d.shape, |old, new| {
                    shape_err(op.def.name, format!("node '{}': output {k} has shape {:?} elsewhere, the operator gives {:?}", node.name, old.as_slice(), new.as_slice()))
                })?;
                if dtypes_known && inf.dtypes[e].is_none() {
                    inf.dtypes[e] = Some(d.dtype);
                    changed = true;
                }
            }
        } else if ins.is_empty() || ins.iter().all(|&e| inf.dtypes[e].is_some()) {
            // Dtypes without shapes: outputs take the operator's `dtype` parameter or the first
            // input's dtype (what nearly every operator does; exact values come with shapes).
            let attrs = node.attrs();
            let dt = attrs.get("dtype").and_then(DType::from_name).or_else(|| ins.first().and_then(|&e| inf.dtypes[e])).unwrap_or(DType::F32);
            for k in 0..node.num_outputs() {
                if inf.dtypes[first_out + k].is_none() {
                    inf.dtypes[first_out + k] = Some(dt);
                    changed = true;
                }
            }
        }
    }
    Ok(changed)
}

/// Puts the node's name into an operator's error.
fn with_node(e: GraphError, node: &str) -> GraphError {
    match e {
        GraphError::Shape { op, message } => GraphError::Shape { op, message: format!("node '{node}': {message}") },
        GraphError::DType { op, message } => GraphError::DType { op, message: format!("node '{node}': {message}") },
        other => other,
    }
}
