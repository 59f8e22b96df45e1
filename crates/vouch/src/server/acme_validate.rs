//! ACME challenge validation (RFC 8555 §8, RFC 8737, RFC 8738): the three checks and the
//! name lookups they share.
//!
//! - http-01 fetches `http://IDENTIFIER:PORT/.well-known/acme-challenge/TOKEN` (port 80
//!   unless configured): no proxy, a 10 s timeout, at most 10 redirects, at most 8 KiB read;
//!   the body, trimmed of surrounding whitespace, must equal the key authorization.
//! - dns-01 reads the TXT records of `_acme-challenge.NAME` (the base name for a wildcard);
//!   one must equal base64url(SHA-256(key authorization)).
//! - tls-alpn-01 connects to IDENTIFIER:PORT (443 unless configured) offering only the
//!   `acme-tls/1` protocol, with SNI set to the name (or the reverse-DNS name of an IP
//!   address, RFC 8738 §6). The server must select `acme-tls/1` and present a certificate
//!   whose only subjectAltName is the identifier and that carries the critical
//!   acmeIdentifier extension holding SHA-256(key authorization).
//!
//! Names are looked up through the resolver set with `--acme-resolver` (the system's
//! otherwise), after the static `--acme-resolve NAME=ADDR` overrides, which also accept
//! `*.suffix` patterns. Every check is bounded in time and size, so a slow or hostile target
//! costs one of the bounded validation slots for at most 10 s.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use aws_lc_rs::digest;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{ConnectionConfig, NameServerConfig, ResolverConfig};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::RData;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::{DigitallySignedStruct, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::sync::Semaphore;
use vouch_registration::{AcmeError, ProblemType};
use x509_parser::extensions::{GeneralName, ParsedExtension};

/// Longest http-01 answer read.
const MAX_ANSWER: usize = 8 * 1024;
/// Time allowed for one validation (connection, lookups and answer).
const VALIDATION_TIMEOUT: Duration = Duration::from_secs(10);
/// The ALPN protocol of RFC 8737.
const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";
/// id-pe-acmeIdentifier (RFC 8737 §6.1).
const ACME_IDENTIFIER_OID: &str = "1.3.6.1.5.5.7.1.31";

/// How challenges are validated (`vouch serve --acme-*`, `[acme]` in ca.toml).
#[derive(Debug, Clone)]
pub struct ValidationOptions {
    /// The port http-01 connects to (80).
    pub http_port: u16,
    /// The port tls-alpn-01 connects to (443).
    pub tls_port: u16,
    /// The DNS server for dns-01 and address lookups; the system's when `None`.
    pub resolver: Option<SocketAddr>,
    /// Static overrides: a name (or `*.suffix`) and the address to use for it.
    pub resolve: Vec<(String, IpAddr)>,
    /// Most validations running at once.
    pub max_concurrent: usize,
}

impl Default for ValidationOptions {
    fn default() -> Self {
        ValidationOptions {
            http_port: 80,
            tls_port: 443,
            resolver: None,
            resolve: Vec::new(),
            max_concurrent: 64,
        }
    }
}

/// Which check a challenge asks for, with what it needs.
#[derive(Debug, Clone, Copy)]
pub(super) enum Check<'a> {
    Http01 { token: &'a str },
    Dns01,
    TlsAlpn01,
}

/// Runs validations: the options, the name lookups, an HTTP client, a TLS client
/// configuration, and the concurrency bound.
#[derive(Debug)]
pub struct Validator {
    opts: ValidationOptions,
    lookup: Arc<Lookup>,
    http: reqwest::Client,
    tls: Arc<rustls::ClientConfig>,
    pub(super) limit: Arc<Semaphore>,
}

