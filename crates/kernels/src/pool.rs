//! The pooled storage manager: device memory is slow to get from the driver (`cuMemAlloc`
//! synchronizes the device) and a training step frees and asks again for the same sizes each
//! iteration, so freed buffers are kept per rounded size and handed out again. The policy is
//! MXNet's (`MXNET_GPU_MEM_POOL_*`, here `RMX_GPU_MEM_POOL_*`, see [`PoolConfig`]); the device
//! behind it is a [`DeviceMemory`], the CUDA driver in production and a counted fake in the tests,
//! so every rule below is checked without a GPU.
//!
//! An allocation goes: the pool's free list for the rounded size; else, when the device's free
//! memory would fall under the reserve, the pool is emptied first; then the device; and when
//! the device says out of memory, the pool is emptied and the device asked once more. Only then
//! is it an error, with the sizes that explain it.

use std::collections::HashMap;
use std::sync::Mutex;

/// How sizes are rounded before the pool looks for a free buffer (`RMX_GPU_MEM_POOL_TYPE`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolKind {
    /// Up to a multiple of the page size, and large ones to a multiple of the large-allocation
    /// round size (MXNet's default).
    Naive,
    /// Up to a power of two below `2^cutoff`, to a multiple of `2^cutoff` above it: fewer
    /// distinct sizes, so more reuse when shapes vary (detection models), for more memory.
    Round,
    /// No pool: each buffer goes back to the device when freed.
    Unpooled,
}

impl PoolKind {
    pub fn parse(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "naive" => Some(Self::Naive),
            "round" => Some(Self::Round),
            "unpooled" => Some(Self::Unpooled),
            _ => None,
        }
    }
}

/// The pool's policy; defaults as MXNet 1.9.1's.
#[derive(Clone, Debug, PartialEq)]
pub struct PoolConfig {
    pub kind: PoolKind,
    /// Percent of the device kept free for what is not an array (cuDNN workspaces are arrays
    /// here, but the CUDA context, cuBLAS handles and kernels' code are not).
    pub reserve_percent: f64,
    pub page_size: usize,
    pub large_alloc_round: usize,
    pub round_linear_cutoff: u32,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig { kind: PoolKind::Naive, reserve_percent: 5.0, page_size: 4096, large_alloc_round: 2 << 20, round_linear_cutoff: 24 }
    }
}

impl PoolConfig {
    /// The size a request of `bytes` takes from the device, or `None` when rounding overflows.
    pub fn rounded(&self, bytes: usize) -> Option<usize> {
        let bytes = bytes.max(1);
        match self.kind {
            PoolKind::Unpooled => Some(bytes),
            PoolKind::Naive => {
                let paged = round_up(bytes, self.page_size)?;
                if paged > self.large_alloc_round {
                    round_up(paged, self.large_alloc_round)
                } else {
                    Some(paged)
                }
            }
            PoolKind::Round => {
                let linear = 1usize.checked_shl(self.round_linear_cutoff)?;
                if bytes <= linear {
                    bytes.max(self.page_size).checked_next_power_of_two()
                } else {
                    round_up(bytes, linear)
                }
            }
        }
    }

    /// Bytes of `total` kept free by the reserve.
    fn reserve(&self, total: usize) -> usize {
        (total as f64 * self.reserve_percent.clamp(0.0, 100.0) / 100.0) as usize
    }
}

fn round_up(bytes: usize, step: usize) -> Option<usize> {
    let step = step.max(1);
    bytes.div_ceil(step).checked_mul(step)
}

/// Why the device did not give memory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceAllocError {
    OutOfMemory,
    /// Any other failure of the driver, with its words.
    Failed(String),
}

/// Raw memory of one device, as the pool draws on it.
pub trait DeviceMemory {
    /// The device's address of a buffer.
    type Ptr: Copy + Send;
    fn allocate(&self, bytes: usize) -> Result<Self::Ptr, DeviceAllocError>;
    /// Gives `ptr` (of `bytes` bytes, from `allocate`) back to the device.
    fn release(&self, ptr: Self::Ptr, bytes: usize);
    /// `(free, total)` bytes of the device, or `None` where it cannot say.
    fn memory_info(&self) -> Option<(usize, usize)>;
}

