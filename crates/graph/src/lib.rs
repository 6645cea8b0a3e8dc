//! How rmx runs its operators (which live in `rmx_operators`, re-exported here). The nouns:
//! [`NDArray`] (a view of a storage chunk plus its engine variable) and [`invoke`] (the imperative
//! path: infer now, compute later through the engine).
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

pub mod autograd;
pub mod grad;
mod host_call;
mod invoke;
mod ndarray;
pub mod ndarray_file;
pub mod executor;
pub mod symbol;
pub mod testing;

pub use invoke::{invoke, invoke_with, push_compute};
pub use ndarray::{check_device, Chunk, NDArray};
pub use grad::EagerBuilder;
pub use rmx_operators::{all_ops, cuda_sources, lookup, ops, rng, Arity, Attrs, BlockFn, BlockKernel, GradArgs, GradBuilder, GraphError, HostArray, HostCallback, HostDone, OpCtx, OpDef, Operator, ParamDoc, Result, Tensor, TensorDesc, Value};
