//! MXNet's NDArray file format (`mx.nd.save`, `.params`), byte for byte: a list header
//! (`0x112`, reserved 0, count), each array (V2 magic `0xF993FAC9`, storage type, shape as
//! int32 ndim + int64 dims, context, dtype flag, raw data), then the names. Reads V1, V2, V3
//! (dense) and the pre-V1 layout too. All integers little-endian.

use rmx_engine::{Context, DeviceKind};
use rmx_kernels::DType;

use rmx_operators::error::{GraphError, Result};
use crate::ndarray::NDArray;

const LIST_MAGIC: u64 = 0x112;
const V1: u32 = 0xF993_FAC8;
const V2: u32 = 0xF993_FAC9;
const V3: u32 = 0xF993_FACA;

/// Serializes `arrays` (waiting for each), with `names` for a dict save or none for a list.
pub fn save_to_bytes(arrays: &[NDArray], names: &[String]) -> Result<Vec<u8>> {
    if !names.is_empty() && names.len() != arrays.len() {
        return Err(GraphError::Invalid(format!("save: {} names for {} arrays", names.len(), arrays.len())));
    }
    let mut out = Vec::new();
    out.extend(LIST_MAGIC.to_le_bytes());
    out.extend(0u64.to_le_bytes());
    out.extend((arrays.len() as u64).to_le_bytes());
    for a in arrays {
        out.extend(V2.to_le_bytes());
        out.extend(0i32.to_le_bytes()); // dense storage
        out.extend((a.shape().len() as i32).to_le_bytes());
        for &d in a.shape() {
            out.extend((d as i64).to_le_bytes());
        }
        let ctx = a.ctx();
        out.extend(ctx.kind.code().to_le_bytes());
        out.extend((ctx.ordinal as i32).to_le_bytes());
        out.extend(a.dtype().flag().to_le_bytes());
        let start = out.len();
        out.resize(start + a.nbytes(), 0);
        a.read_into(&mut out[start..])?;
    }
    out.extend((names.len() as u64).to_le_bytes());
    for n in names {
        out.extend((n.len() as u64).to_le_bytes());
        out.extend(n.as_bytes());
    }
    Ok(out)
}

/// Parses a file's bytes into arrays (on the CPU) and names (empty for a list save).
pub fn load_from_bytes(bytes: &[u8]) -> Result<(Vec<NDArray>, Vec<String>)> {
    let mut r = Reader { bytes, at: 0 };
    if r.u64()? != LIST_MAGIC {
        return Err(r.bad("not an MXNet NDArray file (wrong header magic)"));
    }
    r.u64()?;
    let count = r.u64()? as usize;
    let mut arrays = Vec::with_capacity(count.min(1 << 16));
    for _ in 0..count {
        arrays.push(read_array(&mut r)?);
    }
    let n_names = r.u64()? as usize;
    if n_names != 0 && n_names != count {
        return Err(r.bad(&format!("{n_names} names for {count} arrays")));
    }
    // Capacity from what the file can hold, never from the length field alone.
    let mut names = Vec::with_capacity(n_names.min(bytes.len() / 8));
    for _ in 0..n_names {
        let len = r.u64()? as usize;
        let raw = r.take(len)?;
        names.push(String::from_utf8(raw.to_vec()).map_err(|_| r.bad("a name is not UTF-8"))?);
    }
    Ok((arrays, names))
}

