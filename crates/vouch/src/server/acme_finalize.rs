//! ACME finalization and certificate download (RFC 8555 §7.4, §7.4.2).
//!
//! Finalizing a `ready` order moves it to `processing` exactly once (a second finalize gets
//! `orderNotReady`), checks that the CSR names exactly the order's identifiers (the common
//! name, if any, must be one of them), and issues through the same path as `/1.0/sign`: the
//! provisioner's template, its claims for the lifetime, the name policies, the certificate
//! stored before the order points at it. An issuance failure leaves the order `invalid` with
//! the problem. The certificate is downloaded as `application/pem-certificate-chain`.
//!
//! revokeCert (§7.6) is authorised either by the account that ordered the certificate
//! (signed with its `kid`) or by the certificate's own key (signed with a `jwk` equal to the
//! certificate's public key), and revokes through the same path as `/1.0/revoke`.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::Deserialize;
use time::format_description::well_known::Rfc3339;
use vouch_issuing::{ProvisionerInfo, San, public_key_algorithm_name, verify_csr};
use vouch_model::{EffectiveClaims, ErrorKind, Provisioner};
use vouch_registration::{
    AcmeError, CertificateRequestData, Problem, ProblemType, SanData, SubjectData, TemplateData,
    thumbprint,
};
use vouch_storage::{AcmeOrder, AcmeOrderStatus};

use super::acme::{
    acme_provisioner, authenticate_account, authenticate_request, internal, respond, urls,
    verify_account,
};
use super::acme_order::{not_found, order_json, own_order};
use super::state::AppState;

/// step-ca's type number of ACME provisioners, in the provisioner extension.
const ACME_TYPE: u8 = 6;

#[derive(Debug, Deserialize)]
struct FinalizeRequest {
    csr: String,
}

fn bad_csr(detail: impl Into<String>) -> AcmeError {
    AcmeError::new(ProblemType::BadCsr, detail)
}

/// A name of the CSR as the order writes its identifiers.
fn identifier_of(san: &San) -> Result<String, AcmeError> {
    match san {
        San::Dns(d) => Ok(d.to_ascii_lowercase()),
        San::Ip(ip) => Ok(ip.to_string()),
        other => Err(bad_csr(format!(
            "the CSR asks for '{other}', which an ACME order cannot authorize"
        ))),
    }
}

/// `POST /order/{id}/finalize`.
pub(super) async fn finalize(
    State(state): State<Arc<AppState>>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let (base, url) = urls(&headers, &uri, &name);
    respond(
        &state,
        &base,
        finalize_inner(&state, &name, &base, &url, &id, &body).await,
    )
}

async fn finalize_inner(
    state: &AppState,
    name: &str,
    base: &str,
    url: &str,
    id: &str,
    body: &[u8],
) -> Result<Response, AcmeError> {
    let p = acme_provisioner(state, name)?;
    let (jws, acct) = authenticate_account(state, name, base, url, body).await?;
    let order = own_order(state, id, &acct.id).await?;
    let req: FinalizeRequest = jws.payload_json()?;
    let now = state.clock.now();
    if order.status != AcmeOrderStatus::Ready || order.expires_at <= now {
        return Err(AcmeError::new(
            ProblemType::OrderNotReady,
            format!(
                "the order is {}, not ready",
                if order.expires_at <= now {
                    "expired"
                } else {
                    order.status.as_str()
                }
            ),
        ));
    }
    let der = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(req.csr.trim_end_matches('='))
        .map_err(|_| bad_csr("csr is not base64url"))?;
    let csr = verify_csr(&der).map_err(|e| bad_csr(e.to_string()))?;
    // RFC 8555 §11.1: the certificate key must not be the account key.
    if uses_account_key(&csr.spki_der, &acct.jwk) {
        return Err(bad_csr(
            "the CSR's key is the account key; use a separate key",
        ));
    }
    // The CSR must name exactly the order's identifiers.
    let want: BTreeSet<String> = order
        .identifiers
        .iter()
        .map(|i| i.value.to_ascii_lowercase())
        .collect();
    let mut got = BTreeSet::new();
    for san in &csr.sans {
        got.insert(identifier_of(san)?);
    }
    let cn = csr
        .subject
        .common_name()
        .filter(|cn| !cn.is_empty())
        .map(|cn| cn.to_ascii_lowercase());
    if let Some(cn) = &cn {
        let as_ident = cn
            .parse::<std::net::IpAddr>()
            .map_or_else(|_| cn.clone(), |ip| ip.to_string());
        if !want.contains(&as_ident) {
            return Err(bad_csr(format!(
                "the CSR's common name '{cn}' is not an identifier of the order"
            )));
        }
        got.insert(as_ident);
    }
    if got != want {
        let extra: Vec<&String> = got.difference(&want).collect();
        let missing: Vec<&String> = want.difference(&got).collect();
        return Err(bad_csr(format!(
            "the CSR must name exactly the order's identifiers (not in the order: {extra:?}; \
             missing: {missing:?})"
        )));
    }
    if !state
        .store
        .set_order_processing(id)
        .await
        .map_err(internal)?
    {
        return Err(AcmeError::new(
            ProblemType::OrderNotReady,
            "the order is being finalized already",
        ));
    }
    match issue(state, &p, &order, &csr, cn.as_deref(), now).await {
        Ok(serial) => {
            state
                .store
                .finish_order(id, Some(&serial), None)
                .await
                .map_err(internal)?;
        }
        Err(e) => {
            let problem = serde_json::to_string(&Problem::from(&e)).ok();
            if let Err(se) = state.store.finish_order(id, None, problem.as_deref()).await {
                tracing::error!(order = %id, error = %se, "recording a failed ACME order");
            }
            return Err(e);
        }
    }
    let order = own_order(state, id, &acct.id).await?;
    Ok((
        StatusCode::OK,
        [(header::LOCATION, format!("{base}/order/{id}"))],
        axum::Json(order_json(base, &order)),
    )
        .into_response())
}

