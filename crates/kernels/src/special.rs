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

/// Γ(x), ln|Γ(x)|, the digamma function ψ(x) = Γ'(x)/Γ(x), and the inverse error function:
/// float32 through float64 (`gamma`, `gammaln` and `erfinv` as MXNet computes them in each width).
pub trait Gamma: Sized {
    fn tgamma(self) -> Self;
    fn gammaln(self) -> Self;
    fn digamma(self) -> Self;
    fn erfinv(self) -> Self;
}

impl Gamma for f64 {
    #[inline]
    fn tgamma(self) -> f64 {
        libm::tgamma(self)
    }
    #[inline]
    fn gammaln(self) -> f64 {
        libm::lgamma(self)
    }
    fn digamma(self) -> f64 {
        digamma(self)
    }
    fn erfinv(self) -> f64 {
        erfinv(self)
    }
}

impl Gamma for f32 {
    #[inline]
    fn tgamma(self) -> f32 {
        libm::tgammaf(self)
    }
    #[inline]
    fn gammaln(self) -> f32 {
        libm::lgammaf(self)
    }
    fn digamma(self) -> f32 {
        digamma(self as f64) as f32
    }
    fn erfinv(self) -> f32 {
        erfinv(self as f64) as f32
    }
}

/// ψ(x): poles (NaN) at 0 and the negative integers; the reflection ψ(1 - x) - π / tan(πx) below
/// 0; the recurrence ψ(x) = ψ(x + 1) - 1/x up to 12, then the asymptotic series in 1/x².
fn digamma(mut x: f64) -> f64 {
    if x.is_nan() || x == f64::NEG_INFINITY || (x <= 0.0 && x == x.floor()) {
        return f64::NAN;
    }
    if x < 0.0 {
        return digamma(1.0 - x) - std::f64::consts::PI / (std::f64::consts::PI * x).tan();
    }
    let mut acc = 0.0;
    while x < 12.0 {
        acc -= 1.0 / x;
        x += 1.0;
    }
    let r = 1.0 / (x * x);
    let series = r * (1.0 / 12.0 - r * (1.0 / 120.0 - r * (1.0 / 252.0 - r * (1.0 / 240.0 - r * (1.0 / 132.0 - r * 691.0 / 32760.0)))));
    acc + x.ln() - 0.5 / x - series
}

/// erf⁻¹(y): ±∞ at ±1 and NaN outside [-1, 1]; Giles' single-precision approximation
/// ("Approximating the erfinv function", 2010) refined by two Newton steps on `erf`.
fn erfinv(y: f64) -> f64 {
    if y.is_nan() || y.abs() > 1.0 {
        return f64::NAN;
    }
    if y.abs() == 1.0 {
        return y * f64::INFINITY;
    }
    let w = -((1.0 - y) * (1.0 + y)).ln();
    let p = if w < 5.0 {
        let w = w - 2.5;
        [2.81022636e-08, 3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941]
            .iter()
            .fold(0.0, |p, c| p * w + c)
    } else {
        let w = w.sqrt() - 3.0;
        [-0.000200214257, 0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682]
            .iter()
            .fold(0.0, |p, c| p * w + c)
    };
    let mut x = p * y;
    for _ in 0..2 {
        let step = (libm::erf(x) - y) / (std::f64::consts::FRAC_2_SQRT_PI * (-x * x).exp());
        if !step.is_finite() {
            break;
        }
        x -= step;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digamma_and_erfinv_against_known_values() {
        // ψ(1) = -γ, ψ(1/2) = -γ - 2 ln 2, ψ(-1/2) = ψ(1/2) + 2.
        let euler = 0.5772156649015329;
        assert!((1f64.digamma() + euler).abs() < 1e-14);
        assert!((0.5f64.digamma() + euler + 2.0 * 2f64.ln()).abs() < 1e-14);
        assert!(((-0.5f64).digamma() - (0.5f64.digamma() + 2.0)).abs() < 1e-13);
        assert!(0f64.digamma().is_nan() && (-3f64).digamma().is_nan());
        for y in [-0.999999, -0.9, -0.3, 0.0, 1e-8, 0.5, 0.99, 0.9999999] {
            assert!((libm::erf(y.erfinv()) - y).abs() < 1e-15, "{y}");
        }
        assert_eq!(1f64.erfinv(), f64::INFINITY);
        assert!(1.5f64.erfinv().is_nan());
        assert!((0.5f32.erfinv() - 0.47693628).abs() < 1e-7);
    }
}
