//! How rmx moves arrays between devices and machines: [`KVStore`] with `init`, `push`, `pull`,
//! `pushpull`, `broadcast` and an [`Updater`]; the `local` and `device` stores ([`StoreKind`])
//! that merge the values pushed from several devices in MXNet 1.9.1's exact order, every copy and
//! addition an operation pushed to the engine; and the distributed stores ([`dist`]: scheduler,
//! servers, workers over TCP), whose workers merge their devices' values with the same reduction.
//!
//! The map: `store.rs` the store itself; `reduce.rs` the summation (merge buffers, MXNet's
//! orders); `copy.rs` copies and casts between devices; `key.rs` int and str keys and their
//! ids; `kind.rs` store names; `dist/` the parameter server; `updater.rs` the updater trait; `error.rs` [`KVStoreError`].
//!
//! ```
//! use rmx_engine::Context;
//! use rmx_graph::NDArray;
//! use rmx_kernels::DType;
//! use rmx_kvstore::{KVStore, Key, StoreKind};
//!
//! let ones = |dev| NDArray::from_bytes(&[2], DType::F32, Context::cpu(dev), &[0, 0, 0x80, 0x3f, 0, 0, 0x80, 0x3f]).unwrap();
//! let mut kv = KVStore::new(StoreKind::from_name("local").unwrap());
//! kv.init(&[(Key::Int(3), ones(0))]).unwrap();
//! kv.push(&[(Key::Int(3), ones(0)), (Key::Int(3), ones(1)), (Key::Int(3), ones(2))]).unwrap();
//! let out = NDArray::zeros(&[2], DType::F32, Context::cpu(1)).unwrap();
//! kv.pull(&[(Key::Int(3), out.clone())]).unwrap();
//! let mut bytes = [0u8; 8];
//! out.read_into(&mut bytes).unwrap();
//! assert_eq!(f32::from_le_bytes(bytes[..4].try_into().unwrap()), 3.0);
//! ```

mod copy;
pub mod dist;
mod error;
mod key;
mod kind;
mod reduce;
mod store;
mod updater;

pub use copy::{copy_into, copy_to};
pub use error::{KVStoreError, Result};
pub use key::{Key, KeyId};
pub use kind::StoreKind;
pub use store::KVStore;
pub use updater::Updater;
