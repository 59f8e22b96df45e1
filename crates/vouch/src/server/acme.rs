//! ACME (RFC 8555) over HTTP: the directory, nonces and accounts (orders and authorizations
//! are in `acme_order`, challenges and their validation in `acme_challenge`).
//!
//! Every ACME provisioner has a directory at `/acme/{name}/directory` (and under `/2.0`).
//! URLs are built from the request's own Host and path prefix, so that the `url` a client
//! signs is exactly the URL it called. Nonces are self-validating (HMAC with a secret kept in
//! `secrets/acme_nonce_key`, shared by every node that shares `$VOUCH_HOME`) and each is
//! burned once in the database, so any node accepts any node's nonce exactly once. Every
//! answer, error or not, carries a fresh `Replay-Nonce`. Errors are RFC 7807 problem
//! documents with `urn:ietf:params:acme:error:*` types. Finalization, download and revokeCert
//! are in `acme_finalize`. keyChange (§7.3.5) is here.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use vouch_model::{AcmeProvisioner, Provisioner};
use vouch_registration::{
    AcmeError, AcmeJws, KeyRef, NonceKey, Problem, ProblemType, parse_jws, thumbprint,
};
use vouch_storage::NewAcmeAccount;

use super::state::AppState;

/// The ACME routes, to be nested at `/acme` and `/2.0/acme`.
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/{provisioner}/directory", get(directory))
        .route("/{provisioner}/new-nonce", get(new_nonce).head(new_nonce))
        .route("/{provisioner}/new-account", post(new_account))
        .route("/{provisioner}/account/{id}", post(account))
        .route("/{provisioner}/key-change", post(key_change))
        .route(
            "/{provisioner}/account/{id}/orders",
            post(super::acme_order::orders),
        )
        .route(
            "/{provisioner}/new-order",
            post(super::acme_order::new_order),
        )
        .route("/{provisioner}/order/{id}", post(super::acme_order::order))
        .route("/{provisioner}/authz/{id}", post(super::acme_order::authz))
        .route(
            "/{provisioner}/order/{id}/finalize",
            post(super::acme_finalize::finalize),
        )
        .route(
            "/{provisioner}/revoke-cert",
            post(super::acme_finalize::revoke_cert),
        )
        .route(
            "/{provisioner}/certificate/{id}",
            post(super::acme_finalize::certificate),
        )
        .route(
            "/{provisioner}/challenge/{id}",
            post(super::acme_challenge::challenge),
        )
        .route(
            "/{provisioner}/renewal-info/{id}",
            get(super::acme_ari::renewal_info),
        )
}

/// Load the shared nonce secret, creating it (mode 0600) on first use.
pub fn nonce_key(home: &std::path::Path) -> anyhow::Result<NonceKey> {
    let path = home.join("secrets/acme_nonce_key");
    if let Ok(data) = std::fs::read(&path) {
        let bytes: [u8; 32] = data
            .get(..32)
            .and_then(|b| <[u8; 32]>::try_from(b).ok())
            .ok_or_else(|| anyhow::anyhow!("{}: not a 32-byte secret", path.display()))?;
        return Ok(NonceKey::from_bytes(&bytes));
    }
    let (key, secret) = NonceKey::generate().map_err(|e| anyhow::anyhow!("{e}"))?;
    crate::files::write_all_or_nothing(
        &[crate::files::Output {
            path: &path,
            data: secret.as_ref(),
            mode: crate::files::SECRET_MODE,
        }],
        false,
    )?;
    Ok(key)
}

/// The directory URL prefix of this request (`https://host/acme/name`).
fn base_url(headers: &HeaderMap, uri: &Uri, provisioner: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    let prefix = if uri.path().starts_with("/2.0/") {
        "/2.0/acme"
    } else {
        "/acme"
    };
    format!("https://{host}{prefix}/{provisioner}")
}

/// The directory prefix and the URL the client must have signed, for a POST.
pub(super) fn urls(headers: &HeaderMap, uri: &Uri, provisioner: &str) -> (String, String) {
    (
        base_url(headers, uri, provisioner),
        request_url(headers, uri),
    )
}

/// The answer of a POST handler, or its problem document, with the common headers.
pub(super) fn respond(state: &AppState, base: &str, r: Result<Response, AcmeError>) -> Response {
    match r {
        Ok(r) => with_nonce(state, base, r),
        Err(e) => problem(state, base, &e),
    }
}

