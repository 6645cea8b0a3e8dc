//! The host's copies: dense bytes, strided copies (gather a view into dense memory, scatter dense
//! data into a view, or copy between any two layouts of the same shape) and the zero fill. The
//! copies move bytes, so one routine serves every dtype.

use crate::layout::{collapse, numel, Strides};
use crate::Element;

/// Copies `bytes` bytes from `src` to `dst`.
///
/// # Safety
/// Both must address `bytes` bytes of host memory, and must not overlap.
pub unsafe fn copy_dense(bytes: usize, src: *const u8, dst: *mut u8) {
    std::ptr::copy_nonoverlapping(src, dst, bytes)
}

/// Every element of `y` set to zero.
pub fn zero<T: Element>(y: &mut [T]) {
    y.fill(T::from_f64(0.0));
}

/// Copies `shape` elements of `elem` bytes each from `src` (read with `src_strides`) to `dst`
/// (written with `dst_strides`); strides are in elements, pointers at the first element.
///
/// # Safety
/// Every addressed element must be inside its buffer; `src` and `dst` must not overlap.
pub unsafe fn copy_strided(elem: usize, shape: &[usize], src: *const u8, src_strides: &[isize], dst: *mut u8, dst_strides: &[isize]) {
    if numel(shape) == 0 {
        return;
    }
    let mut strides: Vec<Strides> = vec![src_strides.into(), dst_strides.into()];
    let shape = collapse(shape, &mut strides);
    match elem {
        1 => walk::<u8>(&shape, src, &strides[0], dst, &strides[1]),
        2 => walk::<u16>(&shape, src, &strides[0], dst, &strides[1]),
        4 => walk::<u32>(&shape, src, &strides[0], dst, &strides[1]),
        8 => walk::<u64>(&shape, src, &strides[0], dst, &strides[1]),
        _ => unreachable!("no element type has {elem} bytes"),
    }
}

unsafe fn walk<T: Copy>(shape: &[usize], src: *const u8, ss: &[isize], dst: *mut u8, ds: &[isize]) {
    let (src, dst) = (src as *const T, dst as *mut T);
    let nd = shape.len();
    let inner = shape[nd - 1];
    let (si, di) = (ss[nd - 1], ds[nd - 1]);
    let mut index = vec![0usize; nd - 1];
    let rows = numel(&shape[..nd - 1]);
    for _ in 0..rows {
        let (mut so, mut dof) = (0isize, 0isize);
        for (d, &i) in index.iter().enumerate() {
            so += i as isize * ss[d];
            dof += i as isize * ds[d];
        }
        let (s, d) = (src.offset(so), dst.offset(dof));
        if si == 1 && di == 1 {
            std::ptr::copy_nonoverlapping(s, d, inner);
        } else {
            for j in 0..inner as isize {
                *d.offset(j * di) = *s.offset(j * si);
            }
        }
        for d in (0..nd - 1).rev() {
            index[d] += 1;
            if index[d] < shape[d] {
                break;
            }
            index[d] = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_and_gathers_every_element_once() {
        let src: Vec<u32> = (0..12).collect();
        let mut dst = vec![0u32; 12];
        // Read (3, 4) row-major as its transpose (4, 3).
        unsafe { copy_strided(4, &[4, 3], src.as_ptr() as _, &[1, 4], dst.as_mut_ptr() as _, &[3, 1]) };
        assert_eq!(dst, vec![0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
        let mut col = vec![0u32; 3];
        unsafe { copy_strided(4, &[3], src.as_ptr().add(2) as _, &[4], col.as_mut_ptr() as _, &[1]) };
        assert_eq!(col, vec![2, 6, 10]);
    }
}
