//! The distributed store: a parameter server across processes and machines, in MXNet's roles and
//! environment (`DMLC_ROLE` scheduler, server or worker) over rmx's own protocol on TCP.
//!
//! The map: `config.rs` the environment; `frame.rs` the wire format; `msg.rs` control messages;
//! `job.rs` the scheduler connection every process keeps (heartbeats, barriers, the job's end, a
//! lost peer); `scheduler.rs`, `server.rs` the two service roles; `client.rs` a worker's
//! connections; `store.rs` [`DistKVStore`], the worker's store; `codec.rs` summation and 2-bit
//! compression.

mod client;
mod codec;
mod config;
mod frame;
mod job;
mod msg;
mod scheduler;
mod server;
mod store;

pub use codec::{codes_len, quantize_2bit};
pub use config::{DistConfig, Role};
pub use frame::{Header, Kind, HEADER, MAGIC};
pub use scheduler::run_scheduler;
pub use server::{run_server, ServerHooks};
pub use store::{partition, DistKVStore, DistMode, Part};
