//! `vouch ocsp serve`: a shared-nothing OCSP responder fed by CRLs.
//!
//! It holds no database: it answers from the newest CRL it has fetched (a URL polled with
//! ETag/If-Modified-Since, or a file re-read when it changes), after checking that the issuer
//! signed it and that it is not older than the one in use. Many responders can run close to
//! relying parties. A serial the CRL does not list is answered "good", or, when given a list
//! of the issuer's serials (`--issued-serials`), "unknown" unless listed. A failed fetch keeps
//! the last good CRL; `/health` and `/metrics` report it. Responses are signed with
//! `--signer`/`--signer-key` (a delegated OCSP signing certificate, or the issuer itself).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use time::OffsetDateTime;
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};
use vouch_issuing::PrivateKey;
use vouch_validation::{
    CertStatus, CrlIndex, IssuerId, OcspError, OcspRequest, OcspResponseStatus, ResponderIdentity,
    ResponseCache, SingleResponseInput, build_basic_response, error_response, parse_get_path,
    parse_ocsp_request,
};

use super::{load_private_key, read_certificates};
use crate::cli::OcspServeArgs;
use crate::server::ocsp::{KeySigner, ocsp_response};

/// What answers the responder gives for serials the CRL does not list.
#[derive(Debug)]
enum UnlistedPolicy {
    Good,
    /// Good when issued (in this set), unknown otherwise.
    KnownSerials(HashSet<Vec<u8>>),
}

#[derive(Debug)]
struct Responder {
    issuer: IssuerId,
    issuer_der: Vec<u8>,
    identity: ResponderIdentity,
    key: PrivateKey,
    unlisted: UnlistedPolicy,
    crl: RwLock<Option<Arc<CrlIndex>>>,
    last_error: RwLock<Option<String>>,
    last_fetch: RwLock<Option<OffsetDateTime>>,
    cache: ResponseCache,
}

enum Source {
    Url(String),
    File(PathBuf),
}

fn read_serials(path: &Path) -> Result<HashSet<Vec<u8>>> {
    let text = crate::files::read_text(path)?;
    let mut out = HashSet::new();
    for (n, line) in text.lines().enumerate() {
        let l = line.trim().trim_start_matches("0x").replace(':', "");
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let bytes = vouch_validation::serial_from_hex(&l.to_ascii_lowercase())
            .ok_or_else(|| anyhow!("{}:{}: '{line}' is not a hex serial", path.display(), n + 1))?;
        out.insert(bytes);
    }
    Ok(out)
}

pub(super) fn run(args: &OcspServeArgs) -> Result<()> {
    let issuer_der = read_certificates(&args.issuer)?.remove(0);
    let signer_der = read_certificates(&args.signer)?.remove(0);
    let key = load_private_key(
        &args.signer_key,
        args.signer_password_file.as_deref(),
        "--signer-password-file",
    )?;
    vouch_issuing::check_spki_pair(&spki_of(&signer_der)?, &key)
        .map_err(|e| anyhow!("{}: {e}", args.signer_key.display()))?;
    let unlisted = match &args.issued_serials {
        Some(p) => UnlistedPolicy::KnownSerials(read_serials(p)?),
        None => UnlistedPolicy::Good,
    };
    let source = if args.crl.starts_with("http://") || args.crl.starts_with("https://") {
        Source::Url(args.crl.clone())
    } else {
        Source::File(PathBuf::from(&args.crl))
    };
    let interval =
        vouch_model::parse_duration(&args.interval).map_err(|e| anyhow!("--interval: {e}"))?;
    let interval =
        Duration::from_secs(u64::try_from(interval.whole_seconds()).unwrap_or(60).max(1));
    let responder = Arc::new(Responder {
        issuer: IssuerId::from_certificate(&issuer_der)
            .map_err(|e| anyhow!("{}: {e}", args.issuer.display()))?,
        identity: ResponderIdentity::new(signer_der)
            .map_err(|e| anyhow!("{}: {e}", args.signer.display()))?,
        issuer_der,
        key,
        unlisted,
        crl: RwLock::new(None),
        last_error: RwLock::new(None),
        last_fetch: RwLock::new(None),
        cache: ResponseCache::default(),
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let listener = TcpListener::bind(&args.address)
            .await
            .with_context(|| format!("cannot listen on {}", args.address))?;
        let handle = crate::server::metrics::install()?;
        let app = Router::new()
            .route("/", post(post_ocsp))
            .route("/ocsp", post(post_ocsp))
            .route("/ocsp/{*request}", get(get_ocsp))
            .route("/health", get(health))
            .route("/metrics", get(move || async move { handle.render() }))
            .with_state(responder.clone());
        eprintln!(
            "Vouch OCSP responder is serving on http://{}",
            listener.local_addr().context("address")?
        );
        tokio::spawn(poll(responder.clone(), source, interval));
        let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            })
            .await
            .context("OCSP listener")
    })
}

