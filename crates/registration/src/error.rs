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

    // One-time tokens. Messages name the check that failed; they never quote the token.
    /// A token longer than [`crate::MAX_TOKEN_BYTES`], refused before parsing.
    #[error("token rejected: longer than {max} bytes")]
    TokenTooLarge {
        /// The limit.
        max: usize,
    },
    /// Not a compact JWS with a JSON header and a JSON claims object.
    #[error("token rejected: malformed: {0}")]
    TokenMalformed(String),
    /// A header `alg` never accepted (`none`, HMAC, or unknown).
    #[error("token rejected: algorithm {0} is not accepted")]
    TokenAlgorithmForbidden(String),
    /// An accepted `alg` that does not fit the provisioner's key.
    #[error("token rejected: algorithm {alg} does not fit the provisioner's {key} key")]
    TokenAlgorithmMismatch {
        /// The token's algorithm.
        alg: String,
        /// The provisioner key, e.g. `EC P-256`.
        key: String,
    },
    /// The header `kid` names another key.
    #[error("token rejected: kid does not match the provisioner key")]
    TokenKeyId,
    /// The signature does not verify with the provisioner key.
    #[error("token rejected: signature does not verify")]
    TokenSignature,
    /// A required claim is absent or empty.
    #[error("token rejected: claim '{0}' is missing or empty")]
    TokenMissingClaim(&'static str),
    /// `iss` is not the provisioner's name.
    #[error("token rejected: issuer (iss) is not the provisioner")]
    TokenIssuer,
    /// No `aud` entry is one of the CA's audiences for this operation.
    #[error("token rejected: audience (aud) not accepted")]
    TokenAudience,
    /// `exp` is past, beyond the leeway.
    #[error("token rejected: expired (exp)")]
    TokenExpired,
    /// `nbf` is in the future, beyond the leeway.
    #[error("token rejected: not yet valid (nbf)")]
    TokenNotYetValid,
    /// `iat` is in the future, beyond the leeway.
    #[error("token rejected: issued in the future (iat)")]
    TokenIssuedInFuture,
    /// The token is valid for longer than allowed, or expires before it starts.
    #[error("token rejected: lifetime longer than the 1 hour maximum, or negative")]
    TokenLifetime,
    /// `iat` is before the CA started.
    #[error("token rejected: issued before the CA started (iat)")]
    TokenIssuedBeforeStart,
    /// The provisioner's configured key cannot verify tokens (a configuration problem).
    #[error("provisioner key unusable for tokens: {0}")]
    ProvisionerKey(String),
    /// A token the client was asked to mint is invalid (empty subject, lifetime out of range).
    #[error("invalid token request: {0}")]
    TokenRequest(String),
    /// An ACME protocol failure; its problem type and client-safe detail are inside.
    #[error(transparent)]
    Acme(#[from] crate::AcmeError),
}

impl Error {
    /// The kind of the error, for the edges to render.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Malformed(_) | Error::Unsupported(_) => ErrorKind::Malformed,
            Error::Decrypt => ErrorKind::Unauthorized,
            Error::Internal(_) | Error::ProvisionerKey(_) => ErrorKind::Internal,
            Error::TokenRequest(_) => ErrorKind::Malformed,
            Error::Acme(e) => e.kind(),
            Error::TokenTooLarge { .. }
            | Error::TokenMalformed(_)
            | Error::TokenAlgorithmForbidden(_)
            | Error::TokenAlgorithmMismatch { .. }
            | Error::TokenKeyId
            | Error::TokenSignature
            | Error::TokenMissingClaim(_)
            | Error::TokenIssuer
            | Error::TokenAudience
            | Error::TokenExpired
            | Error::TokenNotYetValid
            | Error::TokenIssuedInFuture
            | Error::TokenLifetime
            | Error::TokenIssuedBeforeStart => ErrorKind::Unauthorized,
        }
    }
}
