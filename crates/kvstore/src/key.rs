//! Keys: an int or a str, one kind per store (MXNet's rule). Each key has an id that orders a
//! call's keys: the int itself, or for a str key its rank in the order of `init`.

use std::collections::HashMap;
use std::fmt;

use crate::error::{KVStoreError, Result};

/// A key as the caller gives it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Key {
    Int(i64),
    Str(String),
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Key::Int(i) => write!(f, "{i}"),
            Key::Str(s) => f.write_str(s),
        }
    }
}

impl From<i64> for Key {
    fn from(i: i64) -> Self {
        Key::Int(i)
    }
}

impl From<&str> for Key {
    fn from(s: &str) -> Self {
        Key::Str(s.to_string())
    }
}

/// The id that orders and names a stored value.
pub type KeyId = i64;

/// The store's key kind (set by the first key it sees) and its str keys' ids.
#[derive(Default)]
pub(crate) struct Keys {
    str_kind: Option<bool>,
    str_ids: HashMap<String, KeyId>,
}

impl Keys {
    /// Refuses a key of the other kind than the store's first key.
    pub fn check_kind(&mut self, key: &Key) -> Result<()> {
        let is_str = matches!(key, Key::Str(_));
        match self.str_kind {
            None => self.str_kind = Some(is_str),
            Some(kind) if kind != is_str => return Err(KVStoreError::MixedKeyTypes),
            Some(_) => {}
        }
        Ok(())
    }

    /// The id of a key already known (a str key must have been initialized).
    pub fn id(&mut self, key: &Key) -> Result<KeyId> {
        self.check_kind(key)?;
        match key {
            Key::Int(i) => Ok(*i),
            Key::Str(s) => self.str_ids.get(s).copied().ok_or_else(|| KVStoreError::UnknownKey(s.clone())),
        }
    }

    /// The id of a key being initialized: a new str key gets the next id.
    pub fn id_for_init(&mut self, key: &Key) -> Result<KeyId> {
        self.check_kind(key)?;
        match key {
            Key::Int(i) => Ok(*i),
            Key::Str(s) => {
                let next = self.str_ids.len() as KeyId;
                Ok(*self.str_ids.entry(s.clone()).or_insert(next))
            }
        }
    }
}
