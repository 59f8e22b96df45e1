//! The OCSP responder (RFC 6960 with RFC 5019's profile) as the CA serves it.
//!
//! Responses are signed by a delegated responder certificate (id-kp-OCSPSigning,
//! id-pkix-ocsp-nocheck, 24 hours, issued by the intermediate, recorded in the store like any
//! certificate, rotated at two thirds of its life). A request for one certificate without a
//! nonce is answered from the pre-signed response cache when possible, so the hot path is a
//! lookup; the cache entry of a serial is dropped the moment it is revoked, so the next
//! answer says revoked. Requests with a nonce are signed fresh. Malformed, oversized or
//! unanswerable requests get RFC 6960 error statuses, never an HTTP error page.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use time::OffsetDateTime;
use vouch_issuing::{KeyType, PrivateKey, Signer, template_spec};
use vouch_model::CertificateTemplate;
use vouch_storage::CertificateStatus;
use vouch_validation::{
    CertId, CertStatus, IssuerId, OcspResponseStatus, OcspSigner, ResponderIdentity,
    SingleResponseInput, build_basic_response, error_response, parse_get_path, parse_ocsp_request,
};

use super::state::{AppState, StoreLog};

/// Lifetime of the delegated responder certificate.
pub const RESPONDER_LIFETIME: time::Duration = time::Duration::hours(24);
/// How long one response is valid (nextUpdate − thisUpdate).
pub const RESPONSE_VALIDITY: time::Duration = time::Duration::hours(1);

/// The current delegated responder.
#[derive(Debug)]
pub struct Responder {
    identity: ResponderIdentity,
    key: Arc<PrivateKey>,
    not_after: OffsetDateTime,
    issuer: IssuerId,
}

impl Responder {
    /// When to replace it.
    pub fn rotate_at(&self) -> OffsetDateTime {
        self.not_after - RESPONDER_LIFETIME / 3
    }
}

/// An OCSP signer over a software key.
#[derive(Debug)]
pub struct KeySigner<'a>(pub &'a PrivateKey);

impl OcspSigner for KeySigner<'_> {
    fn signature_algorithm_der(&self) -> Vec<u8> {
        match self.0.key_type() {
            // ecdsa-with-SHA256
            KeyType::EcP256 => vec![
                0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
            ],
            // ecdsa-with-SHA384
            KeyType::EcP384 => vec![
                0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03,
            ],
            // Ed25519
            KeyType::Ed25519 => vec![0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70],
            // sha256WithRSAEncryption, NULL parameters
            KeyType::Rsa(_) => vec![
                0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05,
                0x00,
            ],
        }
    }
    fn sign(&self, tbs: &[u8]) -> Result<Vec<u8>, String> {
        self.0.sign(tbs).map_err(|e| e.to_string())
    }
}

/// Issue a new delegated responder certificate and install it (clearing the cache, whose
/// responses name the old one).
pub async fn rotate(state: &AppState) -> anyhow::Result<()> {
    let now = state.clock.now();
    let key = PrivateKey::generate(KeyType::EcP256)?;
    let template: CertificateTemplate = serde_json::from_value(serde_json::json!({
        "subject": {"commonName": "Vouch OCSP Responder"},
        "keyUsage": ["digitalSignature"],
        "extKeyUsage": ["ocspSigning"],
        "basicConstraints": {"isCA": false},
        // id-pkix-ocsp-nocheck with a NULL value: relying parties need not check its status.
        "extensions": [{"id": "1.3.6.1.5.5.7.48.1.5", "critical": false, "value": "BQA="}]
    }))?;
    let spec = template_spec(
        &template,
        &key.public_key_der(),
        now - time::Duration::minutes(1),
        now + RESPONDER_LIFETIME,
    )?;
    let issued = state
        .pki
        .issuer
        .issue(
            &spec,
            &key.public_key_der(),
            None,
            &[],
            &StoreLog {
                store: &state.store,
                token: None,
            },
            now,
        )
        .await?;
    let issuer = IssuerId::from_certificate(state.pki.issuer.certificate().der())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let responder = Arc::new(Responder {
        identity: ResponderIdentity::new(issued.der).map_err(|e| anyhow::anyhow!("{e}"))?,
        key: Arc::new(key),
        not_after: issued.not_after,
        issuer,
    });
    if let Ok(mut slot) = state.ocsp.write() {
        *slot = Some(responder);
    }
    state.ocsp_cache.clear();
    tracing::info!("OCSP responder certificate rotated");
    Ok(())
}

