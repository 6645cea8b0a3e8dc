//! The `Operator` trait and `OpDef`, its registry entry. An `OpDef` says what an operator is
//! called, documents it, names its inputs and parameters, and creates a typed instance from
//! MXNet's string attributes; the instance infers output shapes and dtypes and computes.

use rmx_engine::BoxError;
use rmx_kernels::{DType, Element, Shape};

use crate::attrs::Attrs;
use crate::error::Result;

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

/// A dense row-major array as a kernel sees it. Valid for the duration of one `compute`, during
/// which the engine guarantees exclusive access to outputs and no writer beside inputs.
pub struct Tensor {
    ptr: *mut u8,
    pub shape: Shape,
    pub dtype: DType,
}

impl Tensor {
    /// # Safety
    /// `ptr` must address `numel(shape)` elements of `dtype`, accessible as the module doc says.
    pub unsafe fn new(ptr: *mut u8, shape: Shape, dtype: DType) -> Self {
        Tensor { ptr, shape, dtype }
    }

    pub fn numel(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn ptr(&self) -> *mut u8 {
        self.ptr
    }

    /// The elements, typed. Panics (a broken invariant: inference chose the dtype) if `T` is
    /// not the tensor's dtype.
    pub fn data<T: Element>(&self) -> &[T] {
        assert_eq!(T::DTYPE, self.dtype, "kernel read a tensor as the wrong dtype");
        // SAFETY: see the struct doc.
        unsafe { std::slice::from_raw_parts(self.ptr as *const T, self.numel()) }
    }

    pub fn data_mut<T: Element>(&mut self) -> &mut [T] {
        assert_eq!(T::DTYPE, self.dtype, "kernel wrote a tensor as the wrong dtype");
        // SAFETY: see the struct doc; `&mut self` makes the borrow unique within the kernel.
        unsafe { std::slice::from_raw_parts_mut(self.ptr as *mut T, self.numel()) }
    }
}

/// A typed operator instance: parameters parsed, ready to infer and compute.
pub trait Operator: Send + Sync {
    /// Output shapes and dtypes from the inputs'; shape errors name the operator and shapes.
    fn infer(&self, inputs: &[TensorDesc]) -> Result<Vec<TensorDesc>>;

    /// Computes the outputs from the inputs (dense, shapes and dtypes as inferred). An error
    /// returned here is raised at the next wait on the outputs.
    fn compute(&self, inputs: &[Tensor], outputs: &mut [Tensor]) -> std::result::Result<(), BoxError>;

    /// Draws from the process's random stream (so its pushes write the stream's variable).
    fn uses_rng(&self) -> bool {
        false
    }
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
        attrs.check_known(self.name, &known)?;
        (self.create)(self.name, attrs)
    }
}

/// Shorthand for parameter tables.
pub const fn param(name: &'static str, ty: &'static str, default: &'static str, doc: &'static str) -> ParamDoc {
    ParamDoc { name, ty, default, doc }
}
