//! The ACME protocol foundation (RFC 8555): request JWS, nonces, external account binding,
//! key rollover and problem documents. Pure functions and small types; no HTTP, no storage.
//!
//! Design. The HTTP layer (vouch crate) hands each POST body to [`parse_jws`], checks the
//! nonce with [`NonceKey::check`] and records the [`NonceId`] in the shared used-nonce table
//! (so a nonce works once, on any node), compares the header `url` with the request URL
//! ([`AcmeJws::check_url`]), finds the key (`jwk`, or the account named by `kid`) and calls
//! [`AcmeJws::verify`]. newAccount then runs [`verify_eab`] when the provisioner requires EAB;
//! keyChange runs [`verify_key_change`]. An account key's identity is its RFC 7638
//! thumbprint ([`crate::thumbprint`]).
//!
//! Errors. Every function here returns [`AcmeError`]: an ACME [`ProblemType`] plus a detail that
//! is safe to show the client. The HTTP layer renders it with [`Problem::from`]; the crate-wide
//! [`crate::Error`] wraps it as [`crate::Error::Acme`], and both give a
//! [`vouch_model::ErrorKind`] through `kind()`.

mod eab;
mod jws;
mod key_change;
mod nonce;
mod problem;

#[cfg(test)]
mod tests;

pub use eab::verify_eab;
pub use jws::{
    AcmeJws, JwsAlg, KeyRef, MAX_JWS_BYTES, ProtectedHeader, check_account_key, parse_jws,
};
pub use key_change::verify_key_change;
pub use nonce::{DEFAULT_NONCE_MAX_AGE, NONCE_CLOCK_SKEW, NonceId, NonceKey};
pub use problem::{AcmeError, Problem, ProblemIdentifier, ProblemType, SubProblem};
