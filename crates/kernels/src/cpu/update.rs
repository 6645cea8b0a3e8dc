//! The host loop of the fused optimizer updates: one pass over the elements applying an
//! [`UpdateFn`] to the weight, gradient and states, split across the rayon pool for large arrays.
//!
//! The pass reads each element's weight, gradient and states before writing its states and new
//! weight, so the output may be the weight's own memory (`out=weight`, how MXNet's optimizers
//! call it). That aliasing is why the arrays travel as raw pointers (`Lanes`); each task makes
//! slices of its own range, the weight's only when it is not the output.

use std::ops::Range;

use rayon::prelude::*;

use super::elementwise::PARALLEL_GRAIN;
use crate::update::{UpdateFn, MAX_STATES};
use crate::{Element, Float};

/// `out[i] = store(rule(load(weight[i]), load(grad[i]), states[..][i]))` for every `i`, the
/// states updated in place; weight and gradient of type `W`, math and states in `C`. `weight`
/// is `None` when the output is the weight's own buffer. `MIXED`: the last state is a master
/// weight the rule updates instead of the weight (which is then loaded but not used).
pub fn run<W: Element, C: Float, R: UpdateFn, const MIXED: bool>(
    rule: &R,
    weight: Option<&[W]>,
    grad: &[W],
    states: &mut [&mut [C]],
    out: &mut [W],
    load: impl Fn(W) -> C + Sync,
    store: impl Fn(C) -> W + Sync,
) {
    let n = out.len();
    let count = states.len();
    assert!(count == R::STATES + MIXED as usize && count <= MAX_STATES, "update given {count} states");
    assert!(weight.is_none_or(|w| w.len() == n) && grad.len() == n && states.iter().all(|s| s.len() == n), "update arrays differ in length");
    let mut state_ptrs = [std::ptr::null_mut::<C>(); MAX_STATES];
    for (p, s) in state_ptrs.iter_mut().zip(states.iter_mut()) {
        *p = s.as_mut_ptr();
    }
    let out_ptr = out.as_mut_ptr();
    let lanes = Lanes { weight: weight.map_or(out_ptr as *const W, <[W]>::as_ptr), grad: grad.as_ptr(), states: state_ptrs, out: out_ptr };
    let inplace = std::ptr::eq(lanes.weight, lanes.out);
    let step = |w: C, g: C, s: &mut [C; MAX_STATES]| -> C {
        if MIXED {
            // The master weight is the last state; the rule sees the ones before it.
            let master = R::STATES;
            let w = rule.step(s[master], g, &mut s[..master], true);
            s[master] = w;
            w
        } else {
            rule.step(w, g, &mut s[..R::STATES], inplace)
        }
    };
    let body = |range: Range<usize>| {
        // The whole struct (Sync), not its pointer fields one by one.
        let lanes = &lanes;
        let (start, len) = (range.start, range.len());
        // SAFETY: every pointer addresses `n` elements of its dtype (checked above) and comes
        // from a slice this call borrows, and tasks own disjoint ranges, so these slices are
        // this task's alone. The weight gets no slice of its own when it is the output's
        // memory: the pass then reads each element's weight from the output before writing it.
        let (out, grad, weight, mut st) = unsafe {
            let out = std::slice::from_raw_parts_mut(lanes.out.add(start), len);
            let grad = std::slice::from_raw_parts(lanes.grad.add(start), len);
            let weight = (!inplace).then(|| std::slice::from_raw_parts(lanes.weight.add(start), len));
            let st: [&mut [C]; MAX_STATES] = std::array::from_fn(|k| if k < count { std::slice::from_raw_parts_mut(lanes.states[k].add(start), len) } else { Default::default() });
            (out, grad, weight, st)
        };
        // One monomorphized pass per state count, so the per-element loops over states unroll
        // and the pass vectorizes.
        match count {
            0 => pass_any::<W, C, 0>(weight, grad, &mut st, out, &step, &load, &store),
            1 => pass_any::<W, C, 1>(weight, grad, &mut st, out, &step, &load, &store),
            2 => pass_any::<W, C, 2>(weight, grad, &mut st, out, &step, &load, &store),
            3 => pass_any::<W, C, 3>(weight, grad, &mut st, out, &step, &load, &store),
            _ => pass_any::<W, C, MAX_STATES>(weight, grad, &mut st, out, &step, &load, &store),
        }
    };
    if n <= PARALLEL_GRAIN {
        body(0..n);
    } else {
        (0..n.div_ceil(PARALLEL_GRAIN)).into_par_iter().for_each(|c| body(c * PARALLEL_GRAIN..n.min((c + 1) * PARALLEL_GRAIN)));
    }
}

