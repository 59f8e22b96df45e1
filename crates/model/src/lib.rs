//! Vouch's domain model: the types and small traits every other crate meets through.
//!
//! Design: this crate has no I/O, no async runtime and no cryptographic backend, so that the
//! registration, issuing, validation and storage crates can agree on data without depending
//! on each other (see `ARCHITECTURE.md` §1–2). Everything here is plain data plus pure
//! functions: error kinds, the clock port, certificate profiles, claims, the on-disk
//! configuration schema and the certificate-template contract between the registration and
//! issuing crates.

#![forbid(unsafe_code)]

mod clock;
mod config;
mod crl;
mod error;
mod policy;
mod profile;
mod time_spec;
mod x509_template;

pub use clock::{Clock, FixedClock, SystemClock};
pub use config::{
    AcmeProvisioner, AcmeValidationConfig, Authority, CaConfig, Claims, ConfigError, CrlConfig,
    DbConfig, DefaultsConfig, EffectiveClaims, Jwk, JwkProvisioner, OcspConfig, Provisioner,
    ProvisionerOptions, RESERVED_TEMPLATE_VARIABLES, TemplateValue, X509Options,
};
pub use crl::{CrlContent, CrlEntry};
pub use error::ErrorKind;
pub use policy::{
    NamePolicy, NameRules, NameType, Names, Policy, PolicyViolation, X509Policy, combine,
};
pub use profile::Profile;
pub use time_spec::{TimeSpec, TimeSpecError, parse_duration};
pub use x509_template::{
    CertificateTemplate, ExtKeyUsage, KeyUsage, MultiString, RESERVED_EXTENSION_OIDS, SanKind,
    TemplateBasicConstraints, TemplateExtension, TemplateExtraName, TemplateNameConstraints,
    TemplateProblem, TemplateSan, TemplateSubject, decode_base64, parse_oid,
};
