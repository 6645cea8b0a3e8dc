//! Gradients as computations of registry operators. An operator's `gradient` describes, with
//! calls of other operators (its own `_backward_X` kernel, or plain arithmetic), how its inputs'
//! gradients follow from its inputs, outputs and outputs' gradients. The same description serves
//! two builders: the symbolic gradient pass appends graph nodes (the executor's backward graph),
//! and `rmx_graph`'s `EagerBuilder` runs the calls at once on NDArrays (gradient tests, autograd).

use crate::attrs::Attrs;
use crate::error::Result;

/// A value in the computation being built (a graph entry, or an array for the eager builder).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Value(pub usize);

/// The forward call whose gradient is being built.
pub struct GradArgs<'a> {
    /// The forward operator's registry name.
    pub op: &'static str,
    /// The forward operator's parameters (backward kernels take the same ones).
    pub attrs: &'a Attrs,
    pub inputs: &'a [Value],
    /// Every output, hidden ones included.
    pub outputs: &'a [Value],
    /// One gradient per output (zeros for outputs nothing depends on).
    pub out_grads: &'a [Value],
}

/// Where a gradient's calls go.
pub trait GradBuilder {
    /// Appends a call of registry operator `name` and returns its outputs.
    fn op(&mut self, name: &str, attrs: &Attrs, inputs: &[Value]) -> Result<Vec<Value>>;

    /// Whether the gradient being built will itself be differentiated (autograd's
    /// `create_graph`): operators whose gradient is a fused backward kernel without a gradient of
    /// its own then describe it in differentiable operators where they can.
    fn differentiable(&self) -> bool {
        false
    }
}

impl dyn GradBuilder + '_ {
    /// A call with one output.
    pub fn op1(&mut self, name: &str, attrs: &Attrs, inputs: &[Value]) -> Result<Value> {
        Ok(self.op(name, attrs, inputs)?[0])
    }

    /// A call with one output and parameters given as pairs.
    pub fn call(&mut self, name: &str, params: &[(&str, &str)], inputs: &[Value]) -> Result<Value> {
        self.op1(name, &Attrs::from_pairs(params.iter().copied()), inputs)
    }

    /// `a * b` (same shapes).
    pub fn mul(&mut self, a: Value, b: Value) -> Result<Value> {
        self.call("elemwise_mul", &[], &[a, b])
    }

    /// `a * scalar`.
    pub fn scale(&mut self, a: Value, scalar: f64) -> Result<Value> {
        self.call("_mul_scalar", &[("scalar", &scalar.to_string())], &[a])
    }

    /// `-a`.
    pub fn neg(&mut self, a: Value) -> Result<Value> {
        self.call("negative", &[], &[a])
    }

    /// `grad` summed down to `like`'s shape (the gradient of a broadcast).
    pub fn sum_to_like(&mut self, grad: Value, like: Value) -> Result<Value> {
        self.call("_sum_to_like", &[], &[grad, like])
    }
}
