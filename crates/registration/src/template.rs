//! X.509 certificate templates: a provisioner's template, rendered with the request's data,
//! says what goes into the certificate.
//!
//! Design (ARCHITECTURE §3). A template is minijinja text (Jinja2 syntax, not step-ca's Go
//! templates) whose output must be the JSON of a [`CertificateTemplate`], with step-ca's field
//! names. [`render_x509_template`] renders it in a fresh [`minijinja::Environment`] and parses
//! and validates the result; the issuing crate turns the description into a certificate and
//! lints it again before anything is signed. This crate never builds or signs certificates.
//!
//! Safety of rendering. Templates come from the CA's configuration, the data partly from the
//! client, so a render is bounded and cannot panic: a fuel limit ([`TEMPLATE_FUEL`]
//! instructions) stops runaway loops, the recursion depth is capped, output beyond
//! [`MAX_TEMPLATE_OUTPUT`] bytes aborts the render, there is no template loader (`include`,
//! `import` and `extends` fail), and undefined variables are errors when printed or iterated
//! (minijinja's semi-strict mode), so a misspelt variable does not silently become `""`.
//! Every failure is a [`TemplateError`]. Memory held by intermediate values inside one render
//! (e.g. a huge string built with `~` in a loop) is not bounded separately: templates are
//! configuration, written by the CA's operators.
//!
//! # Variables
//!
//! Names are step-ca's, so step templates port by syntax alone (`{{ .Subject.CommonName }}`
//! becomes `{{ Subject.CommonName }}`, `{{ toJson .SANs }}` becomes `{{ toJson(SANs) }}`):
//!
//! | variable | contents |
//! |---|---|
//! | `Subject` | the validated subject from the token: `{Country, Organization, OrganizationalUnit, Locality, Province, StreetAddress, PostalCode, SerialNumber, CommonName, ExtraNames: [{Type, Value}]}`; for JWK tokens only `CommonName` (the token's `sub`) is set |
//! | `SANs` | the validated SANs from the token (its `sans`, or `[sub]` when it has none), `[{Type, Value}]` with `Type` one of `dns`, `ip`, `email`, `uri` |
//! | `Token` | the whole token payload (`Token.sub`, `Token.email`, `Token.user.name`, …) |
//! | `Insecure.CR` | the CSR as the client sent it, unvalidated: `{Subject, DNSNames, IPAddresses, EmailAddresses, URIs, PublicKeyAlgorithm}` with `PublicKeyAlgorithm` one of `RSA`, `ECDSA`, `Ed25519` (Go's names) |
//! | `Insecure.User` | the request's `templateData` object, unvalidated (`{}` when absent) |
//! | anything else | the provisioner's `options.x509.templateData`, merged at the top level; it cannot replace the four names above |
//!
//! Functions and filters: everything built into minijinja (`tojson`, `default`, `join`,
//! `lower`, `replace`, `split`, tests such as `is startingwith`, the `in` operator, …), plus
//! `toJson(value)` (step's name; like `tojson`, an undefined value is an error) and
//! `fail(message)`, which stops the render with [`TemplateError::Fail`] whose message is
//! exactly `message` (the API answers it with 400, as step-ca does).
//!
//! ```jinja
//! {% if "@" not in Token.email %}{{ fail("an e-mail claim is required") }}{% endif %}
//! {
//!   "subject": {"commonName": {{ toJson(Token.email) }}, "organization": {{ toJson(org) }}},
//!   "emailAddresses": [{{ toJson(Token.email) }}],
//!   "keyUsage": ["digitalSignature"],
//!   "extKeyUsage": ["clientAuth", "emailProtection"]
//! }
//! ```
//!
//! Always insert values with `toJson`/`tojson`: it quotes and escapes them, so data cannot
//! change the structure of the JSON.
//!
//! Left out from step-ca: the Go template syntax itself, the sprig function library (minijinja's
//! built-ins cover the common uses), `toTime`/`formatTime`/`parseTime`, the `asn1Enc`/
//! `asn1Marshal`/`asn1Seq`/`asn1Set` encoders (a custom extension's value is given as base64
//! DER, for instance from `templateData`), `.AuthorizationCrt`/`.AuthorizationChain` (no X5C
//! provisioner yet) and `.Webhooks` (no webhooks yet).

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::IpAddr;
use std::sync::{Arc, LazyLock, Mutex};

