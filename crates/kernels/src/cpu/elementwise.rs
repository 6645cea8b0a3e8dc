//! Elementwise kernels: map one array, zip two (same shape, with a scalar, or broadcast). The
//! operator supplies the scalar math as a zero-sized `UnaryFn`/`BinaryFn`, so each instance is
//! inlined and vectorized; large arrays are split across the rayon pool.

use rayon::prelude::*;

use crate::dtype::{BinaryFn, Element, UnaryFn};
use crate::layout::{collapse, numel, Strides};

use super::simd::wide;

/// Below this many elements a kernel stays on one thread: splitting costs more than it saves.
pub const PARALLEL_GRAIN: usize = 1 << 15;

pub fn map<T: Element, F: UnaryFn>(x: &[T], y: &mut [T]) {
    if x.len() <= PARALLEL_GRAIN {
        return wide(|| {
            for (o, &i) in y.iter_mut().zip(x) {
                *o = T::unary::<F>(i);
            }
        });
    }
    y.par_chunks_mut(PARALLEL_GRAIN).zip(x.par_chunks(PARALLEL_GRAIN)).for_each(|(o, i)| map::<T, F>(i, o));
}

pub fn zip<T: Element, F: BinaryFn>(a: &[T], b: &[T], y: &mut [T]) {
    if a.len() <= PARALLEL_GRAIN {
        return wide(|| {
            for ((o, &x), &z) in y.iter_mut().zip(a).zip(b) {
                *o = T::binary::<F>(x, z);
            }
        });
    }
    y.par_chunks_mut(PARALLEL_GRAIN)
        .zip(a.par_chunks(PARALLEL_GRAIN))
        .zip(b.par_chunks(PARALLEL_GRAIN))
        .for_each(|((o, x), z)| zip::<T, F>(x, z, o));
}

/// `y = f(x, s)`, or `f(s, x)` when `scalar_first` (the reflected operators: `2 - x`).
pub fn zip_scalar<T: Element, F: BinaryFn>(x: &[T], s: T, scalar_first: bool, y: &mut [T]) {
    if x.len() <= PARALLEL_GRAIN {
        return wide(|| {
            if scalar_first {
                for (o, &i) in y.iter_mut().zip(x) {
                    *o = T::binary::<F>(s, i);
                }
            } else {
                for (o, &i) in y.iter_mut().zip(x) {
                    *o = T::binary::<F>(i, s);
                }
            }
        });
    }
    y.par_chunks_mut(PARALLEL_GRAIN)
        .zip(x.par_chunks(PARALLEL_GRAIN))
        .for_each(|(o, i)| zip_scalar::<T, F>(i, s, scalar_first, o));
}

/// `y = f(a, b)` where `a` and `b` are read with broadcast strides (0 along stretched
/// dimensions) and `y` is dense of `shape`.
pub fn zip_broadcast<T: Element, F: BinaryFn>(shape: &[usize], a: &[T], a_strides: &[isize], b: &[T], b_strides: &[isize], y: &mut [T]) {
    if y.is_empty() {
        return;
    }
    let mut strides: Vec<Strides> = vec![a_strides.into(), b_strides.into()];
    let shape = collapse(shape, &mut strides);
    let nd = shape.len();
    let inner = shape[nd - 1];
    let (sa, sb) = (strides[0][nd - 1], strides[1][nd - 1]);
    let rows = numel(&shape[..nd - 1]);
    let row = |r: usize, out: &mut [T]| {
        let (mut oa, mut ob, mut rem) = (0isize, 0isize, r);
        for d in (0..nd - 1).rev() {
            let i = (rem % shape[d]) as isize;
            rem /= shape[d];
            oa += i * strides[0][d];
            ob += i * strides[1][d];
        }
        let (ra, rb) = (&a[oa as usize..], &b[ob as usize..]);
        match (sa, sb) {
            (1, 1) => zip::<T, F>(&ra[..inner], &rb[..inner], out),
            (1, 0) => zip_scalar::<T, F>(&ra[..inner], rb[0], false, out),
            (0, 1) => zip_scalar::<T, F>(&rb[..inner], ra[0], true, out),
            _ => {
                for (j, o) in out.iter_mut().enumerate() {
                    *o = T::binary::<F>(ra[j * sa as usize], rb[j * sb as usize]);
                }
            }
        }
    };
    if rows * inner < PARALLEL_GRAIN || rows == 1 {
        for (r, out) in y.chunks_mut(inner).enumerate() {
            row(r, out);
        }
    } else {
        y.par_chunks_mut(inner).enumerate().for_each(|(r, out)| row(r, out));
    }
}

