//! rmx's wire format: every message is a 32-byte header and a body of the length it states.
//!
//! | bytes | field |
//! | --- | --- |
//! | 0..4 | magic `RMXK` |
//! | 4 | kind ([`Kind`]) |
//! | 5 | flags (bit 0: the body is 2-bit compressed) |
//! | 6..8 | zero |
//! | 8..16 | key (little-endian i64) |
//! | 16..24 | request id (u64) |
//! | 24..32 | body length (u64) |
//!
//! Control bodies are JSON of at most [`MAX_CONTROL`] bytes; array bodies are raw little-endian
//! elements, written straight from an array's memory and read straight into it. A reader checks a
//! body's length against what it expects before it allocates or reads anything.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::{KVStoreError, Result};

pub const MAGIC: [u8; 4] = *b"RMXK";
pub const HEADER: usize = 32;
/// The largest control (JSON or text) body accepted.
pub const MAX_CONTROL: u64 = 1 << 20;
pub const FLAG_2BIT: u8 = 1;

/// What a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    /// Node → scheduler, first message: token, role, listening address (JSON).
    Register = 1,
    /// Scheduler → node once every node registered: ranks and server addresses (JSON).
    Welcome = 2,
    /// Both ways between a node and the scheduler.
    Heartbeat = 3,
    /// Worker → scheduler; `BarrierDone` answers once every worker asked.
    Barrier = 4,
    BarrierDone = 5,
    /// Worker → scheduler: this worker is done; the job ends when every worker is.
    Finish = 6,
    /// Scheduler → every node: the job ended normally.
    Shutdown = 7,
    /// Scheduler → every node: a process died or went silent (text).
    PeerLost = 8,
    /// Worker → server, first message: token, rank, mode (JSON).
    Hello = 9,
    /// Worker → server: a key's first value (`[dtype u8, 7 zero bytes, numel u64, elements]`).
    Init = 10,
    /// Worker → server: a gradient (elements, or 2-bit codes under `FLAG_2BIT`).
    Push = 11,
    /// Worker → server: ask for a key's value; answered by `PullReply` with the same request id.
    Pull = 12,
    PullReply = 13,
    /// Worker → server: optimizer or compression settings (JSON); answered by `Ack` or `Error`.
    Command = 14,
    Ack = 15,
    Error = 16,
    /// Worker → server: ask for the optimizer's states; answered by `StatesReply` (the host's
    /// bytes: JSON, then raw elements) or `Error`.
    States = 17,
    StatesReply = 18,
    /// Worker → server: replace the optimizer's states (a `StatesReply` body); `Ack` or `Error`.
    SetStates = 19,
}

impl Kind {
    fn from_u8(v: u8) -> Option<Self> {
        use Kind::*;
        Some(match v {
            1 => Register,
            2 => Welcome,
            3 => Heartbeat,
            4 => Barrier,
            5 => BarrierDone,
            6 => Finish,
            7 => Shutdown,
            8 => PeerLost,
            9 => Hello,
            10 => Init,
            11 => Push,
            12 => Pull,
            13 => PullReply,
            14 => Command,
            15 => Ack,
            16 => Error,
            17 => States,
            18 => StatesReply,
            19 => SetStates,
            _ => return None,
        })
    }
}

/// A decoded header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Header {
    pub kind: Kind,
    pub flags: u8,
    pub key: i64,
    pub req: u64,
    pub len: u64,
}

impl Header {
    pub fn new(kind: Kind, key: i64, req: u64, len: usize) -> Self {
        Header { kind, flags: 0, key, req, len: len as u64 }
    }

    pub fn encode(&self) -> [u8; HEADER] {
        let mut b = [0u8; HEADER];
        b[..4].copy_from_slice(&MAGIC);
        b[4] = self.kind as u8;
        b[5] = self.flags;
        b[8..16].copy_from_slice(&self.key.to_le_bytes());
        b[16..24].copy_from_slice(&self.req.to_le_bytes());
        b[24..32].copy_from_slice(&self.len.to_le_bytes());
        b
    }

    pub fn decode(b: &[u8; HEADER]) -> Result<Self> {
        if b[..4] != MAGIC {
            return Err(KVStoreError::Protocol(format!("bad magic {:02x?} (not an rmx kvstore peer)", &b[..4])));
        }
        let kind = Kind::from_u8(b[4]).ok_or_else(|| KVStoreError::Protocol(format!("unknown message kind {}", b[4])))?;
        let word = |r: std::ops::Range<usize>| u64::from_le_bytes(b[r].try_into().expect("8 bytes"));
        Ok(Header { kind, flags: b[5], key: word(8..16) as i64, req: word(16..24), len: word(24..32) })
    }

    /// Refuses a body longer than `max` before anything is read or allocated for it.
    pub fn check_len(&self, max: u64) -> Result<()> {
        if self.len > max {
            return Err(KVStoreError::Protocol(format!("{:?} message of {} bytes (at most {max} allowed)", self.kind, self.len)));
        }
        Ok(())
    }
}

pub async fn read_header<R: AsyncReadExt + Unpin>(r: &mut R) -> std::io::Result<Header> {
    let mut b = [0u8; HEADER];
    r.read_exact(&mut b).await?;
    Header::decode(&b).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))
}

/// Reads a control body (at most `MAX_CONTROL` bytes).
pub async fn read_control<R: AsyncReadExt + Unpin>(r: &mut R, h: &Header) -> std::io::Result<Vec<u8>> {
    read_body(r, h, MAX_CONTROL).await
}

/// Reads a body of at most `max` bytes (checked before anything is allocated).
pub async fn read_body<R: AsyncReadExt + Unpin>(r: &mut R, h: &Header, max: u64) -> std::io::Result<Vec<u8>> {
    h.check_len(max).map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?;
    let mut body = vec![0u8; h.len as usize];
    r.read_exact(&mut body).await?;
    Ok(body)
}

/// Writes one message whose body is the concatenation of `parts`.
pub async fn write_msg<W: AsyncWriteExt + Unpin>(w: &mut W, mut h: Header, parts: &[&[u8]]) -> std::io::Result<()> {
    h.len = parts.iter().map(|p| p.len() as u64).sum();
    w.write_all(&h.encode()).await?;
    for p in parts {
        w.write_all(p).await?;
    }
    w.flush().await
}

/// A JSON control message's body.
pub fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).expect("control messages serialize")
}

pub fn parse<T: serde::de::DeserializeOwned>(what: Kind, body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| KVStoreError::Protocol(format!("malformed {what:?} message: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips_and_refuses_garbage() {
        let mut h = Header::new(Kind::Push, -3, 77, 4096);
        h.flags = FLAG_2BIT;
        assert_eq!(Header::decode(&h.encode()).unwrap(), h);
        let mut bad = h.encode();
        bad[0] = b'X';
        assert!(Header::decode(&bad).is_err());
        let mut bad = h.encode();
        bad[4] = 200;
        assert!(Header::decode(&bad).unwrap_err().to_string().contains("unknown message kind 200"));
        assert!(Header::new(Kind::Hello, 0, 0, 1 << 30).check_len(MAX_CONTROL).is_err());
    }
}
