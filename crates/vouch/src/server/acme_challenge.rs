//! ACME challenges (RFC 8555 §7.5.1, §8.3): a client POSTs `{}` to a challenge to ask for
//! validation; the challenge moves to `processing` (exactly once, even under concurrent
//! POSTs), the answer comes back at once, and the validation runs in the background with a
//! bound on how many run at the same time. Its outcome is written in one transaction with
//! the authorization's and the orders' new states.
//!
//! http-01 fetches `http://IDENTIFIER:PORT/.well-known/acme-challenge/TOKEN` (port 80 unless
//! `--acme-http-port`), with `--acme-resolve NAME=ADDR` overriding DNS for lab setups, no
//! proxy, a 10 s timeout, at most 10 redirects and at most 8 KiB read; the body, trimmed of
//! surrounding whitespace, must equal `TOKEN.THUMBPRINT` of the account key.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::Semaphore;
use vouch_registration::{AcmeError, Problem, ProblemType, thumbprint};
use vouch_storage::{AcmeAuthorizationStatus, AcmeChallenge, AcmeChallengeStatus};

use super::acme::{authenticate_account, internal, respond, urls};
use super::acme_order::{challenge_json, lookup_error, not_found};
use super::state::AppState;

/// Longest http-01 answer read.
const MAX_ANSWER: usize = 8 * 1024;
/// Time allowed for one validation request.
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(10);

/// How challenges are validated (`vouch serve --acme-*`).
#[derive(Debug, Clone)]
pub struct ValidationOptions {
    /// The port http-01 connects to (80).
    pub http_port: u16,
    /// DNS overrides: a name and the address to use for it.
    pub resolve: Vec<(String, IpAddr)>,
    /// Most validations running at once.
    pub max_concurrent: usize,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions {
            http_port: 80,
            resolve: Vec::new(),
            max_concurrent: 64,
        }
    }
}

/// Runs validations: the options, an HTTP client, and the concurrency bound.
#[derive(Debug)]
pub struct Validator {
    opts: ValidationOptions,
    http: reqwest::Client,
    limit: Arc<Semaphore>,
}

impl Validator {
    /// Build the validator's HTTP client.
    pub fn new(opts: ValidationOptions) -> anyhow::Result<Validator> {
        let mut builder = reqwest::Client::builder()
            .no_proxy()
            .timeout(VALIDATION_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(10))
            .user_agent(concat!(
                "vouch/",
                env!("CARGO_PKG_VERSION"),
                " (ACME validation)"
            ));
        for (name, ip) in &opts.resolve {
            builder = builder.resolve(name, SocketAddr::new(*ip, 0));
        }
        let http = builder
            .build()
            .map_err(|e| anyhow::anyhow!("ACME validation client: {e}"))?;
        let limit = Arc::new(Semaphore::new(opts.max_concurrent.max(1)));
        Ok(Validator { opts, http, limit })
    }

    /// The http-01 check; `Err` holds the problem to record.
    async fn http01(&self, identifier: &str, token: &str, key_auth: &str) -> Result<(), AcmeError> {
        let host = match identifier.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => format!("[{v6}]"),
            _ => identifier.to_owned(),
        };
        let url = format!(
            "http://{host}:{}/.well-known/acme-challenge/{token}",
            self.opts.http_port
        );
        let mut resp = self.http.get(&url).send().await.map_err(|e| {
            AcmeError::new(
                ProblemType::Connection,
                format!("fetching {url}: {}", error_chain(&e)),
            )
        })?;
        if !resp.status().is_success() {
            return Err(AcmeError::new(
                ProblemType::IncorrectResponse,
                format!("{url} answered HTTP {}", resp.status().as_u16()),
            ));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| {
            AcmeError::new(
                ProblemType::Connection,
                format!("reading {url}: {}", error_chain(&e)),
            )
        })? {
            if body.len() + chunk.len() > MAX_ANSWER {
                return Err(AcmeError::new(
                    ProblemType::IncorrectResponse,
                    format!("{url} answered more than {MAX_ANSWER} bytes"),
                ));
            }
            body.extend_from_slice(&chunk);
        }
        let answer = String::from_utf8_lossy(&body);
        if answer.trim() != key_auth {
            return Err(AcmeError::new(
                ProblemType::IncorrectResponse,
                format!("{url} did not answer the key authorization"),
            ));
        }
        Ok(())
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

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
        let mut r = axum::Json(challenge_json(base, ch)).into_response();
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
        tokio::spawn(async move {
            let st = task_state;
            let Ok(_permit) = st.acme_validator.limit.clone().acquire_owned().await else {
                return;
            };
            let outcome = match kind {
                vouch_storage::AcmeChallengeType::Http01 => {
                    st.acme_validator
                        .http01(&identifier, &token, &key_auth)
                        .await
                }
                other => Err(AcmeError::malformed(format!(
                    "{other} validation is not supported"
                ))),
            };
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