fn spki_of(der: &[u8]) -> Result<Vec<u8>> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, c) = X509Certificate::from_der(der).map_err(|e| anyhow!("bad certificate: {e}"))?;
    Ok(c.public_key().raw.to_vec())
}

/// Fetch the CRL now and then; install it when it is valid and not older.
async fn poll(r: Arc<Responder>, source: Source, interval: Duration) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build();
    let mut etag: Option<String> = None;
    let mut last_modified: Option<String> = None;
    let mut mtime: Option<std::time::SystemTime> = None;
    loop {
        let fetched: Result<Option<Vec<u8>>> = match &source {
            Source::Url(url) => match &http {
                Ok(client) => {
                    let mut req = client.get(url);
                    if let Some(e) = &etag {
                        req = req.header("If-None-Match", e);
                    }
                    if let Some(l) = &last_modified {
                        req = req.header("If-Modified-Since", l);
                    }
                    match req.send().await {
                        Ok(resp) if resp.status() == reqwest::StatusCode::NOT_MODIFIED => Ok(None),
                        Ok(resp) if resp.status().is_success() => {
                            let h = resp.headers();
                            let new_etag = h
                                .get("etag")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned);
                            let new_lm = h
                                .get("last-modified")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned);
                            match resp.bytes().await {
                                Ok(b) => {
                                    etag = new_etag;
                                    last_modified = new_lm;
                                    Ok(Some(b.to_vec()))
                                }
                                Err(e) => Err(anyhow!("reading {url}: {e}")),
                            }
                        }
                        Ok(resp) => Err(anyhow!("{url} answered {}", resp.status())),
                        Err(e) => Err(anyhow!("fetching {url}: {e}")),
                    }
                }
                Err(e) => Err(anyhow!("HTTP client: {e}")),
            },
            Source::File(path) => match std::fs::metadata(path).and_then(|m| m.modified()) {
                Ok(t) if Some(t) == mtime => Ok(None),
                Ok(t) => std::fs::read(path)
                    .map(|d| {
                        mtime = Some(t);
                        Some(d)
                    })
                    .map_err(|e| anyhow!("{}: {e}", path.display())),
                Err(e) => Err(anyhow!("{}: {e}", path.display())),
            },
        };
        let outcome = match fetched {
            Ok(None) => Ok(()),
            Ok(Some(data)) => install(&r, &data),
            Err(e) => Err(e),
        };
        if let Ok(mut t) = r.last_fetch.write() {
            *t = Some(OffsetDateTime::now_utc());
        }
        match outcome {
            Ok(()) => {
                if let Ok(mut e) = r.last_error.write() {
                    *e = None;
                }
            }
            Err(e) => {
                metrics::counter!("vouch_ocsp_crl_fetch_failures_total").increment(1);
                eprintln!("vouch: {e:#}; still serving the last good CRL");
                if let Ok(mut slot) = r.last_error.write() {
                    *slot = Some(format!("{e:#}"));
                }
            }
        }
        tokio::time::sleep(interval).await;
    }
}

fn install(r: &Responder, data: &[u8]) -> Result<()> {
    let index = CrlIndex::from_crl(data, &r.issuer_der).map_err(|e| anyhow!("CRL refused: {e}"))?;
    let mut slot = r.crl.write().map_err(|_| anyhow!("CRL lock poisoned"))?;
    if let Some(current) = slot.as_ref()
        && !current.superseded_by(&index)
    {
        bail!("CRL refused: its number is lower than the one in use");
    }
    metrics::gauge!("vouch_ocsp_crl_entries").set(index.len() as f64);
    if let Some(n) = index.number {
        metrics::gauge!("vouch_ocsp_crl_number").set(n as f64);
    }
    *slot = Some(Arc::new(index));
    r.cache.clear();
    Ok(())
}

