//! The on-disk configuration schema: `config/ca.toml` (server) and `config/defaults.toml`
//! (client).
//!
//! Field names follow step-ca's `ca.json` and `defaults.json` (camelCase, `dnsNames`,
//! `encryptedKey`, `ca-url`) so that people and tools moving from step-ca recognise them.
//! Every struct denies unknown fields: a typo is an error at load, never silently ignored.
//! Relative paths are relative to `$VOUCH_HOME`, so a PKI directory can be moved whole.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::Duration;

use crate::time_spec::parse_duration;

/// A configuration file that is well-formed TOML but says something invalid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct ConfigError {
    /// The dotted path of the offending field.
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

/// `config/ca.toml`: everything `vouch serve` needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaConfig {
    /// Root certificate(s) clients trust, PEM.
    pub root: String,
    /// The intermediate (issuing) certificate, PEM.
    pub crt: String,
    /// The intermediate's encrypted private key.
    pub key: String,
    /// Listen address of the HTTPS API, `host:port`.
    pub address: String,
    /// Names and IPs of the CA: SANs of its TLS certificate and token audiences.
    pub dns_names: Vec<String>,
    /// The database.
    pub db: DbConfig,
    /// A plain-HTTP listener (`host:port`) for the CRL, so relying parties can fetch it
    /// without trusting the CA first (step-ca's `insecureAddress`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub insecure_address: Option<String>,
    /// The CRL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crl: Option<CrlConfig>,
    /// The OCSP responder and the authority information access URLs of issued certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ocsp: Option<OcspConfig>,
    /// How ACME challenges are validated (each also a `vouch serve --acme-*` flag).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<AcmeValidationConfig>,
    /// Provisioners and claims.
    pub authority: Authority,
}

/// `[acme]` in ca.toml: where ACME challenges are dialled and how names are looked up.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcmeValidationConfig {
    /// The port http-01 connects to (80).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http_port: Option<u16>,
    /// The port tls-alpn-01 connects to (443).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_port: Option<u16>,
    /// The DNS server (`ip:port`) for dns-01 and for the addresses of identifiers; the
    /// system's resolver when unset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolver: Option<String>,
    /// Static addresses for names (`"*.lab.test" = "10.0.0.7"` patterns allowed), used
    /// before DNS: for test and air-gapped networks.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resolve: BTreeMap<String, String>,
}

impl AcmeValidationConfig {
    /// The resolver address, parsed.
    pub fn resolver_addr(&self) -> Result<Option<std::net::SocketAddr>, ConfigError> {
        self.resolver
            .as_deref()
            .map(|r| {
                r.parse().map_err(|_| ConfigError {
                    field: "acme.resolver".into(),
                    problem: format!("'{r}' is not ip:port"),
                })
            })
            .transpose()
    }

    /// The static overrides, parsed (names lower-cased).
    pub fn resolve_entries(&self) -> Result<Vec<(String, std::net::IpAddr)>, ConfigError> {
        self.resolve
            .iter()
            .map(|(name, ip)| {
                let ip = ip.parse().map_err(|_| ConfigError {
                    field: format!("acme.resolve.{name}"),
                    problem: format!("'{ip}' is not an IP address"),
                })?;
                Ok((name.to_ascii_lowercase(), ip))
            })
            .collect()
    }
}

/// The OCSP URLs written into issued certificates (authority information access).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OcspConfig {
    /// The OCSP responder's URL, normally the plain-HTTP listener's `http://HOST:PORT/ocsp`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// Where the issuing certificate can be downloaded (caIssuers), e.g.
    /// `http://HOST:PORT/intermediate.crt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_issuers: Option<String>,
}

/// How the CRL is published.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CrlConfig {
    /// How long each CRL is valid (default 24h); it is rebuilt at two thirds of that and after
    /// every revocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_duration: Option<String>,
    /// The URL put in issued certificates as their CRL distribution point, normally the
    /// plain-HTTP listener's `http://HOST:PORT/crl`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distribution_point: Option<String>,
}

