//! MXNet's RecordIO files, as dmlc-core writes them, byte for byte.
//!
//! A record is a little-endian magic word `0xced7230a`, a word `lrec` holding a 3-bit
//! continuation flag (`lrec >> 29`) and a 29-bit length, the payload, and zero padding to a
//! multiple of 4 bytes. A payload that holds the magic word at a 4-byte-aligned offset is
//! written in parts split at each occurrence (flag 1 first, 2 middle, 3 last; 0 for a whole
//! record), the magic words themselves dropped, so a reader that loses its place can find the
//! next record by scanning for the magic word. The reader puts them back.

use std::io::Write;

use crate::error::{IoError, Result};
use crate::source::Source;

pub const MAGIC: u32 = 0xced7_230a;
/// The largest payload of one part: the length field's 29 bits.
pub const MAX_PART: usize = (1 << 29) - 1;

fn lrec(flag: u32, len: usize) -> u32 {
    (flag << 29) | len as u32
}

fn aligned(len: usize) -> usize {
    len.div_ceil(4) * 4
}

/// Writes records to any byte sink, tracking the position (`tell`) for `.idx` files.
pub struct RecordWriter<W: Write> {
    out: W,
    pos: u64,
}

impl<W: Write> RecordWriter<W> {
    pub fn new(out: W) -> Self {
        RecordWriter { out, pos: 0 }
    }

    /// Continues a file that already holds `bytes` (opened for appending).
    pub fn skip(&mut self, bytes: u64) {
        self.pos += bytes;
    }

    /// The byte offset the next record will start at.
    pub fn tell(&self) -> u64 {
        self.pos
    }

    /// Appends one record; returns the offset it starts at.
    pub fn write_record(&mut self, data: &[u8]) -> std::io::Result<u64> {
        if data.len() > MAX_PART {
            return Err(std::io::Error::new(std::io::ErrorKind::InvalidInput, format!("RecordIO records hold less than 2^29 bytes; this one has {}", data.len())));
        }
        let start = self.pos;
        let magic = MAGIC.to_le_bytes();
        let mut done = 0; // payload bytes written so far, magic words included
        let whole_words = data.len() / 4 * 4;
        for i in (0..whole_words).step_by(4) {
            if data[i..i + 4] == magic {
                self.part(if done == 0 { 1 } else { 2 }, &data[done..i])?;
                done = i + 4;
            }
        }
        self.part(if done == 0 { 0 } else { 3 }, &data[done..])?;
        let pad = aligned(data.len()) - data.len();
        self.put(&[0u8; 3][..pad])?;
        Ok(start)
    }

    fn part(&mut self, flag: u32, payload: &[u8]) -> std::io::Result<()> {
        self.put(&MAGIC.to_le_bytes())?;
        self.put(&lrec(flag, payload.len()).to_le_bytes())?;
        self.put(payload)
    }

    fn put(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.out.write_all(bytes)?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    pub fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

/// Reads records at known offsets from a [`Source`]; `record` numbers only label errors.
pub struct RecordReader<S: Source> {
    src: S,
}

impl<S: Source> RecordReader<S> {
    pub fn new(src: S) -> Self {
        RecordReader { src }
    }

    pub fn source(&self) -> &S {
        &self.src
    }

    fn bad(&self, record: usize, offset: u64, message: String) -> IoError {
        IoError::Format { path: self.src.name().to_string(), record, offset, message }
    }

    /// The record starting at `offset`, and the offset after it; `None` at the end of the file.
    pub fn read_at(&self, offset: u64, record: usize) -> Result<Option<(Vec<u8>, u64)>> {
        let mut out = Vec::new();
        let end = self.read_into(offset, record, &mut out)?;
        Ok(end.map(|end| (out, end)))
    }

    /// As [`read_at`](Self::read_at), into a buffer the caller reuses.
    pub fn read_into(&self, offset: u64, record: usize, out: &mut Vec<u8>) -> Result<Option<u64>> {
        out.clear();
        let mut pos = offset;
        let mut first = true;
        loop {
            let Some((flag, len)) = self.header(pos, record, first)? else { return Ok(None) };
            let start = out.len();
            out.resize(start + len, 0);
            let body = pos + 8;
            self.src.read_exact_at(body, &mut out[start..]).map_err(|e| self.bad(record, offset, format!("the record's {len}-byte payload at byte {body} cannot be read ({e}); the file is truncated or the length field is wrong")))?;
            pos = body + aligned(len) as u64;
            match (first, flag) {
                (_, 0) | (false, 3) => return Ok(Some(pos)),
                (true, 1) | (false, 2) => out.extend_from_slice(&MAGIC.to_le_bytes()),
                _ => return Err(self.bad(record, offset, format!("continuation flag {flag} out of sequence"))),
            }
            first = false;
        }
    }

    /// The (flag, length) of the part at `pos`; `None` at a clean end of file.
    fn header(&self, pos: u64, record: usize, first: bool) -> Result<Option<(u32, usize)>> {
        let size = self.src.len();
        if pos >= size && first {
            return Ok(None);
        }
        if pos + 8 > size {
            return Err(self.bad(record, pos, format!("truncated: {} bytes left where an 8-byte record header belongs", size.saturating_sub(pos))));
        }
        let mut head = [0u8; 8];
        self.src.read_exact_at(pos, &mut head).map_err(|e| IoError::os(self.src.name(), e))?;
        let magic = u32::from_le_bytes(head[..4].try_into().expect("4 bytes"));
        if magic != MAGIC {
            return Err(self.bad(record, pos, format!("bad magic word {magic:#010x} (expected {MAGIC:#010x}): not a RecordIO file, or an offset that is not a record's start")));
        }
        let word = u32::from_le_bytes(head[4..].try_into().expect("4 bytes"));
        let (flag, len) = (word >> 29, (word & MAX_PART as u32) as usize);
        let end = pos + 8 + len as u64;
        if end > size {
            return Err(self.bad(record, pos, format!("the length field says {len} bytes, but only {} remain in the file ({size} bytes): truncated, or the length lies", size - pos - 8)));
        }
        Ok(Some((flag, len)))
    }

    /// The offset of every record, in file order (one pass over the headers).
    pub fn scan(&self) -> Result<Vec<u64>> {
        let mut offsets = Vec::new();
        let mut pos = 0;
        loop {
            let first = pos;
            let mut part = true;
            let mut first_part = true;
            while part {
                let Some((flag, len)) = self.header(pos, offsets.len(), first_part)? else { return Ok(offsets) };
                part = matches!((first_part, flag), (true, 1) | (false, 2));
                if !matches!((first_part, flag), (_, 0) | (true, 1) | (false, 2 | 3)) {
                    return Err(self.bad(offsets.len(), pos, format!("continuation flag {flag} out of sequence")));
                }
                first_part = false;
                pos += 8 + aligned(len) as u64;
            }
            offsets.push(first);
        }
    }
}

/// Parses an `.idx` file (MXNet's `key\toffset` lines) into (key, offset) pairs.
pub fn parse_index(text: &str, path: &str) -> Result<Vec<(String, u64)>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split('\t');
        let key = fields.next().unwrap_or_default();
        let pos = fields.next().and_then(|p| p.trim().parse::<u64>().ok());
        match pos {
            Some(pos) => out.push((key.to_string(), pos)),
            None => return Err(IoError::Invalid(format!("{path}: line {}: expected `key<TAB>offset`, found {line:?}", n + 1))),
        }
    }
    Ok(out)
}