impl Validator {
    /// Build the validator: resolver, HTTP client and TLS client.
    pub fn new(opts: ValidationOptions) -> anyhow::Result<Validator> {
        let lookup = Arc::new(Lookup::new(&opts)?);
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(VALIDATION_TIMEOUT)
            .redirect(reqwest::redirect::Policy::limited(10))
            .dns_resolver(lookup.clone())
            .user_agent(concat!(
                "vouch/",
                env!("CARGO_PKG_VERSION"),
                " (ACME validation)"
            ))
            .build()
            .map_err(|e| anyhow::anyhow!("ACME validation client: {e}"))?;
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut tls = rustls::ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| anyhow::anyhow!("ACME TLS client: {e}"))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth();
        tls.alpn_protocols = vec![ACME_TLS_ALPN.to_vec()];
        tls.enable_sni = true;
        let limit = Arc::new(Semaphore::new(opts.max_concurrent.max(1)));
        Ok(Validator {
            opts,
            lookup,
            http,
            tls: Arc::new(tls),
            limit,
        })
    }

    /// Validate one challenge of `identifier` (`ip` says it is an IP address); `Err` holds
    /// the problem to record. Never takes longer than the validation timeout.
    pub(super) async fn validate(
        &self,
        check: Check<'_>,
        identifier: &str,
        ip: bool,
        key_auth: &str,
    ) -> Result<(), AcmeError> {
        let run = async {
            match check {
                Check::Http01 { token } => self.http01(identifier, token, key_auth).await,
                Check::Dns01 => self.dns01(identifier, key_auth).await,
                Check::TlsAlpn01 => self.tls_alpn01(identifier, ip, key_auth).await,
            }
        };
        tokio::time::timeout(VALIDATION_TIMEOUT, run)
            .await
            .unwrap_or_else(|_| {
                Err(AcmeError::new(
                    ProblemType::Connection,
                    format!("validating {identifier} took longer than {VALIDATION_TIMEOUT:?}"),
                ))
            })
    }

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

    async fn dns01(&self, name: &str, key_auth: &str) -> Result<(), AcmeError> {
        let record = format!("_acme-challenge.{name}");
        let expected = URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, key_auth.as_bytes()));
        let values = self.lookup.txt(&record).await?;
        if values.iter().any(|v| v == &expected) {
            return Ok(());
        }
        Err(AcmeError::new(
            ProblemType::Unauthorized,
            if values.is_empty() {
                format!("no TXT record at {record}")
            } else {
                format!(
                    "none of the {} TXT records at {record} is the key authorization's digest",
                    values.len()
                )
            },
        ))
    }

    async fn tls_alpn01(
        &self,
        identifier: &str,
        ip: bool,
        key_auth: &str,
    ) -> Result<(), AcmeError> {
        let addr = *self
            .lookup
            .addrs(identifier)
            .await?
            .first()
            .ok_or_else(|| {
                AcmeError::new(ProblemType::Dns, format!("{identifier} has no address"))
            })?;
        let target = SocketAddr::new(addr, self.opts.tls_port);
        let sni = match identifier.parse::<IpAddr>() {
            Ok(a) if ip => reverse_name(a),
            _ => identifier.to_owned(),
        };
        let server_name = ServerName::try_from(sni.clone()).map_err(|_| {
            AcmeError::new(
                ProblemType::Malformed,
                format!("'{sni}' is not a TLS server name"),
            )
        })?;
        let tcp = tokio::net::TcpStream::connect(target).await.map_err(|e| {
            AcmeError::new(
                ProblemType::Connection,
                format!("connecting to {target}: {e}"),
            )
        })?;
        let stream = tokio_rustls::TlsConnector::from(self.tls.clone())
            .connect(server_name, tcp)
            .await
            .map_err(|e| {
                AcmeError::new(
                    ProblemType::Tls,
                    format!("TLS handshake with {target}: {e}"),
                )
            })?;
        let (_, conn) = stream.get_ref();
        if conn.alpn_protocol() != Some(ACME_TLS_ALPN) {
            return Err(AcmeError::new(
                ProblemType::Tls,
                format!("{target} did not select the acme-tls/1 protocol"),
            ));
        }
        let cert = conn
            .peer_certificates()
            .and_then(<[CertificateDer<'_>]>::first)
            .ok_or_else(|| {
                AcmeError::new(ProblemType::Tls, format!("{target} sent no certificate"))
            })?;
        check_alpn_certificate(cert, identifier, ip, key_auth).map_err(|why| {
            AcmeError::new(ProblemType::IncorrectResponse, format!("{target}: {why}"))
        })
    }
}

/// RFC 8737 §3: the validation certificate names exactly the identifier and carries the
/// critical acmeIdentifier extension with the DER OCTET STRING of SHA-256(key authorization).
fn check_alpn_certificate(
    der: &[u8],
    identifier: &str,
    ip: bool,
    key_auth: &str,
) -> Result<(), String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der)
        .map_err(|e| format!("the certificate does not parse: {e}"))?;
    let mut names = None;
    let mut acme_id = None;
    for ext in cert.extensions() {
        if let ParsedExtension::SubjectAlternativeName(san) = ext.parsed_extension() {
            names = Some(&san.general_names);
        } else if ext.oid.to_id_string() == ACME_IDENTIFIER_OID {
            acme_id = Some(ext);
        }
    }
    let names = names.ok_or("the certificate has no subjectAltName")?;
    let matches = |n: &GeneralName<'_>| match n {
        GeneralName::DNSName(d) => !ip && d.eq_ignore_ascii_case(identifier),
        GeneralName::IPAddress(bytes) => {
            ip && super::lifecycle::ip_from(bytes).is_some_and(|got| identifier.parse() == Ok(got))
        }
        _ => false,
    };
    if names.len() != 1 || !names.iter().all(matches) {
        return Err(format!(
            "the certificate's subjectAltName must be {identifier} and nothing else"
        ));
    }
    let ext = acme_id.ok_or("the certificate has no acmeIdentifier extension")?;
    if !ext.critical {
        return Err("the acmeIdentifier extension is not critical".into());
    }
    let hash = digest::digest(&digest::SHA256, key_auth.as_bytes());
    let mut expected = vec![0x04, 0x20];
    expected.extend_from_slice(hash.as_ref());
    if ext.value != expected.as_slice() {
        return Err("the acmeIdentifier extension is not the key authorization's digest".into());
    }
    Ok(())
}

