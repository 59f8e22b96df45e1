//! `POST /renew`, `/rekey` and `/revoke` (step-ca's `api/renew.go`, `rekey.go`, `revoke.go`).
//!
//! Renewal and rekey authenticate with the client certificate itself (mTLS): rustls has
//! already verified the chain to our roots and its validity period. The new certificate keeps
//! the old subject and SANs and the old lifetime, re-applies the current name policies, and
//! is refused when the certificate was revoked or its provisioner disables renewal.
//! Revocation takes a one-time token whose `sub` is the serial, or mTLS with that serial;
//! both passive and active revocation are recorded (the validation authority reads them).

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use vouch_issuing::{
    CertificateSpec, Extension, ProvisionerInfo, San, find_step_provisioner,
    step_provisioner_extension, verify_csr,
};
use vouch_model::{EffectiveClaims, ErrorKind, Profile, Provisioner};
use vouch_storage::CertificateStatus;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::PeerChain;
use super::error::ApiError;
use super::sign::{authorize_token, certificate_response, json_body, token_provisioner};
use super::state::{AppState, StoreLog};

/// What renewal keeps from the certificate being renewed.
pub(super) struct Presented {
    pub(super) serial: String,
    not_before: time::OffsetDateTime,
    not_after: time::OffsetDateTime,
    subject: vouch_issuing::Dn,
    pub(super) sans: Vec<San>,
    pub(super) spki: Vec<u8>,
    lifetime: time::Duration,
    provisioner: Option<ProvisionerInfo>,
}

fn presented(peer: &PeerChain) -> Result<Presented, ApiError> {
    let chain = peer.0.as_ref().ok_or_else(|| {
        ApiError::unauthorized("this operation needs a client certificate (mTLS)")
    })?;
    let leaf = chain
        .first()
        .ok_or_else(|| ApiError::unauthorized("empty client certificate chain"))?;
    presented_der(leaf)
}

/// What renewal needs from a certificate (DER).
pub(super) fn presented_der(leaf: &[u8]) -> Result<Presented, ApiError> {
    let (_, cert) = X509Certificate::from_der(leaf)
        .map_err(|_| ApiError::malformed("unparsable client certificate"))?;
    let subject = vouch_issuing::Dn::from_name(cert.subject()).map_err(ApiError::from)?;
    let mut sans = Vec::new();
    for ext in cert.extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
            for name in &san.general_names {
                let s = match name {
                    GeneralName::DNSName(s) | GeneralName::RFC822Name(s) | GeneralName::URI(s) => {
                        s.parse::<San>().ok()
                    }
                    GeneralName::IPAddress(b) => ip_from(b).map(San::Ip),
                    _ => None,
                };
                sans.push(s.ok_or_else(|| {
                    ApiError::malformed("the certificate has a name Vouch cannot renew")
                })?);
            }
        }
    }
    let nb = cert.validity().not_before.to_datetime();
    let na = cert.validity().not_after.to_datetime();
    Ok(Presented {
        serial: vouch_issuing::serial_hex(cert.raw_serial()),
        not_before: nb,
        not_after: na,
        subject,
        sans,
        spki: cert.public_key().raw.to_vec(),
        lifetime: na - nb,
        provisioner: find_step_provisioner(leaf).map_err(ApiError::from)?,
    })
}

pub(super) fn ip_from(b: &[u8]) -> Option<std::net::IpAddr> {
    match b.len() {
        4 => <[u8; 4]>::try_from(b).ok().map(Into::into),
        16 => <[u8; 16]>::try_from(b).ok().map(Into::into),
        _ => None,
    }
}

