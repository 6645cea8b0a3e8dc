//! The `Operator` trait and `OpDef`, its registry entry. An `OpDef` says what an operator is
//! called, documents it, names its inputs and parameters, and creates a typed instance from
//! MXNet's string attributes; the instance infers output shapes and dtypes and computes.


use rmx_engine::{BoxError, RunContext};
pub use rmx_kernels::fused::{BlockFn, BlockKernel};
pub use rmx_kernels::Tensor;
use rmx_kernels::{DType, Shape};

use crate::attrs::Attrs;
use crate::error::{GraphError, Result};
use crate::grad::{GradArgs, GradBuilder, Value};

/// An output's (or input's) shape and dtype.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorDesc {
    pub shape: Shape,
    pub dtype: DType,
}

impl TensorDesc {
    pub fn new(shape: &[usize], dtype: DType) -> Self {
        TensorDesc { shape: shape.into(), dtype }
    }
}

/// What a computation may depend on besides its inputs: the mode, and where it runs.
#[derive(Clone, Copy, Debug, Default)]
pub struct OpCtx {
    /// Training mode: Dropout drops, BatchNorm uses batch statistics and updates its moving ones.
    pub is_train: bool,
    /// The device and (for a GPU) the stream of the engine worker running the computation.
    pub run: RunContext,
    /// Bit `i` set: nothing reads output `i` (MXNet's `kNullOp` request, e.g. the gradient of
    /// data that needs none), so the operator may leave it unwritten.
    pub unused: u64,
}

impl OpCtx {
    /// Whether output `i` is read by anything (only then must it be written).
    pub fn wants(&self, i: usize) -> bool {
        i >= 64 || self.unused & (1 << i) == 0
    }
}

/// A typed operator instance: parameters parsed, ready to infer and compute.
pub trait Operator: Send + Sync {
    /// Output shapes and dtypes from the inputs'; shape errors name the operator and shapes.
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>>;

    /// Computes the outputs from the inputs (dense, shapes and dtypes as inferred, all on
    /// `ctx.run`'s device), through the device-dispatching primitives of `rmx-kernels`; the
    /// training flag is `ctx.is_train`. An error returned here is raised at the next wait on the
    /// outputs.
    fn compute(&self, ctx: &OpCtx, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError>;

    /// Draws from the process's random stream (so its pushes write the stream's variable).
    fn uses_rng(&self) -> bool {
        false
    }

    /// How many outputs the operator makes, known before any shape (a symbol needs it).
    fn num_outputs(&self) -> usize {
        1
    }

    /// How many leading outputs a symbol shows (BatchNorm's mean and var, Dropout's mask are hidden).
    fn num_visible_outputs(&self) -> usize {
        self.num_outputs()
    }

    /// Output name suffixes: `output` for one output, else `output0`, `output1`, ...
    fn output_names(&self) -> Vec<String> {
        match self.num_visible_outputs() {
            1 => vec!["output".into()],
            n => (0..n).map(|i| format!("output{i}")).collect(),
        }
    }

    /// Input names when they depend on parameters (`no_bias` drops `bias`); `None` uses the
    /// registry entry's.
    fn input_names(&self) -> Option<Vec<&'static str>> {
        None
    }

    /// The initializer (MXNet's `__init__` attribute, JSON) the operator stamps on the variable
    /// it creates for input `name` when composed without it (MXNet's
    /// FSetInputVarAttrOnCompose): BatchNorm's moving statistics, PReLU's slope.
    fn input_init(&self, _name: &str) -> Option<&'static str> {
        None
    }

    /// Indices of inputs the operator writes (auxiliary states: BatchNorm's moving statistics).
    fn mutated_inputs(&self) -> Vec<usize> {
        Vec::new()
    }

    /// `(input, output)` pairs that may share memory (MXNet's `FInplaceOption`): the kernel
    /// reads element `j` of the input before writing element `j` of the output, and never
    /// borrows both as slices when `inputs[i].ptr() == outputs[o].ptr()` (see
    /// [`Tensor::data_unless_in`]). When a call passes the same dense array as both (an
    /// optimizer update's `out=weight`, or the memory planner's in-place choice), the kernel then
    /// gets that one buffer instead of a scratch copy of the input; at most one input per output.
    fn inplace_option(&self) -> Vec<(usize, usize)> {
        Vec::new()
    }

    /// The fused backward kernel of an elementwise function, made for a backward node with
    /// `attrs`: `_backward_unary`, `_backward_binary` and `_backward_scalar` find the forward
    /// operator in the registry by their `fn` attribute and ask it (see [`elementwise_backward`]),
    /// so an elementwise function is added in its family's file alone. `None`: the operator has
    /// no such kernel (not elementwise, or piecewise constant: no gradient flows).
    fn elementwise_backward(&self, _attrs: &Attrs) -> Option<Result<Box<dyn Operator>>> {
        None
    }

    /// For one-output elementwise operators on equal shapes, their arithmetic as block kernels
    /// (float32 and float64), which lets the fusion pass chain them into one pass over memory.
    fn block_kernel(&self) -> Option<BlockKernel> {
        None
    }

    /// This operator with `post` (a one-input elementwise operator's block kernel) applied to
    /// each element of its one output as it writes it: the graph's epilogue fusion of a dense
    /// layer and its activation. `None`: the operator has no such epilogue.
    fn with_epilogue(&self, _post: BlockKernel) -> Option<Box<dyn Operator>> {
        None
    }

    /// Fills unknown input shapes from known ones (a weight from the data's shape, a label
    /// from the prediction's), for shape inference from partial information. Returns the
    /// shape each input should have, or `None` where it cannot tell.
    fn complete_inputs(&self, _known: &[Option<Shape>]) -> Vec<Option<Shape>> {
        Vec::new()
    }

    /// The dtype of inputs that are not yet known, given the known ones (default: all inputs
    /// share the first known dtype).
    fn complete_dtypes(&self, known: &[Option<DType>]) -> Vec<Option<DType>> {
        let first = known.iter().flatten().next().copied();
        known.iter().map(|k| k.or(first)).collect()
    }

    /// For an operator computed outside rmx (the `Custom` operator's Python code): the code to
    /// call instead of [`Operator::compute`]. The engine operation then ends when the code
    /// reports its outputs, on a thread of its own, so the code may itself push and wait.
    fn host_callback(&self) -> Option<std::sync::Arc<dyn HostCallback>> {
        None
    }

    /// Builds the gradient: appends to `g` the computation of each input's gradient from
    /// the forward values and the outputs' gradients (`None`: no gradient flows to that input).
    fn gradient(&self, _g: &mut dyn GradBuilder, args: &GradArgs) -> Result<Vec<Option<Value>>> {
        Err(GraphError::Invalid(format!("operator {} has no gradient", args.op)))
    }
}

