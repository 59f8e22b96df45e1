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
use x509_parser::prelude::{FromDer, SubjectPublicKeyInfo, X509Certificate};

use crate::cert::{prepare, rcgen_issuer, sign_with_issuer};
use crate::key::hex;
use crate::signer::RcgenSigner;
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
#[derive(Clone)]
pub struct OnlineIssuer {
    cert: CaCertificate,
    signer: Arc<dyn Signer>,
    /// rcgen's issuer, read from `cert` once rather than for every certificate.
    rcgen: Arc<rcgen::Issuer<'static, RcgenSigner<Arc<dyn Signer>>>>,
}

impl std::fmt::Debug for OnlineIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnlineIssuer")
            .field("cert", &self.cert)
            .field("signer", &self.signer)
            .finish_non_exhaustive()
    }
}

impl OnlineIssuer {
    /// Pair a CA certificate with its signer; fails when the key is not the certificate's.
    pub fn new(cert: CaCertificate, signer: Arc<dyn Signer>) -> Result<Self, Error> {
        check_spki_pair(cert.spki_der(), signer.as_ref())?;
        let rcgen = Arc::new(rcgen_issuer(&cert, RcgenSigner(signer.clone()))?);
        Ok(OnlineIssuer {
            cert,
            signer,
            rcgen,
        })
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
        let issued = sign_with_issuer(&prepared, subject_spki_der, &self.rcgen)?;
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
        // Only the issuer's key is needed: parse its SubjectPublicKeyInfo, not the whole CA
        // certificate, on every issuance.
        let (_, ca_key) = SubjectPublicKeyInfo::from_der(self.cert.spki_der())
            .map_err(|e| Error::internal(format!("issuer public key: {e}")))?;
        cert.verify_signature(Some(&ca_key))
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

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use vouch_model::Profile;

    use super::*;
    use crate::{Dn, KeyType, PrivateKey, Subject, issue_certificate};

    /// A signer with the right public key whose signatures are wrong (a faulty device).
    #[derive(Debug)]
    struct Faulty(Arc<PrivateKey>);

    impl Signer for Faulty {
        fn key_type(&self) -> KeyType {
            self.0.key_type()
        }
        fn public_key_raw(&self) -> &[u8] {
            self.0.public_key_raw()
        }
        fn public_key_der(&self) -> Vec<u8> {
            self.0.public_key_der()
        }
        fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
            let mut flipped = message.to_vec();
            flipped[0] ^= 1;
            self.0.sign(&flipped)
        }
    }

    /// The log in memory: intents and issued serials.
    #[derive(Default)]
    struct Log(Mutex<(Vec<String>, Vec<String>)>);

    impl IssuanceLog for Log {
        async fn record_intent(&self, intent: &Intent<'_>) -> Result<(), LogError> {
            self.0.lock().unwrap().0.push(intent.serial.to_owned());
            Ok(())
        }
        async fn record_issued(&self, serial: &str, _der: &[u8]) -> Result<(), LogError> {
            self.0.lock().unwrap().1.push(serial.to_owned());
            Ok(())
        }
    }

    fn spec(cn: &str, profile: Profile, now: OffsetDateTime) -> CertificateSpec {
        CertificateSpec {
            subject: Dn::try_from(&Subject::common_name(cn)).unwrap(),
            sans: vec![],
            profile,
            not_before: now,
            not_after: now + time::Duration::days(1),
            extensions: vec![],
        }
    }

    /// A CA whose signer is faulty: the intent is recorded, the signature fails the
    /// independent check, and nothing is recorded as issued or returned.
    /// The in-memory log never waits, so one poll finishes an issuance.
    fn now_or_never<T>(fut: impl Future<Output = T>) -> T {
        use std::task::{Context, Poll, Waker};
        match std::pin::pin!(fut).poll(&mut Context::from_waker(Waker::noop())) {
            Poll::Ready(v) => v,
            Poll::Pending => panic!("the issuance waited on an in-memory log"),
        }
    }

    #[test]
    fn a_wrong_signature_is_caught_before_it_is_recorded_or_returned() {
        let now = OffsetDateTime::now_utc();
        let key = PrivateKey::generate(KeyType::EcP256).unwrap();
        let root = issue_certificate(
            &spec("Test Root", Profile::RootCa, now),
            &key.public_key_der(),
            None,
            &key,
            now,
        )
        .unwrap();
        let ca = CaCertificate::from_der(root.der).unwrap();
        let leaf_key = PrivateKey::generate(KeyType::EcP256).unwrap();
        let leaf = spec("leaf.example", Profile::Leaf, now);

        let key = Arc::new(key);
        let good = OnlineIssuer::new(ca.clone(), key.clone()).unwrap();
        let log = Log::default();
        now_or_never(good.issue(&leaf, &leaf_key.public_key_der(), None, &[], &log, now)).unwrap();
        assert_eq!(
            log.0.lock().unwrap().1.len(),
            1,
            "a sound signature is issued"
        );

        let faulty = OnlineIssuer::new(ca, Arc::new(Faulty(key))).unwrap();
        let log = Log::default();
        let err =
            now_or_never(faulty.issue(&leaf, &leaf_key.public_key_der(), None, &[], &log, now))
                .unwrap_err();
        assert!(err.to_string().contains("does not verify"), "{err}");
        let (intents, issued) = &*log.0.lock().unwrap();
        assert_eq!(intents.len(), 1, "the intent stays, revocable");
        assert!(issued.is_empty(), "nothing recorded as issued");
    }
}
