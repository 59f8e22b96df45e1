//! Which issuer a CertID names: RFC 6960 §4.1.1 hashes of the issuer's name and key.

use std::fmt;

use der::asn1::{AnyRef, BitStringRef};
use der::{Decode, Encode, Reader, Tag, TagNumber, Tagged};

use super::error::OcspError;
use super::request::{CertId, HashAlgorithm};

/// The two fields of a certificate OCSP hashes: its subject Name (whole DER, tag and length
/// included) and the bits of its subjectPublicKey (without tag, length or unused-bits octet).
pub(crate) struct CertFields {
    pub subject_der: Vec<u8>,
    pub public_key_bits: Vec<u8>,
}

fn bad_cert(e: impl fmt::Display) -> OcspError {
    OcspError::BadCertificate(e.to_string())
}

/// Walk `Certificate → TBSCertificate` to the subject and subjectPublicKeyInfo.
pub(crate) fn cert_fields(cert_der: &[u8]) -> Result<CertFields, OcspError> {
    let cert = AnyRef::from_der(cert_der).map_err(bad_cert)?;
    let tbs = cert.sequence(|r| -> Result<AnyRef<'_>, der::Error> {
        let tbs: AnyRef<'_> = r.decode()?;
        let _signature_algorithm: AnyRef<'_> = r.decode()?;
        let _signature: BitStringRef<'_> = r.decode()?;
        Ok(tbs)
    });
    let tbs = tbs.map_err(bad_cert)?;
    tbs.sequence(|r| -> Result<CertFields, der::Error> {
        // version [0] EXPLICIT, absent for v1.
        if Tag::peek(r)?
            == (Tag::ContextSpecific {
                constructed: true,
                number: TagNumber(0),
            })
        {
            let _version: AnyRef<'_> = r.decode()?;
        }
        let _serial: AnyRef<'_> = r.decode()?;
        let _signature: AnyRef<'_> = r.decode()?;
        let _issuer: AnyRef<'_> = r.decode()?;
        let _validity: AnyRef<'_> = r.decode()?;
        let subject: AnyRef<'_> = r.decode()?;
        subject.tag().assert_eq(Tag::Sequence)?;
        let spki: AnyRef<'_> = r.decode()?;
        let public_key_bits = spki.sequence(|s| -> Result<Vec<u8>, der::Error> {
            let _algorithm: AnyRef<'_> = s.decode()?;
            let bits: BitStringRef<'_> = s.decode()?;
            Ok(bits.raw_bytes().to_vec())
        })?;
        // issuerUniqueID, subjectUniqueID, extensions: not needed.
        while !r.is_finished() {
            let _rest: AnyRef<'_> = r.decode()?;
        }
        Ok(CertFields {
            subject_der: subject.to_der()?,
            public_key_bits,
        })
    })
    .map_err(bad_cert)
}

/// An issuer as OCSP CertIDs name it: the SHA-1 and SHA-256 hashes of its subject name and
/// public key, computed once so that matching a request is a comparison.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct IssuerId {
    sha1_name: Vec<u8>,
    sha1_key: Vec<u8>,
    sha256_name: Vec<u8>,
    sha256_key: Vec<u8>,
}

impl IssuerId {
    /// From the issuer's certificate (DER).
    pub fn from_certificate(cert_der: &[u8]) -> Result<Self, OcspError> {
        let fields = cert_fields(cert_der)?;
        Ok(Self::from_parts(
            &fields.subject_der,
            &fields.public_key_bits,
        ))
    }

    /// From the issuer's DER-encoded subject Name and the bits of its subjectPublicKey (the
    /// BIT STRING's contents without the unused-bits octet).
    pub fn from_parts(subject_der: &[u8], public_key_bits: &[u8]) -> Self {
        IssuerId {
            sha1_name: HashAlgorithm::Sha1.digest(subject_der),
            sha1_key: HashAlgorithm::Sha1.digest(public_key_bits),
            sha256_name: HashAlgorithm::Sha256.digest(subject_der),
            sha256_key: HashAlgorithm::Sha256.digest(public_key_bits),
        }
    }

    /// issuerNameHash for `alg`.
    pub fn name_hash(&self, alg: HashAlgorithm) -> &[u8] {
        match alg {
            HashAlgorithm::Sha1 => &self.sha1_name,
            HashAlgorithm::Sha256 => &self.sha256_name,
        }
    }

    /// issuerKeyHash for `alg`.
    pub fn key_hash(&self, alg: HashAlgorithm) -> &[u8] {
        match alg {
            HashAlgorithm::Sha1 => &self.sha1_key,
            HashAlgorithm::Sha256 => &self.sha256_key,
        }
    }

    /// Does `id` name this issuer? Both hashes must match (the name alone is not enough: a
    /// re-keyed CA keeps its name).
    pub fn matches(&self, id: &CertId) -> bool {
        let alg = id.hash_algorithm();
        id.issuer_name_hash() == self.name_hash(alg) && id.issuer_key_hash() == self.key_hash(alg)
    }
}

impl fmt::Debug for IssuerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerId")
            .field("sha1_key_hash", &super::request::Hex(&self.sha1_key))
            .finish_non_exhaustive()
    }
}