use minijinja::value::Serde;
use minijinja::{AutoEscape, Environment, UndefinedBehavior, Value};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Map, Number, Value as Json};
use vouch_model::{
    CertificateTemplate, ErrorKind, RESERVED_TEMPLATE_VARIABLES, TemplateProblem, TemplateValue,
};

use crate::JwkTokenClaims;

/// Rendered output longer than this aborts the render.
pub const MAX_TEMPLATE_OUTPUT: usize = 64 * 1024;

/// Instructions one render may execute (a leaf template needs well under a hundred; a loop
/// over a hundred SANs a few thousand).
pub const TEMPLATE_FUEL: u64 = 100_000;

/// Nesting depth of macro calls and recursive loops.
const RECURSION_LIMIT: usize = 64;

/// step-ca's `DefaultLeafTemplate`: subject and SANs from the token, digitalSignature (plus
/// keyEncipherment for an RSA key), serverAuth and clientAuth.
pub const DEFAULT_LEAF_TEMPLATE: &str = r#"{
	"subject": {{ toJson(Subject) }},
	"sans": {{ toJson(SANs) }},
{%- if Insecure.CR.PublicKeyAlgorithm == "RSA" %}
	"keyUsage": ["keyEncipherment", "digitalSignature"],
{%- else %}
	"keyUsage": ["digitalSignature"],
{%- endif %}
	"extKeyUsage": ["serverAuth", "clientAuth"]
}"#;

/// Why a template could not produce a certificate description.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// The template called `fail(message)`; the message is the template author's, meant for
    /// the client.
    #[error("{0}")]
    Fail(String),
    /// The template does not compile, or rendering failed (undefined variable, out of fuel,
    /// recursion, a function error).
    #[error("certificate template: {0}")]
    Template(String),
    /// The rendered output exceeded [`MAX_TEMPLATE_OUTPUT`].
    #[error("certificate template: output larger than {max} bytes")]
    OutputTooLarge {
        /// The limit.
        max: usize,
    },
    /// The output is not the JSON of a certificate description (bad JSON, unknown field).
    #[error("certificate template output is not a certificate description: {0}")]
    Output(String),
    /// The description is well-formed but says something invalid.
    #[error("certificate template result is invalid: {}", join_problems(.0))]
    Invalid(Vec<TemplateProblem>),
}

fn join_problems(problems: &[TemplateProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

impl TemplateError {
    /// The kind of the error, for the edges to render: `fail` and invalid contents are the
    /// request's problem (400); a template that does not render is the CA's (500).
    pub fn kind(&self) -> ErrorKind {
        match self {
            TemplateError::Fail(_) | TemplateError::Invalid(_) => ErrorKind::Malformed,
            TemplateError::Template(_)
            | TemplateError::OutputTooLarge { .. }
            | TemplateError::Output(_) => ErrorKind::Internal,
        }
    }
}

/// A subject as templates see it (step's `Subject`, Go field names).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SubjectData {
    /// C.
    #[serde(rename = "Country")]
    pub country: Vec<String>,
    /// O.
    #[serde(rename = "Organization")]
    pub organization: Vec<String>,
    /// OU.
    #[serde(rename = "OrganizationalUnit")]
    pub organizational_unit: Vec<String>,
    /// L.
    #[serde(rename = "Locality")]
    pub locality: Vec<String>,
    /// ST.
    #[serde(rename = "Province")]
    pub province: Vec<String>,
    /// street.
    #[serde(rename = "StreetAddress")]
    pub street_address: Vec<String>,
    /// postalCode.
    #[serde(rename = "PostalCode")]
    pub postal_code: Vec<String>,
    /// serialNumber attribute ("" when absent).
    #[serde(rename = "SerialNumber")]
    pub serial_number: String,
    /// CN ("" when absent).
    #[serde(rename = "CommonName")]
    pub common_name: String,
    /// Other attributes by OID.
    #[serde(rename = "ExtraNames")]
    pub extra_names: Vec<ExtraNameData>,
}

/// A subject attribute by OID, as templates see it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExtraNameData {
    /// The dotted OID.
    #[serde(rename = "Type")]
    pub oid: String,
    /// The value as text.
    #[serde(rename = "Value")]
    pub value: String,
}

