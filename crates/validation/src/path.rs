//! Certificate path validation with rustls-webpki.

use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use time::OffsetDateTime;
use vouch_model::ErrorKind;

/// Which extended key usage the end-entity certificate is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Usage {
    /// TLS server authentication (the default).
    #[default]
    ServerAuth,
    /// TLS client authentication.
    ClientAuth,
}

/// What to verify against.
#[derive(Debug, Clone)]
pub struct VerifyOptions<'a> {
    /// Trust anchors (DER).
    pub roots: &'a [Vec<u8>],
    /// Untrusted intermediates that may complete the path (DER).
    pub intermediates: &'a [Vec<u8>],
    /// A DNS name or IP address the certificate must be valid for.
    pub host: Option<&'a str>,
    /// The time of validation.
    pub at: OffsetDateTime,
    /// The extended key usage to require (when the certificate has EKUs).
    pub usage: Usage,
    /// CRLs (DER) to check the end-entity certificate against; empty means no revocation
    /// check. With CRLs given, a certificate whose status they do not cover is refused.
    pub crls: &'a [Vec<u8>],
}

/// Why a certificate did not verify: one line a person can act on.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// The inputs cannot be used (no roots, a root that is not a certificate, a bad host name).
    #[error("{0}")]
    BadInput(String),
    /// The certificate does not verify.
    #[error("{0}")]
    Invalid(String),
}

impl VerifyError {
    /// The kind of the error, for the edges to render.
    pub fn kind(&self) -> ErrorKind {
        match self {
            VerifyError::BadInput(_) => ErrorKind::Malformed,
            VerifyError::Invalid(_) => ErrorKind::Forbidden,
        }
    }
}

fn explain(e: &webpki::Error) -> String {
    use webpki::Error as E;
    match e {
        E::UnknownIssuer => "no path to a trusted root: the issuer is unknown (missing intermediate, or the wrong root)".into(),
        E::CertExpired { .. } => "the certificate, or one in its chain, has expired".into(),
        E::CertNotValidYet { .. } => "the certificate, or one in its chain, is not valid yet".into(),
        E::CertNotValidForName(_) => "the certificate is not valid for the requested host name".into(),
        E::CaUsedAsEndEntity => "a CA certificate was given where an end-entity certificate is expected".into(),
        E::EndEntityUsedAsCa => "an end-entity certificate appears as an issuer in the chain".into(),
        E::InvalidSignatureForPublicKey => "a signature in the chain does not verify".into(),
        E::RequiredEkuNotFoundContext(_) => {
            "the certificate's extended key usage does not allow this use".into()
        }
        E::PathLenConstraintViolated => "the chain violates a CA's path length constraint".into(),
        E::NameConstraintViolation => "the certificate violates a CA's name constraints".into(),
        E::CertRevoked => "the certificate is revoked (listed in the CRL)".into(),
        E::UnknownRevocationStatus => "no CRL covers the certificate's revocation status".into(),
        E::CrlExpired { .. } => "the CRL has expired".into(),
        E::BadDer | E::BadDerTime => "a certificate in the chain is not valid DER".into(),
        E::UnsupportedSignatureAlgorithmContext(_) => {
            "a certificate in the chain uses an unsupported signature algorithm".into()
        }
        other => format!("verification failed: {other:?}"),
    }
}

/// Verify `leaf` up to one of `opts.roots`. Returns the verified path, leaf first (DER).
pub fn verify_chain(leaf: &[u8], opts: &VerifyOptions<'_>) -> Result<Vec<Vec<u8>>, VerifyError> {
    let root_ders: Vec<CertificateDer<'_>> = opts
        .roots
        .iter()
        .map(|r| CertificateDer::from(r.as_slice()))
        .collect();
    let anchors = root_ders
        .iter()
        .map(|d| {
            webpki::anchor_from_trusted_cert(d).map_err(|e| {
                VerifyError::BadInput(format!("a root is not usable: {}", explain(&e)))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if anchors.is_empty() {
        return Err(VerifyError::BadInput("no trusted roots given".into()));
    }
    let intermediates: Vec<CertificateDer<'_>> = opts
        .intermediates
        .iter()
        .map(|c| CertificateDer::from(c.as_slice()))
        .collect();
    let leaf_der = CertificateDer::from(leaf);
    let ee = webpki::EndEntityCert::try_from(&leaf_der)
        .map_err(|e| VerifyError::Invalid(explain(&e)))?;
    let secs = u64::try_from(opts.at.unix_timestamp())
        .map_err(|_| VerifyError::BadInput("time before 1970".into()))?;
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    let usage = match opts.usage {
        Usage::ServerAuth => webpki::KeyUsage::server_auth(),
        Usage::ClientAuth => webpki::KeyUsage::client_auth(),
    };
    let crls = opts
        .crls
        .iter()
        .map(|d| {
            webpki::BorrowedCertRevocationList::from_der(d)
                .map(webpki::CertRevocationList::from)
                .map_err(|e| VerifyError::BadInput(format!("a CRL is not usable: {}", explain(&e))))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let crl_refs: Vec<&webpki::CertRevocationList<'_>> = crls.iter().collect();
    let revocation = match webpki::RevocationOptionsBuilder::new(&crl_refs) {
        Ok(b) => Some(
            b.with_depth(webpki::RevocationCheckDepth::EndEntity)
                .with_status_policy(webpki::UnknownStatusPolicy::Deny)
                .build(),
        ),
        Err(_) => None,
    };
    let path = ee
        .verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            &intermediates,
            time,
            usage,
            revocation,
            None,
        )
        .map_err(|e| VerifyError::Invalid(explain(&e)))?;
    if let Some(host) = opts.host {
        let name = ServerName::try_from(host).map_err(|_| {
            VerifyError::BadInput(format!("'{host}' is not a valid DNS name or IP address"))
        })?;
        ee.verify_is_valid_for_subject_name(&name)
            .map_err(|e| VerifyError::Invalid(format!("{} ('{host}')", explain(&e))))?;
    }
    let mut out = vec![leaf.to_vec()];
    out.extend(path.intermediate_certificates().map(|c| c.der().to_vec()));
    Ok(out)
}
