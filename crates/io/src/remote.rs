//! [`Remote`]: a file on S3 (`s3://bucket/key`) or a web server (`http(s)://...`) read as a
//! [`Source`], through the `object_store` crate, with range requests: a read that continues the
//! previous one fetches [`config::REMOTE_READ_AHEAD`] bytes ahead, any other at least
//! [`config::REMOTE_MIN_READ`] (a record's header and payload in one request), and the last
//! few ranges are kept. S3 credentials, region and endpoint come from the usual `AWS_*`
//! environment variables; every request has a timeout, so a server that stops answering is
//! an error, not a hang.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, OnceLock};

use bytes::Bytes;
use object_store::path::Path;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, RetryConfig};

use crate::config;
use crate::error::{IoError, Result};
use crate::source::Source;

/// Whether `path` names a remote file rmx can read.
pub fn is_remote(path: &str) -> bool {
    ["s3://", "http://", "https://"].iter().any(|p| path.starts_with(p))
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_multi_thread().worker_threads(2).thread_name("rmx-io-net").enable_all().build().expect("a tokio runtime"))
}

pub struct Remote {
    url: String,
    store: Arc<dyn ObjectStore>,
    path: Path,
    len: u64,
    /// Recently fetched ranges (start, bytes), and where the last read ended.
    cache: Mutex<(VecDeque<(u64, Bytes)>, u64)>,
}

fn err(url: &str, e: impl std::fmt::Display) -> IoError {
    IoError::Os { path: url.to_string(), source: std::io::Error::other(e.to_string()) }
}

impl Remote {
    pub fn open(url: &str) -> Result<Self> {
        let timeout = config::remote_timeout();
        let options = ClientOptions::new().with_timeout(timeout).with_connect_timeout(timeout);
        // Two quick retries, and none once the timeout has passed: a dead server is an error
        // within about twice the timeout (object_store's default retries for three minutes).
        let retry = RetryConfig { backoff: BackoffConfig::default(), max_retries: 2, retry_timeout: timeout };
        let parsed = url::Url::parse(url).map_err(|e| IoError::Invalid(format!("{url}: not a URL ({e})")))?;
        let (store, path): (Arc<dyn ObjectStore>, Path) = match parsed.scheme() {
            "s3" => {
                // Client options replace the environment's, so carry AWS_ALLOW_HTTP over.
                let allow_http = std::env::var("AWS_ALLOW_HTTP").is_ok_and(|v| v.eq_ignore_ascii_case("true"));
                let s3 = object_store::aws::AmazonS3Builder::from_env()
                    .with_url(url)
                    .with_client_options(options.with_allow_http(allow_http))
                    .with_retry(retry)
                    .build()
                    .map_err(|e| err(url, e))?;
                (Arc::new(s3), Path::from_url_path(parsed.path()).map_err(|e| err(url, e))?)
            }
            "http" | "https" => {
                let base = format!("{}://{}", parsed.scheme(), parsed.authority());
                let http = object_store::http::HttpBuilder::new().with_url(base).with_client_options(options.with_allow_http(true)).with_retry(retry).build().map_err(|e| err(url, e))?;
                (Arc::new(http), Path::from_url_path(parsed.path()).map_err(|e| err(url, e))?)
            }
            other => return Err(IoError::Invalid(format!("{url}: unsupported scheme {other:?} (use s3://, http:// or https://)"))),
        };
        let meta = runtime().block_on(store.head(&path)).map_err(|e| err(url, e))?;
        Ok(Remote { url: url.to_string(), store, path, len: meta.size, cache: Mutex::new((VecDeque::new(), u64::MAX)) })
    }

    /// The cached range holding `offset..end`, fetched if needed; returns it and its start.
    fn range(&self, offset: u64, end: u64) -> std::io::Result<(u64, Bytes)> {
        let sequential = {
            let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
            let hit = cache.0.iter().find(|(s, b)| *s <= offset && end <= s + b.len() as u64).cloned();
            let sequential = cache.1 == offset;
            cache.1 = end;
            if let Some(hit) = hit {
                return Ok(hit);
            }
            sequential
        };
        let want = if sequential { config::REMOTE_READ_AHEAD } else { config::REMOTE_MIN_READ };
        let stop = (offset + want.max(end - offset)).min(self.len);
        let bytes = runtime().block_on(self.store.get_range(&self.path, offset..stop)).map_err(std::io::Error::other)?;
        if (bytes.len() as u64) < end - offset {
            return Err(std::io::Error::new(std::io::ErrorKind::UnexpectedEof, format!("asked for bytes {offset}..{stop}, got {}", bytes.len())));
        }
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        cache.0.push_back((offset, bytes.clone()));
        if cache.0.len() > config::REMOTE_CACHED_RANGES {
            cache.0.pop_front();
        }
        Ok((offset, bytes))
    }
}

impl Source for Remote {
    fn name(&self) -> &str {
        &self.url
    }

    fn len(&self) -> u64 {
        self.len
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let end = offset.checked_add(buf.len() as u64).filter(|&e| e <= self.len).ok_or(std::io::ErrorKind::UnexpectedEof)?;
        if buf.is_empty() {
            return Ok(());
        }
        let (start, bytes) = self.range(offset, end)?;
        let at = (offset - start) as usize;
        buf.copy_from_slice(&bytes[at..at + buf.len()]);
        Ok(())
    }
}

/// A local path or a remote URL, opened as a [`Source`].
pub fn open(path: &str) -> Result<Box<dyn Source>> {
    if is_remote(path) {
        Ok(Box::new(Remote::open(path)?))
    } else {
        Ok(Box::new(crate::source::LocalFile::open(path)?))
    }
}

/// The whole content of a local or remote file (`.idx` and `.lst` files).
pub fn read_all(path: &str) -> Result<Vec<u8>> {
    let src = open(path)?;
    let mut buf = vec![0; usize::try_from(src.len()).map_err(|_| IoError::Invalid(format!("{path}: too large")))?];
    src.read_exact_at(0, &mut buf).map_err(|e| IoError::os(path, e))?;
    Ok(buf)
}
