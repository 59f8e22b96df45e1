//! The API client behind `vouch ca ...`: where the CA is and which root to trust come from
//! `config/defaults.toml` (written by `vouch init` and `vouch ca bootstrap`), overridable with
//! `--ca-url` and `--root`. Every request pins the CA's root: the system trust store is never
//! consulted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde::de::DeserializeOwned;
use vouch_model::DefaultsConfig;

use crate::files;
use crate::home::{layout, vouch_home};

/// How long one API call may take.
const TIMEOUT: Duration = Duration::from_secs(30);

/// Where the CA is.
#[derive(Debug, Clone)]
pub struct Target {
    /// `https://host:port`, no trailing slash.
    pub ca_url: String,
    /// The root certificate file to trust.
    pub root: PathBuf,
}

impl Target {
    /// From flags, else from `$VOUCH_HOME/config/defaults.toml`.
    pub fn resolve(ca_url: Option<&str>, root: Option<&Path>) -> Result<Target> {
        let defaults = load_defaults().ok();
        let ca_url = match (ca_url, &defaults) {
            (Some(u), _) => u.to_owned(),
            (None, Some(d)) => d.ca_url.clone(),
            (None, None) => bail!("no CA URL: pass --ca-url, or run vouch ca bootstrap"),
        };
        let root = match (root, &defaults) {
            (Some(r), _) => r.to_owned(),
            (None, Some(d)) => PathBuf::from(&d.root),
            (None, None) => bail!("no root certificate: pass --root, or run vouch ca bootstrap"),
        };
        let ca_url = ca_url.trim_end_matches('/').to_owned();
        if !ca_url.starts_with("https://") {
            bail!("--ca-url '{ca_url}' must start with https://");
        }
        Ok(Target { ca_url, root })
    }

    /// An HTTPS client that trusts only the root, optionally presenting a client certificate
    /// (PEM with the key and the chain).
    pub fn client(&self, identity_pem: Option<&[u8]>) -> Result<reqwest::Client> {
        let pem = files::read(&self.root)?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| anyhow!("{}: {e}", self.root.display()))?;
        if roots.is_empty() {
            bail!("{}: no certificate", self.root.display());
        }
        let mut builder = reqwest::Client::builder()
            .tls_certs_only(roots)
            .https_only(true)
            .timeout(TIMEOUT);
        if let Some(id) = identity_pem {
            builder =
                builder.identity(reqwest::Identity::from_pem(id).context("client certificate")?);
        }
        builder.build().context("HTTPS client")
    }

    /// `{ca_url}{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.ca_url)
    }
}

/// Read `config/defaults.toml`.
pub fn load_defaults() -> Result<DefaultsConfig> {
    let path = vouch_home()?.join(layout::DEFAULTS);
    let text = files::read_text(&path)?;
    toml::from_str(&text).map_err(|e| anyhow!("{}: {}", path.display(), e.message().trim()))
}

/// Turn an HTTP response into `T`, or an error carrying the CA's message.
pub async fn json<T: DeserializeOwned>(resp: reqwest::Response) -> Result<T> {
    let status = resp.status();
    let body = resp.bytes().await.context("reading the CA's answer")?;
    if !status.is_success() {
        let message = serde_json::from_slice::<serde_json::Value>(&body)
            .ok()
            .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&body).chars().take(200).collect());
        bail!("the CA answered {}: {message}", status.as_u16());
    }
    serde_json::from_slice(&body)
        .map_err(|e| anyhow!("the CA's answer is not the expected JSON: {e}"))
}

/// Send a request, naming the CA on connection failures.
pub async fn send(req: reqwest::RequestBuilder, target: &Target) -> Result<reqwest::Response> {
    req.send().await.map_err(|e| {
        let mut msg = e.to_string();
        let mut src = std::error::Error::source(&e);
        while let Some(s) = src {
            msg = format!("{msg}: {s}");
            src = s.source();
        }
        anyhow!("cannot reach the CA at {}: {msg}", target.ca_url)
    })
}
