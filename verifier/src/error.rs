//! The library's error type: what went wrong *getting* the record (files,
//! the network, the board's answers), never what is wrong *in* it — a record
//! that fails a check is a [`Report`](crate::report::Report) with failures.

use thiserror::Error;

/// Why a record, a checkpoint or a key could not be obtained.
#[derive(Debug, Error)]
pub enum VerifierError {
    /// A local file could not be read or written (the caller's).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A request to a board or mirror failed (the network's or the server's).
    #[error("request to {url} failed: {why}")]
    Http {
        /// The URL asked.
        url: String,
        /// What happened.
        why: String,
    },
    /// A board or mirror answered with something that is not what the API
    /// promises (the server's).
    #[error("{url} answered with an unreadable {what}: {why}")]
    BadResponse {
        /// The URL asked.
        url: String,
        /// What was expected.
        what: &'static str,
        /// Why it could not be read.
        why: String,
    },
    /// A board key that is not a valid C2SP verifier key (the caller's).
    #[error("invalid board key: {0}")]
    BoardKey(String),
    /// The test-record generator failed (a bug in the generator or its
    /// parameters).
    #[error("record generator: {0}")]
    Generate(String),
}