/// Rotate the responder before it expires; retry a failed rotation every 30 seconds.
pub async fn keep_fresh(state: Arc<AppState>) {
    loop {
        let next = state
            .ocsp
            .read()
            .ok()
            .and_then(|r| r.as_ref().map(|r| r.rotate_at()));
        let wait = next.map_or(time::Duration::ZERO, |t| {
            (t - state.clock.now()).max(time::Duration::ZERO)
        });
        tokio::time::sleep(Duration::from_millis(
            u64::try_from(wait.whole_milliseconds()).unwrap_or(0),
        ))
        .await;
        if let Err(e) = rotate(&state).await {
            tracing::error!(error = %e, "OCSP responder rotation failed");
            tokio::time::sleep(Duration::from_secs(30)).await;
        }
        state.ocsp_cache.purge_expired(state.clock.now());
    }
}

/// The status of one certificate: unknown unless this CA issued it; revoked only when it was
/// revoked actively (passive revocation only stops renewal).
async fn status_of(
    state: &AppState,
    issuer: &IssuerId,
    id: &CertId,
) -> Result<CertStatus, vouch_storage::Error> {
    if !issuer.matches(id) {
        return Ok(CertStatus::Unknown);
    }
    let serial = vouch_issuing::serial_hex(id.serial());
    let Some(rec) = state.store.get_certificate(&serial).await? else {
        return Ok(CertStatus::Unknown);
    };
    if rec.status != CertificateStatus::Revoked {
        return Ok(CertStatus::Good);
    }
    match state.store.get_revocation(&serial).await? {
        Some(r) if !r.passive => Ok(CertStatus::Revoked {
            at: r.revoked_at,
            reason: (r.reason_code != 0).then_some(r.reason_code),
        }),
        _ => Ok(CertStatus::Good),
    }
}

pub fn ocsp_response(
    der: Vec<u8>,
    cache_until: Option<(OffsetDateTime, OffsetDateTime)>,
) -> Response {
    let mut h = HeaderMap::new();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/ocsp-response"),
    );
    match cache_until {
        // RFC 5019 §6: cacheable for as long as the response is valid.
        Some((now, next_update)) => {
            let max_age = (next_update - now).whole_seconds().max(0);
            if let Ok(v) = HeaderValue::from_str(&format!(
                "public, max-age={max_age}, no-transform, must-revalidate"
            )) {
                h.insert(header::CACHE_CONTROL, v);
            }
        }
        None => {
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
    (h, der).into_response()
}

/// Answer an OCSP request (DER).
async fn answer(
    state: &AppState,
    request: Result<vouch_validation::OcspRequest, vouch_validation::OcspError>,
) -> Response {
    let req = match request {
        Ok(r) => r,
        Err(e) => return ocsp_response(error_response(e.response_status()), None),
    };
    let Some(responder) = state.ocsp.read().ok().and_then(|r| r.clone()) else {
        return ocsp_response(error_response(OcspResponseStatus::TryLater), None);
    };
    let now = state.clock.now();
    let cacheable = req.is_cacheable();
    if cacheable
        && let Some(id) = req.cert_ids().first()
        && let Some(hit) = state.ocsp_cache.lookup(id, now)
    {
        return ocsp_response(hit.der.to_vec(), Some((now, hit.next_update)));
    }
    let generation = state
        .ocsp_generation
        .load(std::sync::atomic::Ordering::SeqCst);
    let this_update = now - time::Duration::minutes(1);
    let next_update = now + RESPONSE_VALIDITY;
    let mut inputs = Vec::with_capacity(req.cert_ids().len());
    for id in req.cert_ids() {
        let status = match status_of(state, &responder.issuer, id).await {
            Ok(s) => s,
            Err(e) => {
                tracing::error!(error = %e, "OCSP status lookup failed");
                return ocsp_response(error_response(OcspResponseStatus::InternalError), None);
            }
        };
        inputs.push(SingleResponseInput {
            cert_id: id.clone(),
            status,
            this_update,
            next_update,
        });
    }
    match build_basic_response(
        &responder.identity,
        &inputs,
        req.nonce(),
        now,
        &KeySigner(&responder.key),
    ) {
        Ok(der) => {
            super::metrics::ocsp(if req.nonce().is_some() {
                "signed_nonce"
            } else {
                "signed"
            });
            let unchanged = state
                .ocsp_generation
                .load(std::sync::atomic::Ordering::SeqCst)
                == generation;
            if cacheable
                && unchanged
                && let Some(id) = req.cert_ids().first()
            {
                state.ocsp_cache.insert(id, der.clone().into(), next_update);
                return ocsp_response(der, Some((now, next_update)));
            }
            ocsp_response(der, None)
        }
        Err(e) => {
            tracing::error!(error = %e, "OCSP response signing failed");
            ocsp_response(error_response(OcspResponseStatus::InternalError), None)
        }
    }
}

/// `POST /ocsp` with an `application/ocsp-request` body.
pub async fn post(State(state): State<Arc<AppState>>, body: Bytes) -> Response {
    answer(&state, parse_ocsp_request(&body)).await
}

/// `GET /ocsp/{base64 request}`.
pub async fn get(State(state): State<Arc<AppState>>, Path(encoded): Path<String>) -> Response {
    answer(&state, parse_get_path(&encoded)).await
}