fn request_url(headers: &HeaderMap, uri: &Uri) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost");
    format!("https://{host}{}", uri.path())
}

pub(super) fn acme_provisioner(state: &AppState, name: &str) -> Result<AcmeProvisioner, AcmeError> {
    match state.authority().provisioner(name) {
        Some(Provisioner::Acme(p)) => Ok(p.clone()),
        _ => Err(AcmeError::new(
            ProblemType::Malformed,
            format!("no ACME provisioner '{name}'"),
        )),
    }
}

/// Common headers: a fresh nonce, the directory link, no caching.
fn with_nonce(state: &AppState, base: &str, mut resp: Response) -> Response {
    let h = resp.headers_mut();
    if let Ok(n) = state.acme_nonces.issue(state.clock.now())
        && let Ok(v) = HeaderValue::from_str(&n)
    {
        h.insert("replay-nonce", v);
    }
    if let Ok(v) = HeaderValue::from_str(&format!("<{base}/directory>;rel=\"index\"")) {
        h.append(header::LINK, v);
    }
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

fn problem(state: &AppState, base: &str, e: &AcmeError) -> Response {
    let p = Problem::from(e);
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::BAD_REQUEST);
    let body = serde_json::to_vec(&p).unwrap_or_default();
    let resp = (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body,
    )
        .into_response();
    with_nonce(state, base, resp)
}

async fn directory(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let base = base_url(&headers, &uri, &name);
    let p = match acme_provisioner(&state, &name) {
        Ok(p) => p,
        Err(e) => {
            let mut r = problem(&state, &base, &e);
            *r.status_mut() = StatusCode::NOT_FOUND;
            return r;
        }
    };
    let mut meta = json!({"externalAccountRequired": p.require_eab});
    if let Some(t) = &p.terms_of_service {
        meta["termsOfService"] = json!(t);
    }
    if let Some(w) = &p.website {
        meta["website"] = json!(w);
    }
    if !p.caa_identities.is_empty() {
        meta["caaIdentities"] = json!(p.caa_identities);
    }
    axum::Json(json!({
        "newNonce": format!("{base}/new-nonce"),
        "newAccount": format!("{base}/new-account"),
        "newOrder": format!("{base}/new-order"),
        "revokeCert": format!("{base}/revoke-cert"),
        "keyChange": format!("{base}/key-change"),
        "renewalInfo": format!("{base}/renewal-info"),
        "meta": meta,
    }))
    .into_response()
}

async fn new_nonce(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    method: Method,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let base = base_url(&headers, &uri, &name);
    if let Err(e) = acme_provisioner(&state, &name) {
        return problem(&state, &base, &e);
    }
    // RFC 8555 §7.2: HEAD answers 200, GET 204.
    let status = if method == Method::HEAD {
        StatusCode::OK
    } else {
        StatusCode::NO_CONTENT
    };
    with_nonce(&state, &base, status.into_response())
}

