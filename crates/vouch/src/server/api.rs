//! The step-ca compatible REST API, mounted at `/` and at `/1.0` (same paths, JSON field names
//! and status codes as step-ca's `api/` package).

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;

use super::error::ApiError;
use super::state::AppState;
use super::{crl, lifecycle, ocsp, sign};
use crate::cmd::sha256_hex;

/// Largest request body accepted (a CSR, a token and template data fit easily).
pub const MAX_BODY: usize = 256 * 1024;

/// The API routes (without the `/1.0` prefix).
pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/health", get(health))
        .route("/version", get(version))
        .route("/roots", get(roots))
        .route("/roots.pem", get(roots_pem))
        .route("/root/{sha}", get(root_by_sha))
        .route("/intermediates", get(intermediates))
        .route("/intermediates.pem", get(intermediates_pem))
        .route("/federation", get(federation))
        .route("/provisioners", get(provisioners))
        .route("/provisioners/{kid}/encrypted-key", get(encrypted_key))
        .route("/sign", post(sign::sign))
        .route("/renew", post(lifecycle::renew))
        .route("/rekey", post(lifecycle::rekey))
        .route("/revoke", post(lifecycle::revoke))
        .route("/crl", get(crl::get_crl))
        .route("/ocsp", post(ocsp::post))
        .route("/ocsp/{*request}", get(ocsp::get))
}

/// The whole router: routes at `/` and `/1.0`, JSON 404s.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .merge(routes())
        .nest("/1.0", routes())
        .nest("/acme", super::acme::routes())
        .nest("/2.0/acme", super::acme::routes())
        .fallback(|| async { ApiError::not_found("no such route") })
        .with_state(state)
}

fn pem(der: &[u8]) -> String {
    vouch_issuing::to_pem("CERTIFICATE", der)
}

async fn health() -> Response {
    axum::Json(json!({"status": "ok"})).into_response()
}

async fn version() -> Response {
    axum::Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "requireClientAuthentication": false,
    }))
    .into_response()
}

fn pem_list(ders: &[Vec<u8>]) -> Vec<String> {
    ders.iter().map(|d| pem(d)).collect()
}

// step-ca answers the JSON forms of /roots, /intermediates and /federation with 201.
async fn roots(State(s): State<Arc<AppState>>) -> Response {
    (
        StatusCode::CREATED,
        axum::Json(json!({"crts": pem_list(&s.pki.roots)})),
    )
        .into_response()
}

async fn federation(State(s): State<Arc<AppState>>) -> Response {
    (
        StatusCode::CREATED,
        axum::Json(json!({"crts": pem_list(&s.pki.roots)})),
    )
        .into_response()
}

async fn intermediates(State(s): State<Arc<AppState>>) -> Response {
    (
        StatusCode::CREATED,
        axum::Json(json!({"crts": pem_list(&s.pki.intermediates())})),
    )
        .into_response()
}

fn pem_response(ders: &[Vec<u8>]) -> Response {
    (
        [(header::CONTENT_TYPE, "application/x-pem-file")],
        pem_list(ders).concat(),
    )
        .into_response()
}

async fn roots_pem(State(s): State<Arc<AppState>>) -> Response {
    pem_response(&s.pki.roots)
}

async fn intermediates_pem(State(s): State<Arc<AppState>>) -> Response {
    pem_response(&s.pki.intermediates())
}

async fn root_by_sha(
    State(s): State<Arc<AppState>>,
    Path(sha): Path<String>,
) -> Result<Response, ApiError> {
    let want: String = sha
        .chars()
        .filter(|c| *c != '-' && *c != ':')
        .collect::<String>()
        .to_ascii_lowercase();
    s.pki
        .roots
        .iter()
        .find(|r| sha256_hex(r) == want)
        .map(|r| axum::Json(json!({"ca": pem(r)})).into_response())
        .ok_or_else(|| ApiError::not_found(format!("no root with fingerprint {want}")))
}

#[derive(Debug, Deserialize)]
struct Page {
    cursor: Option<String>,
    limit: Option<String>,
}

/// Default and largest page size of `/provisioners`.
const PAGE_DEFAULT: usize = 20;
const PAGE_MAX: usize = 100;

async fn provisioners(
    State(s): State<Arc<AppState>>,
    Query(page): Query<Page>,
) -> Result<Response, ApiError> {
    let authority = s.authority();
    let all = &authority.config.authority.provisioners;
    let start = match page.cursor.as_deref().filter(|c| !c.is_empty()) {
        None => 0,
        Some(c) => c
            .parse::<usize>()
            .map_err(|_| ApiError::malformed("invalid cursor"))?,
    };
    let limit = match page.limit.as_deref().filter(|c| !c.is_empty()) {
        None => PAGE_DEFAULT,
        Some(l) => l
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0)
            .ok_or_else(|| ApiError::malformed("invalid limit"))?
            .min(PAGE_MAX),
    };
    let items: Vec<serde_json::Value> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(serde_json::to_value)
        .collect::<Result<_, _>>()
        .map_err(ApiError::internal)?;
    let next = start + items.len();
    let next_cursor = if next < all.len() {
        next.to_string()
    } else {
        String::new()
    };
    Ok(axum::Json(json!({"provisioners": items, "nextCursor": next_cursor})).into_response())
}

async fn encrypted_key(
    State(s): State<Arc<AppState>>,
    Path(kid): Path<String>,
) -> Result<Response, ApiError> {
    let authority = s.authority();
    for p in &authority.config.authority.provisioners {
        let Some(jwk) = p.as_jwk() else { continue };
        if jwk.key.kid.as_deref() == Some(kid.as_str()) {
            return match &jwk.encrypted_key {
                Some(key) => Ok(axum::Json(json!({"key": key})).into_response()),
                None => Err(ApiError::not_found(format!(
                    "provisioner with kid {kid} has no encrypted key"
                ))),
            };
        }
    }
    Err(ApiError::not_found(format!(
        "no provisioner with kid {kid}"
    )))
}
