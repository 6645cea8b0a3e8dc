//! `rmx._rmx.SymbolHandle` and `ExecutorHandle`: the declarative half. Python's `Symbol` and
//! `Executor` classes wrap these; naming (NameManager, AttrScope) stays in Python, and every
//! graph operation (composition, inference, JSON, binding) happens here.

use std::collections::HashMap;

use pyo3::prelude::*;

use rmx_graph::executor::{plan_memory, Executor, GradReq, MemoryStrategy};
use rmx_graph::symbol::{self, IndexedGraph, Symbol};
use rmx_graph::{Attrs, GraphError, NDArray, TensorDesc};
use rmx_kernels::Shape;

use crate::errors::{graph_error, guard};
use crate::ndarray::{context, PyNDArray};

#[pyclass(name = "SymbolHandle", module = "rmx._rmx", frozen)]
pub struct PySymbol(pub Symbol);

fn sym_result(py: Python<'_>, what: &str, f: impl FnOnce() -> Result<Symbol, GraphError>) -> PyResult<PySymbol> {
    guard(py, what, || f().map(PySymbol).map_err(|e| graph_error(py, e)))
}

/// Inferred `(args, outputs, aux)` per entry, `None` where unknown.
type Inferred<T> = (Vec<Option<T>>, Vec<Option<T>>, Vec<Option<T>>);

/// A node's name and its attributes, as `attr_dict` gives them.
type NodeAttrs = (String, Vec<(String, String)>);

#[pymethods]
impl PySymbol {
    #[staticmethod]
    fn variable(py: Python<'_>, name: &str, attrs: Vec<(String, String)>) -> PyResult<PySymbol> {
        guard(py, "variable", || Ok({
            PySymbol(Symbol::variable(name, Attrs::from_pairs(attrs)))
        }))
    }

