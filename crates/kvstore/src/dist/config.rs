//! The one place that reads the distributed store's environment: MXNet's `DMLC_*` variables
//! (what `tools/launch.py`, Kubeflow's MXJob and `rmx.launch` set) and rmx's own.
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `DMLC_ROLE` | `worker` | `scheduler`, `server` or `worker` |
//! | `DMLC_PS_ROOT_URI`, `DMLC_PS_ROOT_PORT` | required | where the scheduler listens |
//! | `DMLC_NUM_SERVER`, `DMLC_NUM_WORKER` | required | the job's size |
//! | `DMLC_NODE_HOST` | the address that reaches the scheduler | the address a server listens on (`rmx` sets it from `DMLC_INTERFACE`) |
//! | `PS_VERBOSE` | 0 | 1: connections and roles on stderr; 2: every message |
//! | `RMX_KVSTORE_TOKEN` | empty | the job's secret: a peer that does not present it is dropped |
//! | `RMX_KVSTORE_TIMEOUT` | 30 | seconds without a heartbeat after which a peer is lost |
//! | `RMX_KVSTORE_START_TIMEOUT` | 300 | seconds the scheduler waits for every node to register |
//! | `MXNET_KVSTORE_BIGARRAY_BOUND` | 1000000 | arrays of at least this many elements are split across all servers |
//! | `RMX_WORKER_RANK` | arrival order | a worker's rank, else `OMPI_COMM_WORLD_RANK`, `PMI_RANK` or `SLURM_PROCID` (used when every worker gives a distinct one) |

use std::time::Duration;

use crate::error::{KVStoreError, Result};

/// A process's part in a job.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    Scheduler,
    Server,
    Worker,
}

impl Role {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "scheduler" => Ok(Role::Scheduler),
            "server" => Ok(Role::Server),
            "worker" => Ok(Role::Worker),
            other => Err(KVStoreError::Unsupported(format!("DMLC_ROLE={other}: expected scheduler, server or worker"))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Role::Scheduler => "scheduler",
            Role::Server => "server",
            Role::Worker => "worker",
        }
    }
}

/// A job's settings as one process sees them.
#[derive(Clone, Debug)]
pub struct DistConfig {
    pub role: Role,
    pub root: String,
    pub num_servers: usize,
    pub num_workers: usize,
    /// The host a server listens on (None: the address of its connection to the scheduler).
    pub node_host: Option<String>,
    pub verbose: u8,
    pub token: String,
    pub timeout: Duration,
    pub start_timeout: Duration,
    pub bigarray_bound: usize,
    pub rank_hint: Option<usize>,
}

impl DistConfig {
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As `from_env`, reading variables through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let required = |name: &str| lookup(name).filter(|v| !v.is_empty()).ok_or_else(|| missing(name));
        let number = |name: &str, default: Option<u64>| -> Result<u64> {
            match lookup(name).filter(|v| !v.is_empty()) {
                None => default.ok_or_else(|| missing(name)),
                Some(v) => v.trim().parse::<u64>().map_err(|_| KVStoreError::Config(format!("{name}={v} is not a non-negative integer"))),
            }
        };
        let role = Role::parse(lookup("DMLC_ROLE").as_deref().unwrap_or("worker"))?;
        let host = required("DMLC_PS_ROOT_URI")?;
        let port = number("DMLC_PS_ROOT_PORT", None)?;
        let seconds = |name: &str, default: u64| -> Result<Duration> {
            let s = number(name, Some(default))?;
            if s == 0 {
                return Err(KVStoreError::Config(format!("{name} must be at least 1 second")));
            }
            Ok(Duration::from_secs(s))
        };
        let cfg = DistConfig {
            role,
            root: format!("{host}:{port}"),
            num_servers: number("DMLC_NUM_SERVER", None)? as usize,
            num_workers: number("DMLC_NUM_WORKER", None)? as usize,
            node_host: lookup("DMLC_NODE_HOST").filter(|v| !v.is_empty()),
            verbose: number("PS_VERBOSE", Some(0))?.min(2) as u8,
            token: lookup("RMX_KVSTORE_TOKEN").unwrap_or_default(),
            timeout: seconds("RMX_KVSTORE_TIMEOUT", 30)?,
            start_timeout: seconds("RMX_KVSTORE_START_TIMEOUT", 300)?,
            bigarray_bound: number("MXNET_KVSTORE_BIGARRAY_BOUND", Some(1_000_000))?.max(1) as usize,
            rank_hint: ["RMX_WORKER_RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "SLURM_PROCID"].iter().find_map(|n| lookup(n).and_then(|v| v.trim().parse().ok())),
        };
        if cfg.num_servers == 0 || cfg.num_workers == 0 {
            return Err(KVStoreError::Config("DMLC_NUM_SERVER and DMLC_NUM_WORKER must be at least 1".into()));
        }
        Ok(cfg)
    }

    /// How often a process tells the scheduler it lives: often enough that a few lost beats
    /// stay well inside the timeout.
    pub fn heartbeat(&self) -> Duration {
        (self.timeout / 6).clamp(Duration::from_millis(100), Duration::from_secs(5))
    }
}

fn missing(name: &str) -> KVStoreError {
    KVStoreError::Config(format!("{name} is not set: a distributed kvstore needs DMLC_PS_ROOT_URI, DMLC_PS_ROOT_PORT, DMLC_NUM_SERVER and DMLC_NUM_WORKER (set by `python -m rmx.launch`)"))
}