/// [`pass`] compiled with AVX2 and FMA where the CPU has them (see `simd`).
#[allow(clippy::too_many_arguments)]
fn pass_any<W: Element, C: Float, const K: usize>(
    weight: Option<&[W]>,
    grad: &[W],
    st: &mut [&mut [C]; MAX_STATES],
    out: &mut [W],
    step: &impl Fn(C, C, &mut [C; MAX_STATES]) -> C,
    load: &impl Fn(W) -> C,
    store: &impl Fn(C) -> W,
) {
    #[cfg(target_arch = "x86_64")]
    {
        #[target_feature(enable = "avx2,fma")]
        #[allow(clippy::too_many_arguments)]
        unsafe fn wide<W: Element, C: Float, const K: usize>(
            weight: Option<&[W]>,
            grad: &[W],
            st: &mut [&mut [C]; MAX_STATES],
            out: &mut [W],
            step: &impl Fn(C, C, &mut [C; MAX_STATES]) -> C,
            load: &impl Fn(W) -> C,
            store: &impl Fn(C) -> W,
        ) {
            pass::<W, C, K>(weight, grad, st, out, step, load, store)
        }
        if super::simd::has_avx2() {
            // SAFETY: the CPU has the features `wide` is compiled for (checked above).
            return unsafe { wide::<W, C, K>(weight, grad, st, out, step, load, store) };
        }
    }
    pass::<W, C, K>(weight, grad, st, out, step, load, store)
}

/// One task's elements with `K` states: the weight read from `weight`, or from `out` itself.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn pass<W: Element, C: Float, const K: usize>(
    weight: Option<&[W]>,
    grad: &[W],
    st: &mut [&mut [C]; MAX_STATES],
    out: &mut [W],
    step: &impl Fn(C, C, &mut [C; MAX_STATES]) -> C,
    load: &impl Fn(W) -> C,
    store: &impl Fn(C) -> W,
) {
    let n = out.len();
    assert!(grad.len() == n && weight.is_none_or(|w| w.len() == n) && st.iter().take(K).all(|s| s.len() == n));
    let mut one = |i: usize, w: W, out: &mut W| {
        let mut s = [C::ZERO; MAX_STATES];
        for k in 0..K {
            s[k] = st[k][i];
        }
        let y = step(load(w), load(grad[i]), &mut s);
        for k in 0..K {
            st[k][i] = s[k];
        }
        *out = store(y);
    };
    match weight {
        Some(weight) => out.iter_mut().zip(weight).enumerate().for_each(|(i, (o, &w))| one(i, w, o)),
        None => out.iter_mut().enumerate().for_each(|(i, o)| one(i, *o, o)),
    }
}

/// The arrays of one update, as raw pointers: the weight may be the output's memory.
struct Lanes<W, C> {
    weight: *const W,
    grad: *const W,
    states: [*mut C; MAX_STATES],
    out: *mut W,
}

// SAFETY: the kernel's tasks touch disjoint index ranges of these arrays (see `run`).
unsafe impl<W, C> Send for Lanes<W, C> {}
unsafe impl<W, C> Sync for Lanes<W, C> {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::f16;

    /// `w - lr·g`, and a state that counts steps with `inplace` recorded, to see what the loop
    /// hands the rule.
    struct Step {
        lr: f32,
    }

    impl UpdateFn for Step {
        const STATES: usize = 1;
        const CUDA: &'static str = "s[0] += inplace ? 10 : 1; return w - lr * g;";
        const CUDA_PARAMS: &'static [&'static str] = &["lr"];

        fn cuda_params(&self) -> Vec<f64> {
            vec![self.lr as f64]
        }

        fn step<T: Float>(&self, w: T, g: T, s: &mut [T], inplace: bool) -> T {
            s[0] += T::from_f32(if inplace { 10.0 } else { 1.0 });
            w - T::from_f32(self.lr) * g
        }
    }

    #[test]
    fn separate_and_in_place_outputs_agree_across_the_parallel_split() {
        let n = PARALLEL_GRAIN * 2 + 5;
        let w: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
        let g: Vec<f32> = (0..n).map(|i| (i % 7) as f32).collect();
        let want: Vec<f32> = w.iter().zip(&g).map(|(w, g)| w - 0.25 * g).collect();
        let (mut out, mut s) = (vec![0f32; n], vec![0f32; n]);
        run::<f32, f32, _, false>(&Step { lr: 0.25 }, Some(&w), &g, &mut [&mut s[..]], &mut out, |x| x, |x| x);
        assert_eq!(out, want);
        assert!(s.iter().all(|&v| v == 1.0));
        let (mut w2, mut s2) = (w.clone(), vec![0f32; n]);
        run::<f32, f32, _, false>(&Step { lr: 0.25 }, None, &g, &mut [&mut s2[..]], &mut w2, |x| x, |x| x);
        assert_eq!(w2, want);
        assert!(s2.iter().all(|&v| v == 10.0));
    }

    #[test]
    fn mixed_updates_the_master_weight_and_rounds_it_to_the_weight_dtype() {
        let w = [f16::from_f32(100.0); 3];
        let g = [f16::from_f32(1.0), f16::from_f32(2.0), f16::from_f32(4.0)];
        let (mut s, mut master) = ([0f32; 3], [1.5f32, 2.5, 3.5]);
        let mut out = [f16::from_f32(0.0); 3];
        run::<f16, f32, _, true>(&Step { lr: 0.5 }, Some(&w), &g, &mut [&mut s[..], &mut master[..]], &mut out, f16::to_f32, f16::from_f32);
        assert_eq!(master, [1.0, 1.5, 1.5]);
        assert_eq!(out.map(f16::to_f32), [1.0, 1.5, 1.5]);
        assert_eq!(s, [10.0; 3]);
    }
}
