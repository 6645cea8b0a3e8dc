//! The eager gradient builder: each call of an operator's gradient description runs at once on
//! NDArrays through [`invoke`] (gradient tests, imperative autograd). The description itself and
//! the symbolic builder's contract are `rmx_operators::grad`.

use rmx_engine::Context;

use rmx_operators::attrs::Attrs;
use rmx_operators::error::Result;
pub use rmx_operators::grad::{GradArgs, GradBuilder, Value};

use crate::invoke::invoke;
use crate::ndarray::NDArray;

/// Runs each call at once through [`invoke`]; values index `arrays`.
pub struct EagerBuilder {
    pub arrays: Vec<NDArray>,
    pub ctx: Context,
}

impl EagerBuilder {
    pub fn new(ctx: Context) -> Self {
        EagerBuilder { arrays: Vec::new(), ctx }
    }

    pub fn add(&mut self, a: NDArray) -> Value {
        self.arrays.push(a);
        Value(self.arrays.len() - 1)
    }

    pub fn get(&self, v: Value) -> &NDArray {
        &self.arrays[v.0]
    }
}

impl GradBuilder for EagerBuilder {
    fn op(&mut self, name: &str, attrs: &Attrs, inputs: &[Value]) -> Result<Vec<Value>> {
        let ins: Vec<NDArray> = inputs.iter().map(|v| self.arrays[v.0].clone()).collect();
        let outs = invoke(name, &ins, &attrs.op_params(), None, self.ctx)?;
        Ok(outs.into_iter().map(|a| self.add(a)).collect())
    }
}