impl CrlConfig {
    /// The CRL lifetime in force.
    pub fn lifetime(&self) -> Duration {
        self.cache_duration
            .as_deref()
            .and_then(|d| parse_duration(d).ok())
            .filter(|d| d.is_positive())
            .unwrap_or(Duration::hours(24))
    }
}

/// Where state is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DbConfig {
    /// `sqlite://PATH` (embedded default) or `postgres://…` (several nodes).
    pub url: String,
}

/// The registration side of the CA.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Authority {
    /// Global claims; a provisioner's own claims override them field by field.
    #[serde(default)]
    pub claims: Claims,
    /// Authority-wide name policy (every provisioner's certificates must pass it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<crate::Policy>,
    /// How far notBefore is set in the past to absorb clock skew (step-ca's `backdate`,
    /// default 1m, at most 1h); not counted in the lifetime.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backdate: Option<String>,
    /// Accept tokens issued before the CA started (step-ca's `disableIssuedAtCheck`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub disable_issued_at_check: bool,
    /// Who may request certificates, and how they authenticate.
    #[serde(default)]
    pub provisioners: Vec<Provisioner>,
}

/// Limits on certificate lifetimes and renewal, as step-ca's claims.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Claims {
    /// Shortest TLS certificate a client may ask for (default 5m).
    #[serde(rename = "minTLSCertDuration", skip_serializing_if = "Option::is_none")]
    pub min_tls_cert_duration: Option<String>,
    /// Longest TLS certificate a client may ask for (default 24h).
    #[serde(rename = "maxTLSCertDuration", skip_serializing_if = "Option::is_none")]
    pub max_tls_cert_duration: Option<String>,
    /// Lifetime when the client does not ask (default 24h).
    #[serde(
        rename = "defaultTLSCertDuration",
        skip_serializing_if = "Option::is_none"
    )]
    pub default_tls_cert_duration: Option<String>,
    /// Refuse renewals.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_renewal: Option<bool>,
    /// Allow an expired certificate to renew itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_renewal_after_expiry: Option<bool>,
}

impl Claims {
    /// step-ca's global defaults, written by `vouch init` so they are visible and editable.
    pub fn defaults() -> Self {
        Claims {
            min_tls_cert_duration: Some("5m".into()),
            max_tls_cert_duration: Some("24h".into()),
            default_tls_cert_duration: Some("24h".into()),
            disable_renewal: Some(false),
            allow_renewal_after_expiry: Some(false),
        }
    }

    /// Check every duration parses and that min ≤ default ≤ max; reports all problems.
    pub fn validate(&self, prefix: &str) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        let mut get = |name: &str, v: &Option<String>| -> Option<Duration> {
            let v = v.as_deref()?;
            match parse_duration(v) {
                Ok(d) if d.is_positive() => Some(d),
                Ok(_) => {
                    errors.push(ConfigError {
                        field: format!("{prefix}.{name}"),
                        problem: format!("'{v}' must be positive"),
                    });
                    None
                }
                Err(e) => {
                    errors.push(ConfigError {
                        field: format!("{prefix}.{name}"),
                        problem: e.to_string(),
                    });
                    None
                }
            }
        };
        let min = get("minTLSCertDuration", &self.min_tls_cert_duration);
        let max = get("maxTLSCertDuration", &self.max_tls_cert_duration);
        let def = get("defaultTLSCertDuration", &self.default_tls_cert_duration);
        if let (Some(min), Some(max)) = (min, max)
            && min > max
        {
            errors.push(ConfigError {
                field: format!("{prefix}.minTLSCertDuration"),
                problem: "is longer than maxTLSCertDuration".into(),
            });
        }
        if let (Some(def), Some(max)) = (def, max)
            && def > max
        {
            errors.push(ConfigError {
                field: format!("{prefix}.defaultTLSCertDuration"),
                problem: "is longer than maxTLSCertDuration".into(),
            });
        }
        errors
    }
}

/// Claims with every default filled in: what actually applies to one provisioner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EffectiveClaims {
    /// Shortest certificate lifetime.
    pub min_tls_cert_duration: Duration,
    /// Longest certificate lifetime.
    pub max_tls_cert_duration: Duration,
    /// Lifetime when none is asked for.
    pub default_tls_cert_duration: Duration,
    /// Renewal refused.
    pub disable_renewal: bool,
    /// An expired certificate may renew itself.
    pub allow_renewal_after_expiry: bool,
}

