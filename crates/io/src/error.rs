//! [`IoError`]: what can go wrong reading data, each naming the file and, where there is one,
//! the record, so that a bad sample in a million is found at once.

#[derive(Debug, thiserror::Error)]
pub enum IoError {
    /// The operating system refused (missing file, permissions, a read that failed).
    #[error("{path}: {source}")]
    Os { path: String, source: std::io::Error },
    /// The bytes are not RecordIO: a bad magic word, a length past the end of the file.
    #[error("{path}: record {record} at byte {offset}: {message}")]
    Format { path: String, record: usize, offset: u64, message: String },
    /// A record's image could not be decoded (corrupt or unsupported JPEG/PNG).
    #[error("{path}: record {record}: cannot decode the image: {message}")]
    Decode { path: String, record: usize, message: String },
    /// An image could not be encoded.
    #[error("cannot encode the image: {0}")]
    Encode(String),
    /// A bad argument: the parameter and why.
    #[error("{0}")]
    Invalid(String),
    /// The iterator's worker threads are gone (a panic in one; never expected).
    #[error("the data pipeline stopped: {0}")]
    Pipeline(String),
}

pub type Result<T> = std::result::Result<T, IoError>;

impl IoError {
    pub fn os(path: &str, source: std::io::Error) -> Self {
        IoError::Os { path: path.to_string(), source }
    }
}
