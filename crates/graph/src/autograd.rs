//! Imperative autograd (MXNet's `mx.autograd`): while recording, every operator call whose inputs
//! come from marked variables is kept on a tape; `backward` walks the tape from the heads in
//! reverse and builds each call's input gradients with the operator's own `gradient` (the same
//! description the symbolic gradient pass turns into graph nodes), running the calls at once
//! through [`invoke`]. Nothing blocks: recorded and gradient calls are engine pushes like any
//! other.
//!
//! A recorded array carries an [`Entry`]: a node of the tape and which of its outputs it is. A
//! node is a variable (an array with a gradient buffer and a `grad_req`) or an operator call
//! (its name, parameters, input arrays and entries, output arrays). The tape is nothing but these
//! nodes, reachable from the arrays that hold entries; a node lives as long as something refers
//! to it. After a backward without `retain_graph` the calls it went through drop their arrays, so
//! their memory goes, and a second backward through them is an error, as in MXNet.
//!
//! The recording and training flags are per thread (MXNet's are too).

use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use rmx_engine::Context;
use rmx_operators::attrs::Attrs;
use rmx_operators::error::{GraphError, Result};
use rmx_operators::grad::{GradArgs, GradBuilder, Value};
use rmx_operators::operator::OpCtx;
use rmx_operators::registry::lookup;

pub use crate::executor::GradReq;
use crate::invoke::invoke_with;
use crate::ndarray::NDArray;
use crate::symbol::{create_op, Symbol};

thread_local! {
    static RECORDING: Cell<bool> = const { Cell::new(false) };
    static TRAINING: Cell<bool> = const { Cell::new(false) };
}

/// Whether operator calls on this thread are recorded.
pub fn is_recording() -> bool {
    RECORDING.with(Cell::get)
}

/// Whether operators on this thread run in training mode (Dropout drops, BatchNorm uses the
/// batch's statistics).
pub fn is_training() -> bool {
    TRAINING.with(Cell::get)
}

/// Sets the recording flag; returns the previous one.
pub fn set_recording(on: bool) -> bool {
    RECORDING.with(|c| c.replace(on))
}

/// Sets the training flag; returns the previous one.
pub fn set_training(on: bool) -> bool {
    TRAINING.with(|c| c.replace(on))
}

/// One node of the tape.
enum Node {
    /// `fresh`: a backward wrote `grad` since the flag was last cleared (MXNet's
    /// `fresh_out_grad`, which Gluon's `Trainer` reads to find stale gradients).
    Variable { grad: NDArray, req: GradReq, fresh: AtomicBool },
    Call(Mutex<Option<Call>>),
}

/// A user's gradient (`autograd.Function`): input gradients from the output gradients.
pub type CustomGrad = Box<dyn Fn(&[NDArray]) -> Result<Vec<NDArray>> + Send + Sync>;

/// What a recorded call was: a registry operator with its parameters, or a user's function.
enum CallOp {
    Registry(&'static str, Attrs),
    Custom(CustomGrad),
}

/// A recorded call; `None` in its node once a backward has released it.
struct Call {
    op: CallOp,
    inputs: Vec<NDArray>,
    entries: Vec<Option<Entry>>,
    outputs: Vec<NDArray>,
    is_train: bool,
}

/// Where a recorded array came from: output `index` of a tape node.
#[derive(Clone)]
pub struct Entry {
    node: Arc<Node>,
    index: usize,
}

impl Entry {
    /// Marks an array as a variable whose gradient goes to `grad` (MXNet's `mark_variables`,
    /// and `attach_grad` with a fresh zero buffer).
    pub fn variable(grad: NDArray, req: GradReq) -> Entry {
        Entry { node: Arc::new(Node::Variable { grad, req, fresh: AtomicBool::new(false) }), index: 0 }
    }

    /// The gradient buffer, when this entry is a variable.
    pub fn grad(&self) -> Option<(&NDArray, GradReq)> {
        match &*self.node {
            Node::Variable { grad, req, .. } => Some((grad, *req)),
            Node::Call(_) => None,
        }
    }

