//! `POST /sign`: a CSR plus a one-time token becomes a certificate (step-ca's `api/sign.go`).
//!
//! Pipeline (ARCHITECTURE §3): find the provisioner from the token's `iss` and `kid`, verify
//! the token (registration crate), burn its `jti` in the shared replay table, check the CSR's
//! self-signature and that every name it asks for is one the token authorises, apply the
//! provisioner's claims to the validity, then hand the request to the issuing crate, which
//! records intent, signs and records the certificate before we answer 201.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use vouch_issuing::{
    ProvisionerInfo, San, VerifiedCsr, public_key_algorithm_name, step_provisioner_extension,
    subject_attributes, template_spec, verify_csr,
};
use vouch_model::{EffectiveClaims, ErrorKind, JwkProvisioner, Provisioner, TimeSpec};
use vouch_registration::{
    CertificateRequestData, DEFAULT_LEAF_TEMPLATE, JwkTokenClaims, SubjectData, TemplateData,
    TokenContext, peek_token, render_x509_template, verify_jwk_token,
};

use super::error::ApiError;
use super::state::{AppState, Authority, StoreLog};

/// step-ca's type number of JWK provisioners, in the provisioner extension.
const JWK_TYPE: u8 = 1;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignRequest {
    csr: String,
    ott: String,
    #[serde(default)]
    not_before: Option<String>,
    #[serde(default)]
    not_after: Option<String>,
    #[serde(default)]
    template_data: Option<serde_json::Value>,
}

/// Parse a JSON body, turning every failure into a clear API error.
pub fn json_body<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
) -> Result<T, ApiError> {
    let bytes = body.map_err(|e| {
        let status = e.status();
        ApiError::malformed(format!("cannot read the request body: {}", e.body_text()))
            .with_status(status)
    })?;
    serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::malformed(format!("invalid JSON request: {e}")))
}

/// Find the JWK provisioner a token claims to come from (by `iss`, and `kid` when given).
pub fn token_provisioner<'a>(
    authority: &'a Authority,
    token: &str,
) -> Result<&'a JwkProvisioner, ApiError> {
    let peek = peek_token(token).map_err(|e| ApiError::unauthorized(e.to_string()))?;
    let issuer = peek
        .issuer
        .ok_or_else(|| ApiError::unauthorized("token has no issuer"))?;
    let found = authority
        .config
        .authority
        .provisioners
        .iter()
        .find_map(|p| match p {
            Provisioner::Jwk(j)
                if j.name == issuer && (peek.kid.is_none() || j.key.kid == peek.kid) =>
            {
                Some(j)
            }
            _ => None,
        });
    found.ok_or_else(|| {
        ApiError::unauthorized(format!("no provisioner '{issuer}' with the token's key"))
    })
}

/// Verify a JWK token (signature, claims, audience, lifetime) without burning it: `/sign`
/// burns it in the same write as the certificate's intent (see `StoreLog`).
pub fn verify_token(
    state: &AppState,
    authority: &Authority,
    provisioner: &JwkProvisioner,
    token: &str,
    path: &str,
) -> Result<JwkTokenClaims, ApiError> {
    let audiences = authority.audiences(path);
    let ctx = TokenContext {
        audiences: &audiences,
        now: state.clock.now(),
        not_before_iat: (!authority.config.authority.disable_issued_at_check)
            .then_some(state.started),
    };
    verify_jwk_token(provisioner, token, &ctx).map_err(|e| ApiError::unauthorized(e.to_string()))
}

/// Verify a token for `path` (`sign`, `revoke`, …) and burn its id; returns its claims.
pub async fn authorize_token(
    state: &AppState,
    authority: &Authority,
    provisioner: &JwkProvisioner,
    token: &str,
    path: &str,
) -> Result<JwkTokenClaims, ApiError> {
    let claims = verify_token(state, authority, provisioner, token, path)?;
    if !state
        .store
        .use_token(&provisioner.name, &claims.jti, claims.expires_at)
        .await?
    {
        return Err(ApiError::unauthorized("token already used"));
    }
    Ok(claims)
}

