//! rmx's data path (MXNet's "data loading module"): RecordIO files byte-compatible with
//! MXNet's, JPEG/PNG decoding, the augmentations of MXNet's `ImageRecordIter`, and a pipeline
//! that builds batches on worker threads ahead of training.
//!
//! The map: `recordio.rs` the file format (reader, writer, `.idx`); `source.rs` where bytes come
//! from (local files, memory); `header.rs` the image record header; `image/` decoding, resizing
//! and augmentation; `pipeline.rs` the threaded, prefetching batch builder; `record_iter.rs`
//! `ImageRecordIter`'s per-record work; `config.rs` defaults; `error.rs` [`IoError`].
//!
//! ```
//! use rmx_io::recordio::{RecordReader, RecordWriter};
//! use rmx_io::source::Memory;
//!
//! let mut w = RecordWriter::new(Vec::new());
//! w.write_record(b"hello").unwrap();
//! let second = w.write_record(b"world!").unwrap();
//! let bytes = w.into_inner();
//! assert_eq!(bytes.len(), 8 + 8 + 8 + 8); // two headers, payloads padded to 8 bytes each
//! let r = RecordReader::new(Memory { name: "mem".into(), bytes });
//! assert_eq!(r.scan().unwrap(), vec![0, second]);
//! assert_eq!(r.read_at(second, 1).unwrap().unwrap().0, b"world!");
//! ```

pub mod config;
pub mod error;
pub mod header;
pub mod image;
pub mod pipeline;
pub mod record_iter;
pub mod recordio;
pub mod remote;
pub mod source;

pub use error::{IoError, Result};