fn read_array(r: &mut Reader<'_>) -> Result<NDArray> {
    let magic = r.u32()?;
    let shape: Vec<usize> = match magic {
        V2 | V3 => {
            let stype = r.i32()?;
            if stype != 0 {
                return Err(r.bad(&format!("sparse arrays (storage type {stype}) are not supported")));
            }
            r.shape64()?
        }
        V1 => r.shape64()?,
        ndim => {
            // Pre-V1: the word was the number of dimensions, each a uint32.
            if ndim > 32 {
                return Err(r.bad(&format!("not an NDArray record (magic or dimension count {ndim:#x})")));
            }
            (0..ndim).map(|_| r.u32().map(|d| d as usize)).collect::<Result<_>>()?
        }
    };
    if shape.is_empty() && magic != V3 {
        // MXNet writes a "none" array as ndim 0 with nothing after it.
        return NDArray::zeros(&[0], DType::F32, Context::cpu(0));
    }
    let (dev_type, _dev_id) = (r.i32()?, r.i32()?);
    DeviceKind::from_code(dev_type).ok_or_else(|| r.bad(&format!("unknown device type {dev_type}")))?;
    let flag = r.i32()?;
    let dtype = DType::from_flag(flag).ok_or_else(|| r.bad(&format!("unsupported dtype flag {flag}")))?;
    let shape = if shape.is_empty() { vec![1] } else { shape };
    let nbytes = rmx_kernels::checked_bytes(&shape, dtype).map_err(|_| r.bad(&format!("shape {shape:?} of {dtype} is too large")))?;
    let data = r.take(nbytes)?;
    // Arrays load onto the CPU: this build has no GPU (MXNet does the same without one).
    NDArray::from_bytes(&shape, dtype, Context::cpu(0), data)
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn bad(&self, what: &str) -> GraphError {
        GraphError::Invalid(format!("load: {what} (at byte {})", self.at))
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len()).ok_or_else(|| self.bad("file ends early"))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().expect("8 bytes")))
    }

    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take(4)?.try_into().expect("4 bytes")))
    }

    fn i32(&mut self) -> Result<i32> {
        Ok(self.u32()? as i32)
    }

    fn shape64(&mut self) -> Result<Vec<usize>> {
        let ndim = self.i32()?;
        if !(0..=32).contains(&ndim) {
            return Err(self.bad(&format!("implausible number of dimensions {ndim}")));
        }
        // Dimensions are int64 in MXNet: a value past i64::MAX is a negative size.
        (0..ndim)
            .map(|_| self.u64().and_then(|d| if d > i64::MAX as u64 { Err(self.bad(&format!("negative dimension {}", d as i64))) } else { Ok(d as usize) }))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f32s(v: &[f32]) -> Vec<u8> {
        v.iter().flat_map(|x| x.to_le_bytes()).collect()
    }

    #[test]
    fn matches_the_reference_byte_dump_and_round_trips() {
        // The verified dump of nd.save(f, {'arg:w': float32 2x3 [1..6], 'aux:m': int64 [7]}).
        let w = NDArray::from_bytes(&[2, 3], DType::F32, Context::cpu(0), &f32s(&[1., 2., 3., 4., 5., 6.])).unwrap();
        let m = NDArray::from_bytes(&[1], DType::I64, Context::cpu(0), &7i64.to_le_bytes()).unwrap();
        let bytes = save_to_bytes(&[w, m], &["arg:w".into(), "aux:m".into()]).unwrap();
        let mut want: Vec<u8> = Vec::new();
        want.extend(0x112u64.to_le_bytes());
        want.extend(0u64.to_le_bytes());
        want.extend(2u64.to_le_bytes());
        want.extend([0xc9, 0xfa, 0x93, 0xf9, 0, 0, 0, 0, 2, 0, 0, 0]);
        want.extend(2i64.to_le_bytes());
        want.extend(3i64.to_le_bytes());
        want.extend([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        want.extend(f32s(&[1., 2., 3., 4., 5., 6.]));
        want.extend([0xc9, 0xfa, 0x93, 0xf9, 0, 0, 0, 0, 1, 0, 0, 0]);
        want.extend(1i64.to_le_bytes());
        want.extend([1, 0, 0, 0, 0, 0, 0, 0, 6, 0, 0, 0]);
        want.extend(7i64.to_le_bytes());
        want.extend(2u64.to_le_bytes());
        want.extend(5u64.to_le_bytes());
        want.extend(b"arg:w");
        want.extend(5u64.to_le_bytes());
        want.extend(b"aux:m");
        assert_eq!(bytes, want);
        let (arrays, names) = load_from_bytes(&bytes).unwrap();
        assert_eq!(names, vec!["arg:w", "aux:m"]);
        assert_eq!(arrays[0].shape(), &[2, 3]);
        assert_eq!(arrays[1].dtype(), DType::I64);
        assert_eq!(save_to_bytes(&[], &[]).unwrap().len(), 32);
        assert!(load_from_bytes(&bytes[..40]).is_err());
    }
}
