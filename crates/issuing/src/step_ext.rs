//! step-ca's provisioner extension (OID 1.3.6.1.4.1.37476.9000.64.1), which step clients and
//! step-ca read to find the provisioner behind a certificate at renew and revoke time.
//!
//! Its value is Go's `asn1.Marshal` of `{Type int; Name []byte; CredentialID []byte;
//! KeyValuePairs []string "optional,omitempty"}` (smallstep/certificates
//! `authority/provisioner/extension.go`): a SEQUENCE of an INTEGER and two OCTET STRINGs; the
//! optional key/value list is omitted because Vouch has none to carry.

use pkcs8::der::asn1::OctetStringRef;
use pkcs8::der::{Decode, Encode, Header, Length, Reader, SliceReader, Tag};

use crate::{Error, Extension};

/// The extension's OID.
pub const STEP_PROVISIONER_OID: [u64; 9] = [1, 3, 6, 1, 4, 1, 37476, 9000, 64];

fn oid() -> Vec<u64> {
    let mut v = STEP_PROVISIONER_OID.to_vec();
    v.push(1);
    v
}

/// Provisioner type numbers as step-ca assigns them (JWK = 1, OIDC = 2, ACME = 6, X5C = 7, …).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvisionerInfo {
    /// step-ca's type number.
    pub type_id: u8,
    /// The provisioner's name.
    pub name: String,
    /// The credential: for JWK provisioners the key id.
    pub credential_id: String,
}

/// Encode the extension (non-critical).
pub fn step_provisioner_extension(info: &ProvisionerInfo) -> Result<Extension, Error> {
    let enc = |e: pkcs8::der::Error| Error::internal(format!("provisioner extension: {e}"));
    let mut body = Vec::new();
    info.type_id.encode_to_vec(&mut body).map_err(enc)?;
    OctetStringRef::new(info.name.as_bytes())
        .map_err(enc)?
        .encode_to_vec(&mut body)
        .map_err(enc)?;
    OctetStringRef::new(info.credential_id.as_bytes())
        .map_err(enc)?
        .encode_to_vec(&mut body)
        .map_err(enc)?;
    let len = Length::try_from(body.len()).map_err(enc)?;
    let mut value = Header::new(Tag::Sequence, len).to_der().map_err(enc)?;
    value.extend_from_slice(&body);
    Ok(Extension {
        oid: oid(),
        critical: false,
        value,
    })
}

/// Decode the extension's value (the contents of extnValue).
pub fn parse_step_provisioner_extension(value: &[u8]) -> Result<ProvisionerInfo, Error> {
    let bad =
        |e: pkcs8::der::Error| Error::CertificateFormat(format!("provisioner extension: {e}"));
    let mut reader = SliceReader::new(value).map_err(bad)?;
    let info = reader
        .sequence(|r| {
            let type_id = u8::decode(r)?;
            let name = <&OctetStringRef>::decode(r)?.as_bytes().to_vec();
            let credential_id = <&OctetStringRef>::decode(r)?.as_bytes().to_vec();
            // Optional key/value pairs: skip whatever follows.
            while !r.is_finished() {
                let _ = pkcs8::der::Any::decode(r)?;
            }
            Ok((type_id, name, credential_id))
        })
        .map_err(bad)?;
    let text = |b: Vec<u8>| {
        String::from_utf8(b)
            .map_err(|_| Error::CertificateFormat("provisioner extension: not UTF-8".into()))
    };
    Ok(ProvisionerInfo {
        type_id: info.0,
        name: text(info.1)?,
        credential_id: text(info.2)?,
    })
}

/// Find and decode the extension in a DER certificate, if present.
pub fn find_step_provisioner(cert_der: &[u8]) -> Result<Option<ProvisionerInfo>, Error> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(cert_der)
        .map_err(|e| Error::CertificateFormat(format!("bad X.509 structure ({e})")))?;
    let want = "1.3.6.1.4.1.37476.9000.64.1";
    for ext in cert.extensions() {
        if ext.oid.to_id_string() == want {
            return parse_step_provisioner_extension(ext.value).map(Some);
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_go_encoding() {
        let info = ProvisionerInfo {
            type_id: 1,
            name: "admin@example.com".into(),
            credential_id: "kid-123".into(),
        };
        let ext = step_provisioner_extension(&info).unwrap();
        assert_eq!(ext.oid, vec![1, 3, 6, 1, 4, 1, 37476, 9000, 64, 1]);
        // Go: 30 LEN 02 01 01 04 11 "admin@example.com" 04 07 "kid-123"
        assert_eq!(&ext.value[..5], &[0x30, 0x1f, 0x02, 0x01, 0x01]);
        assert_eq!(ext.value[5], 0x04);
        assert_eq!(parse_step_provisioner_extension(&ext.value).unwrap(), info);
        assert!(parse_step_provisioner_extension(&[0x30, 0x01]).is_err());
    }
}
