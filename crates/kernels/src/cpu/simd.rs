//! Runtime dispatch for the host loops rmx writes itself: the same code compiled once for the
//! baseline x86-64 and once with AVX2 and FMA, the latter chosen at run time where the CPU has
//! them (never `target-cpu=native`, so one wheel serves every machine). Rust does not contract
//! `a * b + c` into a fused multiply-add on its own, so both copies round alike: results do not
//! depend on the machine.

/// Whether this CPU runs the AVX2 copies.
#[inline(always)]
pub fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// `fn name<T: Bound>(args) -> R => body`: defines `name`, which calls `body` (an
/// `#[inline(always)]` function with the same arguments) compiled with AVX2 and FMA where the
/// CPU has them, else as compiled for the baseline.
macro_rules! multiversion {
    ($(#[$m:meta])* $vis:vis fn $name:ident <$($g:ident : $bound:path),*> ($($arg:ident : $ty:ty),* $(,)?) $(-> $ret:ty)? => $body:path) => {
        $(#[$m])*
        $vis fn $name<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                unsafe fn wide<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
                    $body($($arg),*)
                }
                if $crate::cpu::simd::has_avx2() {
                    // SAFETY: the CPU has the features `wide` is compiled for (checked above).
                    return unsafe { wide($($arg),*) };
                }
            }
            $body($($arg),*)
        }
    };
}

pub(crate) use multiversion;

/// `f()` compiled with AVX2 and FMA where the CPU has them: for loops over a caller's closure
/// (the elementwise kernels, whose math is the operator's), which [`multiversion!`] cannot name.
/// The closure is called once, so the compiler inlines it into the AVX2 copy.
#[inline(always)]
pub fn wide<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        unsafe fn avx2<R>(f: impl FnOnce() -> R) -> R {
            f()
        }
        if has_avx2() {
            // SAFETY: the CPU has the features `avx2` is compiled for (checked above).
            return unsafe { avx2(f) };
        }
    }
    f()
}