impl SubjectData {
    /// A subject with only a common name.
    pub fn common_name(cn: impl Into<String>) -> Self {
        SubjectData {
            common_name: cn.into(),
            ..SubjectData::default()
        }
    }

    /// Sort `(dotted OID, value)` attributes (e.g. from a CSR's subject) into the named fields;
    /// other types go to `ExtraNames`. A second CN or serialNumber goes to `ExtraNames` too.
    pub fn from_attributes<I, O, V>(attributes: I) -> Self
    where
        I: IntoIterator<Item = (O, V)>,
        O: Into<String>,
        V: Into<String>,
    {
        let mut s = SubjectData::default();
        for (oid, value) in attributes {
            let (oid, value) = (oid.into(), value.into());
            match oid.as_str() {
                "2.5.4.6" => s.country.push(value),
                "2.5.4.10" => s.organization.push(value),
                "2.5.4.11" => s.organizational_unit.push(value),
                "2.5.4.7" => s.locality.push(value),
                "2.5.4.8" => s.province.push(value),
                "2.5.4.9" => s.street_address.push(value),
                "2.5.4.17" => s.postal_code.push(value),
                "2.5.4.3" if s.common_name.is_empty() => s.common_name = value,
                "2.5.4.5" if s.serial_number.is_empty() => s.serial_number = value,
                _ => s.extra_names.push(ExtraNameData { oid, value }),
            }
        }
        s
    }
}

/// A subject alternative name as templates see it (step's `{Type, Value}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SanData {
    /// `dns`, `ip`, `email` or `uri`.
    #[serde(rename = "Type")]
    pub san_type: String,
    /// The name.
    #[serde(rename = "Value")]
    pub value: String,
}

impl SanData {
    /// Type a name from how it is written, as the issuing crate reads SANs: an IP address, a
    /// URI (`scheme://…` or `urn:…`), an e-mail address (`a@b`), else a DNS name.
    pub fn from_name(name: &str) -> Self {
        let t = if name
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok()
        {
            "ip"
        } else if name.contains("://") || name.starts_with("urn:") {
            "uri"
        } else if name.contains('@') {
            "email"
        } else {
            "dns"
        };
        SanData {
            san_type: t.to_owned(),
            value: name.to_owned(),
        }
    }
}

/// The CSR as the client sent it (step's `.Insecure.CR`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CertificateRequestData {
    /// The requested subject.
    #[serde(rename = "Subject")]
    pub subject: SubjectData,
    /// Requested DNS SANs.
    #[serde(rename = "DNSNames")]
    pub dns_names: Vec<String>,
    /// Requested IP SANs, as text.
    #[serde(rename = "IPAddresses")]
    pub ip_addresses: Vec<String>,
    /// Requested e-mail SANs.
    #[serde(rename = "EmailAddresses")]
    pub email_addresses: Vec<String>,
    /// Requested URI SANs.
    #[serde(rename = "URIs")]
    pub uris: Vec<String>,
    /// `RSA`, `ECDSA` or `Ed25519` (Go's `x509.PublicKeyAlgorithm` names).
    #[serde(rename = "PublicKeyAlgorithm")]
    pub public_key_algorithm: String,
}

impl CertificateRequestData {
    /// Sort SANs written as text into the four lists (typed as [`SanData::from_name`]).
    pub fn with_sans<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        for name in names {
            let san = SanData::from_name(name.as_ref());
            let list = match san.san_type.as_str() {
                "ip" => &mut self.ip_addresses,
                "uri" => &mut self.uris,
                "email" => &mut self.email_addresses,
                _ => &mut self.dns_names,
            };
            list.push(san.value);
        }
        self
    }
}

/// `Insecure`: what the client sent, unvalidated.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InsecureData {
    /// The certificate request.
    #[serde(rename = "CR")]
    pub cr: CertificateRequestData,
    /// The request's `templateData` (an object; `{}` when absent).
    #[serde(rename = "User")]
    pub user: Json,
}