/// `y = f(a, b, c)` over arrays of one length: the shape of backward kernels (`dx = f(dy, x, y)`).
/// `f` is a closure so that it can carry run-time values (a scalar operand, a count).
pub fn map3<T: Element, F: Fn(T, T, T) -> T + Sync>(a: &[T], b: &[T], c: &[T], y: &mut [T], f: &F) {
    if y.len() <= PARALLEL_GRAIN {
        for (((o, &p), &q), &r) in y.iter_mut().zip(a).zip(b).zip(c) {
            *o = f(p, q, r);
        }
        return;
    }
    y.par_chunks_mut(PARALLEL_GRAIN)
        .zip(a.par_chunks(PARALLEL_GRAIN))
        .zip(b.par_chunks(PARALLEL_GRAIN))
        .zip(c.par_chunks(PARALLEL_GRAIN))
        .for_each(|(((o, p), q), r)| map3(p, q, r, o, f));
}

/// Two results per element, `(y1, y2) = f(a, b, c)`, in one pass (both gradients of a binary
/// function).
pub fn map3_into2<T: Element, F: Fn(T, T, T) -> (T, T) + Sync>(a: &[T], b: &[T], c: &[T], y1: &mut [T], y2: &mut [T], f: &F) {
    if y1.len() <= PARALLEL_GRAIN {
        for ((((o1, o2), &p), &q), &r) in y1.iter_mut().zip(y2.iter_mut()).zip(a).zip(b).zip(c) {
            (*o1, *o2) = f(p, q, r);
        }
        return;
    }
    y1.par_chunks_mut(PARALLEL_GRAIN)
        .zip(y2.par_chunks_mut(PARALLEL_GRAIN))
        .zip(a.par_chunks(PARALLEL_GRAIN))
        .zip(b.par_chunks(PARALLEL_GRAIN))
        .zip(c.par_chunks(PARALLEL_GRAIN))
        .for_each(|((((o1, o2), p), q), r)| map3_into2(p, q, r, o1, o2, f));
}

/// `y = f(a, b, c)` where each operand is read with strides over `shape` (0 along broadcast
/// dimensions) and `y` is dense of `shape`. Rows whose operands are not unit-stride are first
/// gathered into row buffers, so the inner loop is always the dense one of [`map3`].
#[allow(clippy::too_many_arguments)]
pub fn map3_broadcast<T: Element, F: Fn(T, T, T) -> T + Sync>(
    shape: &[usize],
    a: &[T],
    a_strides: &[isize],
    b: &[T],
    b_strides: &[isize],
    c: &[T],
    c_strides: &[isize],
    y: &mut [T],
    f: &F,
) {
    if y.is_empty() {
        return;
    }
    let mut strides: Vec<Strides> = vec![a_strides.into(), b_strides.into(), c_strides.into()];
    let shape = collapse(shape, &mut strides);
    let nd = shape.len();
    let inner = shape[nd - 1];
    let operands = [a, b, c];
    let rows_per_chunk = (PARALLEL_GRAIN / inner.max(1)).max(1);
    let chunk = |first_row: usize, out: &mut [T]| {
        let mut bufs: [Vec<T>; 3] = Default::default();
        for (i, buf) in bufs.iter_mut().enumerate() {
            if strides[i][nd - 1] != 1 {
                buf.resize(inner, T::default());
            }
        }
        for (r, out_row) in out.chunks_mut(inner).enumerate() {
            let mut rem = first_row + r;
            let mut offs = [0isize; 3];
            for d in (0..nd - 1).rev() {
                let i = (rem % shape[d]) as isize;
                rem /= shape[d];
                for (o, s) in offs.iter_mut().zip(&strides) {
                    *o += i * s[d];
                }
            }
            for (k, buf) in bufs.iter_mut().enumerate() {
                let step = strides[k][nd - 1] as usize;
                if step != 1 {
                    let src = &operands[k][offs[k] as usize..];
                    for (j, v) in buf.iter_mut().enumerate() {
                        *v = src[j * step];
                    }
                }
            }
            let row = |k: usize| if strides[k][nd - 1] == 1 { &operands[k][offs[k] as usize..][..inner] } else { &bufs[k][..] };
            let rows = [row(0), row(1), row(2)];
            for (((o, &p), &q), &s) in out_row.iter_mut().zip(rows[0]).zip(rows[1]).zip(rows[2]) {
                *o = f(p, q, s);
            }
        }
    };
    if y.len() <= PARALLEL_GRAIN {
        chunk(0, y);
    } else {
        y.par_chunks_mut(rows_per_chunk * inner).enumerate().for_each(|(i, out)| chunk(i * rows_per_chunk, out));
    }
}