/// The reverse-DNS name of an address (RFC 8738 §6: the SNI of tls-alpn-01 for IPs).
fn reverse_name(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            format!("{}.{}.{}.{}.in-addr.arpa", o[3], o[2], o[1], o[0])
        }
        IpAddr::V6(v6) => {
            let mut s = String::with_capacity(72);
            for byte in v6.octets().iter().rev() {
                s.push_str(&format!("{:x}.{:x}.", byte & 0xf, byte >> 4));
            }
            s.push_str("ip6.arpa");
            s
        }
    }
}

/// tls-alpn-01 proves control by the answer's content, not by a chain: any certificate is
/// accepted here and checked by [`check_alpn_certificate`]. The handshake signature is still
/// verified against the certificate's key, so the server holds it. (rustls' own helpers
/// cannot be used for that: they parse the certificate with webpki, which rightly refuses
/// the unknown critical acmeIdentifier extension.)
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl AnyCertificate {
    fn verify_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let bad = || rustls::Error::InvalidCertificate(rustls::CertificateError::BadSignature);
        let (_, parsed) = x509_parser::parse_x509_certificate(cert).map_err(|_| {
            rustls::Error::InvalidCertificate(rustls::CertificateError::BadEncoding)
        })?;
        let key = &parsed.tbs_certificate.subject_pki.subject_public_key.data;
        let (_, algs) = self
            .0
            .signature_verification_algorithms
            .mapping
            .iter()
            .find(|(scheme, _)| *scheme == dss.scheme)
            .ok_or_else(bad)?;
        algs.iter()
            .any(|alg| alg.verify_signature(key, message, dss.signature()).is_ok())
            .then(HandshakeSignatureValid::assertion)
            .ok_or_else(bad)
    }
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.verify_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Name lookups for validation: static overrides first, then DNS.
#[derive(Debug)]
struct Lookup {
    overrides: Vec<(String, IpAddr)>,
    /// `None` when no resolver is configured and the system's configuration is unusable.
    dns: Option<TokioResolver>,
}

