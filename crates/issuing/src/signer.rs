//! The signing capability. Certificate building sees only this trait, so a PKCS#11 or KMS key
//! can replace the software key without touching it.

use std::sync::Arc;

use crate::{Error, KeyType};

/// Something that signs with a private key it never reveals.
pub trait Signer: Send + Sync + std::fmt::Debug {
    /// The key's algorithm (which fixes the signature algorithm).
    fn key_type(&self) -> KeyType;
    /// The raw public key as it appears in a SubjectPublicKeyInfo BIT STRING.
    fn public_key_raw(&self) -> &[u8];
    /// The DER SubjectPublicKeyInfo.
    fn public_key_der(&self) -> Vec<u8>;
    /// Sign `message` (the signature algorithm hashes it: ECDSA-SHA256/384, Ed25519,
    /// RSA PKCS#1 v1.5 SHA-256).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error>;
}

/// Adapts a [`Signer`] to rcgen's signing traits: a borrowed one (`&dyn Signer`) for a single
/// signature, or a shared one (`Arc<dyn Signer>`) for an issuer kept as long as the CA.
pub(crate) struct RcgenSigner<P>(pub P);

/// A handle on a [`Signer`], borrowed or shared.
pub(crate) trait SignerHandle {
    fn signer(&self) -> &dyn Signer;
}

impl SignerHandle for &dyn Signer {
    fn signer(&self) -> &dyn Signer {
        *self
    }
}

impl SignerHandle for Arc<dyn Signer> {
    fn signer(&self) -> &dyn Signer {
        self.as_ref()
    }
}

impl<P: SignerHandle> rcgen::PublicKeyData for RcgenSigner<P> {
    fn der_bytes(&self) -> &[u8] {
        self.0.signer().public_key_raw()
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.0.signer().key_type().rcgen_algorithm()
    }
}

impl<P: SignerHandle> rcgen::SigningKey for RcgenSigner<P> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.0
            .signer()
            .sign(msg)
            .map_err(|_| rcgen::Error::RingUnspecified)
    }
}
