//! What a server does with the bytes it receives: sums the workers' gradients (in rank order,
//! so the result does not depend on arrival), and 2-bit compression with error feedback
//! (MXNet's `2bit`: each element becomes +threshold, -threshold or 0; what was not sent stays
//! in the worker's residual and is sent later).

use rmx_kernels::DType;

use crate::error::{KVStoreError, Result};

/// A receive buffer, 8-byte aligned so that it can be read as `f32` or `f64` elements.
pub struct Buf {
    words: Vec<u64>,
    len: usize,
}

impl Buf {
    pub fn new(len: usize) -> Self {
        Buf { words: vec![0u64; len.div_ceil(8)], len }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn bytes(&self) -> &[u8] {
        // SAFETY: `words` holds at least `len` initialized bytes; u8 has no alignment.
        unsafe { std::slice::from_raw_parts(self.words.as_ptr() as *const u8, self.len) }
    }

    pub fn bytes_mut(&mut self) -> &mut [u8] {
        // SAFETY: as in `bytes`, borrowed mutably through `self`.
        unsafe { std::slice::from_raw_parts_mut(self.words.as_mut_ptr() as *mut u8, self.len) }
    }

    fn elems<T>(&self) -> &[T] {
        // SAFETY: 8-byte aligned storage of `len` bytes; T is f32 or f64 (every bit pattern valid).
        unsafe { std::slice::from_raw_parts(self.words.as_ptr() as *const T, self.len / std::mem::size_of::<T>()) }
    }
}

/// Bytes of the 2-bit codes of `numel` elements (four per byte, as dense as MXNet's sixteen per float).
pub fn codes_len(numel: usize) -> usize {
    numel.div_ceil(4)
}

const PLUS: u8 = 0b11;
const MINUS: u8 = 0b10;

/// Quantizes `grad + residual` into `codes` and keeps what was not sent in `residual`.
pub fn quantize_2bit(grad: &[f32], residual: &mut [f32], threshold: f32, codes: &mut [u8]) {
    codes.fill(0);
    for (i, (g, r)) in grad.iter().zip(residual.iter_mut()).enumerate() {
        let v = *r + g;
        let code = if v >= threshold {
            *r = v - threshold;
            PLUS
        } else if v <= -threshold {
            *r = v + threshold;
            MINUS
        } else {
            *r = v;
            0
        };
        codes[i / 4] |= code << ((i % 4) * 2);
    }
}

fn decode(code: u8, threshold: f32) -> f32 {
    match code & 0b11 {
        PLUS => threshold,
        MINUS => -threshold,
        _ => 0.0,
    }
}

/// `out = sum of parts` in the order given; a part is elements of `dtype`, or 2-bit codes
/// (`Some(threshold)`) of `f32` elements.
pub fn sum_into(out: &mut [u8], parts: &[(Buf, Option<f32>)], dtype: DType) -> Result<()> {
    match dtype {
        DType::F32 => {
            // SAFETY: `out` is an f32 array's storage (host allocations are aligned for it).
            let out = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut f32, out.len() / 4) };
            for (i, (buf, compressed)) in parts.iter().enumerate() {
                match compressed {
                    Some(t) => {
                        for (j, o) in out.iter_mut().enumerate() {
                            let v = decode(buf.bytes()[j / 4] >> ((j % 4) * 2), *t);
                            *o = if i == 0 { v } else { *o + v };
                        }
                    }
                    None if i == 0 => out.copy_from_slice(buf.elems::<f32>()),
                    None => out.iter_mut().zip(buf.elems::<f32>()).for_each(|(o, v)| *o += v),
                }
            }
        }
        DType::F64 => {
            // SAFETY: as above, for f64.
            let out = unsafe { std::slice::from_raw_parts_mut(out.as_mut_ptr() as *mut f64, out.len() / 8) };
            for (i, (buf, _)) in parts.iter().enumerate() {
                if i == 0 {
                    out.copy_from_slice(buf.elems::<f64>());
                } else {
                    out.iter_mut().zip(buf.elems::<f64>()).for_each(|(o, v)| *o += v);
                }
            }
        }
        other => return Err(dtype_refused(other)),
    }
    Ok(())
}

pub fn dtype_refused(dtype: DType) -> KVStoreError {
    KVStoreError::Unsupported(format!("the distributed kvstore sums float32 and float64 values, not {dtype}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_bit_sends_what_crosses_the_threshold_and_keeps_the_rest() {
        let grad = [0.3f32, -0.7, 1.2, 0.0, -0.2];
        let mut residual = [0.0f32, 0.0, 0.0, 0.0, -0.4];
        let mut codes = vec![0u8; codes_len(5)];
        quantize_2bit(&grad, &mut residual, 0.5, &mut codes);
        let mut buf = Buf::new(codes.len());
        buf.bytes_mut().copy_from_slice(&codes);
        let mut out = vec![0u8; 20];
        sum_into(&mut out, &[(buf, Some(0.5))], DType::F32).unwrap();
        let got: Vec<f32> = out.chunks(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        assert_eq!(got, vec![0.0, -0.5, 0.5, 0.0, -0.5]);
        let want = [0.3f32, -0.2, 0.7, 0.0, -0.1];
        for (r, w) in residual.iter().zip(want) {
            assert!((r - w).abs() < 1e-6, "{residual:?}");
        }
    }

    #[test]
    fn sums_in_the_order_given() {
        let part = |v: &[f32]| {
            let mut b = Buf::new(v.len() * 4);
            b.bytes_mut().copy_from_slice(&v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<_>>());
            (b, None)
        };
        let mut out = vec![0u8; 8];
        sum_into(&mut out, &[part(&[1.0, 2.0]), part(&[10.0, 20.0]), part(&[100.0, 200.0])], DType::F32).unwrap();
        assert_eq!(out[..4], 111f32.to_le_bytes());
        assert!(sum_into(&mut out, &[], DType::I32).is_err());
    }
}
