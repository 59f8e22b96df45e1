//! TLS for the API: rustls with the CA's own server certificate, renewed in memory before
//! it expires, and optional client certificates (verified against the roots when given; each
//! route decides whether it needs one, as step-ca's `VerifyClientCertIfGiven`).

use std::sync::{Arc, RwLock};

use anyhow::{Context, Result, anyhow};
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use time::{Duration, OffsetDateTime};
use vouch_issuing::{
    CertificateSpec, Dn, KeyType, PrivateKey, San, Signer, Subject, issue_certificate,
};
use vouch_model::Profile;

use super::state::Pki;

/// Lifetime of the CA's own TLS certificate (as step-ca: 24 hours, 1 minute backdate).
pub const SERVER_CERT_LIFETIME: Duration = Duration::hours(24);

/// The current server certificate, swapped atomically on renewal.
#[derive(Debug)]
pub struct CertResolver {
    current: RwLock<Arc<CertifiedKey>>,
    not_after: RwLock<OffsetDateTime>,
}

impl ResolvesServerCert for CertResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current.read().ok().map(|c| c.clone())
    }
}

impl CertResolver {
    /// Issue a first certificate.
    pub fn new(pki: &Pki, dns_names: &[String], now: OffsetDateTime) -> Result<Self> {
        let (key, not_after) = issue_server_cert(pki, dns_names, now)?;
        Ok(CertResolver {
            current: RwLock::new(key),
            not_after: RwLock::new(not_after),
        })
    }

    /// Replace the certificate with a fresh one.
    pub fn renew(&self, pki: &Pki, dns_names: &[String], now: OffsetDateTime) -> Result<()> {
        let (key, not_after) = issue_server_cert(pki, dns_names, now)?;
        *self
            .current
            .write()
            .map_err(|_| anyhow!("certificate lock poisoned"))? = key;
        *self
            .not_after
            .write()
            .map_err(|_| anyhow!("certificate lock poisoned"))? = not_after;
        Ok(())
    }

    /// When the current certificate should be replaced: at two thirds of its lifetime.
    pub fn renew_at(&self) -> OffsetDateTime {
        let not_after = self
            .not_after
            .read()
            .map_or_else(|_| OffsetDateTime::now_utc(), |t| *t);
        not_after - SERVER_CERT_LIFETIME / 3
    }
}

fn issue_server_cert(
    pki: &Pki,
    dns_names: &[String],
    now: OffsetDateTime,
) -> Result<(Arc<CertifiedKey>, OffsetDateTime)> {
    let key = PrivateKey::generate(KeyType::EcP256)?;
    let sans = dns_names
        .iter()
        .map(|n| n.parse::<San>())
        .collect::<Result<Vec<_>, _>>()
        .context("dnsNames")?;
    let spec = CertificateSpec {
        subject: Dn::try_from(&Subject::common_name("Vouch Online CA"))?,
        sans,
        profile: Profile::Leaf,
        not_before: now - Duration::minutes(1),
        not_after: now + SERVER_CERT_LIFETIME,
        extensions: vec![],
    };
    let issuer = pki.issuer.certificate();
    let cert = issue_certificate(
        &spec,
        &key.public_key_der(),
        Some(issuer),
        pki.issuer.signer(),
        now,
    )?;
    let chain = vec![
        CertificateDer::from(cert.der.clone()),
        CertificateDer::from(issuer.der().to_vec()),
    ];
    let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.pkcs8_der().to_vec()));
    let signing =
        rustls::crypto::aws_lc_rs::sign::any_supported_type(&der).context("server key")?;
    Ok((Arc::new(CertifiedKey::new(chain, signing)), cert.not_after))
}

/// The rustls configuration: TLS 1.2 and 1.3, HTTP/1.1, optional client certificates.
pub fn server_config(pki: &Pki, resolver: Arc<CertResolver>) -> Result<rustls::ServerConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut roots = rustls::RootCertStore::empty();
    for r in &pki.roots {
        roots
            .add(CertificateDer::from(r.clone()))
            .context("root certificate")?;
    }
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .allow_unauthenticated()
        .build()
        .context("client certificate verifier")?;
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .context("TLS versions")?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}
