//! Revocation status from a CRL, for the standalone OCSP responder: a CRL fetched from the CA
//! is checked (issued and signed by the expected issuer, not older than the one in use) and
//! turned into a serial → (date, reason) index answered from memory.

use std::collections::HashMap;

use time::OffsetDateTime;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;

/// A verified CRL, indexed by serial.
#[derive(Debug, Clone, Default)]
pub struct CrlIndex {
    revoked: HashMap<Vec<u8>, (OffsetDateTime, Option<u8>)>,
    /// The CRL number, when it has one that fits in 64 bits.
    pub number: Option<u64>,
    /// thisUpdate.
    pub this_update: Option<OffsetDateTime>,
    /// nextUpdate.
    pub next_update: Option<OffsetDateTime>,
}

impl CrlIndex {
    /// Parse `crl_der` (DER, or PEM `X509 CRL`), check that `issuer_der` issued and signed it,
    /// and index its entries.
    pub fn from_crl(crl: &[u8], issuer_der: &[u8]) -> Result<Self, String> {
        let der = pem_or_der(crl)?;
        let (rest, crl) =
            CertificateRevocationList::from_der(&der).map_err(|e| format!("not a CRL ({e})"))?;
        if !rest.is_empty() {
            return Err("trailing data after the CRL".into());
        }
        let (_, issuer) = X509Certificate::from_der(issuer_der)
            .map_err(|e| format!("issuer certificate: {e}"))?;
        if crl.issuer().as_raw() != issuer.subject().as_raw() {
            return Err(format!(
                "the CRL is issued by '{}', not by '{}'",
                crl.issuer(),
                issuer.subject()
            ));
        }
        crl.verify_signature(issuer.public_key())
            .map_err(|_| "the CRL's signature does not verify with the issuer's key".to_owned())?;
        let mut revoked = HashMap::new();
        for r in crl.iter_revoked_certificates() {
            let serial: Vec<u8> = r
                .raw_serial()
                .iter()
                .copied()
                .skip_while(|b| *b == 0)
                .collect();
            let reason = r.reason_code().map(|(_, code)| code.0).filter(|c| *c != 0);
            revoked.insert(serial, (r.revocation_date.to_datetime(), reason));
        }
        let number = crl.crl_number().and_then(|n| u64::try_from(n.clone()).ok());
        Ok(CrlIndex {
            revoked,
            number,
            this_update: Some(crl.last_update().to_datetime()),
            next_update: crl.next_update().map(|t| t.to_datetime()),
        })
    }

    /// The revocation of `serial` (big-endian bytes), if listed.
    pub fn revoked(&self, serial: &[u8]) -> Option<(OffsetDateTime, Option<u8>)> {
        let trimmed: Vec<u8> = serial.iter().copied().skip_while(|b| *b == 0).collect();
        self.revoked.get(&trimmed).copied()
    }

    /// How many certificates it lists.
    pub fn len(&self) -> usize {
        self.revoked.len()
    }

    /// Whether it lists none.
    pub fn is_empty(&self) -> bool {
        self.revoked.is_empty()
    }

    /// Whether `newer` may replace this one (its CRL number is not lower).
    pub fn superseded_by(&self, newer: &CrlIndex) -> bool {
        match (self.number, newer.number) {
            (Some(old), Some(new)) => new >= old,
            _ => true,
        }
    }
}

fn pem_or_der(data: &[u8]) -> Result<Vec<u8>, String> {
    let Some(text) = std::str::from_utf8(data)
        .ok()
        .filter(|t| t.contains("-----BEGIN X509 CRL-----"))
    else {
        return Ok(data.to_vec());
    };
    let (_, pem) =
        x509_parser::pem::parse_x509_pem(text.as_bytes()).map_err(|e| format!("bad PEM ({e})"))?;
    Ok(pem.contents)
}