/// Everything a template can read. Serializes to the variables documented in the module.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateData {
    /// `Subject`: validated, from the token.
    pub subject: SubjectData,
    /// `SANs`: validated, from the token.
    pub sans: Vec<SanData>,
    /// `Token`: the token payload.
    pub token: Json,
    /// `Insecure`: the CSR and the request's template data.
    pub insecure: InsecureData,
    /// The provisioner's `templateData`, merged at the top level.
    pub provisioner_data: Map<String, Json>,
}

impl TemplateData {
    /// Data for a request: the validated subject and SANs, the token payload and the CSR.
    pub fn new(
        subject: SubjectData,
        sans: Vec<SanData>,
        token: Json,
        request: CertificateRequestData,
    ) -> Self {
        TemplateData {
            subject,
            sans,
            token,
            insecure: InsecureData {
                cr: request,
                user: Json::Object(Map::new()),
            },
            provisioner_data: Map::new(),
        }
    }

    /// Data for a verified JWK token, as step-ca fills it: `Subject.CommonName` is `sub`,
    /// `SANs` are the token's `sans` (or `[sub]` when it has none), `Token` is the payload.
    pub fn from_token(claims: &JwkTokenClaims, request: CertificateRequestData) -> Self {
        let names: Vec<&str> = if claims.sans.is_empty() {
            vec![claims.subject.as_str()]
        } else {
            claims.sans.iter().map(String::as_str).collect()
        };
        TemplateData::new(
            SubjectData::common_name(claims.subject.clone()),
            names.into_iter().map(SanData::from_name).collect(),
            claims.raw.clone(),
            request,
        )
    }

    /// Set `Insecure.User` (the request's `templateData`; `null` becomes `{}`).
    pub fn with_user_data(mut self, user: Json) -> Self {
        self.insecure.user = match user {
            Json::Null => Json::Object(Map::new()),
            other => other,
        };
        self
    }

    /// Merge a provisioner's `options.x509.templateData`.
    pub fn with_provisioner_data(mut self, data: &BTreeMap<String, TemplateValue>) -> Self {
        for (k, v) in data {
            self.provisioner_data.insert(k.clone(), to_json(v));
        }
        self
    }
}

fn to_json(v: &TemplateValue) -> Json {
    match v {
        TemplateValue::Bool(b) => Json::Bool(*b),
        TemplateValue::Integer(i) => Json::Number(Number::from(*i)),
        TemplateValue::Float(f) => Number::from_f64(*f).map_or(Json::Null, Json::Number),
        TemplateValue::String(s) => Json::String(s.clone()),
        TemplateValue::List(l) => Json::Array(l.iter().map(to_json).collect()),
        TemplateValue::Table(t) => {
            Json::Object(t.iter().map(|(k, v)| (k.clone(), to_json(v))).collect())
        }
    }
}

impl Serialize for TemplateData {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let extra: Vec<(&String, &Json)> = self
            .provisioner_data
            .iter()
            .filter(|(k, _)| !RESERVED_TEMPLATE_VARIABLES.contains(&k.as_str()))
            .collect();
        let mut map = serializer.serialize_map(Some(extra.len() + 4))?;
        for (k, v) in extra {
            map.serialize_entry(k, v)?;
        }
        map.serialize_entry("Subject", &self.subject)?;
        map.serialize_entry("SANs", &self.sans)?;
        map.serialize_entry("Token", &self.token)?;
        map.serialize_entry("Insecure", &self.insecure)?;
        map.end()
    }
}