/// Parse a POST, check its url and burn its nonce.
pub(super) async fn authenticate_request(
    state: &AppState,
    body: &[u8],
    url: &str,
) -> Result<AcmeJws, AcmeError> {
    let jws = parse_jws(body)?;
    jws.check_url(url)?;
    let nonce = jws
        .nonce()
        .ok_or_else(|| AcmeError::bad_nonce("the request has no nonce"))?;
    let id = state.acme_nonces.check(
        nonce,
        state.clock.now(),
        vouch_registration::DEFAULT_NONCE_MAX_AGE,
    )?;
    match state
        .store
        .use_acme_nonce(id.as_str(), id.expires_at())
        .await
    {
        Ok(true) => Ok(jws),
        Ok(false) => Err(AcmeError::bad_nonce("the nonce was used already")),
        Err(e) => {
            tracing::error!(error = %e, "recording an ACME nonce failed");
            Err(AcmeError::new(
                ProblemType::ServerInternal,
                "internal error",
            ))
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewAccountRequest {
    #[serde(default)]
    contact: Vec<String>,
    #[serde(default)]
    terms_of_service_agreed: Option<bool>,
    #[serde(default)]
    only_return_existing: bool,
    #[serde(default)]
    external_account_binding: Option<serde_json::Value>,
}

fn account_json(base: &str, a: &vouch_storage::AcmeAccount) -> serde_json::Value {
    json!({
        "status": a.status.as_str(),
        "contact": a.contact,
        "orders": format!("{base}/account/{}/orders", a.id),
    })
}

pub(super) fn internal(e: impl std::fmt::Display) -> AcmeError {
    tracing::error!(error = %e, "ACME storage error");
    AcmeError::new(ProblemType::ServerInternal, "internal error")
}

pub(super) fn random_id() -> Result<String, AcmeError> {
    use aws_lc_rs::rand::SecureRandom;
    let mut b = [0u8; 16];
    aws_lc_rs::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| {
            AcmeError::new(
                ProblemType::ServerInternal,
                "random number generator failed",
            )
        })?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

async fn new_account(
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
        new_account_inner(&state, &name, &base, &url, &body).await,
    )
}

async fn new_account_inner(
    state: &AppState,
    name: &str,
    base: &str,
    url: &str,
    body: &[u8],
) -> Result<Response, AcmeError> {
    let p = acme_provisioner(state, name)?;
    let jws = authenticate_request(state, body, url).await?;
    if !matches!(jws.key_ref(), KeyRef::Jwk(_)) {
        return Err(AcmeError::malformed(
            "newAccount must be signed with a jwk, not a kid",
        ));
    }
    let jwk = jws.verify_embedded()?.clone();
    let req: NewAccountRequest = if jws.is_post_as_get() {
        NewAccountRequest::default()
    } else {
        jws.payload_json()?
    };
    for c in &req.contact {
        if !c.starts_with("mailto:") {
            return Err(AcmeError::new(
                ProblemType::Malformed,
                format!("unsupported contact '{c}' (use mailto:)"),
            ));
        }
    }
    let thumb = thumbprint(&jwk).map_err(|e| AcmeError::malformed(e.to_string()))?;
    if let Some(existing) = state
        .store
        .find_acme_account_by_key(name, &thumb)
        .await
        .map_err(internal)?
    {
        let location = format!("{base}/account/{}", existing.id);
        return Ok((
            StatusCode::OK,
            [(header::LOCATION, location)],
            axum::Json(account_json(base, &existing)),
        )
            .into_response());
    }
    if req.only_return_existing {
        return Err(AcmeError::new(
            ProblemType::AccountDoesNotExist,
            "no account exists with this key",
        ));
    }
    let _ = req.terms_of_service_agreed;
    let eab_kid = match (&req.external_account_binding, p.require_eab) {
        (None, true) => {
            return Err(AcmeError::new(
                ProblemType::ExternalAccountRequired,
                "this provisioner requires an external account binding",
            ));
        }
        (None, false) => None,
        (Some(eab), _) => {
            let keys = state.store.list_eab_keys(name).await.map_err(internal)?;
            let kid = vouch_registration::verify_eab(eab, &jwk, url, |kid| {
                keys.iter()
                    .find(|k| k.kid == kid && k.bound_account.is_none())
                    .map(|k| k.hmac_key.clone())
            })?;
            Some(kid)
        }
    };
    let account = state
        .store
        .create_acme_account(&NewAcmeAccount {
            id: random_id()?,
            provisioner: name.to_owned(),
            key_thumbprint: thumb,
            jwk: serde_json::to_string(&jwk).map_err(internal)?,
            contact: req.contact,
            eab_kid,
        })
        .await
        .map_err(|e| match e.kind() {
            vouch_model::ErrorKind::Conflict => AcmeError::new(
                ProblemType::Unauthorized,
                "the external account binding key is already used",
            ),
            _ => internal(e),
        })?;
    let location = format!("{base}/account/{}", account.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(account_json(base, &account)),
    )
        .into_response())
}

/// `POST /account/{id}`: POST-as-GET reads the account; a payload may update `contact` or
/// deactivate it (`{"status": "deactivated"}`).
async fn account(
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
        account_inner(&state, &name, &base, &id, &url, &body).await,
    )
}

/// Authenticate a POST signed with an account's `kid` to an ACME provisioner: url, nonce,
/// signature by the account's key, and the account valid and of this provisioner.
pub(super) async fn authenticate_account(
    state: &AppState,
    name: &str,
    base: &str,
    url: &str,
    body: &[u8],
) -> Result<(AcmeJws, vouch_storage::AcmeAccount), AcmeError> {
    acme_provisioner(state, name)?;
    let jws = authenticate_request(state, body, url).await?;
    let acct = verify_account(state, name, base, &jws).await?;
    Ok((jws, acct))
}

