//! Prometheus metrics, served on a separate plain-HTTP address (`--metrics-address`) so that
//! scraping needs no client certificate and never shares the CA's listener.
//!
//! Names: `vouch_http_requests_total{route,status}`, `vouch_http_request_duration_seconds`
//! (histogram, by route), `vouch_certificates_issued_total{provisioner}`,
//! `vouch_certificates_renewed_total`, `vouch_certificates_rekeyed_total`,
//! `vouch_certificates_revoked_total{mode}` and `vouch_requests_rejected_total{reason}`.
//! Routes are the matched route templates (`/root/{sha}`), never raw paths, so label values
//! stay few.

use std::sync::OnceLock;

use anyhow::{Context, Result, anyhow};
use axum::Router;
use axum::routing::get;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tokio::net::TcpListener;

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Buckets of the latency histogram, in seconds.
const BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
];

/// Install the process-wide recorder (once; later and concurrent calls reuse it).
pub fn install() -> Result<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new()
                .set_buckets(BUCKETS)
                .ok()?
                .build_recorder();
            let handle = recorder.handle();
            metrics::set_global_recorder(recorder).ok()?;
            Some(handle)
        })
        .as_ref()
        .ok_or_else(|| anyhow!("metrics recorder unavailable"))
}

/// Serve `GET /metrics` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener) -> Result<()> {
    let handle = install()?;
    let app = Router::new().route("/metrics", get(move || async move { handle.render() }));
    axum::serve(listener, app).await.context("metrics listener")
}

/// Count a finished request.
pub fn request(route: &str, status: u16, seconds: f64) {
    metrics::counter!("vouch_http_requests_total", "route" => route.to_owned(), "status" => status.to_string())
        .increment(1);
    metrics::histogram!("vouch_http_request_duration_seconds", "route" => route.to_owned())
        .record(seconds);
}

/// Count a refused request by its error type.
pub fn rejected(reason: &'static str) {
    metrics::counter!("vouch_requests_rejected_total", "reason" => reason).increment(1);
}

/// Count an issued certificate.
pub fn issued(provisioner: &str) {
    metrics::counter!("vouch_certificates_issued_total", "provisioner" => provisioner.to_owned())
        .increment(1);
}

/// Count a renewal (or rekey).
pub fn renewed(rekey: bool) {
    if rekey {
        metrics::counter!("vouch_certificates_rekeyed_total").increment(1);
    } else {
        metrics::counter!("vouch_certificates_renewed_total").increment(1);
    }
}

/// Count an OCSP response that was signed (a cache miss), by kind.
pub fn ocsp(kind: &'static str) {
    metrics::counter!("vouch_ocsp_responses_signed_total", "kind" => kind).increment(1);
}

/// Count a revocation.
pub fn revoked(passive: bool) {
    metrics::counter!("vouch_certificates_revoked_total", "mode" => if passive { "passive" } else { "active" }).increment(1);
}
