//! The JSON control messages (bodies of `Register`, `Welcome`, `Hello`, `Command`).

use serde::{Deserialize, Serialize};

/// Node → scheduler.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Register {
    pub token: String,
    pub role: String,
    /// Where a server listens (None for workers).
    pub addr: Option<String>,
    pub host: String,
    pub pid: u32,
    pub rank_hint: Option<usize>,
}

/// Scheduler → node, once every node registered.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Welcome {
    pub rank: usize,
    pub num_workers: usize,
    pub num_servers: usize,
    /// Every server's address, by server rank.
    pub servers: Vec<String>,
}

/// Worker → server, first message of a connection.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Hello {
    pub token: String,
    pub rank: usize,
    /// `dist_sync`/`dist_device_sync` (true) or `dist_async`.
    pub sync: bool,
}

/// Worker → server: `head` is `optimizer` (a typed optimizer description the server's hook
/// rebuilds; never pickle) or `compression` (`{"type": "2bit", "threshold": t}`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Command {
    pub head: String,
    pub body: String,
}

/// Whether two tokens are equal, in time independent of where they differ.
pub fn token_matches(given: &str, expected: &str) -> bool {
    let (a, b) = (given.as_bytes(), expected.as_bytes());
    let mut diff = (a.len() ^ b.len()) as u8 | u8::from(a.len() != b.len());
    for (x, y) in a.iter().zip(b.iter().cycle()) {
        diff |= x ^ y;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    #[test]
    fn tokens() {
        assert!(super::token_matches("abc", "abc"));
        assert!(super::token_matches("", ""));
        assert!(!super::token_matches("abd", "abc"));
        assert!(!super::token_matches("ab", "abc"));
        assert!(!super::token_matches("abc", ""));
    }
}