    /// Whether a backward wrote this variable's gradient since the flag was last cleared;
    /// `None` for an entry that is not a variable.
    pub fn fresh_grad(&self) -> Option<bool> {
        match &*self.node {
            Node::Variable { fresh, .. } => Some(fresh.load(Ordering::Relaxed)),
            Node::Call(_) => None,
        }
    }

    /// Sets the fresh-gradient flag of a variable (nothing for other entries).
    pub fn set_fresh_grad(&self, on: bool) {
        if let Node::Variable { fresh, .. } = &*self.node {
            fresh.store(on, Ordering::Relaxed);
        }
    }

    fn key(&self) -> (usize, usize) {
        (Arc::as_ptr(&self.node) as usize, self.index)
    }
}

/// An array with the entry it carries, if any.
pub type Tracked = (NDArray, Option<Entry>);

/// Calls operator `name` as [`invoke`](crate::invoke) does, in this thread's training mode, and
/// records the call when recording and some input carries an entry; returns every output with
/// its entry.
pub fn invoke_tracked(name: &str, inputs: &[Tracked], attrs: &Attrs, out: Option<Vec<NDArray>>, ctx: Context) -> Result<Vec<Tracked>> {
    let arrays: Vec<NDArray> = inputs.iter().map(|(a, _)| a.clone()).collect();
    let is_train = is_training();
    let outputs = invoke_with(name, &arrays, attrs, out, ctx, OpCtx { is_train, ..OpCtx::default() })?;
    if !is_recording() || inputs.iter().all(|(_, e)| e.is_none()) {
        return Ok(outputs.into_iter().map(|a| (a, None)).collect());
    }
    let call = Call {
        op: CallOp::Registry(lookup(name)?.name, attrs.clone()),
        inputs: arrays,
        entries: inputs.iter().map(|(_, e)| e.clone()).collect(),
        outputs: outputs.clone(),
        is_train,
    };
    let node = Arc::new(Node::Call(Mutex::new(Some(call))));
    Ok(outputs.into_iter().enumerate().map(|(index, a)| (a, Some(Entry { node: node.clone(), index }))).collect())
}

/// Records a user's function (`autograd.Function`) that computed `outputs` from `inputs` outside
/// the tape; its gradient is `grad`. Returns the outputs' entries.
pub fn record_custom(inputs: &[Tracked], outputs: &[NDArray], grad: CustomGrad) -> Vec<Entry> {
    let call = Call {
        op: CallOp::Custom(grad),
        inputs: inputs.iter().map(|(a, _)| a.clone()).collect(),
        entries: inputs.iter().map(|(_, e)| e.clone()).collect(),
        outputs: outputs.to_vec(),
        is_train: is_training(),
    };
    let node = Arc::new(Node::Call(Mutex::new(Some(call))));
    (0..outputs.len()).map(|index| Entry { node: node.clone(), index }).collect()
}

/// The recorded computation behind `head` as a symbol (MXNet's `autograd.get_symbol`):
/// variables are named `var0`, `var1`, ... in the order the walk meets them, arrays used without
/// an entry (constants) `null0`, ..., and calls `<operator><k>`.
pub fn to_symbol(head: &Entry) -> Result<Symbol> {
    let (order, _) = topological(std::slice::from_ref(head))?;
    let mut made: HashMap<usize, Symbol> = HashMap::new();
    let (mut vars, mut nulls) = (0usize, 0usize);
    let mut input = |e: &Option<Entry>, made: &HashMap<usize, Symbol>| -> Result<Symbol> {
        let Some(e) = e else {
            nulls += 1;
            return Ok(Symbol::variable(&format!("null{}", nulls - 1), Attrs::new()));
        };
        match made.get(&(Arc::as_ptr(&e.node) as usize)) {
            Some(sym) if sym.list_outputs().len() > 1 => sym.output(e.index),
            Some(sym) => Ok(sym.clone()),
            None => Err(GraphError::Invalid("get_symbol: a recorded input was not reached".into())),
        }
    };
    let mut var_symbol = |e: &Entry, made: &mut HashMap<usize, Symbol>| {
        let key = Arc::as_ptr(&e.node) as usize;
        if e.grad().is_some() && !made.contains_key(&key) {
            made.insert(key, Symbol::variable(&format!("var{vars}"), Attrs::new()));
            vars += 1;
        }
    };
    for (k, node) in order.iter().rev().enumerate() {
        let Node::Call(c) = &**node else { continue };
        let guard = c.lock().unwrap();
        let call = guard.as_ref().ok_or_else(|| GraphError::Invalid(NOT_IN_GRAPH.into()))?;
        let CallOp::Registry(op, attrs) = &call.op else {
            return Err(GraphError::Invalid("get_symbol: an autograd.Function call has no symbol".into()));
        };
        for e in call.entries.iter().flatten() {
            var_symbol(e, &mut made);
        }
        let args: Vec<Symbol> = call.entries.iter().map(|e| input(e, &made)).collect::<Result<_>>()?;
        let sym = create_op(op, &format!("{}{k}", op.to_lowercase()), attrs.clone(), &args, &[])?;
        made.insert(Arc::as_ptr(node) as usize, sym);
    }
    var_symbol(head, &mut made);
    input(&Some(head.clone()), &made)
}

const NOT_IN_GRAPH: &str = "Cannot differentiate node because it is not in a computational graph. \
You need to set is_recording to true or use mark_variables() to mark the variables, \
or the graph was freed by a backward pass without retain_graph=True";

/// What a backward pass computes: gradients written into the variables' buffers, or returned
/// for the given variables (MXNet's `autograd.grad`).
pub enum Target<'a> {
    Buffers,
    Variables(&'a [Entry]),
}

/// The gradients of `heads` (each with its head gradient, ones when `None`) with respect to the
/// variables they depend on. `Target::Buffers` writes them into the variables' gradient buffers
/// as their `grad_req` says and returns nothing; `Target::Variables` returns one gradient per
/// listed variable and writes nothing. `create_graph` records the gradient computation itself
/// (for higher orders); without `retain_graph` the calls passed through are released.
pub fn backward(heads: &[(NDArray, Option<Entry>, Option<NDArray>)], target: Target, retain_graph: bool, create_graph: bool, is_train: bool) -> Result<Vec<Tracked>> {
    let mut head_entries = Vec::with_capacity(heads.len());
    for (_, entry, _) in heads {
        let entry = entry.clone().ok_or_else(|| GraphError::Invalid(NOT_IN_GRAPH.into()))?;
        if let Node::Call(c) = &*entry.node {
            if c.lock().unwrap().is_none() {
                return Err(GraphError::Invalid(NOT_IN_GRAPH.into()));
            }
        }
        head_entries.push(entry);
    }
    let (order, variables) = topological(&head_entries)?;
    if matches!(target, Target::Buffers) && variables.iter().all(|v| matches!(&**v, Node::Variable { req: GradReq::Null, .. })) {
        return Err(GraphError::Invalid("There are no inputs in computation graph that require gradients.".into()));
    }
    let prev_rec = set_recording(create_graph);
    let prev_train = set_training(is_train);
    let result = run_backward(heads, &head_entries, &order, &variables, target);
    set_recording(prev_rec);
    set_training(prev_train);
    if result.is_ok() && !retain_graph {
        for node in &order {
            if let Node::Call(c) = &**node {
                c.lock().unwrap().take();
            }
        }
    }
    result
}

/// Call nodes in gradient order, and the variables reached.
type Reached = (Vec<Arc<Node>>, Vec<Arc<Node>>);

/// Call nodes reachable from `heads`, each after every node that consumes its outputs (so a
/// node's output gradients are complete when it is reached), and the variables reached.
fn topological(heads: &[Entry]) -> Result<Reached> {
    let mut post: Vec<Arc<Node>> = Vec::new();
    let mut variables: Vec<Arc<Node>> = Vec::new();
    let mut seen: HashMap<usize, ()> = HashMap::new();
    // Iterative DFS: (node, inputs expanded yet).
    let mut stack: Vec<(Arc<Node>, bool)> = heads.iter().map(|e| (e.node.clone(), false)).collect();
    while let Some((node, expanded)) = stack.pop() {
        let key = Arc::as_ptr(&node) as usize;
        if expanded {
            post.push(node);
            continue;
        }
        if seen.insert(key, ()).is_some() {
            continue;
        }
        let Node::Call(c) = &*node else {
            variables.push(node);
            continue;
        };
        let inputs: Vec<Arc<Node>> = match &*c.lock().unwrap() {
            Some(call) => call.entries.iter().flatten().map(|e| e.node.clone()).collect(),
            None => return Err(GraphError::Invalid(NOT_IN_GRAPH.into())),
        };
        stack.push((node, true));
        stack.extend(inputs.into_iter().map(|n| (n, false)));
    }
    post.reverse();
    Ok((post, variables))
}

fn run_backward(heads: &[(NDArray, Option<Entry>, Option<NDArray>)], head_entries: &[Entry], order: &[Arc<Node>], variables: &[Arc<Node>], target: Target) -> Result<Vec<Tracked>> {
    let mut grads: HashMap<(usize, usize), Tracked> = HashMap::new();
    for ((array, _, head_grad), entry) in heads.iter().zip(head_entries) {
        let g = match head_grad {
            Some(g) => (g.clone(), None),
            None => first(invoke_tracked("ones_like", &[(array.clone(), None)], &Attrs::new(), None, array.ctx())?)?,
        };
        accumulate(&mut grads, entry, g)?;
    }
    for node in order {
        let Node::Call(c) = &**node else { continue };
        let guard = c.lock().unwrap();
        let call = guard.as_ref().ok_or_else(|| GraphError::Invalid(NOT_IN_GRAPH.into()))?;
        let key = Arc::as_ptr(node) as usize;
        if !(0..call.outputs.len()).any(|i| grads.contains_key(&(key, i))) {
            continue;
        }
        let mut out_grads = Vec::with_capacity(call.outputs.len());
        for (i, o) in call.outputs.iter().enumerate() {
            out_grads.push(match grads.remove(&(key, i)) {
                Some(g) => g,
                None => (NDArray::zeros(o.shape(), o.dtype(), o.ctx())?, None),
            });
        }
        let (name, in_grads) = match &call.op {
            CallOp::Registry(op, attrs) => (*op, call_gradient(node, call, op, attrs, out_grads)?),
            CallOp::Custom(f) => {
                let arrays: Vec<NDArray> = out_grads.into_iter().map(|g| g.0).collect();
                ("autograd.Function", f(&arrays)?.into_iter().map(|g| Some((g, None))).collect())
            }
        };
        if in_grads.len() != call.inputs.len() {
            return Err(GraphError::Invalid(format!("{name}: {} gradients for {} inputs", in_grads.len(), call.inputs.len())));
        }
        for ((entry, g), a) in call.entries.iter().zip(in_grads).zip(&call.inputs) {
            let (Some(entry), Some(g)) = (entry, g) else { continue };
            if g.0.shape() != a.shape() {
                return Err(GraphError::Invalid(format!("{name}: gradient of shape {:?} for an input of shape {:?}", g.0.shape(), a.shape())));
            }
            accumulate(&mut grads, entry, g)?;
        }
    }
    match target {
        Target::Buffers => {
            write_buffers(variables, &grads)?;
            Ok(Vec::new())
        }
        Target::Variables(vars) => vars
            .iter()
            .map(|v| {
                grads.get(&v.key()).cloned().ok_or_else(|| {
                    GraphError::Invalid("Cannot compute the gradient of a variable that is unreachable from the outputs".into())
                })
            })
            .collect(),
    }
}

/// A registry operator's input gradients through its `gradient` description, run at once.
fn call_gradient(node: &Arc<Node>, call: &Call, op: &'static str, attrs: &Attrs, out_grads: Vec<Tracked>) -> Result<Vec<Option<Tracked>>> {
    let mut b = TapeBuilder { arrays: Vec::new(), is_train: call.is_train };
    let ins: Vec<Value> = call.inputs.iter().zip(&call.entries).map(|(a, e)| b.add((a.clone(), e.clone()))).collect();
    let outs: Vec<Value> = call.outputs.iter().enumerate().map(|(i, a)| b.add((a.clone(), Some(Entry { node: node.clone(), index: i })))).collect();
    let ograds: Vec<Value> = out_grads.into_iter().map(|g| b.add(g)).collect();
    let args = GradArgs { op, attrs, inputs: &ins, outputs: &outs, out_grads: &ograds };
    let grads = lookup(op)?.instantiate(attrs)?.gradient(&mut b as &mut dyn GradBuilder, &args)?;
    Ok(grads.into_iter().map(|v| v.map(|v| b.arrays[v.0].clone())).collect())
}

/// Adds `g` to the gradient gathered so far for `entry`.
fn accumulate(grads: &mut HashMap<(usize, usize), Tracked>, entry: &Entry, g: Tracked) -> Result<()> {
    let key = entry.key();
    let sum = match grads.remove(&key) {
        None => g,
        Some(prev) => {
            let ctx = prev.0.ctx();
            first(invoke_tracked("elemwise_add", &[prev, g], &Attrs::new(), None, ctx)?)?
        }
    };
    grads.insert(key, sum);
    Ok(())
}

/// Writes the gathered gradients into the variables reached, as their `grad_req` says.
fn write_buffers(variables: &[Arc<Node>], grads: &HashMap<(usize, usize), Tracked>) -> Result<()> {
    for node in variables {
        let Node::Variable { grad, req, fresh } = &**node else { continue };
        let Some((g, _)) = grads.get(&(Arc::as_ptr(node) as usize, 0)) else { continue };
        if *req != GradReq::Null {
            fresh.store(true, Ordering::Relaxed);
        }
        let ctx = grad.ctx();
        match req {
            GradReq::Null => {}
            GradReq::Write => drop(invoke_with("_copy", std::slice::from_ref(g), &Attrs::new(), Some(vec![grad.clone()]), ctx, OpCtx::default())?),
            GradReq::Add => drop(invoke_with("elemwise_add", &[grad.clone(), g.clone()], &Attrs::new(), Some(vec![grad.clone()]), ctx, OpCtx::default())?),
        }
    }
    Ok(())
}

fn first(mut v: Vec<Tracked>) -> Result<Tracked> {
    if v.is_empty() {
        return Err(GraphError::Invalid("an operator gave no output".into()));
    }
    Ok(v.swap_remove(0))
}

/// Runs a gradient's calls at once, recorded when `create_graph` turned recording on.
struct TapeBuilder {
    arrays: Vec<Tracked>,
    is_train: bool,
}

impl TapeBuilder {
    fn add(&mut self, a: Tracked) -> Value {
        self.arrays.push(a);
        Value(self.arrays.len() - 1)
    }
}

impl GradBuilder for TapeBuilder {
    fn differentiable(&self) -> bool {
        is_recording()
    }

    fn op(&mut self, name: &str, attrs: &Attrs, inputs: &[Value]) -> Result<Vec<Value>> {
        let ins: Vec<Tracked> = inputs.iter().map(|v| self.arrays[v.0].clone()).collect();
        let ctx = ins.first().map_or(Context::cpu(0), |a| a.0.ctx());
        let prev = set_training(self.is_train);
        let outs = invoke_tracked(name, &ins, &attrs.op_params(), None, ctx);
        set_training(prev);
        Ok(outs?.into_iter().map(|a| self.add(a)).collect())
    }
}
