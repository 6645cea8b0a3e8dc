//! What rmx computes, one operator at a time. The nouns: [`OpDef`] (a registry entry: name,
//! aliases, inputs, parameters, constructor) and [`Operator`] (one instance with its parameters:
//! shape and dtype inference, the primitives it calls from `rmx_kernels`, its gradient as calls of
//! other operators); one file per operator under [`ops`], listed once in `ops::REGISTRY`.
//!
//! This crate knows nothing of arrays, graphs or the engine's queues: `rmx_graph` builds NDArray,
//! `invoke`, Symbol and the executor on top of it. The line is drawn there so that operators (the
//! bulk of the code, and what every new capability adds to) compile apart from the machinery that
//! runs them; see ARCHITECTURE.md.
//!
//! ```
//! use rmx_operators::{lookup, Attrs, TensorDesc};
//! use rmx_kernels::DType;
//!
//! let op = lookup("FullyConnected").unwrap().instantiate(&Attrs::from_pairs([("num_hidden", "4")])).unwrap();
//! let (data, weight, bias) = (TensorDesc::new(&[8, 3], DType::F32), TensorDesc::new(&[4, 3], DType::F32), TensorDesc::new(&[4], DType::F32));
//! let out = op.infer(&[data, weight, bias]).unwrap();
//! assert_eq!(out[0].shape.as_slice(), &[8, 4]);
//! ```

pub mod attrs;
pub mod cuda_sources;
pub mod error;
pub mod float16;
pub mod grad;
pub mod operator;
pub mod ops;
pub mod registry;
pub mod rng;

pub use attrs::Attrs;
pub use error::{GraphError, Result};
pub use grad::{GradArgs, GradBuilder, Value};
pub use operator::{Arity, BlockFn, BlockKernel, HostArray, HostCallback, HostDone, OpCtx, OpDef, Operator, ParamDoc, Tensor, TensorDesc};
pub use registry::{all as all_ops, lookup};
