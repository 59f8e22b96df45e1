//! Errors of the registration authority. Messages never contain secrets.

use vouch_model::ErrorKind;

/// Something the registration authority could not do.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A JOSE object that does not parse.
    #[error("malformed JOSE object: {0}")]
    Malformed(String),
    /// An algorithm this build does not accept.
    #[error("unsupported JOSE algorithm: {0}")]
    Unsupported(String),
    /// Decryption failed: wrong password or tampered data.
    #[error("decryption failed: wrong password or corrupted data")]
    Decrypt,
    /// A failure inside the crypto library.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The kind of the error, for the edges to render.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Malformed(_) | Error::Unsupported(_) => ErrorKind::Malformed,
            Error::Decrypt => ErrorKind::Unauthorized,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }
}
