//! MXNet's image record header (`IRHeader`, struct `IfQQ`, 24 bytes little-endian): `flag`,
//! `label`, `id`, `id2`. A positive `flag` says `flag` float32 labels follow the header (and
//! `label` is unused); the image bytes come after them.

pub const HEADER_BYTES: usize = 24;

#[derive(Clone, Debug, PartialEq)]
pub struct Header {
    pub flag: u32,
    pub label: f32,
    pub id: u64,
    pub id2: u64,
}

/// The header, the labels (one, or `flag` of them) and the payload of a record.
pub fn split(record: &[u8]) -> Result<(Header, Vec<f32>, &[u8]), String> {
    if record.len() < HEADER_BYTES {
        return Err(format!("{} bytes is too short for the 24-byte image record header", record.len()));
    }
    let u32_at = |i: usize| u32::from_le_bytes(record[i..i + 4].try_into().expect("4 bytes"));
    let u64_at = |i: usize| u64::from_le_bytes(record[i..i + 8].try_into().expect("8 bytes"));
    let header = Header { flag: u32_at(0), label: f32::from_bits(u32_at(4)), id: u64_at(8), id2: u64_at(16) };
    if header.flag == 0 {
        return Ok((header.clone(), vec![header.label], &record[HEADER_BYTES..]));
    }
    let n = header.flag as usize;
    let end = n.checked_mul(4).and_then(|b| b.checked_add(HEADER_BYTES)).filter(|&e| e <= record.len());
    let Some(end) = end else { return Err(format!("the header announces {n} labels, more than the record's {} bytes hold", record.len())) };
    let labels = record[HEADER_BYTES..end].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().expect("4 bytes"))).collect();
    Ok((header, labels, &record[end..]))
}
