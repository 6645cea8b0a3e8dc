//! Reading NumPy's uncompressed `.npz` archives (what `np.savez` writes), for tests that
//! compare against arrays MXNet 1.9.1 produced. Only what the fixtures use: little-endian
//! `f4`, `f8` and `u1` arrays in C order.

use std::collections::HashMap;

/// The arrays of an uncompressed `.npz` (NumPy's `savez`), by name: dtype (`f4`, `f8`, `u1`),
/// shape and little-endian bytes.
pub fn read_npz(path: &std::path::Path) -> HashMap<String, (String, Vec<usize>, Vec<u8>)> {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let u16_at = |o: usize| u16::from_le_bytes(data[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().unwrap()) as usize;
    let eocd = (0..data.len() - 21).rev().find(|&o| u32_at(o) == 0x0605_4b50).expect("no end of central directory");
    let (entries, mut at) = (u16_at(eocd + 10), u32_at(eocd + 16));
    let mut arrays = HashMap::new();
    for _ in 0..entries {
        assert_eq!(u32_at(at), 0x0201_4b50, "central directory entry");
        assert_eq!(u16_at(at + 10), 0, "compressed entry: the fixture must be written with np.savez");
        let (name_len, extra_len, comment_len, local) = (u16_at(at + 28), u16_at(at + 30), u16_at(at + 32), u32_at(at + 42));
        let name = String::from_utf8(data[at + 46..at + 46 + name_len].to_vec()).unwrap();
        at += 46 + name_len + extra_len + comment_len;
        let start = local + 30 + u16_at(local + 26) + u16_at(local + 28);
        // The .npy inside: magic, version, header length, a Python dict literal, the data.
        assert_eq!(&data[start..start + 6], b"\x93NUMPY");
        let (header_len, header_at) = if data[start + 6] == 1 { (u16_at(start + 8), start + 10) } else { (u32_at(start + 8), start + 12) };
        let header = std::str::from_utf8(&data[header_at..header_at + header_len]).unwrap();
        let field = |key: &str| {
            let from = header.find(key).unwrap() + key.len();
            header[from..].trim_start_matches([':', ' ', '\''])
        };
        let descr: String = field("'descr'").chars().take_while(|c| *c != '\'').collect();
        assert!(field("'fortran_order'").starts_with("False"));
        let shape_text = field("'shape'");
        let shape: Vec<usize> = shape_text[1..shape_text.find(')').unwrap()].split(',').filter_map(|s| s.trim().parse().ok()).collect();
        let size = match &descr[1..] { "f4" => 4, "f8" => 8, "u1" => 1, d => panic!("{name}: dtype {d}") };
        let count: usize = shape.iter().product();
        let body = header_at + header_len;
        arrays.insert(name.trim_end_matches(".npy").to_string(), (descr[1..].to_string(), shape, data[body..body + count * size].to_vec()));
    }
    arrays
}