/// Issue the successor of the presented certificate for `spki`.
async fn reissue(
    state: &AppState,
    old: &Presented,
    spki: &[u8],
    rekey: bool,
) -> Result<Response, ApiError> {
    if let Some(rec) = state.store.get_certificate(&old.serial).await?
        && rec.status == CertificateStatus::Revoked
    {
        return Err(ApiError::unauthorized("the certificate has been revoked"));
    }
    let authority = state.authority();
    let provisioner = old
        .provisioner
        .as_ref()
        .and_then(|p| authority.provisioner(&p.name));
    let claims = EffectiveClaims::resolve(
        &authority.config.authority.claims,
        provisioner.and_then(Provisioner::claims),
    );
    let name = provisioner.map(|p| p.name().to_owned());
    if claims.disable_renewal {
        return Err(ApiError::unauthorized(
            "renewal is disabled for this provisioner",
        ));
    }
    let now = state.clock.now();
    // The new certificate lives as long as the old one did, not counting its backdate.
    let backdate = authority.config.authority.backdate();
    let lifetime = (old.lifetime - backdate).max(time::Duration::minutes(1));
    let mut extensions: Vec<Extension> = Vec::new();
    if let Some(info) = &old.provisioner {
        extensions.push(step_provisioner_extension(info)?);
    }
    let config = &authority.config;
    let crl: Vec<String> = config
        .crl
        .iter()
        .filter_map(|c| c.distribution_point.clone())
        .collect();
    let ocsp: Vec<String> = config.ocsp.iter().filter_map(|o| o.url.clone()).collect();
    let ca_issuers: Vec<String> = config
        .ocsp
        .iter()
        .filter_map(|o| o.ca_issuers.clone())
        .collect();
    extensions.extend(vouch_issuing::status_url_extensions(
        &crl,
        &ocsp,
        &ca_issuers,
    )?);
    let spec = CertificateSpec {
        subject: old.subject.clone(),
        sans: old.sans.clone(),
        profile: Profile::Leaf,
        not_before: now - backdate,
        not_after: now + lifetime,
        extensions,
    };
    let policies = name.as_deref().map_or_else(
        || authority.policy.iter().collect(),
        |n| authority.policies(n),
    );
    let issued = state
        .pki
        .issuer
        .issue(
            &spec,
            spki,
            name.as_deref(),
            &policies,
            &StoreLog {
                store: &state.store,
                token: None,
            },
            now,
        )
        .await?;
    super::metrics::renewed(rekey);
    tracing::info!(old = %old.serial, serial = %vouch_issuing::serial_hex(&issued.serial), "renewed");
    Ok(certificate_response(state, &issued.der))
}

pub(super) async fn renew(
    State(state): State<Arc<AppState>>,
    axum::Extension(peer): axum::Extension<PeerChain>,
    headers: axum::http::HeaderMap,
) -> Result<Response, ApiError> {
    let bearer = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let old = match (&peer.0, bearer) {
        (Some(_), _) => presented(&peer)?,
        (None, Some(token)) => renew_token(&state, token.trim()).await?,
        (None, None) => {
            return Err(ApiError::unauthorized(
                "renewal needs a client certificate (mTLS) or a renew token (Authorization: Bearer)",
            ));
        }
    };
    let spki = old.spki.clone();
    reissue(&state, &old, &spki, false).await
}

/// The x5cInsecure flow: the token carries the certificate and is signed by its key; the
/// certificate may have expired when its provisioner allows renewal after expiry.
async fn renew_token(state: &AppState, token: &str) -> Result<Presented, ApiError> {
    let unauthorized = |e: vouch_registration::Error| ApiError::unauthorized(e.to_string());
    let chain = vouch_registration::peek_x5c_insecure(token).map_err(unauthorized)?;
    let leaf = &chain[0];
    vouch_issuing::check_certificate_issued_by(leaf, state.pki.issuer.certificate())
        .map_err(|e| ApiError::unauthorized(format!("the token's certificate: {e}")))?;
    let (_, cert) = X509Certificate::from_der(leaf)
        .map_err(|_| ApiError::malformed("unparsable certificate in the token"))?;
    let jwk = spki_to_jwk(cert.public_key())?;
    let authority = state.authority();
    let audiences = authority.audiences("renew");
    let ctx = vouch_registration::TokenContext {
        audiences: &audiences,
        now: state.clock.now(),
        not_before_iat: (!authority.config.authority.disable_issued_at_check)
            .then_some(state.started),
    };
    let claims = vouch_registration::verify_renew_token(token, &jwk, &ctx).map_err(unauthorized)?;
    let old = presented_der(leaf)?;
    if let Some(cn) = old.subject.common_name()
        && cn != claims.subject
    {
        return Err(ApiError::unauthorized(
            "the token's subject is not the certificate's",
        ));
    }
    let now = state.clock.now();
    if now < old.not_before {
        return Err(ApiError::unauthorized("the certificate is not valid yet"));
    }
    if now > old.not_after {
        let provisioner = old
            .provisioner
            .as_ref()
            .and_then(|p| authority.provisioner(&p.name));
        let claims_cfg = EffectiveClaims::resolve(
            &authority.config.authority.claims,
            provisioner.and_then(Provisioner::claims),
        );
        if !claims_cfg.allow_renewal_after_expiry {
            return Err(ApiError::unauthorized(
                "the certificate has expired and its provisioner does not allow renewal after expiry",
            ));
        }
    }
    if !state
        .store
        .use_token("renew", &claims.jti, claims.expires_at)
        .await?
    {
        return Err(ApiError::unauthorized("token already used"));
    }
    Ok(old)
}