thread_local! {
    /// The message of the template's `fail(...)` call during the render running on this
    /// thread (rendering is synchronous, so the render and its `fail` share the thread).
    static FAILED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Compiled templates, by source: a provisioner's template is compiled once, not on every
/// request (compiling was a third of a render). Bounded: past [`CACHE_LIMIT`] sources (only
/// reachable through many configuration reloads) it starts again empty.
static COMPILED: LazyLock<Mutex<HashMap<String, Arc<Environment<'static>>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
const CACHE_LIMIT: usize = 256;
/// The name of the one template in a cached environment.
const TEMPLATE_NAME: &str = "x509";

/// The environment holding `template` compiled, from the cache or freshly compiled.
fn compiled(template: &str) -> Result<Arc<Environment<'static>>, TemplateError> {
    let lock = || {
        COMPILED
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    };
    if let Some(env) = lock().get(template) {
        return Ok(Arc::clone(env));
    }
    let mut env = environment();
    env.add_template_owned(TEMPLATE_NAME, template.to_owned())
        .map_err(|e| TemplateError::Template(e.to_string()))?;
    let env = Arc::new(env);
    let mut cache = lock();
    if cache.len() >= CACHE_LIMIT {
        cache.clear();
    }
    cache.insert(template.to_owned(), Arc::clone(&env));
    Ok(env)
}

/// A fresh environment: built-ins, `fail`, `toJson`, limits; no loader, no auto-escaping.
fn environment<'s>() -> Environment<'s> {
    let mut env = Environment::new();
    env.set_fuel(Some(TEMPLATE_FUEL));
    env.set_recursion_limit(RECURSION_LIMIT);
    env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.add_function(
        "fail",
        |message: Value| -> Result<Value, minijinja::Error> {
            let text = message
                .as_str()
                .map_or_else(|| message.to_string(), str::to_owned);
            FAILED.with(|f| *f.borrow_mut() = Some(text.clone()));
            Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                text,
            ))
        },
    );
    env.add_function(
        "toJson",
        |value: Value| -> Result<Value, minijinja::Error> {
            if value.is_undefined() {
                return Err(minijinja::Error::new(
                    minijinja::ErrorKind::UndefinedError,
                    "toJson: the value is undefined",
                ));
            }
            serde_json::to_string(&value)
                .map(Value::from_safe_string)
                .map_err(|e| {
                    minijinja::Error::new(
                        minijinja::ErrorKind::BadSerialization,
                        format!("toJson: {e}"),
                    )
                })
        },
    );
    env
}

/// Collects output up to a limit and refuses the write that would pass it.
struct Bounded {
    buf: Vec<u8>,
    exceeded: bool,
}