/// Issue the order's certificate; answers its serial (hex).
async fn issue(
    state: &AppState,
    p: &vouch_model::AcmeProvisioner,
    order: &AcmeOrder,
    csr: &vouch_issuing::VerifiedCsr,
    cn: Option<&str>,
    now: time::OffsetDateTime,
) -> Result<String, AcmeError> {
    let authority = state.authority();
    let effective = EffectiveClaims::resolve(&authority.config.authority.claims, p.claims.as_ref());
    let fmt = |t: Option<time::OffsetDateTime>| t.and_then(|t| t.format(&Rfc3339).ok());
    let (nb, na) = (fmt(order.not_before), fmt(order.not_after));
    let validity = super::sign::validity(
        &effective,
        authority.config.authority.backdate(),
        nb.as_deref(),
        na.as_deref(),
        now,
    )
    .map_err(api_to_acme)?;
    let names: Vec<&str> = order.identifiers.iter().map(|i| i.value.as_str()).collect();
    let subject = cn.or(names.first().copied()).unwrap_or_default();
    let request = CertificateRequestData {
        subject: SubjectData::common_name(subject.to_owned()),
        public_key_algorithm: csr
            .key
            .key_type
            .map_or("", public_key_algorithm_name)
            .to_owned(),
        ..CertificateRequestData::default()
    }
    .with_sans(csr.sans.iter().map(ToString::to_string));
    let data = TemplateData::new(
        SubjectData::common_name(subject.to_owned()),
        names.iter().map(|n| SanData::from_name(n)).collect(),
        serde_json::Value::Object(serde_json::Map::new()),
        request,
    );
    let issued = super::sign::issue_with_template(
        state,
        &authority,
        &Provisioner::Acme(p.clone()),
        ProvisionerInfo {
            type_id: ACME_TYPE,
            name: p.name.clone(),
            credential_id: String::new(),
        },
        data,
        &csr.spki_der,
        validity,
        now,
        None,
    )
    .await
    .map_err(api_to_acme)?;
    let serial = vouch_issuing::serial_hex(&issued.serial);
    super::metrics::issued(&p.name);
    tracing::info!(provisioner = %p.name, order = %order.id, serial = %serial, "issued (ACME)");
    Ok(serial)
}

fn api_to_acme(e: super::error::ApiError) -> AcmeError {
    let kind = match e.kind() {
        ErrorKind::PolicyForbids => ProblemType::RejectedIdentifier,
        ErrorKind::Malformed | ErrorKind::BadCsr => ProblemType::BadCsr,
        ErrorKind::Forbidden | ErrorKind::Unauthorized => ProblemType::Unauthorized,
        ErrorKind::RateLimited => ProblemType::RateLimited,
        _ => ProblemType::ServerInternal,
    };
    AcmeError::new(kind, e.message())
}

/// `POST /certificate/{order}` (POST-as-GET): the leaf and the intermediate, PEM.
pub(super) async fn certificate(
    State(state): State<Arc<AppState>>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let (base, url) = urls(&headers, &uri, &name);
    respond(
        &state,
        &base,
        certificate_inner(&state, &name, &base, &url, &id, &body).await,
    )
}

async fn certificate_inner(
    state: &AppState,
    name: &str,
    base: &str,
    url: &str,
    id: &str,
    body: &[u8],
) -> Result<Response, AcmeError> {
    let (jws, acct) = authenticate_account(state, name, base, url, body).await?;
    if !jws.is_post_as_get() {
        return Err(AcmeError::malformed(
            "a certificate is downloaded with POST-as-GET",
        ));
    }
    let order = own_order(state, id, &acct.id).await?;
    let serial = order
        .certificate_serial
        .as_deref()
        .ok_or_else(|| not_found("certificate"))?;
    let der = state
        .store
        .get_certificate(serial)
        .await
        .map_err(internal)?
        .and_then(|r| r.der)
        .ok_or_else(|| internal(format!("order {id}: certificate {serial} is not stored")))?;
    let mut pem = vouch_issuing::to_pem("CERTIFICATE", &der);
    for ca in state.pki.intermediates() {
        pem.push_str(&vouch_issuing::to_pem("CERTIFICATE", &ca));
    }
    // RFC 8555 §7.4.2: Link rel="up" to the issuer's certificate (there is one chain, so
    // no rel="alternate").
    let origin = base
        .rsplit_once("/acme/")
        .map_or(base, |(o, _)| o.trim_end_matches("/2.0"));
    let mut r = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/pem-certificate-chain")],
        pem,
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("<{origin}/intermediate.crt>;rel=\"up\"")) {
        r.headers_mut().append(header::LINK, v);
    }
    Ok(r)
}

