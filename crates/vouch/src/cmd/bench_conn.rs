//! The load generator's connection: one HTTP/1.1 keep-alive connection driven by hyper's
//! client `conn` API directly, over TCP or TLS (rustls).
//!
//! `reqwest` (used everywhere else) adds a pool, redirects, timeouts and header handling per
//! request; on two shared cores that cost about as much CPU per OCSP request as the server
//! spends answering it, so the generator, not the server, set the measured ceiling. A bare
//! hyper connection does only what a benchmark needs: send a request, read the whole answer.

use std::sync::Arc;

use anyhow::{Context, Result, anyhow, bail};
use axum::body::{Body, Bytes};
use axum::http::{Method, Request, Uri, header};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// The largest answer read (a certificate chain or an OCSP response is a few KiB).
const MAX_ANSWER: usize = 1 << 20;

/// Where to connect, and how.
#[derive(Clone)]
pub(super) struct Endpoint {
    /// `host:port` to dial, also the `Host` header.
    authority: String,
    /// The TLS name and configuration, for https.
    tls: Option<(ServerName<'static>, Arc<ClientConfig>)>,
}

/// What came back.
pub(super) struct Answer {
    pub(super) status: u16,
    pub(super) content_type: String,
    pub(super) body: Bytes,
}

impl Endpoint {
    /// From the base URL; `root` (PEM) is trusted for https, `identity` (PEM key and chain)
    /// is presented as a client certificate.
    pub(super) fn new(url: &str, root: Option<&[u8]>, identity: Option<&[u8]>) -> Result<Self> {
        let uri: Uri = url.parse().with_context(|| format!("--url {url:?}"))?;
        let https = match uri.scheme_str() {
            Some("https") => true,
            Some("http") => false,
            _ => bail!("--url must start with http:// or https://"),
        };
        let host = uri
            .host()
            .ok_or_else(|| anyhow!("--url {url:?} has no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let authority = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let tls = if https {
            let root = root.ok_or_else(|| anyhow!("--root is required for an https URL"))?;
            let name = ServerName::try_from(host).context("the URL's host as a TLS name")?;
            Some((name, Arc::new(client_config(root, identity)?)))
        } else {
            None
        };
        Ok(Endpoint { authority, tls })
    }

    /// Open a connection.
    pub(super) async fn connect(&self) -> Result<Conn> {
        let tcp = TcpStream::connect(&self.authority)
            .await
            .with_context(|| format!("cannot connect to {}", self.authority))?;
        tcp.set_nodelay(true)?;
        let send = match &self.tls {
            Some((name, config)) => {
                let tls = TlsConnector::from(config.clone())
                    .connect(name.clone(), tcp)
                    .await
                    .context("TLS handshake")?;
                handshake(tls).await?
            }
            None => handshake(tcp).await?,
        };
        Ok(Conn {
            endpoint: self.clone(),
            send,
            reconnects: 0,
        })
    }
}

/// A rustls client trusting the roots in `root_pem`, with the client certificate if given.
fn client_config(root_pem: &[u8], identity: Option<&[u8]>) -> Result<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(root_pem) {
        roots
            .add(cert.context("--root: not a PEM certificate")?)
            .context("--root")?;
    }
    if roots.is_empty() {
        bail!("--root holds no certificate");
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .context("TLS client")?
        .with_root_certificates(roots);
    Ok(match identity {
        None => builder.with_no_client_auth(),
        Some(pem) => {
            let chain = CertificateDer::pem_slice_iter(pem)
                .collect::<Result<Vec<_>, _>>()
                .context("--cert: not a PEM certificate chain")?;
            let key = PrivateKeyDer::from_pem_slice(pem)
                .context("--key: not an unencrypted PEM private key")?;
            builder
                .with_client_auth_cert(chain, key)
                .context("client certificate")?
        }
    })
}

async fn handshake<T>(io: T) -> Result<SendRequest<Body>>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (send, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .context("HTTP/1.1 handshake")?;
    // Drives the connection; it ends when `send` is dropped or the server closes.
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(send)
}

/// One keep-alive connection; reopened once if the server closed it.
pub(super) struct Conn {
    endpoint: Endpoint,
    send: SendRequest<Body>,
    /// How often the server had closed the connection and it was reopened.
    pub(super) reconnects: u64,
}

impl Conn {
    /// Send one request and read the whole answer.
    pub(super) async fn request(
        &mut self,
        method: &Method,
        path: &str,
        content_type: Option<&'static str>,
        body: Bytes,
    ) -> Result<Answer> {
        if self.send.ready().await.is_err() {
            let reconnects = self.reconnects + 1;
            *self = self.endpoint.connect().await?;
            self.reconnects = reconnects;
        }
        let mut req = Request::builder()
            .method(method.clone())
            .uri(path)
            .header(header::HOST, &self.endpoint.authority);
        if let Some(ctype) = content_type {
            req = req.header(header::CONTENT_TYPE, ctype);
        }
        let req = req.body(Body::from(body)).context("request")?;
        let resp = self.send.send_request(req).await.context("request")?;
        let status = resp.status().as_u16();
        let content_type = resp
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let body = axum::body::to_bytes(Body::new(resp.into_body()), MAX_ANSWER)
            .await
            .map_err(|e| anyhow!("reading the answer: {e}"))?;
        Ok(Answer {
            status,
            content_type,
            body,
        })
    }
}
