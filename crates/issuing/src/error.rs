//! Errors of the issuing authority. Messages never contain key material or passwords.

use vouch_model::ErrorKind;

/// Something the issuing authority could not do.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The bytes are not a private key in any supported format.
    #[error("not a private key: {0}")]
    KeyFormat(String),
    /// The key is encrypted and no password was given.
    #[error("the key is encrypted and needs a password")]
    PasswordRequired,
    /// Decryption failed: the password is wrong or the file is corrupted.
    #[error("wrong password, or the encrypted key is corrupted")]
    WrongPassword,
    /// A key algorithm or parameter Vouch does not support.
    #[error("unsupported key: {0}")]
    UnsupportedKey(String),
    /// The bytes are not a certificate.
    #[error("not a certificate: {0}")]
    CertificateFormat(String),
    /// The bytes are not a certificate signing request.
    #[error("not a certificate request: {0}")]
    CsrFormat(String),
    /// The CSR's self-signature does not verify.
    #[error("the certificate request's signature does not verify")]
    CsrSignature,
    /// The private key is not the one of the certificate.
    #[error("the private key does not match the certificate")]
    KeyMismatch,
    /// The issuer certificate cannot sign certificates.
    #[error("the issuer cannot sign certificates: {0}")]
    NotACa(String),
    /// The certificate does not chain to the expected issuer.
    #[error("{0}")]
    Chain(String),
    /// A name that cannot appear in a certificate.
    #[error("invalid name '{name}': {reason}")]
    InvalidName {
        /// The offending name.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// Validity dates that make no sense.
    #[error("invalid validity: {0}")]
    Validity(String),
    /// A name is forbidden by policy.
    #[error("{0}")]
    Policy(vouch_model::PolicyViolation),
    /// The issuance log (the store) failed; nothing was handed out.
    #[error("storage: {0}")]
    Log(crate::LogError),
    /// The certificate described would be invalid (lint before signing): a CA without
    /// keyCertSign, keyCertSign on a non-CA, no subject and no SAN, a malformed or duplicate
    /// extension, a key usage the key cannot have, a bad template.
    #[error("the certificate would be invalid: {0}")]
    Lint(String),
    /// A failure inside the cryptographic library or the encoder.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The kind of the error, for the edges to render.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::KeyFormat(_)
            | Error::UnsupportedKey(_)
            | Error::CertificateFormat(_)
            | Error::CsrFormat(_)
            | Error::KeyMismatch
            | Error::InvalidName { .. }
            | Error::Validity(_)
            | Error::Lint(_) => ErrorKind::Malformed,
            Error::PasswordRequired | Error::WrongPassword => ErrorKind::Unauthorized,
            Error::CsrSignature => ErrorKind::BadCsr,
            Error::NotACa(_) | Error::Chain(_) => ErrorKind::Forbidden,
            Error::Log(e) => e.kind,
            Error::Policy(_) => ErrorKind::PolicyForbids,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    pub(crate) fn internal(what: impl std::fmt::Display) -> Self {
        Error::Internal(what.to_string())
    }
}