#[derive(Debug, Deserialize)]
struct RevokeRequest {
    certificate: String,
    #[serde(default)]
    reason: Option<u8>,
}

/// `POST /revoke-cert`.
pub(super) async fn revoke_cert(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let (base, url) = urls(&headers, &uri, &name);
    respond(
        &state,
        &base,
        revoke_inner(&state, &name, &base, &url, &body).await,
    )
}

async fn revoke_inner(
    state: &AppState,
    name: &str,
    base: &str,
    url: &str,
    body: &[u8],
) -> Result<Response, AcmeError> {
    acme_provisioner(state, name)?;
    let jws = authenticate_request(state, body, url).await?;
    let req: RevokeRequest = jws.payload_json()?;
    let reason = req.reason.unwrap_or(0);
    if reason > 10 || reason == 7 {
        return Err(AcmeError::new(
            ProblemType::BadRevocationReason,
            format!("reason {reason} is not an RFC 5280 revocation reason"),
        ));
    }
    let der = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(req.certificate.trim_end_matches('='))
        .map_err(|_| AcmeError::malformed("certificate is not base64url"))?;
    vouch_issuing::check_certificate_issued_by(&der, state.pki.issuer.certificate())
        .map_err(|_| AcmeError::malformed("the certificate was not issued by this CA"))?;
    let presented = super::lifecycle::presented_der(&der)
        .map_err(|e| AcmeError::malformed(e.message().to_owned()))?;
    match jws.key_ref() {
        vouch_registration::KeyRef::Kid(_) => {
            let acct = verify_account(state, name, base, &jws).await?;
            let ordered = state
                .store
                .acme_account_of_certificate(&presented.serial)
                .await
                .map_err(internal)?
                .is_some_and(|owner| owner == acct.id);
            if !ordered && !holds_authorizations(state, &acct.id, &presented.sans).await? {
                return Err(AcmeError::unauthorized(
                    "this account did not order the certificate and holds no valid \
                     authorization for each of its names",
                ));
            }
        }
        vouch_registration::KeyRef::Jwk(_) => {
            let jwk = jws.verify_embedded()?;
            if !spki_is_key(&presented.spki, jwk) {
                return Err(AcmeError::unauthorized(
                    "the request is not signed by the certificate's key",
                ));
            }
        }
    }
    super::lifecycle::apply_revocation(state, &presented.serial, reason, None, false)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::AlreadyRevoked => {
                AcmeError::new(ProblemType::AlreadyRevoked, e.message().to_owned())
            }
            _ => api_to_acme(e),
        })?;
    Ok(StatusCode::OK.into_response())
}

/// RFC 8555 §7.6: an account may also revoke a certificate whose every name it holds a
/// valid authorization for.
async fn holds_authorizations(
    state: &AppState,
    account: &str,
    sans: &[vouch_issuing::San],
) -> Result<bool, AcmeError> {
    if sans.is_empty() {
        return Ok(false);
    }
    let now = state.clock.now();
    for san in sans {
        let (kind, value, wildcard) = match san {
            vouch_issuing::San::Dns(d) => match d.strip_prefix("*.") {
                Some(base) => ("dns", base.to_ascii_lowercase(), true),
                None => ("dns", d.to_ascii_lowercase(), false),
            },
            vouch_issuing::San::Ip(ip) => ("ip", ip.to_string(), false),
            _ => return Ok(false),
        };
        let found = state
            .store
            .find_valid_authorization(account, kind, &value, wildcard, now)
            .await
            .map_err(internal)?;
        if found.is_none() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether a CSR's SubjectPublicKeyInfo is the account's key.
fn uses_account_key(spki_der: &[u8], account_jwk: &str) -> bool {
    serde_json::from_str::<vouch_model::Jwk>(account_jwk)
        .is_ok_and(|key| spki_is_key(spki_der, &key))
}

/// Whether a DER SubjectPublicKeyInfo is `jwk`, compared by RFC 7638 thumbprint.
fn spki_is_key(spki_der: &[u8], jwk: &vouch_model::Jwk) -> bool {
    use x509_parser::prelude::FromDer;
    let Ok((_, spki)) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der) else {
        return false;
    };
    let Ok(spki_key) = super::lifecycle::spki_to_jwk(&spki) else {
        return false;
    };
    matches!((thumbprint(&spki_key), thumbprint(jwk)), (Ok(a), Ok(b)) if a == b)
}