    #[staticmethod]
    fn create(py: Python<'_>, op: &str, name: &str, attrs: Vec<(String, String)>, args: Vec<PyRef<'_, PySymbol>>, kwargs: Vec<(String, PyRef<'_, PySymbol>)>) -> PyResult<PySymbol> {
        let args: Vec<Symbol> = args.iter().map(|s| s.0.clone()).collect();
        let kwargs: Vec<(String, Symbol)> = kwargs.iter().map(|(k, s)| (k.clone(), s.0.clone())).collect();
        sym_result(py, op, || symbol::create_op(op, name, Attrs::from_pairs(attrs), &args, &kwargs))
    }

    #[staticmethod]
    fn group(py: Python<'_>, symbols: Vec<PyRef<'_, PySymbol>>) -> PyResult<PySymbol> {
        guard(py, "group", || Ok({
            let syms: Vec<Symbol> = symbols.iter().map(|s| s.0.clone()).collect();
            PySymbol(Symbol::group(&syms))
        }))
    }

    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<PySymbol> {
        sym_result(py, "load_json", || symbol::from_json(text))
    }

    fn compose(&self, py: Python<'_>, args: Vec<PyRef<'_, PySymbol>>, kwargs: Vec<(String, PyRef<'_, PySymbol>)>) -> PyResult<PySymbol> {
        let args: Vec<Symbol> = args.iter().map(|s| s.0.clone()).collect();
        let kwargs: Vec<(String, Symbol)> = kwargs.iter().map(|(k, s)| (k.clone(), s.0.clone())).collect();
        sym_result(py, "compose", || symbol::compose(&self.0, &args, &kwargs))
    }

    fn tojson(&self, py: Python<'_>) -> PyResult<String> {
        guard(py, "tojson", || Ok({
            symbol::to_json(&self.0)
        }))
    }

    fn list_arguments(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        guard(py, "list_arguments", || Ok({
            self.0.list_arguments()
        }))
    }

    fn list_outputs(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        guard(py, "list_outputs", || Ok({
            self.0.list_outputs()
        }))
    }

    fn list_auxiliary_states(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        guard(py, "list_auxiliary_states", || Ok({
            self.0.list_auxiliary_states()
        }))
    }

    fn list_inputs(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        guard(py, "list_inputs", || Ok({
            self.0.list_inputs()
        }))
    }

    fn num_outputs(&self) -> usize {
        self.0.outputs.len()
    }

    fn output(&self, py: Python<'_>, index: usize) -> PyResult<PySymbol> {
        sym_result(py, "__getitem__", || self.0.output(index))
    }

    fn internals(&self, py: Python<'_>) -> PyResult<PySymbol> {
        guard(py, "internals", || Ok({
            PySymbol(self.0.internals())
        }))
    }

    fn children(&self, py: Python<'_>) -> PyResult<Option<PySymbol>> {
        guard(py, "children", || Ok({
            self.0.children().map(PySymbol)
        }))
    }

    /// The single output node's name, `None` for a group.
    fn name(&self) -> Option<String> {
        self.0.name()
    }

    /// `(op name or "null", node name)` of each output's node.
    fn head_ops(&self) -> Vec<(String, String)> {
        self.0.outputs.iter().map(|e| (e.node.op.as_ref().map_or("null", |o| o.def.name).to_string(), e.node.name.clone())).collect()
    }

    /// The attributes of the single output node.
    fn attrs(&self, py: Python<'_>) -> PyResult<Vec<(String, String)>> {
        guard(py, "attrs", || Ok({
            match self.0.outputs.as_slice() {
                [e] => e.node.attrs().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
                _ => Vec::new(),
            }
        }))
    }

    fn set_attr(&self, py: Python<'_>, key: &str, value: &str) -> PyResult<()> {
        guard(py, "set_attr", || {
            for e in &self.0.outputs {
                e.node.attrs.write().unwrap().set(key, value);
            }
            Ok(())
        })
    }

    /// Every node's attributes: `[(node name, [(key, value)])]`, nodes with attributes only.
    fn attr_dict(&self, py: Python<'_>) -> PyResult<Vec<NodeAttrs>> {
        guard(py, "attr_dict", || Ok({
            self.0.attr_dict().into_iter().map(|(n, a)| (n, a.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())).collect()
        }))
    }

    /// Every node in topological order: `(op, name, [(input node index, output index)],
    /// attrs)`, for visualization and summaries.
    #[allow(clippy::type_complexity)]
    fn nodes(&self, py: Python<'_>) -> PyResult<Vec<(String, String, Vec<(usize, usize)>, Vec<(String, String)>)>> {
        guard(py, "nodes", || Ok({
            let g = IndexedGraph::new(&self.0);
            g.nodes
                .iter()
                .enumerate()
                .map(|(n, node)| {
                    let ins = g.inputs[n].iter().map(|&e| (g.producer(e), e - g.row_ptr[g.producer(e)])).collect();
                    let op = node.op.as_ref().map_or("null", |o| o.def.name).to_string();
                    (op, node.name.clone(), ins, node.attrs().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect())
                })
                .collect()
        }))
    }

    /// Shape inference from known shapes by input name. Returns per-argument, per-output and
    /// per-aux shapes (`None` where unknown) and, with `per_node`, every node's output shapes.
    #[pyo3(signature = (known, per_node=false))]
    #[allow(clippy::type_complexity)]
    fn infer_shape(&self, py: Python<'_>, known: HashMap<String, Vec<usize>>, per_node: bool) -> PyResult<(Inferred<Vec<usize>>, Vec<Vec<Option<Vec<usize>>>>)> {
        guard(py, "infer_shape", || {
            let (g, inf) = self.infer(known, HashMap::new()).map_err(|e| graph_error(py, e))?;
            let shape = |e: usize| inf.shapes[e].as_ref().map(|s| s.to_vec());
            let pick = |nodes: &[usize]| nodes.iter().map(|&n| shape(g.entry(n, 0))).collect();
            let nodes = if per_node { (0..g.nodes.len()).map(|n| (g.row_ptr[n]..g.row_ptr[n + 1]).map(shape).collect()).collect() } else { Vec::new() };
            Ok(((pick(&g.args), g.heads.iter().map(|&e| shape(e)).collect(), pick(&g.aux)), nodes))
        })
    }

    /// Dtype inference from known dtypes (by name); dtypes as names.
    fn infer_type(&self, py: Python<'_>, known: HashMap<String, String>) -> PyResult<Inferred<String>> {
        let mut dts = HashMap::new();
        for (k, v) in known {
            let d = rmx_kernels::DType::from_name(&v).ok_or_else(|| crate::errors::raise(py, "DTypeError", format!("unsupported dtype {v:?} for '{k}'")))?;
            dts.insert(k, d);
        }
        guard(py, "infer_type", || {
            let (g, inf) = self.infer(HashMap::new(), dts).map_err(|e| graph_error(py, e))?;
            let dt = |e: usize| inf.dtypes[e].map(|d| d.name().to_string());
            let pick = |nodes: &[usize]| nodes.iter().map(|&n| dt(g.entry(n, 0))).collect();
            Ok((pick(&g.args), g.heads.iter().map(|&e| dt(e)).collect(), pick(&g.aux)))
        })
    }

    /// Binds to arrays; see `Executor::bind`. `strategy`: the memory strategy's name, or
    /// `None` for `RMX_MEMORY_STRATEGY` (default `both`).
    #[allow(clippy::too_many_arguments)]
    #[pyo3(signature = (dev_type, dev_id, args, grads, reqs, aux, strategy=None))]
    fn bind(
        &self,
        py: Python<'_>,
        dev_type: i32,
        dev_id: u32,
        args: Vec<PyRef<'_, PyNDArray>>,
        grads: Vec<Option<PyRef<'_, PyNDArray>>>,
        reqs: Vec<String>,
        aux: Vec<PyRef<'_, PyNDArray>>,
        strategy: Option<&str>,
    ) -> PyResult<PyExecutor> {
        let ctx = context(py, dev_type, dev_id)?;
        let args: Vec<NDArray> = args.iter().map(|a| a.0.clone()).collect();
        let grads: Vec<Option<NDArray>> = grads.iter().map(|g| g.as_ref().map(|a| a.0.clone())).collect();
        let aux: Vec<NDArray> = aux.iter().map(|a| a.0.clone()).collect();
        guard(py, "bind", || {
            let reqs = reqs.iter().map(|r| GradReq::parse(r)).collect::<Result<Vec<_>, _>>().map_err(|e| graph_error(py, e))?;
            let strategy = memory_strategy(strategy).map_err(|e| graph_error(py, e))?;
            Executor::bind(&self.0, ctx, args, grads, reqs, aux, strategy).map(PyExecutor).map_err(|e| graph_error(py, e))
        })
    }

    /// The memory a bind would allocate, planned without allocating: arguments and aux states
    /// as `(shape, dtype name)` in `list_arguments`/`list_auxiliary_states` order. Returns the
    /// strategy's name and a dict of byte totals and counts.
    #[pyo3(signature = (args, aux, reqs, strategy=None))]
    fn plan_memory(&self, py: Python<'_>, args: Vec<(Vec<usize>, String)>, aux: Vec<(Vec<usize>, String)>, reqs: Vec<String>, strategy: Option<&str>) -> PyResult<(&'static str, HashMap<&'static str, usize>)> {
        let descs = |v: Vec<(Vec<usize>, String)>| -> PyResult<Vec<TensorDesc>> {
            v.into_iter()
                .map(|(s, d)| {
                    let dt = rmx_kernels::DType::from_name(&d).ok_or_else(|| crate::errors::raise(py, "DTypeError", format!("unsupported dtype {d:?}")))?;
                    Ok(TensorDesc::new(&s, dt))
                })
                .collect()
        };
        let (args, aux) = (descs(args)?, descs(aux)?);
        let r = guard(py, "plan_memory", || {
            let plan = || {
                let reqs = reqs.iter().map(|r| GradReq::parse(r)).collect::<Result<Vec<_>, _>>()?;
                plan_memory(&self.0, &args, &aux, &reqs, memory_strategy(strategy)?)
            };
            plan().map_err(|e| graph_error(py, e))
        })?;
        let counts = HashMap::from([
            ("internal_bytes", r.plan.total_bytes()),
            ("unshared_bytes", r.unshared_bytes),
            ("num_buffers", r.plan.block_bytes.len()),
            ("num_entries", r.plan.block_of.iter().flatten().count()),
            ("arg_bytes", r.arg_bytes),
            ("grad_bytes", r.grad_bytes),
            ("aux_bytes", r.aux_bytes),
            ("forward_nodes", r.forward_nodes),
            ("backward_nodes", r.backward_nodes),
        ]);
        Ok((r.plan.strategy.name(), counts))
    }
}

fn memory_strategy(name: Option<&str>) -> Result<MemoryStrategy, GraphError> {
    name.map_or_else(MemoryStrategy::from_env, MemoryStrategy::parse)
}

impl PySymbol {
    fn infer(&self, shapes: HashMap<String, Vec<usize>>, dtypes: HashMap<String, rmx_kernels::DType>) -> Result<(IndexedGraph, symbol::Inferred), GraphError> {
        let g = IndexedGraph::new(&self.0);
        let mut s = vec![None; g.num_entries()];
        let mut d = vec![None; g.num_entries()];
        for (n, node) in g.nodes.iter().enumerate() {
            if node.is_variable() {
                if let Some(shape) = shapes.get(&node.name) {
                    // Legacy semantics: a 0 is an unknown dimension, so the shape is not known yet.
                    if !shape.is_empty() && shape.iter().all(|&x| x > 0) {
                        s[g.entry(n, 0)] = Some(Shape::from_slice(shape));
                    }
                }
                d[g.entry(n, 0)] = dtypes.get(&node.name).copied();
            }
        }
        let inf = symbol::infer(&g, s, d)?;
        Ok((g, inf))
    }
}

#[pyclass(name = "ExecutorHandle", module = "rmx._rmx", frozen)]
pub struct PyExecutor(pub Executor);

#[pymethods]
impl PyExecutor {
    fn forward(&self, py: Python<'_>, is_train: bool) -> PyResult<()> {
        guard(py, "forward", || self.0.forward(is_train).map_err(|e| graph_error(py, e)))
    }

    fn backward(&self, py: Python<'_>, out_grads: Vec<PyRef<'_, PyNDArray>>) -> PyResult<()> {
        let grads: Vec<NDArray> = out_grads.iter().map(|a| a.0.clone()).collect();
        guard(py, "backward", || self.0.backward(&grads).map_err(|e| graph_error(py, e)))
    }

    fn outputs(&self, py: Python<'_>) -> PyResult<Vec<PyNDArray>> {
        guard(py, "outputs", || Ok({
            self.0.outputs.iter().cloned().map(PyNDArray::from).collect()
        }))
    }

    fn arg_arrays(&self, py: Python<'_>) -> PyResult<Vec<PyNDArray>> {
        guard(py, "arg_arrays", || Ok({
            self.0.arg_arrays.iter().cloned().map(PyNDArray::from).collect()
        }))
    }

    fn grad_arrays(&self, py: Python<'_>) -> PyResult<Vec<Option<PyNDArray>>> {
        guard(py, "grad_arrays", || Ok({
            self.0.grad_arrays.iter().map(|g| g.clone().map(PyNDArray::from)).collect()
        }))
    }

    fn aux_arrays(&self, py: Python<'_>) -> PyResult<Vec<PyNDArray>> {
        guard(py, "aux_arrays", || Ok({
            self.0.aux_arrays.iter().cloned().map(PyNDArray::from).collect()
        }))
    }

    fn debug_str(&self, py: Python<'_>) -> PyResult<String> {
        guard(py, "debug_str", || Ok({
            self.0.debug_str()
        }))
    }

    fn internal_bytes(&self, py: Python<'_>) -> PyResult<usize> {
        guard(py, "internal_bytes", || Ok({
            self.0.internal_bytes()
        }))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySymbol>()?;
    m.add_class::<PyExecutor>()?;
    Ok(())
}