impl io::Write for Bounded {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.buf.len().saturating_add(data.len()) > MAX_TEMPLATE_OUTPUT {
            self.exceeded = true;
            return Err(io::Error::other("template output too large"));
        }
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Check that a template compiles (for `check-config` and at load); nothing is rendered.
pub fn check_x509_template(template: &str) -> Result<(), TemplateError> {
    environment()
        .template_from_str(template)
        .map(|_| ())
        .map_err(|e| TemplateError::Template(e.to_string()))
}

/// Render `template` with `data`, parse the output as a [`CertificateTemplate`] and validate
/// it. Never panics; every failure is a [`TemplateError`].
pub fn render_x509_template(
    template: &str,
    data: &TemplateData,
) -> Result<CertificateTemplate, TemplateError> {
    let env = compiled(template)?;
    let compiled = env
        .get_template(TEMPLATE_NAME)
        .map_err(|e| TemplateError::Template(e.to_string()))?;
    let mut out = Bounded {
        buf: Vec::new(),
        exceeded: false,
    };
    FAILED.with(|f| f.borrow_mut().take());
    let rendered = compiled
        .render_captured_to(Value::from(Serde(data)), &mut out)
        .map(drop);
    if let Some(message) = FAILED.with(|f| f.borrow_mut().take()) {
        return Err(TemplateError::Fail(message));
    }
    if out.exceeded {
        return Err(TemplateError::OutputTooLarge {
            max: MAX_TEMPLATE_OUTPUT,
        });
    }
    rendered.map_err(|e| TemplateError::Template(e.to_string()))?;
    let text = String::from_utf8(out.buf)
        .map_err(|_| TemplateError::Output("the output is not UTF-8".into()))?;
    let description: CertificateTemplate =
        serde_json::from_str(&text).map_err(|e| TemplateError::Output(e.to_string()))?;
    let problems = description.validate();
    if problems.is_empty() {
        Ok(description)
    } else {
        Err(TemplateError::Invalid(problems))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use vouch_model::{SanKind, X509Options};

    use super::*;

    fn data(alg: &str) -> TemplateData {
        TemplateData::new(
            SubjectData::common_name("web.example.com"),
            vec![
                SanData::from_name("web.example.com"),
                SanData::from_name("10.0.0.1"),
                SanData::from_name("spiffe://example.org/web"),
                SanData::from_name("ops@example.com"),
            ],
            json!({"sub": "web.example.com", "email": "ops@example.com", "user": {"team": "blue"}}),
            CertificateRequestData {
                subject: SubjectData::from_attributes([
                    ("2.5.4.3", "web.example.com"),
                    ("2.5.4.10", "Acme"),
                    ("0.9.2342.19200300.100.1.25", "example"),
                ]),
                public_key_algorithm: alg.into(),
                ..CertificateRequestData::default()
            }
            .with_sans(["web.example.com", "10.0.0.1"]),
        )
    }

    fn render(template: &str) -> Result<CertificateTemplate, TemplateError> {
        render_x509_template(template, &data("ECDSA"))
    }

    #[test]
    fn default_leaf_template_follows_step() {
        let t = render(DEFAULT_LEAF_TEMPLATE).unwrap();
        assert_eq!(t.subject.common_name, "web.example.com");
        assert!(t.subject.organization.is_empty());
        let sans: Vec<(SanKind, &str)> = t
            .sans
            .iter()
            .map(|s| (s.kind().unwrap(), s.value.as_str()))
            .collect();
        assert_eq!(
            sans,
            vec![
                (SanKind::Dns, "web.example.com"),
                (SanKind::Ip, "10.0.0.1"),
                (SanKind::Uri, "spiffe://example.org/web"),
                (SanKind::Email, "ops@example.com"),
            ]
        );
        assert_eq!(t.key_usage.0, vec!["digitalSignature"]);
        assert_eq!(t.ext_key_usage.0, vec!["serverAuth", "clientAuth"]);
        assert!(t.basic_constraints.is_none());

        let rsa = render_x509_template(DEFAULT_LEAF_TEMPLATE, &data("RSA")).unwrap();
        assert_eq!(rsa.key_usage.0, vec!["keyEncipherment", "digitalSignature"]);
    }

    #[test]
    fn variables_are_steps() {
        let d = data("Ed25519")
            .with_user_data(json!({"ou": "edge"}))
            .with_provisioner_data(&BTreeMap::from([
                ("org".to_owned(), TemplateValue::String("Acme".into())),
                (
                    "Subject".to_owned(),
                    TemplateValue::String("must not win".into()),
                ),
                (
                    "limits".to_owned(),
                    TemplateValue::Table(BTreeMap::from([(
                        "n".to_owned(),
                        TemplateValue::Integer(2),
                    )])),
                ),
            ]));
        let template = r#"{
            "subject": {
                "commonName": {{ toJson(Subject.CommonName) }},
                "organization": {{ org | tojson }},
                "organizationalUnit": [{{ toJson(Insecure.User.ou) }}, {{ toJson(Token.user.team) }}],
                "extraNames": [{"type": "0.9.2342.19200300.100.1.25", "value": {{ toJson(Insecure.CR.Subject.ExtraNames[0].Value) }}}]
            },
            "dnsNames": {{ toJson(Insecure.CR.DNSNames) }},
            "ipAddresses": {{ toJson(Insecure.CR.IPAddresses) }},
            "emailAddresses": [{{ toJson(Token.email) }}],
            "keyUsage": "{{ 'digitalSignature' if Insecure.CR.PublicKeyAlgorithm == 'Ed25519' else 'keyAgreement' }}",
            "unknownExtKeyUsage": ["1.3.6.1.4.1.311.20.2.2"],
            "policyIdentifiers": "{{ '2.23.140.1.2.' ~ limits.n }}"
        }"#;
        let t = render_x509_template(template, &d).unwrap();
        assert_eq!(t.subject.common_name, "web.example.com");
        assert_eq!(t.subject.organization.0, vec!["Acme"]);
        assert_eq!(t.subject.organizational_unit.0, vec!["edge", "blue"]);
        assert_eq!(t.subject.extra_names[0].value, "example");
        assert_eq!(t.dns_names.0, vec!["web.example.com"]);
        assert_eq!(t.ip_addresses.0, vec!["10.0.0.1"]);
        assert_eq!(t.email_addresses.0, vec!["ops@example.com"]);
        assert_eq!(t.key_usage.0, vec!["digitalSignature"]);
        assert_eq!(t.policy_identifiers.0, vec!["2.23.140.1.2.2"]);

        // The request's own variables win over templateData of the same name.
        let subject = render_x509_template(
            r#"{"subject": {{ toJson(Subject) }}, "dnsNames": ["a.example"]}"#,
            &d,
        )
        .unwrap();
        assert_eq!(subject.subject.common_name, "web.example.com");
    }

    #[test]
    fn from_token_uses_sub_when_there_are_no_sans() {
        let mut claims = JwkTokenClaims {
            issuer: "p".into(),
            subject: "host.example.com".into(),
            sans: vec![],
            jti: "j".into(),
            expires_at: time::OffsetDateTime::UNIX_EPOCH,
            not_before: None,
            issued_at: None,
            sha: None,
            cnf_x5rt_s256: None,
            raw: json!({"sub": "host.example.com"}),
        };
        let d = TemplateData::from_token(&claims, CertificateRequestData::default());
        assert_eq!(d.sans, vec![SanData::from_name("host.example.com")]);
        assert_eq!(d.token["sub"], "host.example.com");
        claims.sans = vec!["a.example.com".into(), "::1".into()];
        let d = TemplateData::from_token(&claims, CertificateRequestData::default());
        assert_eq!(d.sans[1].san_type, "ip");
        assert_eq!(d.subject.common_name, "host.example.com");
    }

    #[test]
    fn fail_gives_exactly_the_message() {
        let err = render(
            r#"{% if Token.email is not startingwith("root") %}{{ fail("no") }}{% endif %}{}"#,
        )
        .unwrap_err();
        assert_eq!(err, TemplateError::Fail("no".into()));
        assert_eq!(err.to_string(), "no");
        assert_eq!(err.kind(), ErrorKind::Malformed);
        // Inside a macro and a loop, too.
        let err = render(
            r#"{% macro check(x) %}{% for s in SANs %}{% if s.Type == "email" %}{{ fail("no e-mail SANs: " ~ s.Value) }}{% endif %}{% endfor %}{% endmacro %}{{ check(1) }}{}"#,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "no e-mail SANs: ops@example.com");
    }

    /// A compiled template is reused, yet each render sees only its own data and its own
    /// `fail`: a failed render leaves nothing behind for the next one.
    #[test]
    fn cached_templates_render_each_request_afresh() {
        let t = r#"{% if Subject.CommonName == "bad.example" %}{{ fail("refused " ~ Subject.CommonName) }}{% endif %}{"subject": {{ toJson(Subject) }}}"#;
        let with_cn = |cn: &str| {
            TemplateData::new(
                SubjectData::common_name(cn),
                vec![],
                json!({}),
                CertificateRequestData::default(),
            )
        };
        let ok = render_x509_template(t, &with_cn("a.example")).unwrap();
        assert_eq!(ok.subject.common_name, "a.example");
        assert_eq!(
            render_x509_template(t, &with_cn("bad.example")).unwrap_err(),
            TemplateError::Fail("refused bad.example".into())
        );
        let ok = render_x509_template(t, &with_cn("b.example")).unwrap();
        assert_eq!(ok.subject.common_name, "b.example");
        assert!(COMPILED.lock().unwrap().contains_key(t));
        // A template that does not compile is reported each time and never cached.
        let broken = "{% if %}";
        for _ in 0..2 {
            assert!(matches!(
                render_x509_template(broken, &with_cn("a.example")),
                Err(TemplateError::Template(_))
            ));
        }
        assert!(!COMPILED.lock().unwrap().contains_key(broken));
    }
    #[test]
    fn runaway_templates_stop() {
        let err = render(
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}{}",
        )
        .unwrap_err();
        assert!(
            matches!(err, TemplateError::Template(ref m) if m.contains("fuel")),
            "{err}"
        );
        assert_eq!(err.kind(), ErrorKind::Internal);

        let err = render("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}").unwrap_err();
        assert!(matches!(err, TemplateError::Template(_)), "{err}");

        let err = render(r#"{% for i in range(1000) %}{{ "x" * 1000 }}{% endfor %}"#).unwrap_err();
        assert_eq!(
            err,
            TemplateError::OutputTooLarge {
                max: MAX_TEMPLATE_OUTPUT
            }
        );
    }

    #[test]
    fn output_must_be_a_certificate_description() {
        let err = render(r#"{"subject": {{ Subject.CommonName }}}"#).unwrap_err();
        assert!(matches!(err, TemplateError::Output(_)), "{err}");
        let err = render(r#"{"subject": "x", "notAfter": "2030-01-01T00:00:00Z"}"#).unwrap_err();
        assert!(
            matches!(err, TemplateError::Output(ref m) if m.contains("unknown field `notAfter`")),
            "{err}"
        );
        let err = render(r#"{"subject": "x"} trailing"#).unwrap_err();
        assert!(matches!(err, TemplateError::Output(_)), "{err}");
        let err = render(r#"{"subject": "x", "subject": "y"}"#).unwrap_err();
        assert!(matches!(err, TemplateError::Output(_)), "{err}");
        let err = render(r#"{"subject": "x", "keyUsage": ["bogus"], "ipAddresses": "1.2.3"}"#)
            .unwrap_err();
        let TemplateError::Invalid(problems) = &err else {
            panic!("{err}")
        };
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert_eq!(err.kind(), ErrorKind::Malformed);
        assert!(err.to_string().contains("keyUsage[0]"), "{err}");
    }

    #[test]
    fn templates_cannot_reach_outside() {
        for t in [
            r#"{% include "/etc/passwd" %}"#,
            r#"{% import "x" as y %}{}"#,
            r#"{% extends "base" %}"#,
        ] {
            let err = render(t).unwrap_err();
            assert!(matches!(err, TemplateError::Template(_)), "{t}: {err}");
        }
    }

    #[test]
    fn undefined_variables_are_errors_when_used() {
        let err = render(r#"{"subject": {{ toJson(Subjct) }}}"#).unwrap_err();
        assert!(
            matches!(err, TemplateError::Template(ref m) if m.contains("undefined")),
            "{err}"
        );
        let err = render(r#"{"subject": "{{ Token.nope }}"}"#).unwrap_err();
        assert!(matches!(err, TemplateError::Template(_)), "{err}");
        // Testing for presence is fine.
        let t = render(r#"{"subject": {{ toJson(Token.nope if Token.nope else "fallback") }}}"#)
            .unwrap();
        assert_eq!(t.subject.common_name, "fallback");
        let t = render(r#"{"subject": {{ toJson(Insecure.User.cn | default("d")) }}}"#).unwrap();
        assert_eq!(t.subject.common_name, "d");
    }

    #[test]
    fn values_cannot_break_out_of_json() {
        let d = data("ECDSA").with_user_data(json!({"cn": "x\", \"isCA\": true, \"y\": \""}));
        let t = render_x509_template(
            r#"{"subject": {"commonName": {{ toJson(Insecure.User.cn) }}}}"#,
            &d,
        )
        .unwrap();
        assert_eq!(t.subject.common_name, "x\", \"isCA\": true, \"y\": \"");
        assert!(t.basic_constraints.is_none());
    }

    #[test]
    fn syntax_is_checked() {
        assert!(check_x509_template(DEFAULT_LEAF_TEMPLATE).is_ok());
        let err = check_x509_template("{{ .Subject.CommonName }}").unwrap_err();
        assert!(matches!(err, TemplateError::Template(_)), "{err}");
        let err = check_x509_template("{% if x %}{}").unwrap_err();
        assert!(err.to_string().contains("syntax"), "{err}");
    }

    #[test]
    fn base64_inline_templates_render() {
        use base64::Engine;
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(DEFAULT_LEAF_TEMPLATE.as_bytes());
        let options = X509Options {
            template: Some(encoded),
            ..X509Options::default()
        };
        let text = options.inline_template().unwrap();
        assert_eq!(text, DEFAULT_LEAF_TEMPLATE);
        assert!(render(&text).is_ok());
    }
}
