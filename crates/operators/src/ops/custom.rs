//! `Custom` (`op_type`, then the user's own parameters): an operator written in Python by
//! subclassing `mx.operator.CustomOpProp` and `CustomOp` and registering it under `op_type`.
//! Its inputs, outputs, shapes and dtypes come from the registered property object and its
//! computation from the operator object, both reached through the [`CustomBackend`] the Python
//! bindings install. Forward and backward (`_backward_Custom`, whose inputs are the output
//! gradients, then the inputs, then the outputs) run through [`HostCallback`]: engine
//! operations that end when the Python code hands its results back.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

use rmx_engine::BoxError;
use rmx_kernels::{DType, Shape};

use crate::attrs::Attrs;
use crate::error::{param_err, shape_err, GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};
use crate::operator::{HostCallback, OpCtx, param, Arity, OpDef, Operator, Tensor, TensorDesc};

/// A registered operator's property object, for one set of parameters.
pub trait CustomProp: Send + Sync {
    fn list_arguments(&self) -> std::result::Result<Vec<String>, String>;
    fn list_outputs(&self) -> std::result::Result<Vec<String>, String>;
    fn list_auxiliary_states(&self) -> std::result::Result<Vec<String>, String>;
    /// `(input shapes, output shapes)` from the input shapes (unknown ones empty).
    fn infer_shape(&self, inputs: &[Shape]) -> std::result::Result<(Vec<Shape>, Vec<Shape>), String>;
    /// `(input dtypes, output dtypes)` from the input dtypes.
    fn infer_type(&self, inputs: &[DType]) -> std::result::Result<(Vec<DType>, Vec<DType>), String>;
    /// The computation: forward, or (`backward`) the gradients of the inputs.
    fn callback(&self, backward: bool) -> Arc<dyn HostCallback>;
}

/// Makes property objects from `op_type` and the user's parameters (the Python bindings).
pub trait CustomBackend: Send + Sync {
    fn prop(&self, op_type: &str, params: &[(String, String)]) -> std::result::Result<Arc<dyn CustomProp>, String>;
}

static BACKEND: OnceLock<Box<dyn CustomBackend>> = OnceLock::new();

/// Installs the backend (once per process; later calls are ignored).
pub fn set_backend(backend: Box<dyn CustomBackend>) {
    let _ = BACKEND.set(backend);
}

/// Input names live as long as the registry's (`Operator::input_names` gives `&'static str`):
/// each distinct name is kept once.
fn intern(name: &str) -> &'static str {
    static NAMES: Mutex<Option<HashSet<&'static str>>> = Mutex::new(None);
    let mut names = NAMES.lock().unwrap_or_else(|e| e.into_inner());
    let set = names.get_or_insert_with(HashSet::new);
    if let Some(&s) = set.get(name) {
        return s;
    }
    let s: &'static str = Box::leak(name.to_string().into_boxed_str());
    set.insert(s);
    s
}

struct Custom {
    name: &'static str,
    op_type: String,
    prop: Arc<dyn CustomProp>,
    backward: bool,
    /// The property's `list_arguments()` and `list_outputs()`, asked once.
    args: Vec<String>,
    outs: Vec<String>,
}

impl Custom {
    fn err(&self, message: impl std::fmt::Display) -> GraphError {
        shape_err(self.name, format!("op_type '{}': {message}", self.op_type))
    }

    fn counts(&self) -> (usize, usize) {
        (self.args.len(), self.outs.len())
    }

    fn forward_descs(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        if inputs.len() != self.args.len() {
            return Err(self.err(format!("takes {} inputs ({}), got {}", self.args.len(), self.args.join(", "), inputs.len())));
        }
        let shapes: Vec<Shape> = inputs.iter().map(|d| d.shape.clone()).collect();
        let (want, outs) = self.prop.infer_shape(&shapes).map_err(|e| self.err(format!("infer_shape: {e}")))?;
        if want.len() != shapes.len() {
            return Err(self.err(format!("infer_shape returned {} input shapes for {} inputs", want.len(), shapes.len())));
        }
        if let Some((i, (w, g))) = want.iter().zip(&shapes).enumerate().find(|(_, (w, g))| w != g) {
            return Err(self.err(format!("infer_shape wants input {i} of shape {:?}, got {:?}", w.as_slice(), g.as_slice())));
        }
        let dtypes: Vec<DType> = inputs.iter().map(|d| d.dtype).collect();
        let (in_types, out_types) = self.prop.infer_type(&dtypes).map_err(|e| self.err(format!("infer_type: {e}")))?;
        if in_types != dtypes {
            return Err(self.err(format!("infer_type wants inputs {in_types:?}, got {dtypes:?}")));
        }
        if outs.len() != out_types.len() || outs.len() != self.counts().1 {
            return Err(self.err(format!("{} output shapes and {} dtypes for {} outputs", outs.len(), out_types.len(), self.counts().1)));
        }
        Ok(outs.into_iter().zip(out_types).map(|(shape, dtype)| TensorDesc { shape, dtype }).collect())
    }
}

