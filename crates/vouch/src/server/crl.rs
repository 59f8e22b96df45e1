//! The CRL as the CA serves it: built by the validation crate, signed by the issuing crate's
//! status signer, kept in memory, rebuilt at two thirds of its validity and shortly after
//! every active revocation (revocations arriving together are one rebuild), and served at
//! `/crl` and `/1.0/crl` (DER, or PEM with `?pem`) over HTTPS and on the optional plain-HTTP
//! listener, with HTTP caching headers. A failed rebuild keeps the last good CRL.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use time::OffsetDateTime;
use vouch_issuing::StatusSigner;
use vouch_model::{CrlContent, CrlEntry};
use vouch_validation::{CrlSigner, CrlSnapshot, build_crl, serial_from_hex};

use super::error::ApiError;
use super::state::AppState;

/// How long after a revocation the CRL is rebuilt (revocations within it share a rebuild).
/// A revocation is therefore in the CRL within about this delay plus the build time.
pub const REBUILD_DELAY: Duration = Duration::from_secs(1);
/// How long to wait before retrying a failed rebuild.
const RETRY: Duration = Duration::from_secs(30);

/// A CRL ready to serve.
#[derive(Debug)]
pub struct ServedCrl {
    /// The signed CRL.
    pub snapshot: CrlSnapshot,
    /// Its PEM form.
    pub pem: String,
    /// thisUpdate as an HTTP date.
    pub last_modified: String,
}

struct Signer(StatusSigner);

impl CrlSigner for Signer {
    fn sign_crl(&self, content: &CrlContent) -> Result<Vec<u8>, String> {
        self.0.sign_crl(content).map_err(|e| e.to_string())
    }
}

fn http_date(t: OffsetDateTime) -> String {
    let fmt = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_default()
}

/// Build, sign and install a new CRL.
pub async fn rebuild(state: &AppState) -> anyhow::Result<Arc<ServedCrl>> {
    let now = state.clock.now();
    let records = state.store.crl_entries(now).await?;
    let entries: Vec<CrlEntry> = records
        .into_iter()
        .filter_map(|r| {
            Some(CrlEntry {
                serial: serial_from_hex(&r.serial)?,
                revoked_at: r.revoked_at,
                reason_code: r.reason_code,
            })
        })
        .collect();
    let issuer = state.pki.issuer.certificate().subject().to_owned();
    let number = state.store.next_crl_number(&issuer).await?;
    let lifetime = state
        .authority()
        .config
        .crl
        .as_ref()
        .map_or(time::Duration::hours(24), |c| c.lifetime());
    let signer = Signer(state.pki.issuer.status_signer());
    let snapshot =
        build_crl(entries, number, now, lifetime, &signer).map_err(|e| anyhow::anyhow!(e))?;
    let served = Arc::new(ServedCrl {
        pem: vouch_issuing::to_pem("X509 CRL", &snapshot.der),
        last_modified: http_date(snapshot.this_update),
        snapshot,
    });
    if let Ok(mut slot) = state.crl.write() {
        *slot = Some(served.clone());
    }
    tracing::info!(number, entries = served.snapshot.entries, "CRL rebuilt");
    Ok(served)
}

/// Keep the CRL fresh: rebuild before it goes stale and soon after revocations.
pub async fn keep_fresh(state: Arc<AppState>) {
    // The server built the first CRL before serving; start from it (or retry soon without).
    let current = state.crl.read().ok().and_then(|c| c.clone());
    let mut next = current.map_or_else(|| state.clock.now() + RETRY, |c| c.snapshot.refresh_at());
    loop {
        let wait = (next - state.clock.now()).max(time::Duration::ZERO);
        let wait = Duration::from_millis(u64::try_from(wait.whole_milliseconds()).unwrap_or(0));
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = state.crl_changed.notified() => tokio::time::sleep(REBUILD_DELAY).await,
        }
        next = match rebuild(&state).await {
            Ok(crl) => crl.snapshot.refresh_at(),
            Err(e) => {
                tracing::error!(error = %e, "CRL rebuild failed; the previous CRL keeps being served");
                state.clock.now() + RETRY
            }
        };
    }
}

/// `GET /crl`: DER (`application/pkix-crl`), or PEM with `?pem`; conditional on the ETag.
pub async fn get_crl(
    State(state): State<Arc<AppState>>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let current = state.crl.read().ok().and_then(|c| c.clone());
    let Some(crl) = current else {
        return ApiError::new(
            vouch_model::ErrorKind::Unavailable,
            "no CRL has been built yet",
        )
        .into_response();
    };
    let pem = query.is_some_and(|q| q.split('&').any(|p| p == "pem" || p.starts_with("pem=")));
    let max_age = (crl.snapshot.next_update - state.clock.now())
        .whole_seconds()
        .max(0);
    let mut h = HeaderMap::new();
    let mut set = |k: header::HeaderName, v: String| {
        if let Ok(v) = HeaderValue::from_str(&v) {
            h.insert(k, v);
        }
    };
    set(header::CACHE_CONTROL, format!("public, max-age={max_age}"));
    set(header::ETAG, crl.snapshot.etag.clone());
    set(header::LAST_MODIFIED, crl.last_modified.clone());
    set(header::EXPIRES, http_date(crl.snapshot.next_update));
    let matches = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|t| t.trim() == crl.snapshot.etag || t.trim() == "*")
        });
    if matches {
        return (StatusCode::NOT_MODIFIED, h).into_response();
    }
    if pem {
        set(header::CONTENT_TYPE, "application/x-pem-file".into());
        (h, crl.pem.clone()).into_response()
    } else {
        set(header::CONTENT_TYPE, "application/pkix-crl".into());
        (h, crl.snapshot.der.clone()).into_response()
    }
}

/// The issuing certificate, DER (`application/pkix-cert`): the caIssuers URL of leaves.
pub async fn intermediate_der(State(state): State<Arc<AppState>>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/pkix-cert")],
        state.pki.issuer.certificate().der().to_vec(),
    )
        .into_response()
}

/// The routes of the plain-HTTP listener: the CRL, OCSP and the issuing certificate.
pub fn insecure_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/crl", get(get_crl))
        .route("/1.0/crl", get(get_crl))
        .route("/ocsp", axum::routing::post(super::ocsp::post))
        .route("/ocsp/{*request}", get(super::ocsp::get))
        .route("/intermediate.crt", get(intermediate_der))
        .fallback(|| async { ApiError::not_found("no such route") })
        .with_state(state)
}
