//! Elementary functions the compiler can vectorize. `f32::exp` and `f32::tanh` call libm once
//! per element, which no loop vectorizes: in a LeNet training step `tanhf` alone took a fifth of
//! the time (perf, benches/RESULTS.md). For `f32` these are branch-free polynomial forms
//! (Cephes' `expf` and `tanhf` coefficients, within 2 ulp of the exact result, which the tests
//! check against `f64`); `f64` keeps the standard library.

/// `exp` and `tanh` as operators' kernels call them.
pub trait VecMath: Copy {
    fn vexp(self) -> Self;
    fn vtanh(self) -> Self;
}

impl VecMath for f64 {
    #[inline(always)]
    fn vexp(self) -> f64 {
        self.exp()
    }
    #[inline(always)]
    fn vtanh(self) -> f64 {
        self.tanh()
    }
}

impl VecMath for f32 {
    #[inline(always)]
    fn vexp(self) -> f32 {
        exp_f32(self)
    }
    #[inline(always)]
    fn vtanh(self) -> f32 {
        tanh_f32(self)
    }
}

/// `e^x`: `x = n ln2 + r` with `|r| <= ln2 / 2`, `e^r` by a polynomial, `2^n` built in the
/// exponent bits (as two factors, so that every `n` from -126 to 128 stays normal). Overflows to
/// `+inf` above 88.72 like `expf`; below -87.5, where `expf` gives subnormals, it gives 0.
#[inline(always)]
pub fn exp_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    // ln 2 split so that `n * LN2_HI` is exact.
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    // Adding then subtracting 1.5 * 2^23 rounds to the nearest integer (|t| < 2^22).
    const ROUND: f32 = 12_582_912.0;
    let c = x.clamp(-87.5, 89.0);
    let t = c * LOG2E + ROUND;
    let n = t - ROUND;
    let r = c - n * LN2_HI - n * LN2_LO;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1) * r + 5e-1;
    let e = p * r * r + r + 1.0;
    // n as an integer from t's low mantissa bits (t and ROUND share their exponent): `n as
    // i32` saturates, which the compiler does lane by lane, a fifth of `tanh`'s time.
    let ni = t.to_bits() as i32 - ROUND.to_bits() as i32;
    let (n1, n2) = (ni >> 1, ni - (ni >> 1));
    let y = e * f32::from_bits(((n1 + 127) as u32) << 23) * f32::from_bits(((n2 + 127) as u32) << 23);
    if x < -87.5 { 0.0 } else { y }
}

/// `tanh x`: an odd polynomial below |x| = 0.625, else `1 - 2 / (e^{2|x|} + 1)` with x's sign
/// (exactly 1 beyond |x| = 9.01, as in `f32`).
#[inline(always)]
pub fn tanh_f32(x: f32) -> f32 {
    let z = x * x;
    let small = ((((-5.704_988_7e-3 * z + 2.063_909e-2) * z - 5.373_971_6e-2) * z + 1.333_144_2e-1) * z - 3.333_328e-1) * z * x + x;
    let a = x.abs().min(10.0);
    let big = (1.0 - 2.0 / (exp_f32(2.0 * a) + 1.0)).copysign(x);
    // Zero keeps its sign; NaN stays NaN.
    if x.is_nan() || x == 0.0 { x } else if x.abs() < 0.625 { small } else { big }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance in units in the last place between `got` and the exact `want`.
    fn ulps(got: f32, want: f64) -> f64 {
        let w = want as f32;
        if got == w {
            return 0.0;
        }
        let ulp = (f32::from_bits(w.abs().to_bits() + 1) - w.abs()) as f64;
        (got as f64 - want).abs() / ulp
    }

    fn grid() -> impl Iterator<Item = f32> {
        (-200_000..=200_000).map(|i| i as f32 * 4.5e-4).chain([0.0, -0.0, 1e-30, -1e-30, 0.625, -0.625, 9.0, 20.0, -20.0])
    }

    #[test]
    fn exp_within_two_ulp() {
        for x in grid().map(|x| x * 1.9).chain([-86.9, -87.4, 87.9, 88.5, 88.7]) {
            if x < -87.5 {
                assert!(exp_f32(x) == 0.0 && (x as f64).exp() < 1.2e-38, "exp({x})");
                continue;
            }
            let e = ulps(exp_f32(x), (x as f64).exp());
            assert!(e <= 2.0, "exp({x}) = {} is {e} ulp from {}", exp_f32(x), (x as f64).exp());
        }
        assert_eq!(exp_f32(89.0), f32::INFINITY);
        assert_eq!(exp_f32(-200.0), 0.0);
        assert!(exp_f32(f32::NAN).is_nan());
        assert_eq!(exp_f32(f32::NEG_INFINITY), 0.0);
    }

    #[test]
    fn tanh_within_two_ulp() {
        for x in grid() {
            let e = ulps(tanh_f32(x), (x as f64).tanh());
            assert!(e <= 2.0, "tanh({x}) = {} is {e} ulp from {}", tanh_f32(x), (x as f64).tanh());
        }
        assert_eq!(tanh_f32(f32::INFINITY), 1.0);
        assert_eq!(tanh_f32(f32::NEG_INFINITY), -1.0);
        assert!(tanh_f32(f32::NAN).is_nan());
        assert_eq!(tanh_f32(-0.0).to_bits(), (-0.0f32).to_bits());
    }
}
