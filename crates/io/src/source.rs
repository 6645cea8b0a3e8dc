//! [`Source`]: bytes read at any offset, from any thread. The reader and the iterators see only
//! this, so a local file and a remote object are read alike.

use std::fs::File;

use crate::error::{IoError, Result};

pub trait Source: Send + Sync {
    /// The path or URL, for error messages.
    fn name(&self) -> &str;
    /// The size in bytes.
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Fills `buf` from `offset`; an error if the source ends first.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()>;
}

/// A local file, read with positioned reads (no shared cursor, so threads never contend).
pub struct LocalFile {
    path: String,
    file: File,
    len: u64,
}

impl LocalFile {
    pub fn open(path: &str) -> Result<Self> {
        let file = File::open(path).map_err(|e| IoError::os(path, e))?;
        let len = file.metadata().map_err(|e| IoError::os(path, e))?.len();
        Ok(LocalFile { path: path.to_string(), file, len })
    }
}

impl Source for LocalFile {
    fn name(&self) -> &str {
        &self.path
    }

    fn len(&self) -> u64 {
        self.len
    }

    #[cfg(unix)]
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        std::os::unix::fs::FileExt::read_exact_at(&self.file, buf, offset)
    }

    #[cfg(windows)]
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let mut done = 0;
        while done < buf.len() {
            match std::os::windows::fs::FileExt::seek_read(&self.file, &mut buf[done..], offset + done as u64)? {
                0 => return Err(std::io::ErrorKind::UnexpectedEof.into()),
                n => done += n,
            }
        }
        Ok(())
    }
}

/// Bytes already in memory (tests, and records handed over from Python).
pub struct Memory {
    pub name: String,
    pub bytes: Vec<u8>,
}

impl Source for Memory {
    fn name(&self) -> &str {
        &self.name
    }

    fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let start = usize::try_from(offset).map_err(|_| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
        let src = start.checked_add(buf.len()).and_then(|end| self.bytes.get(start..end)).ok_or(std::io::ErrorKind::UnexpectedEof)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

impl<S: Source + ?Sized> Source for Box<S> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn len(&self) -> u64 {
        (**self).len()
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        (**self).read_exact_at(offset, buf)
    }
}
