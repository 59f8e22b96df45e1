//! The signing capability. Certificate building sees only this trait, so a PKCS#11 or KMS key
//! can replace the software key without touching it.

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

/// Adapts a [`Signer`] to rcgen's signing traits.
pub(crate) struct RcgenSigner<'a>(pub &'a dyn Signer);

impl rcgen::PublicKeyData for RcgenSigner<'_> {
    fn der_bytes(&self) -> &[u8] {
        self.0.public_key_raw()
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.0.key_type().rcgen_algorithm()
    }
}

impl rcgen::SigningKey for RcgenSigner<'_> {
    fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        self.0.sign(msg).map_err(|_| rcgen::Error::RingUnspecified)
    }
}
