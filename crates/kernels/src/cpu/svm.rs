//! Host loop of [`crate::svm`].

use crate::dtype::Element;

pub fn hinge_grad<T: Element, L: Element>(s: &[T], label: &[L], cols: usize, margin: f64, reg: f64, linear: bool, dx: &mut [T]) {
    if cols == 0 {
        return;
    }
    for (r, (row, out)) in s.chunks_exact(cols).zip(dx.chunks_exact_mut(cols)).enumerate() {
        let k = label[r].to_f64() as i64;
        for (c, (v, o)) in row.iter().zip(out.iter_mut()).enumerate() {
            let v = v.to_f64();
            let g = if c as i64 == k {
                match (margin > v, linear) {
                    (false, _) => 0.0,
                    (true, true) => -1.0,
                    (true, false) => -2.0 * (margin - v),
                }
            } else {
                match (margin > -v, linear) {
                    (false, _) => 0.0,
                    (true, true) => 1.0,
                    (true, false) => 2.0 * (margin + v),
                }
            };
            *o = T::from_f64(g * reg);
        }
    }
}