/// An array's elements copied out of (or into) an engine operation, for code outside rmx.
#[derive(Clone, Debug)]
pub struct HostArray {
    pub shape: Shape,
    pub dtype: DType,
    /// The elements, row-major, in the dtype's native byte order.
    pub bytes: Vec<u8>,
}

/// Where [`HostCallback::call`] reports: the outputs, in order, or the failure.
pub type HostDone = Box<dyn FnOnce(std::result::Result<Vec<HostArray>, BoxError>) + Send>;

/// Computation by code outside rmx (see [`Operator::host_callback`]).
pub trait HostCallback: Send + Sync {
    /// Starts computing `outputs` (shapes and dtypes as inferred) from copies of the inputs;
    /// must return at once and report through `done` exactly once, from any thread.
    fn call(&self, is_train: bool, inputs: Vec<HostArray>, outputs: Vec<TensorDesc>, done: HostDone);
}

/// How an operator takes its inputs.
#[derive(Clone, Copy, Debug)]
pub enum Arity {
    /// Named inputs, in order.
    Fixed(&'static [&'static str]),
    /// Any number of inputs (`Concat`, `stack`), counted by the parameter `num_args`.
    Variadic(&'static str),
}

/// A parameter's documentation: name, type as MXNet documents it, default (empty when
/// required), meaning.
#[derive(Clone, Copy, Debug)]
pub struct ParamDoc {
    pub name: &'static str,
    pub ty: &'static str,
    pub default: &'static str,
    pub doc: &'static str,
}

/// One registry entry.
pub struct OpDef {
    pub name: &'static str,
    pub aliases: &'static [&'static str],
    pub doc: &'static str,
    pub inputs: Arity,
    pub params: &'static [ParamDoc],
    pub create: fn(&'static str, &Attrs) -> Result<Box<dyn Operator>>,
}

impl OpDef {
    /// Checks the attribute names, then builds the typed instance.
    pub fn instantiate(&'static self, attrs: &Attrs) -> Result<Box<dyn Operator>> {
        let known: Vec<&str> = self.params.iter().map(|p| p.name).collect();
        // A parameter named "..." takes any others (Custom's, passed on to Python).
        if !known.contains(&"...") {
            attrs.check_known(self.name, &known)?;
        }
        let op = (self.create)(self.name, attrs)?;
        if crate::float16::FLOAT16_VIA_FLOAT32.contains(&self.name) {
            return Ok(Box::new(crate::float16::Float16Via32(op)));
        }
        Ok(op)
    }
}

/// Shorthand for parameter tables.
pub const fn param(name: &'static str, ty: &'static str, default: &'static str, doc: &'static str) -> ParamDoc {
    ParamDoc { name, ty, default, doc }
}

/// The backward kernel `backward_op` (named in errors) for the forward operator registered as
/// `forward`, given the backward node's `attrs`: the one lookup behind `_backward_unary`,
/// `_backward_binary` and `_backward_scalar`.
pub fn elementwise_backward(backward_op: &str, forward: &str, attrs: &Attrs) -> Result<Box<dyn Operator>> {
    let fn_name = attrs.get("fn").unwrap_or_default();
    let none = || crate::error::param_err(backward_op, "fn", format!("no differentiable elementwise function named {fn_name:?}"));
    let op = crate::registry::lookup(forward).and_then(|d| d.instantiate(&Attrs::new())).map_err(|_| none())?;
    op.elementwise_backward(attrs).unwrap_or_else(|| Err(none()))
}
