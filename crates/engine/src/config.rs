//! The engine's configuration, the one place that reads its `RMX_*` variables.
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `RMX_ENGINE_TYPE` | `ThreadedEnginePerDevice` | or `NaiveEngine` (runs every push inline, for debugging) |
//! | `RMX_CPU_WORKERS` | 1 | worker threads per CPU context (operator-level parallelism; kernels parallelize inside) |
//! | `RMX_CPU_PRIORITY_WORKERS` | 2 | threads of the CPU priority pool (kvstore reductions) |
//! | `RMX_GPU_WORKERS` | 2 | compute threads per GPU |
//! | `RMX_GPU_COPY_WORKERS` | 2 | copy threads per GPU |
//!
//! A value that does not parse is reported on stderr, naming the variable, and the default is used:
//! the engine is created on first use, where there is no caller to return an error to.

use std::fmt;

/// Which engine runs pushes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EngineKind {
    /// Worker pools per context and per property (MXNet's default, `ThreadedEnginePerDevice`).
    Threaded,
    /// Every push runs on the pushing thread before `push` returns.
    Naive,
}

impl EngineKind {
    /// Parses MXNet's names; `ThreadedEngine` is accepted as the threaded engine.
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "ThreadedEnginePerDevice" | "ThreadedEngine" | "threaded" => Some(Self::Threaded),
            "NaiveEngine" | "naive" => Some(Self::Naive),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Threaded => "ThreadedEnginePerDevice",
            Self::Naive => "NaiveEngine",
        }
    }
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Pool sizes and the engine kind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EngineConfig {
    pub kind: EngineKind,
    pub cpu_workers: usize,
    pub cpu_priority_workers: usize,
    pub gpu_workers: usize,
    pub gpu_copy_workers: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig { kind: EngineKind::Threaded, cpu_workers: 1, cpu_priority_workers: 2, gpu_workers: 2, gpu_copy_workers: 2 }
    }
}

impl EngineConfig {
    /// The defaults above, overridden by the environment.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// As `from_env`, reading variables through `lookup` (tests pass a map).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let d = Self::default();
        let kind = match lookup("RMX_ENGINE_TYPE") {
            None => d.kind,
            Some(v) => EngineKind::parse(&v).unwrap_or_else(|| {
                warn("RMX_ENGINE_TYPE", &v, "ThreadedEnginePerDevice or NaiveEngine");
                d.kind
            }),
        };
        let count = |name: &str, default: usize| match lookup(name) {
            None => default,
            Some(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    warn(name, &v, "a positive whole number");
                    default
                }
            },
        };
        EngineConfig {
            kind,
            cpu_workers: count("RMX_CPU_WORKERS", d.cpu_workers),
            cpu_priority_workers: count("RMX_CPU_PRIORITY_WORKERS", d.cpu_priority_workers),
            gpu_workers: count("RMX_GPU_WORKERS", d.gpu_workers),
            gpu_copy_workers: count("RMX_GPU_COPY_WORKERS", d.gpu_copy_workers),
        }
    }

    /// The same pools with another engine kind.
    pub fn with_kind(mut self, kind: EngineKind) -> Self {
        self.kind = kind;
        self
    }

    /// The same settings with `n` workers per CPU context.
    pub fn with_cpu_workers(mut self, n: usize) -> Self {
        self.cpu_workers = n.max(1);
        self
    }
}

fn warn(name: &str, value: &str, expected: &str) {
    eprintln!("rmx: ignoring {name}={value:?}: expected {expected}; using the default");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(pairs: &[(&str, &str)]) -> EngineConfig {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        EngineConfig::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn reads_variables_and_falls_back_on_bad_values() {
        assert_eq!(config(&[]), EngineConfig::default());
        let c = config(&[("RMX_ENGINE_TYPE", "NaiveEngine"), ("RMX_CPU_WORKERS", "3"), ("RMX_GPU_WORKERS", "zero")]);
        assert_eq!(c.kind, EngineKind::Naive);
        assert_eq!(c.cpu_workers, 3);
        assert_eq!(c.gpu_workers, 2);
        assert_eq!(config(&[("RMX_CPU_WORKERS", "0")]).cpu_workers, 1);
        assert_eq!(config(&[("RMX_ENGINE_TYPE", "Fast")]).kind, EngineKind::Threaded);
    }
}
