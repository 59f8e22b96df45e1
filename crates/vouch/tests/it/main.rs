//! Integration tests of the `vouch` binary: every certificate and CSR made here is checked by
//! `openssl`, by rustls-webpki and (certificates) by pkilint, never only by Vouch itself.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test code: a failed step must fail the test loudly"
)]

mod acme;
mod bad_input;
mod bench;
mod cert;
mod dns;
mod import;
mod init;
mod revocation;
mod server;
mod support;
mod testca;
