//! Defaults of the data path, one place.

/// Worker threads when the caller does not say: MXNet's `preprocess_threads` default (4), but
/// never more than the machine's cores (more only contend for them).
pub fn default_threads(asked: usize) -> usize {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    asked.clamp(1, cores.max(1))
}

/// Batches built ahead of the consumer (MXNet's `prefetch_buffer` default).
pub const PREFETCH: usize = 4;

/// Bytes fetched by a remote read that continues the previous one (sequential scans).
pub const REMOTE_READ_AHEAD: u64 = 8 << 20;
/// The least a remote read fetches: a typical image record whole, header and payload.
pub const REMOTE_MIN_READ: u64 = 256 << 10;
/// Fetched ranges kept per remote file.
pub const REMOTE_CACHED_RANGES: usize = 16;

/// How long a remote request may take before it fails: `RMX_IO_TIMEOUT` seconds, default 30.
pub fn remote_timeout() -> std::time::Duration {
    let secs = std::env::var("RMX_IO_TIMEOUT").ok().and_then(|v| v.trim().parse::<f64>().ok()).filter(|s| *s > 0.0).unwrap_or(30.0);
    std::time::Duration::from_secs_f64(secs)
}
