//! Runtime dispatch for the host loops rmx writes itself: the same code compiled once for the
//! baseline x86-64 and once with AVX2 and FMA, the latter chosen at run time where the CPU has
//! them (never `target-cpu=native`, so one wheel serves every machine).

/// Runs `f`, compiled with AVX2 and FMA when this CPU has them. `f` must be `#[inline(always)]`
/// code (a closure calling such functions) for the wider instructions to reach its loops.
#[inline(always)]
pub fn run<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
            // SAFETY: the CPU has the features the function is compiled for (checked above).
            return unsafe { avx2(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
    f()
}