impl EffectiveClaims {
    /// Resolve a provisioner's claims: its own value, else the authority's, else step-ca's
    /// default (5m / 24h / 24h, renewal allowed, not after expiry). Unparsable durations fall
    /// back to the default; `CaConfig::validate` reports them at load time.
    pub fn resolve(authority: &Claims, provisioner: Option<&Claims>) -> Self {
        let pick = |f: fn(&Claims) -> &Option<String>, default: Duration| {
            provisioner
                .and_then(|p| f(p).as_deref())
                .or_else(|| f(authority).as_deref())
                .and_then(|v| parse_duration(v).ok())
                .filter(|d| d.is_positive())
                .unwrap_or(default)
        };
        let flag = |f: fn(&Claims) -> Option<bool>| {
            provisioner
                .and_then(f)
                .or_else(|| f(authority))
                .unwrap_or(false)
        };
        EffectiveClaims {
            min_tls_cert_duration: pick(|c| &c.min_tls_cert_duration, Duration::minutes(5)),
            max_tls_cert_duration: pick(|c| &c.max_tls_cert_duration, Duration::hours(24)),
            default_tls_cert_duration: pick(|c| &c.default_tls_cert_duration, Duration::hours(24)),
            disable_renewal: flag(|c| c.disable_renewal),
            allow_renewal_after_expiry: flag(|c| c.allow_renewal_after_expiry),
        }
    }
}

/// A registration-authority provisioner. A closed set: an unknown `type` fails the load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[allow(
    clippy::large_enum_variant,
    reason = "configuration, loaded once: boxing would only make every constructor noisier"
)]
pub enum Provisioner {
    /// JSON Web Key one-time tokens, as step-ca's JWK provisioner.
    #[serde(rename = "JWK")]
    Jwk(JwkProvisioner),
    /// An ACME directory (RFC 8555) at `/acme/{name}/directory`.
    #[serde(rename = "ACME")]
    Acme(AcmeProvisioner),
}

impl Provisioner {
    /// The provisioner's unique name.
    pub fn name(&self) -> &str {
        match self {
            Provisioner::Jwk(p) => &p.name,
            Provisioner::Acme(p) => &p.name,
        }
    }

    /// The provisioner's own claims, if any.
    pub fn claims(&self) -> Option<&Claims> {
        match self {
            Provisioner::Jwk(p) => p.claims.as_ref(),
            Provisioner::Acme(p) => p.claims.as_ref(),
        }
    }

    /// The provisioner's own name policy, if any.
    pub fn policy(&self) -> Option<&crate::Policy> {
        match self {
            Provisioner::Jwk(p) => p.policy.as_ref(),
            Provisioner::Acme(p) => p.policy.as_ref(),
        }
    }

    /// The provisioner's X.509 template options, if any.
    pub fn x509_options(&self) -> Option<&X509Options> {
        match self {
            Provisioner::Jwk(p) => p.options.as_ref().and_then(|o| o.x509.as_ref()),
            Provisioner::Acme(p) => p.options.as_ref().and_then(|o| o.x509.as_ref()),
        }
    }

    /// The type as step-ca writes it (`JWK`, `ACME`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Provisioner::Jwk(_) => "JWK",
            Provisioner::Acme(_) => "ACME",
        }
    }

    /// The JWK provisioner, when this is one.
    pub fn as_jwk(&self) -> Option<&JwkProvisioner> {
        match self {
            Provisioner::Jwk(p) => Some(p),
            Provisioner::Acme(_) => None,
        }
    }
}