/// `y = f(...f(f(x0, x1), x2)..., xn)` elementwise over same-length inputs (`add_n`), in one pass
/// over memory: the output is made in blocks small enough that each block of every input is
/// read while the block of `y` stays in L1.
///
/// `inputs[0] == None` means `y` already holds the first input (the sum is made in place over it,
/// in the same order, so the result is bitwise the same).
pub fn fold_n<T: Element, F: BinaryFn>(inputs: &[Option<&[T]>], y: &mut [T]) {
    const BLOCK: usize = 1024;
    let block = |start: usize, out: &mut [T]| {
        let end = start + out.len();
        if let Some(first) = inputs[0] {
            out.copy_from_slice(&first[start..end]);
        }
        for x in inputs[1..].iter().flatten() {
            for (o, &v) in out.iter_mut().zip(&x[start..end]) {
                *o = T::binary::<F>(*o, v);
            }
        }
    };
    let run = |start: usize, out: &mut [T]| {
        for (b, c) in out.chunks_mut(BLOCK).enumerate() {
            block(start + b * BLOCK, c);
        }
    };
    if y.len() <= PARALLEL_GRAIN {
        run(0, y);
    } else {
        y.par_chunks_mut(PARALLEL_GRAIN).enumerate().for_each(|(i, c)| run(i * PARALLEL_GRAIN, c));
    }
}

/// `y[i] = f(y[i])`: a one-input kernel run in place, where the memory planner gave the output
/// its input's buffer (one mutable slice, so no aliasing borrows).
pub fn update<T: Element, F: Fn(T) -> T + Sync>(y: &mut [T], f: &F) {
    if y.len() <= PARALLEL_GRAIN {
        return wide(|| {
            for v in y.iter_mut() {
                *v = f(*v);
            }
        });
    }
    y.par_chunks_mut(PARALLEL_GRAIN).for_each(|c| update(c, f));
}

/// `y[i] = f(y[i], x[i])`: a two-input kernel run in place over one of its inputs.
pub fn update_with<T: Element, F: Fn(T, T) -> T + Sync>(y: &mut [T], x: &[T], f: &F) {
    if y.len() <= PARALLEL_GRAIN {
        return wide(|| {
            for (v, &o) in y.iter_mut().zip(x) {
                *v = f(*v, o);
            }
        });
    }
    y.par_chunks_mut(PARALLEL_GRAIN).zip(x.par_chunks(PARALLEL_GRAIN)).for_each(|(c, o)| update_with(c, o, f));
}

/// [`map`], or in place when `x` is `None` (`y` holds the input).
pub fn map_or_update<T: Element, F: UnaryFn>(x: Option<&[T]>, y: &mut [T]) {
    match x {
        Some(x) => map::<T, F>(x, y),
        None => update(y, &|v| T::unary::<F>(v)),
    }
}


/// Fills `y` with `v`.
pub fn fill<T: Element>(y: &mut [T], v: T) {
    if y.len() <= PARALLEL_GRAIN {
        y.fill(v);
    } else {
        y.par_chunks_mut(PARALLEL_GRAIN).for_each(|c| c.fill(v));
    }
}

