//! The validation authority: is a certificate good?
//!
//! Design (see `ARCHITECTURE.md` §1): this crate answers questions about certificates that
//! already exist and never holds a certificate-signing key: path validation with
//! rustls-webpki (the verifier rustls itself uses), CRL assembly (`crl`), and the OCSP core
//! (`ocsp`: request parsing, response building, the pre-signed response cache). Signing is
//! always a capability handed in by the composition root ([`CrlSigner`], [`OcspSigner`]),
//! implemented with the issuing crate's status signer.

#![forbid(unsafe_code)]

mod crl;
mod crl_index;
mod ocsp;
mod path;

pub use crl::{CrlSigner, CrlSnapshot, build_crl, serial_from_hex};
pub use crl_index::CrlIndex;
pub use ocsp::{
    CachedResponse, CertId, CertStatus, HashAlgorithm, IssuerId, MAX_NONCE_LEN, MAX_REQUEST_SIZE,
    OcspError, OcspRequest, OcspResponseStatus, OcspSigner, ResponderIdentity, ResponseCache,
    SingleResponseInput, build_basic_response, error_response, parse_get_path, parse_ocsp_request,
};
pub use path::{Usage, VerifyError, VerifyOptions, verify_chain};