/// An ACME provisioner: accounts and orders over RFC 8555 at `/acme/{name}/directory`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AcmeProvisioner {
    /// Unique name; part of the directory URL.
    pub name: String,
    /// New accounts must carry an External Account Binding (`vouch ca acme eab add`).
    #[serde(
        default,
        skip_serializing_if = "std::ops::Not::not",
        rename = "requireEAB"
    )]
    pub require_eab: bool,
    /// The directory's `meta.termsOfService` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terms_of_service: Option<String>,
    /// The directory's `meta.website` URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website: Option<String>,
    /// The directory's `meta.caaIdentities`: the CAA issuer domains that name this CA.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub caa_identities: Vec<String>,
    /// Overrides of the global claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Claims>,
    /// This provisioner's own name policy (on top of the authority's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<crate::Policy>,
    /// X.509 template options, as for JWK provisioners.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<ProvisionerOptions>,
}

/// A JWK provisioner: tokens signed by `key`; its private half travels as `encryptedKey`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct JwkProvisioner {
    /// Unique name; the `iss` of its tokens.
    pub name: String,
    /// The public key that verifies tokens.
    pub key: Jwk,
    /// The private JWK, JWE-encrypted (PBES2-HS256+A128KW, A256GCM), compact serialization.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encrypted_key: Option<String>,
    /// Overrides of the global claims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claims: Option<Claims>,
    /// This provisioner's own name policy (on top of the authority's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<crate::Policy>,
    /// Certificate templates (step's `options`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<ProvisionerOptions>,
}

/// A provisioner's `options`, as step-ca's (`options.x509`; `ssh` and webhooks are not
/// supported yet and are refused at load).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProvisionerOptions {
    /// The X.509 certificate template.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509: Option<X509Options>,
}

/// `options.x509`: the template a provisioner's certificates are rendered from.
///
/// Without `template` and `templateFile` the built-in leaf template applies (step's
/// `DefaultLeafTemplate`); `templateData` is available to either.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct X509Options {
    /// The template text (minijinja), or its standard base64 as step-ca also accepts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template: Option<String>,
    /// A file holding the template, relative to `$VOUCH_HOME` unless absolute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_file: Option<String>,
    /// Variables merged into the top level of the template data (the request's own
    /// variables, `Subject`, `SANs`, `Token` and `Insecure`, cannot be overridden).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub template_data: BTreeMap<String, TemplateValue>,
}

/// Names the template data reserves for the request; `templateData` may not use them.
pub const RESERVED_TEMPLATE_VARIABLES: [&str; 4] = ["Subject", "SANs", "Token", "Insecure"];

impl X509Options {
    /// The inline template's text: `template` as written, or decoded when it is base64 (a
    /// template always contains `{`, which base64 never does).
    pub fn inline_template(&self) -> Option<String> {
        let t = self.template.as_deref()?;
        if !t.contains('{') {
            let compact: String = t.chars().filter(|c| !c.is_ascii_whitespace()).collect();
            if let Some(text) = crate::x509_template::decode_base64(&compact)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
            {
                return Some(text);
            }
        }
        Some(t.to_owned())
    }

    /// Every problem at once, fields named under `prefix`.
    pub fn validate(&self, prefix: &str) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        match (&self.template, &self.template_file) {
            (Some(_), Some(_)) => errors.push(ConfigError {
                field: prefix.to_owned(),
                problem: "set template or templateFile, not both".into(),
            }),
            (Some(t), None) if t.trim().is_empty() => errors.push(ConfigError {
                field: format!("{prefix}.template"),
                problem: "is empty".into(),
            }),
            (None, Some(f)) if f.trim().is_empty() => errors.push(ConfigError {
                field: format!("{prefix}.templateFile"),
                problem: "is empty".into(),
            }),
            _ => {}
        }
        for key in self.template_data.keys() {
            if RESERVED_TEMPLATE_VARIABLES.contains(&key.as_str()) {
                errors.push(ConfigError {
                    field: format!("{prefix}.templateData.{key}"),
                    problem: format!(
                        "'{key}' is set by every request ({}) and cannot be overridden",
                        RESERVED_TEMPLATE_VARIABLES.join(", ")
                    ),
                });
            }
        }
        for (key, value) in &self.template_data {
            if value.has_toml_datetime() {
                errors.push(ConfigError {
                    field: format!("{prefix}.templateData.{key}"),
                    problem: "TOML dates and times are not supported; write them as strings".into(),
                });
            }
        }
        errors
    }
}

