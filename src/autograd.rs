//! `mx.autograd`'s Rust side: the per-thread recording and training flags, marking variables,
//! and the backward pass (`rmx_graph::autograd`). The Python module adds the scopes and names.

use pyo3::prelude::*;

use rmx_graph::autograd::{self, Entry, GradReq, Target};
use rmx_graph::NDArray;

use crate::errors::{graph_error, guard, invalid_argument};
use crate::ndarray::PyNDArray;

#[pyfunction]
fn set_recording(on: bool) -> bool {
    autograd::set_recording(on)
}

#[pyfunction]
fn set_training(on: bool) -> bool {
    autograd::set_training(on)
}

#[pyfunction]
fn is_recording() -> bool {
    autograd::is_recording()
}

#[pyfunction]
fn is_training() -> bool {
    autograd::is_training()
}

/// Makes `array` a variable whose gradients go to `grad` as `grad_req` says.
#[pyfunction]
fn mark_variable(py: Python<'_>, array: PyRef<'_, PyNDArray>, grad: PyRef<'_, PyNDArray>, grad_req: &str) -> PyResult<()> {
    let req = GradReq::parse(grad_req).map_err(|e| invalid_argument(py, e.to_string()))?;
    if array.0.shape() != grad.0.shape() || array.0.dtype() != grad.0.dtype() {
        return Err(invalid_argument(
            py,
            format!("mark_variables: a gradient of shape {:?} ({}) for a variable of shape {:?} ({})", grad.0.shape(), grad.0.dtype(), array.0.shape(), array.0.dtype()),
        ));
    }
    array.set_entry(Some(Entry::variable(grad.0.clone(), req)));
    Ok(())
}

/// `(gradient buffer, grad_req)` of a variable, or None for an array that is not one.
#[pyfunction]
fn grad_of(array: PyRef<'_, PyNDArray>) -> Option<(PyNDArray, &'static str)> {
    let entry = array.entry()?;
    let (grad, req) = entry.grad()?;
    Some((PyNDArray::from(grad.clone()), req.name()))
}

/// Whether a backward wrote the variable's gradient since the flag was last cleared (MXNet's
/// `NDArray._fresh_grad`); False for an array that is not a variable.
#[pyfunction]
fn fresh_grad(array: PyRef<'_, PyNDArray>) -> bool {
    array.entry().and_then(|e| e.fresh_grad()).unwrap_or(false)
}

/// Sets the variable's fresh-gradient flag (Gluon's `Trainer` clears it after an update).
#[pyfunction]
fn set_fresh_grad(array: PyRef<'_, PyNDArray>, on: bool) {
    if let Some(e) = array.entry() {
        e.set_fresh_grad(on);
    }
}

/// Whether the array was recorded or marked (it carries an entry).
#[pyfunction]
fn is_tracked(array: PyRef<'_, PyNDArray>) -> bool {
    array.entry().is_some()
}

/// The same array, cut off from the recorded computation.
#[pyfunction]
fn detach(array: PyRef<'_, PyNDArray>) -> PyNDArray {
    PyNDArray::from(array.0.clone())
}

type Heads<'py> = Vec<(NDArray, Option<Entry>, Option<NDArray>)>;

fn heads<'py>(py: Python<'py>, heads: &[PyRef<'py, PyNDArray>], head_grads: &[Option<PyRef<'py, PyNDArray>>]) -> PyResult<Heads<'py>> {
    if heads.len() != head_grads.len() {
        return Err(invalid_argument(py, format!("{} heads and {} head gradients", heads.len(), head_grads.len())));
    }
    Ok(heads.iter().zip(head_grads).map(|(h, g)| (h.0.clone(), h.entry(), g.as_ref().map(|g| g.0.clone()))).collect())
}

/// Writes the gradients of `heads` into the buffers of the variables they depend on.
#[pyfunction]
#[pyo3(signature = (heads, head_grads, retain_graph=false, train_mode=true))]
fn backward<'py>(py: Python<'py>, heads: Vec<PyRef<'py, PyNDArray>>, head_grads: Vec<Option<PyRef<'py, PyNDArray>>>, retain_graph: bool, train_mode: bool) -> PyResult<()> {
    let heads = self::heads(py, &heads, &head_grads)?;
    guard(py, "backward", || autograd::backward(&heads, Target::Buffers, retain_graph, false, train_mode).map(drop).map_err(|e| graph_error(py, e)))
}

