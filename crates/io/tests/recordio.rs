//! RecordIO round trips and malformed files: every failure names the file, record and offset.

use rmx_io::recordio::{parse_index, RecordReader, RecordWriter, MAGIC};
use rmx_io::source::Memory;
use rmx_io::IoError;

fn write(records: &[Vec<u8>]) -> (Vec<u8>, Vec<u64>) {
    let mut w = RecordWriter::new(Vec::new());
    let offsets = records.iter().map(|r| w.write_record(r).unwrap()).collect();
    (w.into_inner(), offsets)
}

fn reader(bytes: Vec<u8>) -> RecordReader<Memory> {
    RecordReader::new(Memory { name: "test.rec".into(), bytes })
}

#[test]
fn round_trip_of_every_length_and_embedded_magic() {
    let magic = MAGIC.to_le_bytes();
    let mut records: Vec<Vec<u8>> = (0..9).map(|n| (0..n as u8).collect()).collect();
    // The magic word at aligned offsets splits a record into parts; unaligned it does not.
    records.push([magic.to_vec(), b"tail".to_vec()].concat());
    records.push([b"head".to_vec(), magic.to_vec(), magic.to_vec(), b"xy".to_vec()].concat());
    records.push([b"ab".to_vec(), magic.to_vec(), b"cd".to_vec()].concat());
    records.push(magic.to_vec());
    let (bytes, offsets) = write(&records);
    let r = reader(bytes);
    assert_eq!(r.scan().unwrap(), offsets);
    for (i, (rec, &off)) in records.iter().zip(&offsets).enumerate() {
        let (got, next) = r.read_at(off, i).unwrap().unwrap();
        assert_eq!(&got, rec, "record {i}");
        assert_eq!(next, offsets.get(i + 1).copied().unwrap_or(r.source().bytes.len() as u64));
    }
}

#[test]
fn layout_matches_dmlc() {
    // Split record: [magic][flag 1, len 4]["head"][magic][flag 3, len 2]["xy"][pad 2]
    let magic = MAGIC.to_le_bytes();
    let (bytes, _) = write(&[[b"head".to_vec(), magic.to_vec(), b"xy".to_vec()].concat()]);
    let mut want = Vec::new();
    want.extend_from_slice(&magic);
    want.extend_from_slice(&((1u32 << 29) | 4).to_le_bytes());
    want.extend_from_slice(b"head");
    want.extend_from_slice(&magic);
    want.extend_from_slice(&((3u32 << 29) | 2).to_le_bytes());
    want.extend_from_slice(b"xy\0\0");
    assert_eq!(bytes, want);
}

fn format_error(e: IoError) -> String {
    match e {
        IoError::Format { path, record, .. } => format!("{path}#{record}"),
        other => panic!("expected a format error, got {other}"),
    }
}

#[test]
fn truncated_and_lying_files_are_errors_naming_the_record() {
    let (bytes, offsets) = write(&[vec![1; 10], vec![2; 20]]);
    // Cut inside the second record's payload.
    let cut = reader(bytes[..bytes.len() - 6].to_vec());
    assert_eq!(format_error(cut.read_at(offsets[1], 1).unwrap_err()), "test.rec#1");
    let err = cut.scan().unwrap_err().to_string();
    assert!(err.contains("record 1") && err.contains("truncated, or the length lies"), "{err}");
    // Cut inside a header.
    let cut = reader(bytes[..offsets[1] as usize + 5].to_vec());
    assert!(cut.scan().unwrap_err().to_string().contains("8-byte record header"));
    // A length field past the end of the file.
    let mut lying = bytes.clone();
    lying[4..8].copy_from_slice(&(1_000_000u32).to_le_bytes());
    let err = reader(lying).read_at(0, 0).unwrap_err().to_string();
    assert!(err.contains("test.rec: record 0 at byte 0") && err.contains("1000000"), "{err}");
    // Not RecordIO at all.
    let err = reader(b"GIF89a..not a record file".to_vec()).scan().unwrap_err().to_string();
    assert!(err.contains("bad magic word"), "{err}");
    // An offset into the middle of a record (a stale .idx).
    let err = reader(bytes).read_at(4, 3).unwrap_err().to_string();
    assert!(err.contains("record 3") && err.contains("bad magic"), "{err}");
}

#[test]
fn continuation_out_of_sequence() {
    let mut bytes = Vec::new();
    bytes.extend_from_slice(&MAGIC.to_le_bytes());
    bytes.extend_from_slice(&((2u32 << 29) | 4).to_le_bytes());
    bytes.extend_from_slice(b"abcd");
    let err = reader(bytes).scan().unwrap_err().to_string();
    assert!(err.contains("continuation flag 2 out of sequence"), "{err}");
}

#[test]
fn index_files() {
    let idx = parse_index("0\t0\n1\t16\n\nfoo\t48\n", "x.idx").unwrap();
    assert_eq!(idx, vec![("0".into(), 0), ("1".into(), 16), ("foo".into(), 48)]);
    let err = parse_index("0\t0\n1 sixteen\n", "x.idx").unwrap_err().to_string();
    assert!(err.contains("x.idx: line 2"), "{err}");
}