/// A value in `templateData`: what both TOML and JSON can write.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum TemplateValue {
    /// true / false.
    Bool(bool),
    /// An integer.
    Integer(i64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    String(String),
    /// An array.
    List(Vec<TemplateValue>),
    /// A table (object).
    Table(BTreeMap<String, TemplateValue>),
}

impl TemplateValue {
    /// The toml crate hands a datetime to an untagged enum as a table with one private key.
    fn has_toml_datetime(&self) -> bool {
        match self {
            TemplateValue::Table(t) => t
                .iter()
                .any(|(k, v)| k.starts_with("$__toml_private") || v.has_toml_datetime()),
            TemplateValue::List(l) => l.iter().any(TemplateValue::has_toml_datetime),
            _ => false,
        }
    }
}

/// A public JSON Web Key (RFC 7517) as step-ca writes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Jwk {
    /// Intended use, `sig`.
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Key type: `EC`, `OKP` or `RSA`.
    pub kty: String,
    /// RFC 7638 thumbprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Curve for EC and OKP keys.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    /// Signature algorithm, e.g. `ES256`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// EC/OKP public x coordinate (base64url).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    /// EC public y coordinate (base64url).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// RSA modulus (base64url).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// RSA public exponent (base64url).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
}

impl Authority {
    /// The backdate in force (1 minute unless configured).
    pub fn backdate(&self) -> Duration {
        self.backdate
            .as_deref()
            .and_then(|b| parse_duration(b).ok())
            .filter(|d| !d.is_negative())
            .unwrap_or(Duration::minutes(1))
    }
}

impl CaConfig {
    /// Every problem in the configuration at once (an empty list means valid).
    pub fn validate(&self) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if self.dns_names.is_empty() {
            errors.push(ConfigError {
                field: "dnsNames".into(),
                problem: "at least one name is required".into(),
            });
        }
        if !self.address.contains(':') {
            errors.push(ConfigError {
                field: "address".into(),
                problem: format!("'{}' has no port (expected host:port)", self.address),
            });
        }
        if !(self.db.url.starts_with("sqlite:") || self.db.url.starts_with("postgres")) {
            errors.push(ConfigError {
                field: "db.url".into(),
                problem: "must start with sqlite: or postgres://".into(),
            });
        }
        errors.extend(self.authority.claims.validate("authority.claims"));
        if let Some(acme) = &self.acme {
            errors.extend(acme.resolver_addr().err());
            errors.extend(acme.resolve_entries().err());
        }
        if let Some(a) = &self.insecure_address
            && !a.contains(':')
        {
            errors.push(ConfigError {
                field: "insecureAddress".into(),
                problem: format!("'{a}' has no port (expected host:port)"),
            });
        }
        if let Some(ocsp) = &self.ocsp {
            for (field, url) in [
                ("ocsp.url", &ocsp.url),
                ("ocsp.caIssuers", &ocsp.ca_issuers),
            ] {
                if let Some(u) = url
                    && !(u.starts_with("http://") || u.starts_with("https://"))
                {
                    errors.push(ConfigError {
                        field: field.into(),
                        problem: format!("'{u}' is not an http(s) URL"),
                    });
                }
            }
        }
        if let Some(crl) = &self.crl {
            if let Some(d) = &crl.cache_duration {
                match parse_duration(d) {
                    Ok(v) if v >= Duration::minutes(5) && v <= Duration::days(30) => {}
                    Ok(_) => errors.push(ConfigError {
                        field: "crl.cacheDuration".into(),
                        problem: format!("'{d}' must be between 5m and 30d"),
                    }),
                    Err(e) => errors.push(ConfigError {
                        field: "crl.cacheDuration".into(),
                        problem: e.to_string(),
                    }),
                }
            }
            if let Some(u) = &crl.distribution_point
                && !(u.starts_with("http://") || u.starts_with("https://"))
            {
                errors.push(ConfigError {
                    field: "crl.distributionPoint".into(),
                    problem: format!("'{u}' is not an http(s) URL"),
                });
            }
        }
        if let Some(b) = &self.authority.backdate {
            match parse_duration(b) {
                Ok(d) if !d.is_negative() && d <= Duration::hours(1) => {}
                Ok(_) => errors.push(ConfigError {
                    field: "authority.backdate".into(),
                    problem: format!("'{b}' must be between 0s and 1h"),
                }),
                Err(e) => errors.push(ConfigError {
                    field: "authority.backdate".into(),
                    problem: e.to_string(),
                }),
            }
        }
        if let Some(p) = &self.authority.policy {
            errors.extend(p.validate("authority.policy"));
        }
        let mut seen = std::collections::HashSet::new();
        for (i, p) in self.authority.provisioners.iter().enumerate() {
            if !seen.insert(p.name()) {
                errors.push(ConfigError {
                    field: format!("authority.provisioners[{i}].name"),
                    problem: format!("'{}' is used by more than one provisioner", p.name()),
                });
            }
            if let Some(c) = p.claims() {
                errors.extend(c.validate(&format!("authority.provisioners[{i}].claims")));
            }
            if let Some(policy) = p.policy() {
                errors.extend(policy.validate(&format!("authority.provisioners[{i}].policy")));
            }
            if let Some(x509) = p.x509_options() {
                errors.extend(x509.validate(&format!("authority.provisioners[{i}].options.x509")));
            }
        }
        errors
    }
}

