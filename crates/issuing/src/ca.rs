//! CA certificates used as issuers: parsing and the checks made before one signs anything.

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::{Error, PrivateKey};

/// A certificate that is meant to issue others.
#[derive(Debug, Clone)]
pub struct CaCertificate {
    der: Vec<u8>,
    /// The same, PEM (every issuance answers with it).
    pem: String,
    subject: String,
    spki_der: Vec<u8>,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    is_ca: bool,
    path_len: Option<u32>,
    can_sign_certs: bool,
    self_signed: bool,
}

impl CaCertificate {
    /// Parse the first certificate of a PEM or DER input.
    pub fn from_bytes(data: &[u8]) -> Result<Self, Error> {
        let der = first_certificate_der(data)?;
        Self::from_der(der)
    }

    /// Parse a DER certificate.
    pub fn from_der(der: Vec<u8>) -> Result<Self, Error> {
        let (rest, cert) = X509Certificate::from_der(&der)
            .map_err(|e| Error::CertificateFormat(format!("bad X.509 structure ({e})")))?;
        if !rest.is_empty() {
            return Err(Error::CertificateFormat(
                "trailing data after the certificate".into(),
            ));
        }
        let bc = cert
            .basic_constraints()
            .map_err(|e| Error::CertificateFormat(format!("bad basicConstraints ({e})")))?;
        let ku = cert
            .key_usage()
            .map_err(|e| Error::CertificateFormat(format!("bad keyUsage ({e})")))?;
        let (is_ca, path_len) =
            bc.map_or((false, None), |b| (b.value.ca, b.value.path_len_constraint));
        // Without keyUsage a CA may sign (RFC 5280 §4.2.1.3 makes it optional).
        let can_sign_certs = ku.is_none_or(|k| k.value.key_cert_sign());
        let self_signed = cert.subject().as_raw() == cert.issuer().as_raw()
            && cert.verify_signature(None).is_ok();
        Ok(CaCertificate {
            subject: cert.subject().to_string(),
            spki_der: cert.public_key().raw.to_vec(),
            not_before: cert.validity().not_before.to_datetime(),
            not_after: cert.validity().not_after.to_datetime(),
            is_ca,
            path_len,
            can_sign_certs,
            self_signed,
            pem: crate::to_pem("CERTIFICATE", &der),
            der: der.clone(),
        })
    }

    /// The certificate, DER.
    pub fn der(&self) -> &[u8] {
        &self.der
    }
    /// The certificate, PEM.
    pub fn pem(&self) -> &str {
        &self.pem
    }
    /// The subject as text.
    pub fn subject(&self) -> &str {
        &self.subject
    }
    /// The DER SubjectPublicKeyInfo.
    pub fn spki_der(&self) -> &[u8] {
        &self.spki_der
    }
    /// End of validity.
    pub fn not_after(&self) -> OffsetDateTime {
        self.not_after
    }
    /// Start of validity.
    pub fn not_before(&self) -> OffsetDateTime {
        self.not_before
    }
    /// Whether it is self-signed (a root).
    pub fn is_self_signed(&self) -> bool {
        self.self_signed
    }
    /// The pathLenConstraint.
    pub fn path_len(&self) -> Option<u32> {
        self.path_len
    }

    /// Check that this certificate may issue certificates at `now`: a CA with keyCertSign,
    /// currently valid, and (when a CA is to be issued under it) a path length that allows it.
    pub fn check_can_issue(&self, now: OffsetDateTime, issuing_a_ca: bool) -> Result<(), Error> {
        if !self.is_ca {
            return Err(Error::NotACa(format!(
                "'{}' is not a CA (basicConstraints cA is not true)",
                self.subject
            )));
        }
        if !self.can_sign_certs {
            return Err(Error::NotACa(format!(
                "'{}' lacks the keyCertSign key usage",
                self.subject
            )));
        }
        if now > self.not_after {
            return Err(Error::NotACa(format!(
                "'{}' expired on {}",
                self.subject, self.not_after
            )));
        }
        if now < self.not_before {
            return Err(Error::NotACa(format!(
                "'{}' is not valid before {}",
                self.subject, self.not_before
            )));
        }
        if issuing_a_ca && self.path_len == Some(0) {
            return Err(Error::NotACa(format!(
                "'{}' has pathLenConstraint 0 and cannot issue another CA",
                self.subject
            )));
        }
        Ok(())
    }
}

/// Check that `key` is the private key of `cert`.
pub fn check_ca_key_pair(cert: &CaCertificate, key: &PrivateKey) -> Result<(), Error> {
    check_spki_pair(cert.spki_der(), key)
}

/// Check that `signer` holds the private key of the public key `spki_der`.
pub fn check_spki_pair(spki_der: &[u8], signer: &dyn crate::Signer) -> Result<(), Error> {
    use x509_parser::prelude::FromDer as _;
    match x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der) {
        Ok((_, spki)) if spki.subject_public_key.data.as_ref() == signer.public_key_raw() => Ok(()),
        _ => Err(Error::KeyMismatch),
    }
}

/// The DER of the first certificate in PEM or DER input.
pub(crate) fn first_certificate_der(data: &[u8]) -> Result<Vec<u8>, Error> {
    match std::str::from_utf8(data)
        .ok()
        .filter(|t| t.contains("-----BEGIN "))
    {
        Some(text) => {
            let blocks = pem::parse_many(text)
                .map_err(|e| Error::CertificateFormat(format!("bad PEM ({e})")))?;
            let tags: Vec<String> = blocks.iter().map(|b| b.tag().to_owned()).collect();
            blocks
                .into_iter()
                .find(|p| p.tag() == "CERTIFICATE")
                .map(pem::Pem::into_contents)
                .ok_or_else(|| {
                    Error::CertificateFormat(format!(
                        "PEM holds {} and no CERTIFICATE",
                        tags.join(", ")
                    ))
                })
        }
        None if data.first() == Some(&0x30) => Ok(data.to_vec()),
        None => Err(Error::CertificateFormat("neither PEM nor DER".into())),
    }
}

impl CaCertificate {
    /// Check that this certificate was issued by `issuer`: names chain and the signature
    /// verifies with the issuer's public key.
    pub fn check_issued_by(&self, issuer: &CaCertificate) -> Result<(), Error> {
        check_certificate_issued_by(&self.der, issuer)
    }
}

/// Check that the certificate `der` (any certificate, a leaf too) was issued by `issuer`:
/// names chain and the signature verifies with the issuer's public key. Validity dates are
/// not looked at.
pub fn check_certificate_issued_by(der: &[u8], issuer: &CaCertificate) -> Result<(), Error> {
    let (_, me) = X509Certificate::from_der(der)
        .map_err(|e| Error::CertificateFormat(format!("bad X.509 structure ({e})")))?;
    let (_, parent) = X509Certificate::from_der(&issuer.der)
        .map_err(|e| Error::CertificateFormat(format!("bad X.509 structure ({e})")))?;
    if me.issuer().as_raw() != parent.subject().as_raw() {
        return Err(Error::Chain(format!(
            "'{}' was issued by '{}', not by '{}'",
            me.subject(),
            me.issuer(),
            issuer.subject
        )));
    }
    me.verify_signature(Some(parent.public_key())).map_err(|_| {
        Error::Chain(format!(
            "the signature of '{}' does not verify with the key of '{}'",
            me.subject(),
            issuer.subject
        ))
    })
}
