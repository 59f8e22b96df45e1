//! The online issuing authority: one entry point that turns an approved request into a
//! certificate without ever losing track of it.
//!
//! Boulder's cycle (ARCHITECTURE §3, §10): check everything that can be checked, record the
//! *intent* (serial, names, validity) durably, sign, check the signed certificate with an
//! independent parser, record it as *issued*, and only then hand it out. A crash after the
//! intent leaves a record that can be revoked; nothing signed is ever unknown to the store.
//! The store is reached through [`IssuanceLog`], a narrow interface this crate owns.

use std::future::Future;
use std::sync::Arc;

use time::OffsetDateTime;
use vouch_model::{ErrorKind, NamePolicy, Names};
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::cert::{prepare, sign_prepared};
use crate::key::hex;
use crate::{
    CaCertificate, CertificateSpec, Error, IssuedCertificate, San, Signer, check_spki_pair,
};

/// What is recorded before signing.
#[derive(Debug, Clone)]
pub struct Intent<'a> {
    /// Serial, lowercase hex.
    pub serial: &'a str,
    /// Subject DN as text.
    pub subject: String,
    /// Subject alternative names as text.
    pub sans: Vec<String>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Issuer DN as text.
    pub issuer: &'a str,
    /// The provisioner that authorised the request.
    pub provisioner: Option<&'a str>,
}

/// A failure of the issuance log (the store), with the kind to report.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct LogError {
    /// How to report it.
    pub kind: ErrorKind,
    /// What happened (no secrets).
    pub message: String,
}

/// The durable record of issuance, implemented by the storage layer.
pub trait IssuanceLog: Send + Sync {
    /// Record that a certificate with these contents is about to be signed.
    fn record_intent(
        &self,
        intent: &Intent<'_>,
    ) -> impl Future<Output = Result<(), LogError>> + Send;
    /// Record the signed certificate.
    fn record_issued(
        &self,
        serial: &str,
        der: &[u8],
    ) -> impl Future<Output = Result<(), LogError>> + Send;
}

/// An intermediate CA and its signing capability, issuing online.
#[derive(Debug, Clone)]
pub struct OnlineIssuer {
    cert: CaCertificate,
    signer: Arc<dyn Signer>,
}

impl OnlineIssuer {
    /// Pair a CA certificate with its signer; fails when the key is not the certificate's.
    pub fn new(cert: CaCertificate, signer: Arc<dyn Signer>) -> Result<Self, Error> {
        check_spki_pair(cert.spki_der(), signer.as_ref())?;
        Ok(OnlineIssuer { cert, signer })
    }

    /// The issuing certificate.
    pub fn certificate(&self) -> &CaCertificate {
        &self.cert
    }

    /// The status-signing capability for the validation authority.
    pub fn status_signer(&self) -> crate::StatusSigner {
        crate::StatusSigner::new(self.cert.clone(), self.signer.clone())
    }

    /// The signing capability (also used for the CA's own TLS certificate).
    pub fn signer(&self) -> &dyn Signer {
        self.signer.as_ref()
    }

    /// Issue a certificate for `subject_spki_der`, recording it before and after signing.
    ///
    /// The registration authority approved the names already; they are checked again here
    /// against `policies` (authority-wide and the provisioner's), at the trust boundary.
    pub async fn issue<L: IssuanceLog>(
        &self,
        spec: &CertificateSpec,
        subject_spki_der: &[u8],
        provisioner: Option<&str>,
        policies: &[&NamePolicy],
        log: &L,
        now: OffsetDateTime,
    ) -> Result<IssuedCertificate, Error> {
        check_policies(spec, policies)?;
        let prepared = prepare(
            spec,
            subject_spki_der,
            Some(&self.cert),
            self.signer.as_ref(),
            now,
        )?;
        let serial = hex(&prepared.serial);
        let intent = Intent {
            serial: &serial,
            subject: spec.subject.to_text(),
            sans: spec.sans.iter().map(ToString::to_string).collect(),
            not_before: spec.not_before,
            not_after: prepared.not_after,
            issuer: self.cert.subject(),
            provisioner,
        };
        log.record_intent(&intent).await.map_err(Error::Log)?;
        let issued = sign_prepared(
            &prepared,
            subject_spki_der,
            Some(&self.cert),
            self.signer.as_ref(),
        )?;
        self.check_signed(&issued)?;
        log.record_issued(&serial, &issued.der)
            .await
            .map_err(Error::Log)?;
        Ok(issued)
    }

    /// The issuing certificate's chain above a leaf (the intermediate), DER.
    pub fn chain(&self) -> Vec<Vec<u8>> {
        vec![self.cert.der().to_vec()]
    }

    /// Read the signed certificate back with an independent parser: it must parse whole, carry
    /// the chosen serial, and its signature must verify with the issuer's key.
    fn check_signed(&self, issued: &IssuedCertificate) -> Result<(), Error> {
        let (rest, cert) = X509Certificate::from_der(&issued.der)
            .map_err(|e| Error::internal(format!("signed certificate does not parse: {e}")))?;
        if !rest.is_empty() || cert.raw_serial() != issued.serial.as_slice() {
            return Err(Error::internal(
                "signed certificate does not match what was prepared",
            ));
        }
        let (_, ca) = X509Certificate::from_der(self.cert.der())
            .map_err(|e| Error::internal(format!("issuer certificate: {e}")))?;
        cert.verify_signature(Some(ca.public_key()))
            .map_err(|_| Error::internal("signed certificate does not verify with the issuer key"))
    }
}

/// Check the certificate's names against every policy.
pub fn check_policies(spec: &CertificateSpec, policies: &[&NamePolicy]) -> Result<(), Error> {
    if policies.is_empty() {
        return Ok(());
    }
    let (mut dns, mut ips, mut emails, mut uris) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for san in &spec.sans {
        match san {
            San::Dns(d) => dns.push(d.clone()),
            San::Ip(ip) => ips.push(*ip),
            San::Email(e) => emails.push(e.clone()),
            San::Uri(u) => uris.push(u.clone()),
        }
    }
    let cn = spec.subject.common_name();
    let names = Names {
        common_name: cn.as_deref(),
        dns: &dns,
        ips: &ips,
        emails: &emails,
        uris: &uris,
    };
    for p in policies {
        p.check(&names).map_err(Error::Policy)?;
    }
    Ok(())
}