/// `config/defaults.toml`: what the client commands need to reach and trust the CA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DefaultsConfig {
    /// `https://host:port` of the CA.
    #[serde(rename = "ca-url")]
    pub ca_url: String,
    /// Path of the server configuration.
    #[serde(rename = "ca-config")]
    pub ca_config: String,
    /// SHA-256 fingerprint of the root, lowercase hex.
    pub fingerprint: String,
    /// Path of the root certificate.
    pub root: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> CaConfig {
        CaConfig {
            root: "certs/root_ca.crt".into(),
            crt: "certs/intermediate_ca.crt".into(),
            key: "secrets/intermediate_ca_key".into(),
            address: "127.0.0.1:9443".into(),
            dns_names: vec!["ca.test".into()],
            db: DbConfig {
                url: "sqlite://db/vouch.db".into(),
            },
            insecure_address: None,
            crl: None,
            ocsp: None,
            acme: None,
            authority: Authority {
                claims: Claims::defaults(),
                policy: None,
                backdate: None,
                disable_issued_at_check: false,
                provisioners: vec![Provisioner::Jwk(JwkProvisioner {
                    name: "admin".into(),
                    key: Jwk {
                        use_: Some("sig".into()),
                        kty: "EC".into(),
                        kid: Some("k".into()),
                        crv: Some("P-256".into()),
                        alg: Some("ES256".into()),
                        x: Some("x".into()),
                        y: Some("y".into()),
                        n: None,
                        e: None,
                    },
                    encrypted_key: Some("e".into()),
                    claims: None,
                    policy: None,
                    options: None,
                })],
            },
        }
    }

    #[test]
    fn toml_roundtrip_and_valid() {
        let c = sample();
        let text = toml::to_string(&c).unwrap_or_default();
        assert!(text.contains("dnsNames"), "{text}");
        assert!(text.contains("type = \"JWK\""), "{text}");
        let back: CaConfig = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, c);
        assert_eq!(c.validate(), vec![]);
    }

    #[test]
    fn unknown_provisioner_type_and_fields_are_errors() {
        let text = toml::to_string(&sample()).unwrap_or_default();
        let bad = text.replace("type = \"JWK\"", "type = \"NOPE\"");
        assert!(toml::from_str::<CaConfig>(&bad).is_err());
        let bad = text.replace("dnsNames", "dnsNamez");
        assert!(toml::from_str::<CaConfig>(&bad).is_err());
    }

    #[test]
    fn effective_claims_prefer_the_provisioner() {
        let global = Claims {
            max_tls_cert_duration: Some("48h".into()),
            ..Claims::default()
        };
        let own = Claims {
            default_tls_cert_duration: Some("1h".into()),
            disable_renewal: Some(true),
            ..Claims::default()
        };
        let e = EffectiveClaims::resolve(&global, Some(&own));
        assert_eq!(e.max_tls_cert_duration, Duration::hours(48));
        assert_eq!(e.default_tls_cert_duration, Duration::hours(1));
        assert_eq!(e.min_tls_cert_duration, Duration::minutes(5));
        assert!(e.disable_renewal && !e.allow_renewal_after_expiry);
        let d = EffectiveClaims::resolve(&Claims::default(), None);
        assert_eq!(d.default_tls_cert_duration, Duration::hours(24));
    }

    #[test]
    fn x509_options_load_and_validate() {
        let text = toml::to_string(&sample()).unwrap_or_default();
        let with = format!(
            "{text}\n[authority.provisioners.options.x509]\ntemplateFile = \"templates/leaf.tpl\"\n\
             [authority.provisioners.options.x509.templateData]\nteam = \"ops\"\n\
             limits = {{ max = 3, ratio = 0.5, tags = [\"a\", true] }}\n"
        );
        let c: CaConfig = toml::from_str(&with).unwrap_or_else(|e| panic!("{e}\n{with}"));
        let Provisioner::Jwk(p) = &c.authority.provisioners[0] else {
            panic!("expected a JWK provisioner")
        };
        let x509 = p.options.as_ref().and_then(|o| o.x509.clone()).unwrap();
        assert_eq!(x509.template_file.as_deref(), Some("templates/leaf.tpl"));
        assert_eq!(
            x509.template_data.get("team"),
            Some(&TemplateValue::String("ops".into()))
        );
        let Some(TemplateValue::Table(limits)) = x509.template_data.get("limits") else {
            panic!("{:?}", x509.template_data)
        };
        assert_eq!(limits.get("max"), Some(&TemplateValue::Integer(3)));
        assert_eq!(limits.get("ratio"), Some(&TemplateValue::Float(0.5)));
        assert_eq!(c.validate(), vec![]);
        // Round trip.
        let again: CaConfig = toml::from_str(&toml::to_string(&c).unwrap()).unwrap();
        assert_eq!(again, c);

        // Both sources, a reserved name and a date are errors; unknown option keys too.
        let mut bad = c.clone();
        let Provisioner::Jwk(p) = &mut bad.authority.provisioners[0] else {
            panic!("expected a JWK provisioner")
        };
        let x = p.options.as_mut().and_then(|o| o.x509.as_mut()).unwrap();
        x.template = Some("{}".into());
        x.template_data
            .insert("Token".into(), TemplateValue::Bool(true));
        let errs = bad.validate();
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert_eq!(errs[0].field, "authority.provisioners[0].options.x509");
        assert!(errs[0].problem.contains("not both"));
        assert_eq!(
            errs[1].field,
            "authority.provisioners[0].options.x509.templateData.Token"
        );
        let dated = with.replace("team = \"ops\"", "team = 2024-01-01T00:00:00Z");
        let c: CaConfig = toml::from_str(&dated).unwrap();
        assert_eq!(c.validate().len(), 1, "{:?}", c.validate());
        let unknown = with.replace("templateFile", "templateFiles");
        assert!(toml::from_str::<CaConfig>(&unknown).is_err());
        let ssh = with.replace("options.x509]", "options.ssh]");
        assert!(toml::from_str::<CaConfig>(&ssh).is_err());
    }

    #[test]
    fn inline_templates_may_be_base64() {
        let opts = |t: &str| X509Options {
            template: Some(t.into()),
            ..X509Options::default()
        };
        let text = "{ \"subject\": {{ toJson(Subject) }} }";
        assert_eq!(opts(text).inline_template().as_deref(), Some(text));
        // base64 of `{"subject": "x"}`
        assert_eq!(
            opts("eyJzdWJqZWN0IjogIngifQ==")
                .inline_template()
                .as_deref(),
            Some("{\"subject\": \"x\"}")
        );
        assert_eq!(X509Options::default().inline_template(), None);
    }

    #[test]
    fn claims_validation_reports_every_problem() {
        let mut c = sample();
        c.authority.claims.max_tls_cert_duration = Some("1m".into());
        c.authority.claims.min_tls_cert_duration = Some("bogus".into());
        c.dns_names.clear();
        let errs = c.validate();
        assert_eq!(errs.len(), 3, "{errs:?}");
    }
}
