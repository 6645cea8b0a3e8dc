//! Special functions the standard library lacks, for elementwise function types (`erf`), through
//! `libm` in each float width.

/// The Gauss error function.
pub trait Erf {
    fn erf(self) -> Self;
}

impl Erf for f32 {
    #[inline(always)]
    fn erf(self) -> f32 {
        libm::erff(self)
    }
}

impl Erf for f64 {
    #[inline(always)]
    fn erf(self) -> f64 {
        libm::erf(self)
    }
}
