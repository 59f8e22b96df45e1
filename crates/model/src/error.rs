//! The one error vocabulary of Vouch.
//!
//! Library crates return their own typed errors and map each to an [`ErrorKind`]; only the
//! edges (HTTP, CLI) turn a kind into a status code, an ACME problem type or an exit code.

use std::fmt;

/// What went wrong, in terms a client can act on. Stable: new kinds are only ever added.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The input could not be parsed or is structurally invalid.
    Malformed,
    /// The caller could not be authenticated (bad token, wrong password).
    Unauthorized,
    /// The caller is authenticated but not allowed to do this.
    Forbidden,
    /// The thing asked for does not exist.
    NotFound,
    /// The request conflicts with stored state (duplicate, already exists).
    Conflict,
    /// Too many requests.
    RateLimited,
    /// The certificate request is invalid (bad self-signature, unsupported key).
    BadCsr,
    /// A name or value is forbidden by policy.
    PolicyForbids,
    /// The certificate is already revoked.
    AlreadyRevoked,
    /// A dependency (database, HSM, upstream) is unavailable right now.
    Unavailable,
    /// A bug or an unexpected internal failure.
    Internal,
}

impl ErrorKind {
    /// A short, stable, machine-readable name (used as the `type` of API errors).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Malformed => "malformed",
            ErrorKind::Unauthorized => "unauthorized",
            ErrorKind::Forbidden => "forbidden",
            ErrorKind::NotFound => "notFound",
            ErrorKind::Conflict => "conflict",
            ErrorKind::RateLimited => "rateLimited",
            ErrorKind::BadCsr => "badCSR",
            ErrorKind::PolicyForbids => "policyForbids",
            ErrorKind::AlreadyRevoked => "alreadyRevoked",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Internal => "internal",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
