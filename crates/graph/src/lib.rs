//! What rmx computes. The nouns: [`OpDef`] and [`Operator`] (one file per operator under `ops/`,
//! listed once in `ops::REGISTRY`), [`NDArray`] (a view of a storage chunk plus its engine
//! variable), and [`invoke`] (the imperative path: infer now, compute later through the engine).
//! The symbolic half: [`symbol`] (graphs, inference, JSON) and [`executor`] (binding: the
//! gradient pass, elementwise fusion, the memory planner, then forward/backward pushes).
//!
//! ```
//! use rmx_graph::{invoke, Attrs, NDArray};
//! use rmx_kernels::DType;
//! use rmx_engine::Context;
//!
//! let x = NDArray::from_bytes(&[3], DType::F32, Context::cpu(0), bytemuck_bytes(&[1f32, 2., 3.])).unwrap();
//! let y = &invoke("_plus_scalar", &[x], &Attrs::from_pairs([("scalar", "10")]), None, Context::cpu(0)).unwrap()[0];
//! let mut out = [0u8; 12];
//! y.read_into(&mut out).unwrap();
//! assert_eq!(f32::from_le_bytes(out[8..12].try_into().unwrap()), 13.0);
//! # fn bytemuck_bytes(v: &[f32]) -> &[u8] { unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, v.len() * 4) } }
//! ```

mod attrs;
mod error;
pub mod grad;
mod invoke;
mod ndarray;
pub mod ndarray_file;
mod operator;
pub mod ops;
mod registry;
pub mod rng;
pub mod executor;
pub mod symbol;
pub mod testing;

pub use attrs::Attrs;
pub use error::{GraphError, Result};
pub use invoke::{invoke, invoke_with, push_compute};
pub use ndarray::{check_device, Chunk, NDArray};
pub use grad::{GradArgs, GradBuilder, Value};
pub use operator::{Arity, BlockFn, BlockKernel, OpCtx, OpDef, Operator, ParamDoc, Tensor, TensorDesc};
pub use registry::{all as all_ops, lookup};
