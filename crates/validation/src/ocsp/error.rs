//! One error type for the OCSP core, with the RFC 6960 status each error is answered with.

use vouch_model::ErrorKind;

use super::OcspResponseStatus;

/// What went wrong parsing a request or building a response.
///
/// Request errors ([`OcspError::TooLarge`], [`OcspError::Malformed`],
/// [`OcspError::UnsupportedHashAlgorithm`], [`OcspError::UnsupportedCriticalExtension`]) are the
/// client's fault and are answered with `malformedRequest`; the others are ours and are answered
/// with `internalError`. The message is for logs: a client only ever sees the status.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OcspError {
    /// The request is larger than the limit (checked before parsing).
    #[error("the OCSP request is {len} bytes, over the {limit}-byte limit")]
    TooLarge {
        /// The size seen (for a GET, the length of the path segment).
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The request is not a DER OCSPRequest, or breaks a rule of RFC 6960.
    #[error("malformed OCSP request: {0}")]
    Malformed(String),
    /// A CertID uses a hash algorithm other than SHA-1 or SHA-256 (the OID, dotted).
    #[error("unsupported CertID hash algorithm {0} (SHA-1 and SHA-256 are supported)")]
    UnsupportedHashAlgorithm(String),
    /// The request carries a critical extension this responder does not understand.
    #[error("unsupported critical extension {0} in the OCSP request")]
    UnsupportedCriticalExtension(String),
    /// An issuer or responder certificate could not be read.
    #[error("cannot use the certificate: {0}")]
    BadCertificate(String),
    /// The caller asked for a response that cannot be built (no responses, a bad reason code,
    /// nextUpdate before thisUpdate, a time outside GeneralizedTime's range).
    #[error("invalid OCSP response input: {0}")]
    InvalidInput(String),
    /// The signer failed.
    #[error("signing the OCSP response failed: {0}")]
    Signing(String),
    /// Encoding the response failed (a bug, or a signer returning a bad AlgorithmIdentifier).
    #[error("encoding the OCSP response failed: {0}")]
    Encoding(String),
}

impl OcspError {
    /// The kind of the error, for the edges to render.
    pub fn kind(&self) -> ErrorKind {
        match self {
            OcspError::TooLarge { .. }
            | OcspError::Malformed(_)
            | OcspError::UnsupportedHashAlgorithm(_)
            | OcspError::UnsupportedCriticalExtension(_) => ErrorKind::Malformed,
            OcspError::BadCertificate(_)
            | OcspError::InvalidInput(_)
            | OcspError::Signing(_)
            | OcspError::Encoding(_) => ErrorKind::Internal,
        }
    }

    /// The OCSP status to answer with ([`super::error_response`]).
    ///
    /// An unsupported hash algorithm is `malformedRequest` (as Go's `x/crypto/ocsp` responders
    /// do): RFC 6960 has no better status, and `unauthorized` would tell the client to ask
    /// somewhere else.
    pub fn response_status(&self) -> OcspResponseStatus {
        match self.kind() {
            ErrorKind::Malformed => OcspResponseStatus::MalformedRequest,
            _ => OcspResponseStatus::InternalError,
        }
    }
}

pub(crate) fn malformed(e: impl std::fmt::Display) -> OcspError {
    OcspError::Malformed(e.to_string())
}

pub(crate) fn encoding(e: impl std::fmt::Display) -> OcspError {
    OcspError::Encoding(e.to_string())
}