/// The public key of a certificate as a JWK, to verify the token it signed.
pub(super) fn spki_to_jwk(
    spki: &x509_parser::x509::SubjectPublicKeyInfo<'_>,
) -> Result<vouch_model::Jwk, ApiError> {
    use base64::Engine;
    use x509_parser::public_key::PublicKey;
    let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
    let bad = || ApiError::unauthorized("the certificate's key type cannot sign renew tokens");
    let mut jwk = vouch_model::Jwk {
        use_: None,
        kty: String::new(),
        kid: None,
        crv: None,
        alg: None,
        x: None,
        y: None,
        n: None,
        e: None,
    };
    match spki.parsed().map_err(|_| bad())? {
        PublicKey::EC(point) => {
            let data = point.data();
            let (crv, len) = match data.len() {
                65 => ("P-256", 32),
                97 => ("P-384", 48),
                _ => return Err(bad()),
            };
            if data.first() != Some(&4) {
                return Err(bad());
            }
            jwk.kty = "EC".into();
            jwk.crv = Some(crv.into());
            jwk.x = Some(b64(&data[1..=len]));
            jwk.y = Some(b64(&data[1 + len..]));
        }
        PublicKey::RSA(rsa) => {
            let strip = |b: &[u8]| {
                b.iter()
                    .copied()
                    .skip_while(|x| *x == 0)
                    .collect::<Vec<u8>>()
            };
            jwk.kty = "RSA".into();
            jwk.n = Some(b64(&strip(rsa.modulus)));
            jwk.e = Some(b64(&strip(rsa.exponent)));
        }
        _ if spki.algorithm.algorithm.to_id_string() == "1.3.101.112" => {
            jwk.kty = "OKP".into();
            jwk.crv = Some("Ed25519".into());
            jwk.x = Some(b64(&spki.subject_public_key.data));
        }
        _ => return Err(bad()),
    }
    Ok(jwk)
}

#[derive(Debug, Deserialize)]
struct RekeyRequest {
    csr: String,
}