/// The names a token authorises: its `sans`, or its subject when it has none (as step-ca).
fn authorized_names(claims: &JwkTokenClaims) -> Result<Vec<San>, ApiError> {
    let names: Vec<&str> = if claims.sans.is_empty() {
        vec![claims.subject.as_str()]
    } else {
        claims.sans.iter().map(String::as_str).collect()
    };
    names
        .into_iter()
        .map(|n| {
            n.parse::<San>()
                .map_err(|e| ApiError::malformed(format!("token sans: {e}")))
        })
        .collect()
}

/// Every name in the CSR must be authorised by the token.
fn check_csr_names(
    csr: &VerifiedCsr,
    claims: &JwkTokenClaims,
    allowed: &[San],
) -> Result<(), ApiError> {
    if let Some(cn) = csr.subject.common_name().filter(|cn| !cn.is_empty()) {
        let in_sans = cn.parse::<San>().is_ok_and(|s| allowed.contains(&s));
        if cn != claims.subject && !in_sans {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                format!("certificate request common name '{cn}' is not authorized by the token"),
            ));
        }
    }
    for san in &csr.sans {
        if !allowed.contains(san) {
            return Err(ApiError::new(
                ErrorKind::Forbidden,
                format!("certificate request name '{san}' is not authorized by the token"),
            ));
        }
    }
    Ok(())
}

/// Validity from the request and the claims: default lifetime unless asked, within min/max.
pub fn validity(
    claims: &EffectiveClaims,
    backdate: Duration,
    not_before: Option<&str>,
    not_after: Option<&str>,
    now: OffsetDateTime,
) -> Result<(OffsetDateTime, OffsetDateTime), ApiError> {
    let parse = |field: &str, v: Option<&str>| -> Result<Option<OffsetDateTime>, ApiError> {
        v.filter(|s| !s.is_empty())
            .map(|s| {
                s.parse::<TimeSpec>()
                    .map(|t| t.resolve(now))
                    .map_err(|e| ApiError::malformed(format!("{field}: {e}")))
            })
            .transpose()
    };
    let start = parse("notBefore", not_before)?.unwrap_or(now);
    let end = parse("notAfter", not_after)?.unwrap_or(start + claims.default_tls_cert_duration);
    let lifetime = end - start;
    if lifetime < claims.min_tls_cert_duration || lifetime > claims.max_tls_cert_duration {
        return Err(ApiError::new(
            ErrorKind::Forbidden,
            format!(
                "requested certificate lifetime {lifetime} is outside the allowed {} to {}",
                claims.min_tls_cert_duration, claims.max_tls_cert_duration
            ),
        ));
    }
    let backdated = if not_before.is_some_and(|s| !s.is_empty()) {
        start
    } else {
        start - backdate
    };
    Ok((backdated, end))
}

/// step-ca's answer to `/sign` and `/renew`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SignResponse<'a> {
    crt: &'a str,
    ca: &'a str,
    cert_chain: [&'a str; 2],
}

/// The step-ca response: the leaf, the issuing CA, and the chain. Serialized straight from
/// borrowed PEM (the issuer's is made once, at start), not through a `serde_json::Value`.
pub fn certificate_response(state: &AppState, leaf_der: &[u8]) -> Response {
    let crt = vouch_issuing::to_pem("CERTIFICATE", leaf_der);
    let ca = state.pki.issuer.certificate().pem();
    (
        StatusCode::CREATED,
        Json(SignResponse {
            crt: &crt,
            ca,
            cert_chain: [&crt, ca],
        }),
    )
        .into_response()
}

