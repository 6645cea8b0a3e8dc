//! How rmx moves arrays between devices and machines: `KVStore` with `init`, `push`, `pull`,
//! `pushpull` and updaters; the `local` and `device` stores that merge values from several devices,
//! and the distributed parameter server (scheduler, servers, workers over TCP) behind `dist_sync`
//! and `dist_async`, every transfer a push to the engine.
//!
//! It knows the engine and graph crates. The training and distributed issues fill it.
