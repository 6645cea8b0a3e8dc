//! Defaults of the data path, one place.

/// Worker threads when the caller does not say: MXNet's `preprocess_threads` default (4), but
/// never more than the machine's cores (more only contend for them).
pub fn default_threads(asked: usize) -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    asked.clamp(1, cores.max(1))
}

/// Batches built ahead of the consumer (MXNet's `prefetch_buffer` default).
pub const PREFETCH: usize = 4;
