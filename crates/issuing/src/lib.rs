//! The issuing authority: the only crate that touches a CA private key.
//!
//! Design (see `ARCHITECTURE.md` §1, §3, §5):
//! - [`PrivateKey`] is a software key held in memory; it is read from and written to disk only
//!   as PKCS#8, encrypted with PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC) unless a caller
//!   explicitly asks for plaintext. Import accepts what other tools write: PKCS#1, PKCS#8
//!   (plain or encrypted) and SEC1/RFC 5915, PEM or DER, and the legacy OpenSSL PEM
//!   encryption (`Proc-Type: 4,ENCRYPTED`) that step-ca writes its keys in.
//! - [`Signer`] is the capability a certificate is signed with; software keys implement it now,
//!   PKCS#11 and KMS later, and certificate building only ever sees the trait.
//! - Certificates are built with rcgen from a [`CertificateSpec`] whose [`Profile`] fixes the
//!   RFC 5280 extensions; every certificate gets a ≥128-bit random positive serial, SKI and AKI.
//! - A certificate template (model's `CertificateTemplate`, rendered by the registration
//!   crate) becomes a spec through [`template_spec`], its contents carried as explicit
//!   extensions; every spec, template or profile, is linted before it is signed.
//! - Every cryptographic primitive comes from aws-lc-rs; nothing here implements one.
//!
//! [`Profile`]: vouch_model::Profile

#![forbid(unsafe_code)]

mod ca;
mod cert;
mod csr;
mod error;
mod key;
mod legacy_pem;
mod name;
mod online;
mod pbes2;
mod serial;
mod signer;
mod status;
mod step_ext;
mod template_cert;

pub use ca::{CaCertificate, check_ca_key_pair, check_certificate_issued_by, check_spki_pair};
pub use cert::{CertificateSpec, Extension, IssuedCertificate, issue_certificate};
pub use csr::{VerifiedCsr, create_csr, verify_csr};
pub use error::Error;
pub use key::{KeyType, PrivateKey, PublicKeyInfo, describe_public_key};
pub use name::{Dn, San, Subject};
pub use online::{Intent, IssuanceLog, LogError, OnlineIssuer, check_policies};
pub use serial::random_serial_at;
pub use signer::Signer;
pub use status::StatusSigner;
pub use step_ext::{
    ProvisionerInfo, STEP_PROVISIONER_OID, find_step_provisioner, parse_step_provisioner_extension,
    step_provisioner_extension,
};
pub use template_cert::{
    public_key_algorithm_name, status_url_extensions, subject_attributes, template_spec,
};

/// A serial number as lowercase hex (how the store and logs name certificates).
pub fn serial_hex(serial: &[u8]) -> String {
    key::hex(serial)
}

/// PEM-encode DER bytes with the given label (`CERTIFICATE`, `CERTIFICATE REQUEST`, …).
pub fn to_pem(label: &str, der: &[u8]) -> String {
    pem::encode_config(
        &pem::Pem::new(label, der.to_vec()),
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}
