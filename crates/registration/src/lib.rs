//! The registration authority: who may have a certificate.
//!
//! Design (see `ARCHITECTURE.md` §1, §3): this crate authenticates requests and never holds a
//! CA signing key. It owns JOSE: provisioner keys are JSON Web Keys, and a JWK provisioner's
//! private key travels encrypted as a JWE exactly as step-ca stores it (`encryptedKey`,
//! PBES2-HS256+A128KW with A256GCM), so step clients can fetch and decrypt it. Token
//! verification, claims, templates and policy arrive with the online CA.

#![forbid(unsafe_code)]

mod acme;
mod error;
mod jwe;
mod jwk;
mod template;
mod token;

pub use acme::{
    AcmeError, AcmeJws, DEFAULT_NONCE_MAX_AGE, JwsAlg, KeyRef, MAX_JWS_BYTES, NONCE_CLOCK_SKEW,
    NonceId, NonceKey, Problem, ProblemIdentifier, ProblemType, ProtectedHeader, SubProblem,
    check_account_key, parse_jws, verify_eab, verify_key_change,
};
pub use error::Error;
pub use jwe::{JWE_PBKDF2_ITERATIONS, compact_jwe, decrypt_jwe, encrypt_jwe};
pub use jwk::{ProvisionerKey, thumbprint};
pub use template::{
    CertificateRequestData, DEFAULT_LEAF_TEMPLATE, ExtraNameData, InsecureData,
    MAX_TEMPLATE_OUTPUT, SanData, SubjectData, TEMPLATE_FUEL, TemplateData, TemplateError,
    check_x509_template, render_x509_template,
};
pub use token::{
    JwkTokenClaims, MAX_TOKEN_BYTES, MAX_TOKEN_LIFETIME, TOKEN_LEEWAY, TokenContext, TokenPeek,
    TokenRequest, peek_token, verify_jwk_token,
};
pub use token::{
    RenewKey, RenewTokenClaims, peek_x5c_insecure, sign_renew_token, verify_renew_token,
};