/// The gradients of `heads` with respect to `variables`, returned (buffers untouched);
/// recorded themselves when `create_graph`.
#[pyfunction]
#[pyo3(signature = (heads, head_grads, variables, retain_graph, create_graph, train_mode=true))]
fn grad<'py>(
    py: Python<'py>,
    heads: Vec<PyRef<'py, PyNDArray>>,
    head_grads: Vec<Option<PyRef<'py, PyNDArray>>>,
    variables: Vec<PyRef<'py, PyNDArray>>,
    retain_graph: bool,
    create_graph: bool,
    train_mode: bool,
) -> PyResult<Vec<PyNDArray>> {
    let heads = self::heads(py, &heads, &head_grads)?;
    let vars: Vec<Entry> = variables
        .iter()
        .map(|v| v.entry().filter(|e| e.grad().is_some()).ok_or_else(|| invalid_argument(py, "autograd.grad: every variable must have been marked (attach_grad or mark_variables)".into())))
        .collect::<PyResult<_>>()?;
    let grads = guard(py, "grad", || autograd::backward(&heads, Target::Variables(&vars), retain_graph, create_graph, train_mode).map_err(|e| graph_error(py, e)))?;
    Ok(grads.into_iter().map(PyNDArray::tracked).collect())
}

/// Records an `autograd.Function` call: `outputs` were computed from `inputs` with recording
/// paused; `backward(out_grad_handles) -> in_grad_handles` is the user's gradient.
#[pyfunction]
fn record_custom(inputs: Vec<PyRef<'_, PyNDArray>>, outputs: Vec<PyRef<'_, PyNDArray>>, backward: Py<PyAny>) {
    let tracked: Vec<_> = inputs.iter().map(|h| (h.0.clone(), h.entry())).collect();
    let arrays: Vec<NDArray> = outputs.iter().map(|h| h.0.clone()).collect();
    let grad: autograd::CustomGrad = Box::new(move |out_grads: &[NDArray]| {
        Python::attach(|py| {
            let handles: Vec<PyNDArray> = out_grads.iter().cloned().map(PyNDArray::from).collect();
            let result = backward.call1(py, (handles,)).and_then(|r| {
                let v: Vec<PyRef<'_, PyNDArray>> = r.into_bound(py).extract()?;
                Ok(v.iter().map(|h| h.0.clone()).collect())
            });
            result.map_err(|e| rmx_graph::GraphError::Invalid(format!("autograd.Function backward: {e}")))
        })
    });
    for (h, e) in outputs.iter().zip(autograd::record_custom(&tracked, &arrays, grad)) {
        h.set_entry(Some(e));
    }
}

/// The recorded computation behind `array` as a symbol.
#[pyfunction]
fn get_symbol(py: Python<'_>, array: PyRef<'_, PyNDArray>) -> PyResult<crate::symbol::PySymbol> {
    let entry = array.entry().ok_or_else(|| invalid_argument(py, "get_symbol: the array was not recorded (compute it inside autograd.record())".into()))?;
    guard(py, "get_symbol", || autograd::to_symbol(&entry).map(crate::symbol::PySymbol).map_err(|e| graph_error(py, e)))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(set_recording, m)?)?;
    m.add_function(wrap_pyfunction!(set_training, m)?)?;
    m.add_function(wrap_pyfunction!(is_recording, m)?)?;
    m.add_function(wrap_pyfunction!(is_training, m)?)?;
    m.add_function(wrap_pyfunction!(mark_variable, m)?)?;
    m.add_function(wrap_pyfunction!(grad_of, m)?)?;
    m.add_function(wrap_pyfunction!(is_tracked, m)?)?;
    m.add_function(wrap_pyfunction!(fresh_grad, m)?)?;
    m.add_function(wrap_pyfunction!(set_fresh_grad, m)?)?;
    m.add_function(wrap_pyfunction!(detach, m)?)?;
    m.add_function(wrap_pyfunction!(backward, m)?)?;
    m.add_function(wrap_pyfunction!(grad, m)?)?;
    m.add_function(wrap_pyfunction!(record_custom, m)?)?;
    m.add_function(wrap_pyfunction!(get_symbol, m)?)?;
    Ok(())
}