async fn answer(r: &Responder, request: Result<OcspRequest, OcspError>) -> Response {
    let req = match request {
        Ok(req) => req,
        Err(e) => return ocsp_response(error_response(e.response_status()), None),
    };
    let Some(crl) = r.crl.read().ok().and_then(|c| c.clone()) else {
        return ocsp_response(error_response(OcspResponseStatus::TryLater), None);
    };
    let now = OffsetDateTime::now_utc();
    if req.is_cacheable()
        && let Some(id) = req.cert_ids().first()
        && let Some(hit) = r.cache.lookup(id, now)
    {
        return ocsp_response(hit.der.to_vec(), Some((now, hit.next_update)));
    }
    // Answers hold as long as the CRL they come from, and at most an hour.
    let next_update = crl
        .next_update
        .unwrap_or(now + time::Duration::hours(1))
        .min(now + time::Duration::hours(1));
    let this_update = crl.this_update.unwrap_or(now).min(now);
    let inputs: Vec<SingleResponseInput> = req
        .cert_ids()
        .iter()
        .map(|id| {
            let status = if !r.issuer.matches(id) {
                CertStatus::Unknown
            } else if let Some((at, reason)) = crl.revoked(id.serial()) {
                CertStatus::Revoked { at, reason }
            } else {
                match &r.unlisted {
                    UnlistedPolicy::Good => CertStatus::Good,
                    UnlistedPolicy::KnownSerials(set) => {
                        let s: Vec<u8> = id
                            .serial()
                            .iter()
                            .copied()
                            .skip_while(|b| *b == 0)
                            .collect();
                        if set.contains(&s) {
                            CertStatus::Good
                        } else {
                            CertStatus::Unknown
                        }
                    }
                }
            };
            SingleResponseInput {
                cert_id: id.clone(),
                status,
                this_update,
                next_update,
            }
        })
        .collect();
    match build_basic_response(&r.identity, &inputs, req.nonce(), now, &KeySigner(&r.key)) {
        Ok(der) => {
            if req.is_cacheable()
                && let Some(id) = req.cert_ids().first()
            {
                r.cache.insert(id, der.clone().into(), next_update);
                return ocsp_response(der, Some((now, next_update)));
            }
            ocsp_response(der, None)
        }
        Err(_) => ocsp_response(error_response(OcspResponseStatus::InternalError), None),
    }
}

async fn post_ocsp(State(r): State<Arc<Responder>>, body: Bytes) -> Response {
    answer(&r, parse_ocsp_request(&body)).await
}

async fn get_ocsp(State(r): State<Arc<Responder>>, UrlPath(encoded): UrlPath<String>) -> Response {
    answer(&r, parse_get_path(&encoded)).await
}

async fn health(State(r): State<Arc<Responder>>) -> Response {
    let crl = r.crl.read().ok().and_then(|c| c.clone());
    let error = r.last_error.read().ok().and_then(|e| e.clone());
    let last_fetch = r.last_fetch.read().ok().and_then(|t| *t);
    let now = OffsetDateTime::now_utc();
    let status = match (&crl, &error) {
        (None, _) => "no-crl",
        (Some(c), _) if c.next_update.is_some_and(|n| n < now) => "stale",
        (Some(_), Some(_)) => "degraded",
        (Some(_), None) => "ok",
    };
    let body = serde_json::json!({
        "status": status,
        "crlNumber": crl.as_ref().and_then(|c| c.number),
        "crlEntries": crl.as_ref().map(|c| c.len()),
        "crlNextUpdate": crl.as_ref().and_then(|c| c.next_update).map(|t| t.unix_timestamp()),
        "lastFetch": last_fetch.map(|t| t.unix_timestamp()),
        "lastError": error,
    });
    let code = if crl.is_some() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (code, axum::Json(body)).into_response()
}
