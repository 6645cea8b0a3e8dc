//! Two-input elementwise kernels that may run in place: the memory planner can give the output
//! either input's buffer (or, for `x + x`, both), and then the kernel must read that input
//! through the output's one mutable slice instead of borrowing it twice.

use crate::dtype::{BinaryFn, Element};

use super::elementwise::{update, update_with, zip, zip_scalar};

/// `y = f(a, b)`; `a` or `b` is `None` when it is `y` itself (both `None`: `y = f(y, y)`).
pub fn zip_into<T: Element, F: BinaryFn>(a: Option<&[T]>, b: Option<&[T]>, y: &mut [T]) {
    match (a, b) {
        (Some(a), Some(b)) => zip::<T, F>(a, b, y),
        (None, Some(b)) => update_with(y, b, &|v, o| T::binary::<F>(v, o)),
        (Some(a), None) => update_with(y, a, &|v, o| T::binary::<F>(o, v)),
        (None, None) => update(y, &|v| T::binary::<F>(v, v)),
    }
}

/// `y = f(x, s)` (`f(s, x)` when `scalar_first`); `x` is `None` when it is `y` itself.
pub fn zip_scalar_into<T: Element, F: BinaryFn>(x: Option<&[T]>, s: T, scalar_first: bool, y: &mut [T]) {
    match x {
        Some(x) => zip_scalar::<T, F>(x, s, scalar_first, y),
        None if scalar_first => update(y, &|v| T::binary::<F>(s, v)),
        None => update(y, &|v| T::binary::<F>(v, s)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Sub;
    impl BinaryFn for Sub {
        const CUDA: &'static str = "a - b";
        fn f32(a: f32, b: f32) -> f32 {
            a - b
        }
        fn f64(a: f64, b: f64) -> f64 {
            a - b
        }
    }

    #[test]
    fn every_aliasing_gives_the_out_of_place_result() {
        let (a, b) = (vec![5f32, 7.0, 9.0], vec![1f32, 2.0, 3.0]);
        let mut want = vec![0f32; 3];
        zip_into::<f32, Sub>(Some(&a), Some(&b), &mut want);
        let mut y = a.clone();
        zip_into::<f32, Sub>(None, Some(&b), &mut y);
        assert_eq!(y, want);
        let mut y = b.clone();
        zip_into::<f32, Sub>(Some(&a), None, &mut y);
        assert_eq!(y, want);
        let mut y = a.clone();
        zip_into::<f32, Sub>(None, None, &mut y);
        assert_eq!(y, vec![0.0; 3]);
        let mut y = a.clone();
        zip_scalar_into::<f32, Sub>(None, 1.0, true, &mut y);
        assert_eq!(y, vec![-4.0, -6.0, -8.0]);
    }
}