/// Converts every element of `x` into `y`'s type.
pub fn cast<S: Element, D: Element>(x: &[S], y: &mut [D]) {
    if x.len() <= PARALLEL_GRAIN {
        for (o, &i) in y.iter_mut().zip(x) {
            *o = D::cast_from(i);
        }
    } else {
        y.par_chunks_mut(PARALLEL_GRAIN).zip(x.par_chunks(PARALLEL_GRAIN)).for_each(|(o, i)| cast(i, o));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Neg;
    impl UnaryFn for Neg {
        const CUDA: &'static str = "-x";
        fn f32(x: f32) -> f32 {
            -x
        }
        fn f64(x: f64) -> f64 {
            -x
        }
    }

    struct Sub;
    impl BinaryFn for Sub {
        const CUDA: &'static str = "a - b";
        fn f32(a: f32, b: f32) -> f32 {
            a - b
        }
        fn f64(a: f64, b: f64) -> f64 {
            a - b
        }
        fn int(a: i64, b: i64) -> i64 {
            a.wrapping_sub(b)
        }
    }

    #[test]
    fn broadcast_matches_a_naive_loop() {
        // (3, 1, 4) - (2, 1) -> (3, 2, 4)
        let a: Vec<f64> = (0..12).map(|v| v as f64).collect();
        let b = vec![100.0, 200.0];
        let shape = [3, 2, 4];
        let mut y = vec![0.0; 24];
        zip_broadcast::<f64, Sub>(&shape, &a, &[4, 0, 1], &b, &[0, 1, 0], &mut y);
        for i in 0..3 {
            for j in 0..2 {
                for k in 0..4 {
                    assert_eq!(y[i * 8 + j * 4 + k], a[i * 4 + k] - b[j]);
                }
            }
        }
    }

    #[test]
    fn map3_broadcast_matches_a_naive_loop() {
        // a (3, 1, 4), b dense (3, 5, 4), c (1, 5, 1), each strided as the kernel reads them.
        let shape = [3, 5, 4];
        for scale in [1, PARALLEL_GRAIN / 20 + 3] {
            let shape = [shape[0] * scale, shape[1], shape[2]];
            let a: Vec<f64> = (0..shape[0] * 4).map(|v| v as f64).collect();
            let b: Vec<f64> = (0..shape[0] * 20).map(|v| (v as f64) * 0.5).collect();
            let c: Vec<f64> = (0..5).map(|v| 100.0 * v as f64).collect();
            let mut y = vec![0.0; shape[0] * 20];
            let f = |p: f64, q: f64, r: f64| p * 1000.0 + q - r;
            map3_broadcast(&shape, &a, &[4, 0, 1], &b, &[20, 4, 1], &c, &[0, 1, 0], &mut y, &f);
            for i in 0..shape[0] {
                for j in 0..5 {
                    for k in 0..4 {
                        assert_eq!(y[i * 20 + j * 4 + k], f(a[i * 4 + k], b[i * 20 + j * 4 + k], c[j]));
                    }
                }
            }
        }
    }

    #[test]
    fn map3_and_its_two_output_form_split_without_changing_results() {
        let n = PARALLEL_GRAIN * 2 + 5;
        let a: Vec<f32> = (0..n).map(|v| v as f32).collect();
        let (mut y, mut y1, mut y2) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
        map3(&a, &a, &a, &mut y, &|p, q, r| p + q * r);
        map3_into2(&a, &a, &a, &mut y1, &mut y2, &|p, q, r| (p + q, q * r));
        for i in 0..n {
            let v = i as f32;
            assert_eq!((y[i], y1[i], y2[i]), (v + v * v, v + v, v * v));
        }
    }

    #[test]
    fn fold_n_sums_every_input_across_blocks() {
        let n = PARALLEL_GRAIN * 2 + 1500;
        let xs: Vec<Vec<i64>> = (0..3).map(|k| (0..n as i64).map(|v| v * (k + 1)).collect()).collect();
        let refs: Vec<Option<&[i64]>> = xs.iter().map(|v| Some(&v[..])).collect();
        let mut y = vec![0i64; n];
        struct Plus;
        impl BinaryFn for Plus {
            const CUDA: &'static str = "a + b";
            fn f32(a: f32, b: f32) -> f32 { a + b }
            fn f64(a: f64, b: f64) -> f64 { a + b }
            fn int(a: i64, b: i64) -> i64 { a + b }
        }
        fold_n::<i64, Plus>(&refs, &mut y);
        assert!(y.iter().enumerate().all(|(i, &v)| v == 6 * i as i64));
        // In place over the first input: the same sums.
        let mut first = xs[0].clone();
        fold_n::<i64, Plus>(&[None, refs[1], refs[2]], &mut first);
        assert_eq!(first, y);
    }

    #[test]
    fn in_place_kernels_match_the_out_of_place_ones() {
        let x: Vec<f32> = (0..PARALLEL_GRAIN * 2 + 9).map(|i| (i as f32 * 0.37).sin()).collect();
        let (mut want, mut got) = (vec![0f32; x.len()], x.clone());
        map::<f32, Neg>(&x, &mut want);
        map_or_update::<f32, Neg>(None, &mut got);
        assert_eq!(got, want);
    }

    #[test]
    fn large_arrays_split_without_changing_results() {
        let n = PARALLEL_GRAIN * 3 + 17;
        let a: Vec<i32> = (0..n as i32).collect();
        let mut y = vec![0i32; n];
        zip_scalar::<i32, Sub>(&a, 5, true, &mut y);
        assert!(y.iter().enumerate().all(|(i, &v)| v == 5 - i as i32));
    }
}
