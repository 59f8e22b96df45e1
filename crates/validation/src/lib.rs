//! The validation authority: is a certificate good?
//!
//! Design (see `ARCHITECTURE.md` §1): this crate answers questions about certificates that
//! already exist and never holds a certificate-signing key. Today it does path validation
//! with rustls-webpki, the verifier rustls itself uses (chains, validity, EKU, names), so
//! that `vouch cert verify` and the tests judge certificates with someone else's code. CRL
//! assembly and the OCSP responder arrive with the validation-authority issue.

#![forbid(unsafe_code)]

mod crl;
mod path;

pub use crl::{CrlSigner, CrlSnapshot, build_crl, serial_from_hex};
pub use path::{Usage, VerifyError, VerifyOptions, verify_chain};