impl Lookup {
    fn new(opts: &ValidationOptions) -> anyhow::Result<Lookup> {
        let builder = match opts.resolver {
            Some(addr) => {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                let server = NameServerConfig::new(addr.ip(), true, vec![udp, tcp]);
                Some(TokioResolver::builder_with_config(
                    ResolverConfig::from_name_servers(vec![server]),
                    TokioRuntimeProvider::default(),
                ))
            }
            None => match TokioResolver::builder_tokio() {
                Ok(b) => Some(b),
                Err(e) => {
                    tracing::warn!(error = %e, "no system DNS configuration: dns-01 needs --acme-resolver");
                    None
                }
            },
        };
        let dns = match builder {
            Some(mut b) => {
                // Validation must see the record as it is now, never a cached answer.
                let o = b.options_mut();
                o.cache_size = 0;
                o.positive_max_ttl = Some(Duration::ZERO);
                o.negative_max_ttl = Some(Duration::ZERO);
                o.timeout = Duration::from_secs(3);
                o.attempts = 2;
                Some(
                    b.build()
                        .map_err(|e| anyhow::anyhow!("ACME DNS resolver: {e}"))?,
                )
            }
            None => None,
        };
        Ok(Lookup {
            overrides: opts.resolve.clone(),
            dns,
        })
    }

    /// The static override for `name`: an exact entry, else the longest `*.suffix` match.
    fn overridden(&self, name: &str) -> Option<IpAddr> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if let Some((_, ip)) = self.overrides.iter().find(|(n, _)| *n == name) {
            return Some(*ip);
        }
        self.overrides
            .iter()
            .filter_map(|(n, ip)| {
                let suffix = n.strip_prefix("*.")?;
                let head = name.strip_suffix(suffix)?.strip_suffix('.')?;
                (!head.is_empty()).then_some((suffix.len(), *ip))
            })
            .max_by_key(|(len, _)| *len)
            .map(|(_, ip)| ip)
    }

    fn resolver(&self) -> Result<&TokioResolver, AcmeError> {
        self.dns.as_ref().ok_or_else(|| {
            AcmeError::new(
                ProblemType::Dns,
                "this CA has no DNS resolver configured (vouch serve --acme-resolver)",
            )
        })
    }

    async fn addrs(&self, name: &str) -> Result<Vec<IpAddr>, AcmeError> {
        if let Ok(ip) = name.parse::<IpAddr>() {
            return Ok(vec![ip]);
        }
        if let Some(ip) = self.overridden(name) {
            return Ok(vec![ip]);
        }
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        let found = self
            .resolver()?
            .lookup_ip(fqdn.as_str())
            .await
            .map_err(|e| AcmeError::new(ProblemType::Dns, format!("looking up {name}: {e}")))?;
        let addrs: Vec<IpAddr> = found.iter().collect();
        if addrs.is_empty() {
            return Err(AcmeError::new(
                ProblemType::Dns,
                format!("{name} has no address"),
            ));
        }
        Ok(addrs)
    }

    /// The TXT values at `name` (each record's strings joined); none is an empty list.
    async fn txt(&self, name: &str) -> Result<Vec<String>, AcmeError> {
        let fqdn = format!("{}.", name.trim_end_matches('.'));
        match self.resolver()?.txt_lookup(fqdn.as_str()).await {
            Ok(found) => Ok(found
                .answers()
                .iter()
                .filter_map(|r| match &r.data {
                    RData::TXT(t) => Some(
                        t.txt_data
                            .iter()
                            .map(|part| String::from_utf8_lossy(part))
                            .collect::<String>(),
                    ),
                    _ => None,
                })
                .collect()),
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => Ok(Vec::new()),
            Err(e) => Err(AcmeError::new(
                ProblemType::Dns,
                format!("looking up TXT {name}: {e}"),
            )),
        }
    }
}