pub(super) async fn rekey(
    State(state): State<Arc<AppState>>,
    axum::Extension(peer): axum::Extension<PeerChain>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let old = presented(&peer)?;
    let req: RekeyRequest = json_body(body)?;
    let csr = verify_csr(req.csr.as_bytes()).map_err(ApiError::from)?;
    reissue(&state, &old, &csr.spki_der, true).await
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RevokeRequest {
    serial: String,
    #[serde(default)]
    ott: Option<String>,
    #[serde(default)]
    reason_code: u8,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    passive: bool,
}

/// A serial as step clients send it (decimal, or hex with `0x`) in Vouch's lowercase hex.
pub fn normalize_serial(s: &str) -> Result<String, ApiError> {
    let s = s.trim();
    let bytes: Vec<u8> = if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        let hex = if hex.len() % 2 == 1 {
            format!("0{hex}")
        } else {
            hex.to_owned()
        };
        (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
            .collect::<Result<_, _>>()
            .map_err(|_| ApiError::malformed(format!("invalid serial '{s}'")))?
    } else {
        decimal_to_bytes(s).ok_or_else(|| ApiError::malformed(format!("invalid serial '{s}'")))?
    };
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    if trimmed.is_empty() || trimmed.len() > 20 {
        return Err(ApiError::malformed(format!("invalid serial '{s}'")));
    }
    Ok(vouch_issuing::serial_hex(&trimmed))
}

/// Big-endian bytes of a decimal number of any length.
fn decimal_to_bytes(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() || s.len() > 60 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut out: Vec<u8> = vec![0];
    for d in s.bytes().map(|b| u32::from(b - b'0')) {
        let mut carry = d;
        for byte in out.iter_mut().rev() {
            let v = u32::from(*byte) * 10 + carry;
            *byte = (v & 0xff) as u8;
            carry = v >> 8;
        }
        while carry > 0 {
            out.insert(0, (carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    Some(out)
}

pub(super) async fn revoke(
    State(state): State<Arc<AppState>>,
    axum::Extension(peer): axum::Extension<PeerChain>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let req: RevokeRequest = json_body(body)?;
    let serial = normalize_serial(&req.serial)?;
    if req.reason_code > 10 || req.reason_code == 7 {
        return Err(ApiError::malformed(format!(
            "invalid reasonCode {}",
            req.reason_code
        )));
    }
    match req.ott.as_deref().filter(|t| !t.is_empty()) {
        Some(ott) => {
            let authority = state.authority();
            let provisioner = token_provisioner(&authority, ott)?;
            let claims = authorize_token(&state, &authority, provisioner, ott, "revoke").await?;
            if normalize_serial(&claims.subject)? != serial {
                return Err(ApiError::unauthorized(
                    "the token's subject is not the serial being revoked",
                ));
            }
        }
        None => {
            let old = presented(&peer)?;
            if old.serial != serial {
                return Err(ApiError::unauthorized(
                    "the client certificate's serial is not the serial being revoked",
                ));
            }
        }
    }
    apply_revocation(
        &state,
        &serial,
        req.reason_code,
        req.reason.as_deref(),
        req.passive,
    )
    .await?;
    tracing::info!(serial = %serial, passive = req.passive, reason_code = req.reason_code, "revoked");
    Ok(Json(json!({"status": "ok"})).into_response())
}

/// Revoke an authorised serial: stored, OCSP answers revoked at once (active revocation), the
/// CRL is rebuilt soon. Shared by `/1.0/revoke` and ACME `revokeCert`.
pub(super) async fn apply_revocation(
    state: &AppState,
    serial: &str,
    reason_code: u8,
    reason: Option<&str>,
    passive: bool,
) -> Result<(), ApiError> {
    let now = state.clock.now();
    state
        .store
        .revoke(serial, now, reason_code, reason, passive)
        .await
        .map_err(|e| match e.kind() {
            ErrorKind::NotFound => {
                ApiError::not_found(format!("no certificate with serial {serial}"))
            }
            ErrorKind::AlreadyRevoked => ApiError::new(
                ErrorKind::AlreadyRevoked,
                format!("certificate {serial} is already revoked"),
            ),
            _ => ApiError::from(e),
        })?;
    super::metrics::revoked(passive);
    if !passive {
        // OCSP says revoked from now on; the CRL follows within its rebuild delay.
        state
            .ocsp_generation
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        if let Some(bytes) = vouch_validation::serial_from_hex(serial) {
            state.ocsp_cache.invalidate(&bytes);
        }
        state.crl_changed.notify_one();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_in_step_forms() {
        assert_eq!(normalize_serial("0x0A0b").unwrap(), "0a0b");
        assert_eq!(normalize_serial("255").unwrap(), "ff");
        assert_eq!(normalize_serial("256").unwrap(), "0100");
        assert_eq!(
            normalize_serial("340282366920938463463374607431768211455").unwrap(),
            "ffffffffffffffffffffffffffffffff"
        );
        for bad in ["", "0x", "12a", "0xzz", "0", "-1"] {
            assert!(normalize_serial(bad).is_err(), "{bad}");
        }
    }
}
