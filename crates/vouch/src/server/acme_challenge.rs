//! ACME challenges (RFC 8555 §7.5.1, §8.3): a client POSTs `{}` to a challenge to ask for
//! validation; the challenge moves to `processing` (exactly once, even under concurrent
//! POSTs), the answer comes back at once, and the validation runs in the background with a
//! bound on how many run at the same time. Its outcome is written in one transaction with
//! the authorization's and the orders' new states.
//!
//! The checks themselves (http-01, dns-01, tls-alpn-01) are in `acme_validate`.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use vouch_registration::{AcmeError, Problem, thumbprint};
use vouch_storage::{
    AcmeAuthorizationStatus, AcmeChallenge, AcmeChallengeStatus, AcmeChallengeType,
};

use super::acme::{authenticate_account, internal, respond, urls};
use super::acme_order::{challenge_json, lookup_error, not_found};
use super::acme_validate::Check;
use super::state::AppState;

/// `POST /challenge/{id}`: `{}` starts validation, POST-as-GET reads the challenge.
pub(super) async fn challenge(
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
        challenge_inner(&state, &name, &base, &url, &id, &body).await,
    )
}

async fn challenge_inner(
    state: &Arc<AppState>,
    name: &str,
    base: &str,
    url: &str,
    id: &str,
    body: &[u8],
) -> Result<Response, AcmeError> {
    let (jws, acct) = authenticate_account(state, name, base, url, body).await?;
    let ch = state
        .store
        .get_acme_challenge(id)
        .await
        .map_err(lookup_error("challenge"))?
        .ok_or_else(|| not_found("challenge"))?;
    let authz = state
        .store
        .get_acme_authorization(&ch.authz_id)
        .await
        .map_err(internal)?
        .filter(|a| a.account_id == acct.id && a.provisioner == name)
        .ok_or_else(|| not_found("challenge"))?;
    let up = format!("<{base}/authz/{}>;rel=\"up\"", authz.id);
    let answer = |ch: &AcmeChallenge| {
        let mut r = super::acme_order::retry_soon(
            axum::Json(challenge_json(base, ch)).into_response(),
            ch.status == AcmeChallengeStatus::Processing,
        );
        if let Ok(v) = HeaderValue::from_str(&up) {
            r.headers_mut().append(header::LINK, v);
        }
        r
    };
    if jws.is_post_as_get() {
        return Ok(answer(&ch));
    }
    let payload: Value = jws.payload_json()?;
    if !payload.as_object().is_some_and(serde_json::Map::is_empty) {
        return Err(AcmeError::malformed("a challenge is started with {}"));
    }
    if authz.status != AcmeAuthorizationStatus::Pending || authz.expires_at <= state.clock.now() {
        return Err(AcmeError::malformed(format!(
            "the authorization is {}, not pending",
            if authz.expires_at <= state.clock.now() {
                "expired"
            } else {
                authz.status.as_str()
            }
        )));
    }
    if state.store.start_challenge(id).await.map_err(internal)? {
        let key: vouch_model::Jwk = serde_json::from_str(&acct.jwk).map_err(internal)?;
        let thumb = thumbprint(&key).map_err(internal)?;
        let key_auth = format!("{}.{thumb}", ch.token);
        let task_state = state.clone();
        let (challenge_id, token, kind) = (ch.id.clone(), ch.token.clone(), ch.kind);
        let identifier = authz.identifier_value.clone();
        let is_ip = authz.identifier_type == "ip";
        tokio::spawn(async move {
            let st = task_state;
            let Ok(_permit) = st.acme_validator.limit.clone().acquire_owned().await else {
                return;
            };
            let check = match kind {
                AcmeChallengeType::Http01 => Check::Http01 { token: &token },
                AcmeChallengeType::Dns01 => Check::Dns01,
                AcmeChallengeType::TlsAlpn01 => Check::TlsAlpn01,
            };
            let outcome = st
                .acme_validator
                .validate(check, &identifier, is_ip, &key_auth)
                .await;
            let error = outcome
                .as_ref()
                .err()
                .and_then(|e| serde_json::to_string(&Problem::from(e)).ok());
            if let Err(e) = &outcome {
                tracing::info!(challenge = %challenge_id, error = %e.detail(), "ACME challenge failed");
            }
            if let Err(e) = st
                .store
                .finish_challenge(
                    &challenge_id,
                    outcome.is_ok(),
                    error.as_deref(),
                    st.clock.now(),
                )
                .await
            {
                tracing::error!(challenge = %challenge_id, error = %e, "recording an ACME validation failed");
            }
        });
    }
    let ch = state
        .store
        .get_acme_challenge(id)
        .await
        .map_err(internal)?
        .unwrap_or(AcmeChallenge {
            status: AcmeChallengeStatus::Processing,
            ..ch
        });
    Ok(answer(&ch))
}
