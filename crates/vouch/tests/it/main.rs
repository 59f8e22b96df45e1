//! Integration tests of the `vouch` binary: every certificate and CSR made here is checked by
//! `openssl`, by rustls-webpki and (certificates) by pkilint, never only by Vouch itself.

mod bad_input;
mod cert;
mod import;
mod init;
mod support;
