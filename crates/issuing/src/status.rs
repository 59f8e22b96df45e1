//! The status-signing capability: signs CRLs (and OCSP responses) with the issuing key, and
//! can do nothing else. The validation authority is handed this, never the [`OnlineIssuer`]
//! that signs certificates (ARCHITECTURE §1).
//!
//! [`OnlineIssuer`]: crate::OnlineIssuer

use std::sync::Arc;

use rustls_pki_types::CertificateDer;
use vouch_model::CrlContent;

use crate::signer::RcgenSigner;
use crate::{CaCertificate, Error, Signer};

/// Signs revocation status (CRLs, OCSP) for one issuing CA.
#[derive(Debug, Clone)]
pub struct StatusSigner {
    cert: CaCertificate,
    signer: Arc<dyn Signer>,
}

impl StatusSigner {
    pub(crate) fn new(cert: CaCertificate, signer: Arc<dyn Signer>) -> Self {
        StatusSigner { cert, signer }
    }

    /// The CA whose status this signs.
    pub fn certificate(&self) -> &CaCertificate {
        &self.cert
    }

    /// Encode and sign an X.509 v2 CRL: the issuer's name, an authority key identifier equal
    /// to the issuer's subject key identifier, the CRL number, thisUpdate/nextUpdate, and per
    /// entry the revocation date and (unless unspecified) the reason code. No issuing
    /// distribution point: the CRL covers every certificate of the issuer, so `openssl verify
    /// -crl_check` accepts it for any of them.
    pub fn sign_crl(&self, content: &CrlContent) -> Result<Vec<u8>, Error> {
        let mut revoked = Vec::with_capacity(content.entries.len());
        for e in &content.entries {
            revoked.push(rcgen::RevokedCertParams {
                serial_number: rcgen::SerialNumber::from_slice(&e.serial),
                revocation_time: e.revoked_at,
                reason_code: reason(e.reason_code)?,
                invalidity_date: None,
            });
        }
        let params = rcgen::CertificateRevocationListParams {
            this_update: content.this_update,
            next_update: content.next_update,
            crl_number: rcgen::SerialNumber::from_slice(&content.number.to_be_bytes()),
            issuing_distribution_point: None,
            revoked_certs: revoked,
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        let rcgen_signer = RcgenSigner(self.signer.as_ref());
        let issuer =
            rcgen::Issuer::from_ca_cert_der(&CertificateDer::from(self.cert.der()), &rcgen_signer)
                .map_err(|e| Error::CertificateFormat(format!("issuer certificate: {e}")))?;
        let crl = params
            .signed_by(&issuer)
            .map_err(|e| Error::internal(format!("CRL signing failed: {e}")))?;
        Ok(crl.der().to_vec())
    }

    /// Sign arbitrary to-be-signed bytes (an OCSP ResponseData) with the issuing key.
    pub fn sign(&self, tbs: &[u8]) -> Result<Vec<u8>, Error> {
        self.signer.sign(tbs)
    }
}

fn reason(code: u8) -> Result<Option<rcgen::RevocationReason>, Error> {
    use rcgen::RevocationReason as R;
    Ok(Some(match code {
        0 => return Ok(None),
        1 => R::KeyCompromise,
        2 => R::CaCompromise,
        3 => R::AffiliationChanged,
        4 => R::Superseded,
        5 => R::CessationOfOperation,
        6 => R::CertificateHold,
        8 => R::RemoveFromCrl,
        9 => R::PrivilegeWithdrawn,
        10 => R::AaCompromise,
        other => return Err(Error::internal(format!("revocation reason {other}"))),
    }))
}