/// The valid account of this provisioner whose `kid` signed `jws`, the signature checked.
pub(super) async fn verify_account(
    state: &AppState,
    name: &str,
    base: &str,
    jws: &AcmeJws,
) -> Result<vouch_storage::AcmeAccount, AcmeError> {
    let KeyRef::Kid(kid) = jws.key_ref() else {
        return Err(AcmeError::malformed(
            "this request must be signed with the account's kid",
        ));
    };
    let id = kid
        .strip_prefix(&format!("{base}/account/"))
        .filter(|id| !id.is_empty() && !id.contains('/'))
        .ok_or_else(|| AcmeError::new(ProblemType::AccountDoesNotExist, "unknown kid"))?;
    let acct = state
        .store
        .get_acme_account(id)
        .await
        .map_err(|e| match e.kind() {
            vouch_model::ErrorKind::Malformed => {
                AcmeError::new(ProblemType::AccountDoesNotExist, "no such account")
            }
            _ => internal(e),
        })?
        .filter(|a| a.provisioner == name)
        .ok_or_else(|| AcmeError::new(ProblemType::AccountDoesNotExist, "no such account"))?;
    let key: vouch_model::Jwk = serde_json::from_str(&acct.jwk).map_err(internal)?;
    jws.verify(&key)?;
    if acct.status != vouch_storage::AcmeAccountStatus::Valid {
        return Err(AcmeError::unauthorized("the account is not valid"));
    }
    Ok(acct)
}

#[derive(Debug, Default, Deserialize)]
struct AccountUpdate {
    #[serde(default)]
    contact: Option<Vec<String>>,
    #[serde(default)]
    status: Option<String>,
}

async fn account_inner(
    state: &AppState,
    name: &str,
    base: &str,
    id: &str,
    url: &str,
    body: &[u8],
) -> Result<Response, AcmeError> {
    acme_provisioner(state, name)?;
    let (jws, acct) = authenticate_account(state, name, base, url, body).await?;
    if acct.id != id {
        return Err(AcmeError::unauthorized("the kid is not this account"));
    }
    if !jws.is_post_as_get() {
        let update: AccountUpdate = jws.payload_json()?;
        if let Some(contact) = &update.contact {
            state
                .store
                .update_acme_account_contact(id, contact)
                .await
                .map_err(internal)?;
        }
        if let Some(status) = update.status.as_deref() {
            if status != "deactivated" {
                return Err(AcmeError::malformed(
                    "an account can only be set to deactivated",
                ));
            }
            state
                .store
                .set_acme_account_status(id, vouch_storage::AcmeAccountStatus::Deactivated)
                .await
                .map_err(internal)?;
        }
    }
    let acct = state
        .store
        .get_acme_account(id)
        .await
        .map_err(internal)?
        .unwrap_or(acct);
    Ok(axum::Json(account_json(base, &acct)).into_response())
}

/// `POST /key-change`: roll the account over to the key of the inner JWS.
async fn key_change(
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
        key_change_inner(&state, &name, &base, &url, &body).await,
    )
}

async fn key_change_inner(
    state: &AppState,
    name: &str,
    base: &str,
    url: &str,
    body: &[u8],
) -> Result<Response, AcmeError> {
    acme_provisioner(state, name)?;
    let (jws, acct) = authenticate_account(state, name, base, url, body).await?;
    let current: vouch_model::Jwk = serde_json::from_str(&acct.jwk).map_err(internal)?;
    let new_key = vouch_registration::verify_key_change(&jws, &current)?;
    let thumb = thumbprint(&new_key).map_err(|e| AcmeError::malformed(e.to_string()))?;
    state
        .store
        .change_acme_account_key(
            &acct.id,
            &thumb,
            &serde_json::to_string(&new_key).map_err(internal)?,
        )
        .await
        .map_err(|e| match e.kind() {
            vouch_model::ErrorKind::Conflict => {
                AcmeError::malformed("another account already uses the new key")
            }
            _ => internal(e),
        })?;
    let acct = state
        .store
        .get_acme_account(&acct.id)
        .await
        .map_err(internal)?
        .unwrap_or(acct);
    Ok(axum::Json(account_json(base, &acct)).into_response())
}