/// Why the pool could not serve a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PoolError {
    /// Out of memory after the pool was emptied and the device asked again: the sizes say how
    /// much the live arrays hold.
    OutOfMemory { requested: usize, rounded: usize, in_use: usize },
    /// The request's rounded size does not fit the address space.
    TooLarge { requested: usize },
    Device(String),
}

impl std::fmt::Display for PoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |b: usize| b as f64 / (1 << 20) as f64;
        match self {
            PoolError::OutOfMemory { requested, rounded, in_use } => write!(
                f,
                "could not allocate {requested} bytes ({:.1} MiB rounded) after emptying the memory pool and retrying; live arrays hold {:.1} MiB",
                mib(*rounded),
                mib(*in_use)
            ),
            PoolError::TooLarge { requested } => write!(f, "a buffer of {requested} bytes is too large to round for the memory pool"),
            PoolError::Device(message) => f.write_str(message),
        }
    }
}

/// What the pool holds and has done, for `mx.context` and the tests.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Bytes of buffers handed out and not yet freed (rounded sizes).
    pub in_use: usize,
    /// Bytes of freed buffers kept for reuse.
    pub pooled: usize,
    /// Requests the device served.
    pub device_allocations: u64,
    /// Requests a kept buffer served.
    pub reuses: u64,
    /// Times the pool was emptied back to the device.
    pub releases: u64,
}

/// A buffer from the pool: its address and the rounded size it holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Block<P> {
    pub ptr: P,
    pub bytes: usize,
}

pub struct Pool<M: DeviceMemory> {
    memory: M,
    config: PoolConfig,
    state: Mutex<State<M::Ptr>>,
}

struct State<P> {
    free: HashMap<usize, Vec<P>>,
    stats: PoolStats,
}

impl<M: DeviceMemory> Pool<M> {
    pub fn new(memory: M, config: PoolConfig) -> Self {
        Pool { memory, config, state: Mutex::new(State { free: HashMap::new(), stats: PoolStats::default() }) }
    }

