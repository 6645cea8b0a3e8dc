//! Which store a name makes: MXNet's names, and the clear refusal of the ones rmx lacks.

use crate::error::{KVStoreError, Result};

/// How a store merges the values pushed for a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// Sums on `cpu(0)` as MXNet's `CommCPU` does: `v0 + (v1 + v2 + v3 + v4) + (v5 + ...)`.
    Local,
    /// Sums on the least loaded pushing device, left to right, in the key's initial dtype
    /// (MXNet's `CommDevice`).
    Device,
}

impl StoreKind {
    /// The kind of a lowercased store name: any name containing `device` is `Device` (MXNet's
    /// `local_allreduce_device` too), any other local name `Local` (`local_update_cpu`, ...).
    /// Distributed stores (see [`crate::dist`]), NCCL, Horovod and BytePS stores are refused here.
    pub fn from_name(name: &str) -> Result<Self> {
        if name.contains("dist") {
            return Err(KVStoreError::Unsupported(format!("kvstore '{name}' is distributed: it is a `dist::DistKVStore`, not a local store")));
        }
        if name.contains("nccl") {
            return Err(KVStoreError::Unsupported(format!(
                "kvstore '{name}': NCCL stores need GPUs and NCCL, which rmx does not use; use 'device' or 'local'"
            )));
        }
        if name == "horovod" || name == "byteps" {
            return Err(KVStoreError::Unsupported(format!("kvstore '{name}' is not available in rmx")));
        }
        Ok(if name.contains("device") { StoreKind::Device } else { StoreKind::Local })
    }
}