impl reqwest::dns::Resolve for Lookup {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_owned();
        // The future must be 'static: look up through a clone of the resolver handle.
        let overridden = self.overridden(&name);
        let dns = self.dns.clone();
        Box::pin(async move {
            let ips: Vec<IpAddr> = match (overridden, dns) {
                (Some(ip), _) => vec![ip],
                (None, Some(dns)) => dns
                    .lookup_ip(format!("{}.", name.trim_end_matches('.')).as_str())
                    .await?
                    .iter()
                    .collect(),
                (None, None) => tokio::net::lookup_host((name.as_str(), 0))
                    .await?
                    .map(|a| a.ip())
                    .collect(),
            };
            let addrs: reqwest::dns::Addrs =
                Box::new(ips.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup(overrides: &[(&str, &str)]) -> Lookup {
        Lookup {
            overrides: overrides
                .iter()
                .map(|(n, ip)| ((*n).to_owned(), ip.parse().unwrap()))
                .collect(),
            dns: None,
        }
    }

    #[test]
    fn overrides_match_exact_names_then_the_longest_wildcard() {
        let l = lookup(&[
            ("*.lab.test", "10.0.0.1"),
            ("*.web.lab.test", "10.0.0.2"),
            ("db.lab.test", "10.0.0.3"),
        ]);
        assert_eq!(
            l.overridden("db.lab.test"),
            Some("10.0.0.3".parse().unwrap())
        );
        assert_eq!(
            l.overridden("DB.lab.test."),
            Some("10.0.0.3".parse().unwrap())
        );
        assert_eq!(
            l.overridden("a.web.lab.test"),
            Some("10.0.0.2".parse().unwrap())
        );
        assert_eq!(
            l.overridden("x.y.lab.test"),
            Some("10.0.0.1".parse().unwrap())
        );
        assert_eq!(l.overridden("lab.test"), None);
        assert_eq!(l.overridden("evillab.test"), None);
    }

    #[test]
    fn reverse_names_follow_rfc_8738() {
        assert_eq!(
            reverse_name("192.0.2.5".parse().unwrap()),
            "5.2.0.192.in-addr.arpa"
        );
        let v6 = reverse_name("2001:db8::1".parse().unwrap());
        assert!(v6.starts_with("1.0.0.0.0.0.0.0."), "{v6}");
        assert!(v6.ends_with("8.b.d.0.1.0.0.2.ip6.arpa"), "{v6}");
    }

    fn alpn_cert(names: Vec<rcgen::SanType>, critical: bool, key_auth: &str) -> Vec<u8> {
        let mut params = rcgen::CertificateParams::default();
        params.subject_alt_names = names;
        let hash = digest::digest(&digest::SHA256, key_auth.as_bytes());
        let mut value = vec![0x04, 0x20];
        value.extend_from_slice(hash.as_ref());
        let mut ext =
            rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 31], value);
        ext.set_criticality(critical);
        params.custom_extensions = vec![ext];
        let key = rcgen::KeyPair::generate().unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn alpn_certificates_must_name_the_identifier_and_carry_a_critical_digest() {
        let dns = |n: &str| rcgen::SanType::DnsName(n.try_into().unwrap());
        let good = alpn_cert(vec![dns("a.test")], true, "tok.thumb");
        check_alpn_certificate(&good, "a.test", false, "tok.thumb").unwrap();
        check_alpn_certificate(&good, "A.TEST", false, "tok.thumb").unwrap();
        let err = check_alpn_certificate(&good, "a.test", false, "other.thumb").unwrap_err();
        assert!(err.contains("digest"), "{err}");
        let err = check_alpn_certificate(&good, "b.test", false, "tok.thumb").unwrap_err();
        assert!(err.contains("subjectAltName"), "{err}");
        let two = alpn_cert(vec![dns("a.test"), dns("b.test")], true, "tok.thumb");
        assert!(check_alpn_certificate(&two, "a.test", false, "tok.thumb").is_err());
        let lax = alpn_cert(vec![dns("a.test")], false, "tok.thumb");
        let err = check_alpn_certificate(&lax, "a.test", false, "tok.thumb").unwrap_err();
        assert!(err.contains("critical"), "{err}");
        let ip = alpn_cert(
            vec![rcgen::SanType::IpAddress("127.0.0.1".parse().unwrap())],
            true,
            "tok.thumb",
        );
        check_alpn_certificate(&ip, "127.0.0.1", true, "tok.thumb").unwrap();
        assert!(check_alpn_certificate(&ip, "127.0.0.2", true, "tok.thumb").is_err());
        assert!(check_alpn_certificate(b"junk", "a.test", false, "tok.thumb").is_err());
    }
}