    pub fn memory(&self) -> &M {
        &self.memory
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State<M::Ptr>> {
        // No update leaves the state half done, so a lock poisoned by a panic still guards a
        // sound state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn stats(&self) -> PoolStats {
        self.state().stats
    }

    /// A buffer of at least `bytes` bytes (not zeroed: a reused one holds old values).
    pub fn allocate(&self, bytes: usize) -> Result<Block<M::Ptr>, PoolError> {
        let rounded = self.config.rounded(bytes).ok_or(PoolError::TooLarge { requested: bytes })?;
        let mut state = self.state();
        if let Some(ptr) = state.free.get_mut(&rounded).and_then(Vec::pop) {
            state.stats.pooled -= rounded;
            state.stats.in_use += rounded;
            state.stats.reuses += 1;
            return Ok(Block { ptr, bytes: rounded });
        }
        if let Some((free, total)) = self.memory.memory_info() {
            let reserve = self.config.reserve(total);
            if free <= reserve || rounded > free - reserve {
                self.release_all_locked(&mut state);
            }
        }
        let ptr = match self.memory.allocate(rounded) {
            Err(DeviceAllocError::OutOfMemory) => {
                self.release_all_locked(&mut state);
                self.memory.allocate(rounded)
            }
            first => first,
        }
        .map_err(|e| match e {
            DeviceAllocError::OutOfMemory => PoolError::OutOfMemory { requested: bytes, rounded, in_use: state.stats.in_use },
            DeviceAllocError::Failed(m) => PoolError::Device(m),
        })?;
        state.stats.in_use += rounded;
        state.stats.device_allocations += 1;
        Ok(Block { ptr, bytes: rounded })
    }

    /// Takes back a buffer from [`Pool::allocate`]: kept for reuse, or given back to the device
    /// when the pool is `Unpooled`. The caller guarantees no work on the device still uses it.
    pub fn free(&self, block: Block<M::Ptr>) {
        let mut state = self.state();
        state.stats.in_use = state.stats.in_use.saturating_sub(block.bytes);
        if self.config.kind == PoolKind::Unpooled {
            drop(state);
            self.memory.release(block.ptr, block.bytes);
            return;
        }
        state.stats.pooled += block.bytes;
        state.free.entry(block.bytes).or_default().push(block.ptr);
    }

    /// Gives every kept buffer back to the device (`mx.context.empty_cache`-like; MXNet's
    /// `ReleaseAll`).
    pub fn release_all(&self) {
        let mut state = self.state();
        self.release_all_locked(&mut state);
    }

    fn release_all_locked(&self, state: &mut State<M::Ptr>) {
        for (bytes, ptrs) in state.free.drain() {
            for ptr in ptrs {
                self.memory.release(ptr, bytes);
            }
        }
        state.stats.pooled = 0;
        state.stats.releases += 1;
    }
}

impl<M: DeviceMemory> Drop for Pool<M> {
    fn drop(&mut self) {
        self.release_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A device of `capacity` bytes that counts what it hands out; addresses are serial numbers.
    struct Fake {
        capacity: usize,
        used: AtomicUsize,
        next: AtomicUsize,
        calls: AtomicUsize,
        /// Whether it reports its free memory (a driver that cannot leaves only the retry).
        reports: bool,
    }

    impl Fake {
        fn new(capacity: usize) -> Self {
            Fake { capacity, used: AtomicUsize::new(0), next: AtomicUsize::new(1), calls: AtomicUsize::new(0), reports: true }
        }
    }

    impl DeviceMemory for Fake {
        type Ptr = usize;
        fn allocate(&self, bytes: usize) -> Result<usize, DeviceAllocError> {
            self.calls.fetch_add(1, Ordering::Relaxed);
            if self.used.load(Ordering::Relaxed) + bytes > self.capacity {
                return Err(DeviceAllocError::OutOfMemory);
            }
            self.used.fetch_add(bytes, Ordering::Relaxed);
            Ok(self.next.fetch_add(1, Ordering::Relaxed))
        }
        fn release(&self, _ptr: usize, bytes: usize) {
            self.used.fetch_sub(bytes, Ordering::Relaxed);
        }
        fn memory_info(&self) -> Option<(usize, usize)> {
            self.reports.then(|| (self.capacity - self.used.load(Ordering::Relaxed), self.capacity))
        }
    }

    const MIB: usize = 1 << 20;

    #[test]
    fn sizes_round_as_mxnet_pools_do() {
        let naive = PoolConfig::default();
        assert_eq!(naive.rounded(0), Some(4096));
        assert_eq!(naive.rounded(4097), Some(8192));
        assert_eq!(naive.rounded(2 * MIB), Some(2 * MIB));
        assert_eq!(naive.rounded(2 * MIB + 1), Some(4 * MIB));
        let round = PoolConfig { kind: PoolKind::Round, ..PoolConfig::default() };
        assert_eq!(round.rounded(100), Some(4096));
        assert_eq!(round.rounded(5000), Some(8192));
        assert_eq!(round.rounded(9 * MIB), Some(16 * MIB));
        assert_eq!(round.rounded(17 * MIB), Some(32 * MIB));
        assert_eq!(round.rounded(33 * MIB), Some(48 * MIB));
        let unpooled = PoolConfig { kind: PoolKind::Unpooled, ..PoolConfig::default() };
        assert_eq!(unpooled.rounded(4097), Some(4097));
        assert_eq!(naive.rounded(usize::MAX), None);
        assert_eq!(round.rounded(usize::MAX), None);
        assert_eq!(PoolKind::parse("Round"), Some(PoolKind::Round));
        assert_eq!(PoolKind::parse("bucket"), None);
    }

    #[test]
    fn freed_buffers_are_reused_by_size() {
        let pool = Pool::new(Fake::new(64 * MIB), PoolConfig::default());
        let a = pool.allocate(1000).unwrap();
        let b = pool.allocate(3000).unwrap();
        pool.free(a);
        let c = pool.allocate(4000).unwrap();
        assert_eq!(c, a, "the same rounded size takes the freed buffer");
        let d = pool.allocate(5000).unwrap();
        assert_ne!(d.ptr, b.ptr);
        let s = pool.stats();
        assert_eq!((s.device_allocations, s.reuses, s.in_use, s.pooled), (3, 1, 4096 * 2 + 8192, 0));
        pool.free(b);
        pool.free(c);
        assert_eq!(pool.stats().pooled, 8192);
        pool.release_all();
        assert_eq!(pool.memory().used.load(Ordering::Relaxed), 8192, "only d is still out");
    }

    #[test]
    fn out_of_memory_empties_the_pool_and_retries_once() {
        // A device that does not report its free memory: only its refusal empties the pool.
        let pool = Pool::new(Fake { reports: false, ..Fake::new(16 * MIB) }, PoolConfig::default());
        let blocks: Vec<_> = (0..3).map(|_| pool.allocate(4 * MIB).unwrap()).collect();
        for b in blocks {
            pool.free(b);
        }
        // 12 MiB kept in the pool, 4 free on the device: 8 MiB fits only after emptying it.
        let big = pool.allocate(8 * MIB).unwrap();
        assert_eq!(pool.stats().pooled, 0);
        assert_eq!(pool.stats().releases, 1);
        let err = pool.allocate(10 * MIB).unwrap_err();
        assert_eq!(err, PoolError::OutOfMemory { requested: 10 * MIB, rounded: 10 * MIB, in_use: 8 * MIB });
        assert!(err.to_string().contains("live arrays hold 8.0 MiB"), "{err}");
        // Nothing was lost: the live buffer is still out and the device serves what fits.
        pool.free(big);
        assert!(pool.allocate(14 * MIB).is_ok());
    }

    #[test]
    fn the_reserve_empties_the_pool_before_the_device_is_asked() {
        let pool = Pool::new(Fake::new(100 * MIB), PoolConfig::default());
        let kept = pool.allocate(60 * MIB).unwrap();
        pool.free(kept);
        let calls = pool.memory().calls.load(Ordering::Relaxed);
        // 40 MiB free, 5 MiB reserved: 36 MiB would cross the reserve, so the pool is emptied
        // first and the device is asked once, successfully.
        pool.allocate(36 * MIB).unwrap();
        assert_eq!(pool.memory().calls.load(Ordering::Relaxed), calls + 1);
        assert_eq!(pool.stats().releases, 1);
    }

    #[test]
    fn unpooled_gives_memory_back_at_once() {
        let pool = Pool::new(Fake::new(MIB), PoolConfig { kind: PoolKind::Unpooled, ..PoolConfig::default() });
        let a = pool.allocate(1000).unwrap();
        assert_eq!(a.bytes, 1000);
        pool.free(a);
        assert_eq!(pool.memory().used.load(Ordering::Relaxed), 0);
        assert_eq!(pool.stats(), PoolStats { device_allocations: 1, ..PoolStats::default() });
    }

    #[test]
    fn a_dropped_pool_returns_everything() {
        let fake = std::sync::Arc::new(Fake::new(MIB));
        struct Shared(std::sync::Arc<Fake>);
        impl DeviceMemory for Shared {
            type Ptr = usize;
            fn allocate(&self, b: usize) -> Result<usize, DeviceAllocError> {
                self.0.allocate(b)
            }
            fn release(&self, p: usize, b: usize) {
                self.0.release(p, b)
            }
            fn memory_info(&self) -> Option<(usize, usize)> {
                self.0.memory_info()
            }
        }
        let pool = Pool::new(Shared(fake.clone()), PoolConfig::default());
        let a = pool.allocate(10).unwrap();
        pool.free(a);
        drop(pool);
        assert_eq!(fake.used.load(Ordering::Relaxed), 0);
    }
}
