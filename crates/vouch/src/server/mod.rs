//! The online CA: `vouch serve`.
//!
//! Design: our own accept loop over a tokio `TcpListener` (the caller binds it, so tests pass
//! `127.0.0.1:0`), a TLS handshake with a timeout so a slow or silent client cannot hold a
//! task forever, HTTP/1.1 through hyper, and an axum router. The client's verified certificate
//! chain, when it sent one, rides on every request as a [`PeerChain`] extension; routes that
//! need mTLS check it. Shutdown stops accepting, lets in-flight requests finish (bounded) and
//! closes the store. Reload re-reads `ca.toml`; a bad file leaves the old one serving.

pub mod acme;
pub mod acme_ari;
pub mod acme_challenge;
mod acme_finalize;
mod acme_order;
pub mod acme_validate;
mod api;
pub mod crl;
mod error;
mod lifecycle;
pub mod metrics;
pub mod ocsp;
mod sign;
mod state;
mod tls;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::extract::Request;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tower::ServiceExt;
use vouch_model::{Clock, SystemClock};
use zeroize::Zeroizing;

pub use error::ApiError;
pub use lifecycle::normalize_serial;
pub use state::{AppState, Authority, Pki, open_store};

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How long in-flight requests may run after shutdown starts.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// The client's certificate chain (leaf first, DER), verified against the roots by rustls.
#[derive(Debug, Clone, Default)]
pub struct PeerChain(pub Option<Arc<Vec<Vec<u8>>>>);

/// The request id, on every request and response (`X-Request-Id`).
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// What `start` needs.
#[derive(Debug)]
pub struct ServerOptions {
    /// `$VOUCH_HOME`.
    pub home: PathBuf,
    /// The intermediate key's password.
    pub password: Zeroizing<String>,
    /// Serve Prometheus metrics here (plain HTTP), when given.
    pub metrics: Option<TcpListener>,
    /// Serve the CRL here over plain HTTP (`insecureAddress`), when given.
    pub insecure: Option<TcpListener>,
    /// How ACME challenges are validated.
    pub acme: acme_validate::ValidationOptions,
}

/// A running server.
#[derive(Debug)]
pub struct RunningServer {
    /// The address it listens on.
    pub local_addr: SocketAddr,
    /// Shared state (for reload).
    pub state: Arc<AppState>,
    shutdown: watch::Sender<bool>,
    join: JoinHandle<()>,
    renewer: JoinHandle<()>,
    pruner: JoinHandle<()>,
    crl_task: JoinHandle<()>,
    ocsp_task: JoinHandle<()>,
    insecure_task: Option<JoinHandle<()>>,
    metrics_task: Option<JoinHandle<()>>,
}

impl RunningServer {
    /// Re-read the configuration (what SIGHUP does); the old one stays on error.
    pub fn reload(&self) -> Result<()> {
        self.state.reload()
    }

    /// Stop accepting, finish in-flight requests (at most [`SHUTDOWN_GRACE`]), close the store.
    pub async fn shutdown(self) -> Result<()> {
        let _ = self.shutdown.send(true);
        self.renewer.abort();
        self.pruner.abort();
        self.crl_task.abort();
        self.ocsp_task.abort();
        if let Some(t) = &self.insecure_task {
            t.abort();
        }
        if let Some(m) = &self.metrics_task {
            m.abort();
        }
        self.join.await.context("server task")?;
        self.state.store.close().await;
        Ok(())
    }
}

