//! The OCSP core: parse requests, build and sign responses, cache pre-signed ones.
//!
//! Design (RFC 6960 with RFC 5019's lightweight profile; see `ARCHITECTURE.md` §1):
//!
//! - **No key here.** Responses are signed through [`OcspSigner`], a two-method interface this
//!   crate owns and the composition root implements with the issuing crate's *status-signing*
//!   capability (the delegated OCSP signing key). This crate never sees a certificate-signing
//!   key, and nothing here decides *what* a certificate's status is: the caller looks that up
//!   and hands in a [`CertStatus`].
//! - **Parse strictly, fail typed.** [`parse_ocsp_request`] reads DER only (with the `der`
//!   crate), refuses anything over [`MAX_REQUEST_SIZE`] before looking at it, and returns an
//!   [`OcspError`] whose [`OcspError::response_status`] is the RFC 6960 error status to send
//!   ([`error_response`]); a request can never panic the responder. CertIDs keep their exact
//!   DER so a response echoes them byte for byte, which is what clients compare.
//! - **Issuers are matched by hash.** [`IssuerId`] holds the SHA-1 and SHA-256 name and key
//!   hashes of an issuer certificate, computed once; matching a CertID is a comparison.
//! - **The hot path is a lookup.** Nonce-less single requests (RFC 5019 clients, browsers,
//!   `openssl ocsp -no_nonce`) get a response that was signed earlier and kept in the
//!   [`ResponseCache`] until its nextUpdate; a revocation invalidates the serial and the caller
//!   re-signs. Requests with a nonce are signed per request, with the nonce echoed.
//! - **Our own small DER encoder.** The response structures are declared with `der`'s derive
//!   macros in this module; hashes and signatures come from aws-lc-rs (through the signer).
//!   Every response the tests produce is checked by `openssl ocsp` and pkilint.
//!
//! Left out on purpose: signed requests are *accepted but their signature is ignored* (nothing
//! here authorises by requestor; RFC 6960 §4.1.2 makes the signature optional and a responder
//! that does not require one may ignore it); responderID byName (byKey is shorter and is what
//! RFC 5019 recommends); the CRL-reference, archive-cutoff, service-locator and
//! preferred-signature-algorithm extensions (unknown non-critical request extensions are
//! ignored, critical ones refused as RFC 6960 §4.4 says); response types other than
//! id-pkix-ocsp-basic.

mod asn1;
mod cache;
mod error;
mod issuer;
mod request;
mod response;

#[cfg(test)]
mod tests;

pub use cache::{CachedResponse, ResponseCache};
pub use error::OcspError;
pub use issuer::IssuerId;
pub use request::{
    CertId, HashAlgorithm, MAX_NONCE_LEN, MAX_REQUEST_SIZE, OcspRequest, parse_get_path,
    parse_ocsp_request,
};
pub use response::{
    CertStatus, OcspResponseStatus, OcspSigner, ResponderIdentity, SingleResponseInput,
    build_basic_response, error_response,
};