impl Operator for Custom {
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>> {
        let (n_in, n_out) = self.counts();
        if !self.backward {
            return self.forward_descs(inputs);
        }
        if inputs.len() != 2 * n_out + n_in {
            return Err(self.err(format!("_backward_Custom takes {} inputs, got {}", 2 * n_out + n_in, inputs.len())));
        }
        Ok(inputs[n_out..n_out + n_in].to_vec())
    }

    fn compute(&self, _ctx: &OpCtx, _inputs: &[Tensor], _outputs: &mut [Tensor]) -> std::result::Result<(), BoxError> {
        Err(format!("{}: runs through its host callback", self.name).into())
    }

    fn host_callback(&self) -> Option<Arc<dyn HostCallback>> {
        Some(self.prop.callback(self.backward))
    }

    fn num_outputs(&self) -> usize {
        if self.backward { self.counts().0 } else { self.counts().1 }
    }

    fn output_names(&self) -> Vec<String> {
        if self.backward {
            return self.args.iter().map(|a| format!("{a}_grad")).collect();
        }
        self.outs.clone()
    }

    fn input_names(&self) -> Option<Vec<&'static str>> {
        if self.backward {
            return None;
        }
        Some(self.args.iter().map(|s| intern(s)).collect())
    }

    fn complete_inputs(&self, known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        let shapes: Vec<Shape> = known.iter().map(|k| k.clone().unwrap_or_default()).collect();
        match self.prop.infer_shape(&shapes) {
            Ok((ins, _)) => ins.into_iter().map(|s| (!s.is_empty() || known.len() == 0).then_some(s)).collect(),
            Err(_) => Vec::new(),
        }
    }

    fn gradient(&self, g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        if self.backward {
            return Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)));
        }
        let inputs: Vec<Value> = args.out_grads.iter().chain(args.inputs).chain(args.outputs).copied().collect();
        Ok(g.op("_backward_Custom", args.attrs, &inputs)?.into_iter().map(Some).collect())
    }
}

fn create(name: &'static str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let op_type = attrs.get("op_type").ok_or_else(|| param_err(name, "op_type", "required: the name a CustomOpProp was registered under"))?.to_string();
    let params: Vec<(String, String)> = attrs.iter().filter(|(k, _)| *k != "op_type").map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let backend = BACKEND.get().ok_or_else(|| param_err(name, "op_type", "custom operators need rmx's Python bindings"))?;
    let prop = backend.prop(&op_type, &params).map_err(|e| param_err(name, "op_type", e))?;
    let list = |what: &str, r: std::result::Result<Vec<String>, String>| r.map_err(|e| param_err(name, "op_type", format!("'{op_type}'.{what}: {e}")));
    if !list("list_auxiliary_states", prop.list_auxiliary_states())?.is_empty() {
        return Err(param_err(name, "op_type", format!("'{op_type}' lists auxiliary states, which rmx's Custom does not support yet")));
    }
    let (args, outs) = (list("list_arguments", prop.list_arguments())?, list("list_outputs", prop.list_outputs())?);
    Ok(Box::new(Custom { name, op_type, prop, backward: name.starts_with("_backward"), args, outs }))
}

pub static DEFS: &[OpDef] = &[
    OpDef {
        name: "Custom",
        aliases: &[],
        doc: "An operator written in Python (mx.operator.CustomOp), registered under op_type.",
        inputs: Arity::Fixed(&[]),
        params: &[param("op_type", "string", "", "the name the CustomOpProp was registered under"), param("...", "string", "", "the operator's own parameters, given to its CustomOpProp as strings")],
        create,
    },
    OpDef {
        name: "_backward_Custom",
        aliases: &[],
        doc: "Gradient of Custom: [out_grads..., inputs..., outputs...] to the inputs' gradients.",
        inputs: Arity::Variadic("grad"),
        params: &[param("op_type", "string", "", "as Custom's"), param("...", "string", "", "as Custom's")],
        create,
    },
];
