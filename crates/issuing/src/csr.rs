//! Certificate signing requests: creation, and parsing with the self-signature checked.

use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer;

use crate::name::Dn;
use crate::{Error, PrivateKey, PublicKeyInfo, San, describe_public_key};

/// A CSR whose self-signature verified: the key holder asked for these names.
#[derive(Debug, Clone)]
pub struct VerifiedCsr {
    /// The request, DER.
    pub der: Vec<u8>,
    /// The requested subject.
    pub subject: Dn,
    /// The subject as text (`CN=…, O=…`).
    pub subject_text: String,
    /// The requested subject alternative names.
    pub sans: Vec<San>,
    /// The DER SubjectPublicKeyInfo.
    pub spki_der: Vec<u8>,
    /// What the key is.
    pub key: PublicKeyInfo,
}

/// Make a PKCS#10 request for `subject` and `sans`, signed by `key`. Returns DER.
pub fn create_csr(subject: &Dn, sans: &[San], key: &PrivateKey) -> Result<Vec<u8>, Error> {
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = subject.0.clone();
    params.subject_alt_names = sans.iter().map(San::to_rcgen).collect::<Result<_, _>>()?;
    let csr = params
        .serialize_request(key.rcgen())
        .map_err(|e| Error::internal(format!("CSR encoding failed: {e}")))?;
    Ok(csr.der().to_vec())
}

/// Parse a CSR (PEM or DER) and verify its self-signature. Requested extensions other than
/// subjectAltName are ignored: the profile, not the requester, decides them.
pub fn verify_csr(data: &[u8]) -> Result<VerifiedCsr, Error> {
    let der = match std::str::from_utf8(data)
        .ok()
        .filter(|t| t.contains("-----BEGIN "))
    {
        Some(text) => {
            let blocks =
                pem::parse_many(text).map_err(|e| Error::CsrFormat(format!("bad PEM ({e})")))?;
            let block = blocks
                .into_iter()
                .find(|p| p.tag() == "CERTIFICATE REQUEST" || p.tag() == "NEW CERTIFICATE REQUEST")
                .ok_or_else(|| {
                    Error::CsrFormat("no CERTIFICATE REQUEST block in the PEM".into())
                })?;
            block.into_contents()
        }
        None => data.to_vec(),
    };
    let (rest, csr) = X509CertificationRequest::from_der(&der)
        .map_err(|e| Error::CsrFormat(format!("bad PKCS#10 structure ({e})")))?;
    if !rest.is_empty() {
        return Err(Error::CsrFormat("trailing data after the request".into()));
    }
    csr.verify_signature().map_err(|_| Error::CsrSignature)?;
    let info = &csr.certification_request_info;
    let subject = Dn::from_x509(&info.subject)?;
    let mut sans = Vec::new();
    if let Some(exts) = csr.requested_extensions() {
        for ext in exts {
            if let ParsedExtension::SubjectAlternativeName(san) = ext {
                for name in &san.general_names {
                    sans.push(san_from_general(name)?);
                }
            }
        }
    }
    let spki_der = info.subject_pki.raw.to_vec();
    let key = describe_public_key(&spki_der)?;
    if key.key_type.is_none() {
        return Err(Error::UnsupportedKey(format!(
            "CSR key: {}",
            key.description
        )));
    }
    Ok(VerifiedCsr {
        subject_text: info.subject.to_string(),
        der: der.clone(),
        subject,
        sans,
        spki_der,
        key,
    })
}

fn san_from_general(name: &GeneralName<'_>) -> Result<San, Error> {
    match name {
        GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => s.parse(),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => {
                let b: [u8; 4] = (*bytes)
                    .try_into()
                    .map_err(|_| Error::CsrFormat("IP".into()))?;
                Ok(San::Ip(b.into()))
            }
            16 => {
                let b: [u8; 16] = (*bytes)
                    .try_into()
                    .map_err(|_| Error::CsrFormat("IP".into()))?;
                Ok(San::Ip(b.into()))
            }
            n => Err(Error::CsrFormat(format!("an IP address SAN of {n} bytes"))),
        },
        other => Err(Error::CsrFormat(format!("unsupported SAN type {other}"))),
    }
}