/// Load the PKI and configuration from `opts.home` and serve on `listener`.
pub async fn start(listener: TcpListener, opts: ServerOptions) -> Result<RunningServer> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let authority = Authority::load(&opts.home)?;
    let pki = Pki::load(&opts.home, &authority.config, opts.password.as_bytes())?;
    let store = state::open_store(&opts.home, &authority.config).await?;
    let now = clock.now();
    let resolver = Arc::new(tls::CertResolver::new(
        &pki,
        &authority.config.dns_names,
        now,
    )?);
    let tls_config = Arc::new(tls::server_config(&pki, resolver.clone())?);
    let acme_nonces = acme::nonce_key(&opts.home)?;
    let acme_validator = acme_validate::Validator::new(opts.acme)?;
    let state = Arc::new(AppState {
        home: opts.home,
        pki,
        store,
        authority: RwLock::new(Arc::new(authority)),
        tls: resolver,
        clock,
        started: now,
        crl: RwLock::new(None),
        crl_changed: tokio::sync::Notify::new(),
        ocsp: RwLock::new(None),
        ocsp_cache: vouch_validation::ResponseCache::default(),
        ocsp_generation: std::sync::atomic::AtomicU64::new(0),
        acme_nonces,
        acme_validator,
    });
    if let Err(e) = ocsp::rotate(&state).await {
        tracing::error!(error = %e, "issuing the first OCSP responder certificate failed");
    }
    // The first CRL before the first request; on failure the background task retries.
    if let Err(e) = crl::rebuild(&state).await {
        tracing::error!(error = %e, "building the first CRL failed");
    }
    let local_addr = listener.local_addr().context("listener address")?;
    let (tx, rx) = watch::channel(false);
    let router = api::router(state.clone())
        .layer(axum::extract::DefaultBodyLimit::max(api::MAX_BODY))
        .layer(axum::middleware::from_fn(reject_oversized))
        .layer(axum::middleware::from_fn(request_log));
    let join = tokio::spawn(accept_loop(
        listener,
        tokio_rustls::TlsAcceptor::from(tls_config),
        router,
        rx,
    ));
    let renewer = tokio::spawn(renew_server_cert(state.clone()));
    let pruner = tokio::spawn(prune_used_tokens(state.clone()));
    let crl_task = tokio::spawn(crl::keep_fresh(state.clone()));
    let ocsp_task = tokio::spawn(ocsp::keep_fresh(state.clone()));
    let insecure_task = match opts.insecure {
        Some(l) => {
            tracing::info!(address = %l.local_addr().context("insecure address")?, "serving the CRL over plain HTTP");
            let app = crl::insecure_router(state.clone());
            Some(tokio::spawn(async move {
                if let Err(e) = axum::serve(l, app).await {
                    tracing::error!(error = %e, "plain-HTTP listener stopped");
                }
            }))
        }
        None => None,
    };
    let metrics_task = match opts.metrics {
        Some(l) => {
            metrics::install()?;
            tracing::info!(address = %l.local_addr().context("metrics address")?, "serving metrics");
            Some(tokio::spawn(async move {
                if let Err(e) = metrics::serve(l).await {
                    tracing::error!(error = %e, "metrics listener stopped");
                }
            }))
        }
        None => None,
    };
    tracing::info!(address = %local_addr, "serving");
    Ok(RunningServer {
        local_addr,
        state,
        shutdown: tx,
        join,
        renewer,
        pruner,
        crl_task,
        ocsp_task,
        insecure_task,
        metrics_task,
    })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    router: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (tcp, _peer) = match accepted {
                    Ok(a) => a,
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let acceptor = acceptor.clone();
                let router = router.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
                        Ok(Ok(tls)) => tls,
                        Ok(Err(e)) => {
                            tracing::debug!(error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!("TLS handshake timed out");
                            return;
                        }
                    };
                    let chain = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .map(|certs| Arc::new(certs.iter().map(|c| c.to_vec()).collect::<Vec<_>>()));
                    let peer = PeerChain(chain);
                    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
                        req.extensions_mut().insert(peer.clone());
                        router.clone().oneshot(req)
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(30))
                        .serve_connection(TokioIo::new(tls), service);
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                });
            }
            _ = shutdown.changed() => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within the grace period");
    }
}

/// Replace the CA's own TLS certificate at two thirds of its lifetime; retry every minute on
/// failure.
async fn renew_server_cert(state: Arc<AppState>) {
    loop {
        let wait = (state.tls.renew_at() - state.clock.now()).max(time::Duration::ZERO);
        tokio::time::sleep(Duration::from_secs(
            u64::try_from(wait.whole_seconds()).unwrap_or(0),
        ))
        .await;
        let names = state.authority().config.dns_names.clone();
        match state.tls.renew(&state.pki, &names, state.clock.now()) {
            Ok(()) => tracing::info!("renewed the server certificate"),
            Err(e) => {
                tracing::error!(error = %e, "server certificate renewal failed");
                tokio::time::sleep(Duration::from_secs(60)).await;
            }
        }
    }
}

/// Every ten minutes: forget used token ids once their tokens have expired (an expired token
/// is refused anyway), and prune expired ACME state.
async fn prune_used_tokens(state: Arc<AppState>) {
    loop {
        tokio::time::sleep(Duration::from_secs(600)).await;
        match state.store.prune_used_tokens(state.clock.now()).await {
            Ok(n) if n > 0 => tracing::debug!(pruned = n, "pruned used token ids"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning used token ids failed"),
        }
        // Used ACME nonces past their lifetime, and orders and authorizations that expired
        // over a day ago without becoming valid.
        match state.store.prune_acme(state.clock.now()).await {
            Ok(n) if n > 0 => tracing::debug!(pruned = n, "pruned ACME state"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "pruning ACME state failed"),
        }
    }
}

/// Refuse a body announced larger than the limit before reading any of it (a client that
/// sent `Expect: 100-continue` then never uploads it); bodies without a length are cut at the
/// limit by `DefaultBodyLimit`.
async fn reject_oversized(req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > api::MAX_BODY as u64) {
        use axum::response::IntoResponse;
        return ApiError::malformed(format!(
            "the request body is larger than {} bytes",
            api::MAX_BODY
        ))
        .with_status(axum::http::StatusCode::PAYLOAD_TOO_LARGE)
        .into_response();
    }
    next.run(req).await
}

fn new_request_id() -> String {
    use aws_lc_rs::rand::SecureRandom;
    let mut b = [0u8; 12];
    let _ = aws_lc_rs::rand::SystemRandom::new().fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Give every request an id (the client's `X-Request-Id` when it is sane), echo it on the
/// response, and log one line per request: method, path (never the query or body, which may
/// hold tokens), status, latency and the error type.
async fn request_log(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map_or_else(new_request_id, str::to_owned);
    req.extensions_mut().insert(RequestId(id.clone()));
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let started = Instant::now();
    let mut resp = next.run(req).await;
    let kind = resp
        .extensions()
        .get::<vouch_model::ErrorKind>()
        .map(|k| k.as_str());
    metrics::request(
        &route,
        resp.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    if let Some(k) = kind {
        metrics::rejected(k);
    }
    tracing::info!(
        request_id = %id,
        method = %method,
        path = %path,
        status = resp.status().as_u16(),
        latency_ms = started.elapsed().as_secs_f64() * 1000.0,
        error = kind,
        "request"
    );
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}