pub(super) async fn sign(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: SignRequest = json_body(body)?;
    let authority = state.authority();
    let provisioner = token_provisioner(&authority, &req.ott)?;
    // The token is burned with the certificate's intent, in one write (StoreLog).
    let claims = verify_token(&state, &authority, provisioner, &req.ott, "sign")?;
    let csr = verify_csr(req.csr.as_bytes()).map_err(ApiError::from)?;
    if let Some(bound) = &claims.cnf_x5rt_s256 {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &csr.der);
        if base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref()) != *bound {
            return Err(ApiError::unauthorized(
                "the token is bound to another certificate request",
            ));
        }
    }
    let allowed = authorized_names(&claims)?;
    check_csr_names(&csr, &claims, &allowed)?;
    let effective = EffectiveClaims::resolve(
        &authority.config.authority.claims,
        provisioner.claims.as_ref(),
    );
    let now = state.clock.now();
    let (not_before, not_after) = validity(
        &effective,
        authority.config.authority.backdate(),
        req.not_before.as_deref(),
        req.not_after.as_deref(),
        now,
    )?;
    // The provisioner's template (step's default leaf template unless it has its own)
    // renders the certificate from the token's names, the CSR and the request's data.
    let request = CertificateRequestData {
        subject: SubjectData::from_attributes(subject_attributes(&csr.subject)),
        public_key_algorithm: csr
            .key
            .key_type
            .map_or("", public_key_algorithm_name)
            .to_owned(),
        ..CertificateRequestData::default()
    }
    .with_sans(csr.sans.iter().map(ToString::to_string));
    let data = TemplateData::from_token(&claims, request)
        .with_user_data(req.template_data.clone().unwrap_or(serde_json::Value::Null));
    let issued = issue_with_template(
        &state,
        &authority,
        &Provisioner::Jwk(provisioner.clone()),
        ProvisionerInfo {
            type_id: JWK_TYPE,
            name: provisioner.name.clone(),
            credential_id: provisioner.key.kid.clone().unwrap_or_default(),
        },
        data,
        &csr.spki_der,
        (not_before, not_after),
        now,
        Some((&provisioner.name, &claims.jti, claims.expires_at)),
    )
    .await?;
    super::metrics::issued(&provisioner.name);
    tracing::info!(provisioner = %provisioner.name, serial = %vouch_issuing::serial_hex(&issued.serial), "issued");
    Ok(certificate_response(&state, &issued.der))
}

/// Render `data` with the provisioner's template (step's default leaf template unless it has
/// its own), add the configured status URLs and the provisioner extension, and issue: policy,
/// intent, sign, verify, stored before it is returned.
#[allow(clippy::too_many_arguments)]
pub(super) async fn issue_with_template(
    state: &AppState,
    authority: &Authority,
    provisioner: &Provisioner,
    info: ProvisionerInfo,
    data: TemplateData,
    spki_der: &[u8],
    validity: (OffsetDateTime, OffsetDateTime),
    now: OffsetDateTime,
    token: Option<(&str, &str, OffsetDateTime)>,
) -> Result<vouch_issuing::IssuedCertificate, ApiError> {
    let mut data = data;
    if let Some(x509) = provisioner.x509_options() {
        data = data.with_provisioner_data(&x509.template_data);
    }
    let template_text = authority
        .templates
        .get(provisioner.name())
        .map_or(DEFAULT_LEAF_TEMPLATE, String::as_str);
    let rendered = render_x509_template(template_text, &data).map_err(|e| match e.kind() {
        ErrorKind::Internal => ApiError::internal(e),
        kind => ApiError::new(kind, e.to_string()),
    })?;
    let mut rendered = rendered;
    if rendered.crl_distribution_points.is_empty()
        && let Some(dp) = authority
            .config
            .crl
            .as_ref()
            .and_then(|c| c.distribution_point.clone())
    {
        rendered.crl_distribution_points = vouch_model::MultiString(vec![dp]);
    }
    if let Some(ocsp) = &authority.config.ocsp {
        if rendered.ocsp_server.is_empty()
            && let Some(u) = &ocsp.url
        {
            rendered.ocsp_server = vouch_model::MultiString(vec![u.clone()]);
        }
        if rendered.issuing_certificate_url.is_empty()
            && let Some(u) = &ocsp.ca_issuers
        {
            rendered.issuing_certificate_url = vouch_model::MultiString(vec![u.clone()]);
        }
    }
    let (not_before, not_after) = validity;
    let mut spec = template_spec(&rendered, spki_der, not_before, not_after)?;
    spec.extensions.push(step_provisioner_extension(&info)?);
    Ok(state
        .pki
        .issuer
        .issue(
            &spec,
            spki_der,
            Some(provisioner.name()),
            &authority.policies(provisioner.name()),
            &StoreLog {
                store: &state.store,
                token,
            },
            now,
        )
        .await?)
}
