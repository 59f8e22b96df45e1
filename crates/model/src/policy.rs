//! Name policies: which names a certificate may carry, as step-ca's X.509 policy engine.
//!
//! Design: the configuration ([`Policy`], [`X509Policy`], [`NameRules`]) has step-ca's
//! shape and key names (`policy.x509.allow.dns`, `allowWildcardNames`, …), so a step-ca
//! policy can be copied across. It is compiled once into a [`NamePolicy`] (CIDRs parsed,
//! domains lowercased, wildcards split off) and then checked against plain [`Names`], which
//! callers in other crates fill from CSRs, tokens and rendered templates. Everything here is a
//! pure function; the registration crate enforces the policy and the issuing crate re-checks
//! it at the trust boundary. A policy is set authority-wide and, optionally, per provisioner;
//! [`combine`] requires a name to pass both.
//!
//! Semantics (step-ca's, `smallstep/certificates` `policy/validate.go`, `policy/options.go`,
//! `authority/policy/policy.go`):
//! - No rules at all (no policy, or empty `allow` and `deny`): every name is allowed, literal
//!   wildcards included, and nothing is parsed. step-ca builds no engine in that case.
//! - Deny always wins.
//! - If any allow rule exists, for any name type, a name of a type without allow rules is
//!   denied: an allow list for one type denies the other types.
//! - With any rule configured, a name that cannot be parsed as its type is denied (fail
//!   closed: an odd spelling must not slip past a deny rule).
//! - DNS: case-insensitive, one trailing dot ignored. `example.com` matches exactly that name;
//!   `*.example.com` matches exactly one more label (`www.example.com`, not `example.com`, not
//!   `a.b.example.com`). A rule with a leading dot (`.example.com`) is a configuration error,
//!   as in step-ca, which asks for `*.example.com` instead.
//! - Literal wildcard SANs (`*.example.com`) are refused unless `allowWildcardNames`. When
//!   allowed, a wildcard SAN stands for every name one label below its base: an allow rule
//!   must cover all of them (only the rule `*.example.com` does), and a deny rule that covers
//!   any of them (`*.example.com` or `www.example.com`) denies it.
//! - IP: rules are addresses or CIDRs, v4 or v6. IPv4-mapped IPv6 addresses
//!   (`::ffff:10.0.0.1`) and mapped rules (`::ffff:10.0.0.0/104`) are treated as IPv4.
//! - Email: `user@domain` matches that mailbox, `@domain` and a bare `domain` match every
//!   mailbox at exactly that domain (no subdomains; step-ca refuses `@.domain`).
//! - URI: rules are host patterns (`example.com`, `*.example.com`, as for DNS). A URI SAN is
//!   matched by its host. When URI rules exist (allow or deny), a URI without a host
//!   (`urn:uuid:…`) or with an IP host is denied, because no rule can be checked against it;
//!   when there are no URI rules and no allow rules of any type, it is allowed.
//! - Common name: an empty CN is not checked. A CN equal (case-insensitively) to a `cn` deny
//!   rule is denied; one equal to a `cn` allow rule is allowed (unless a deny rule of its own
//!   type matches it). Otherwise the CN is checked as the SAN it parses as, in step-ca's
//!   order: an IP address, a URI (it has a `scheme:`), an email (it has an `@`), else a DNS
//!   name. A CN that is none of these (e.g. `My Service`) is therefore denied under any
//!   policy unless a `cn` allow rule names it.
//!
//! Where Vouch deliberately differs from step-ca (all in the direction of denying more):
//! - step-ca's implicit deny only covers types with no rules at all; a type with deny rules
//!   but no allow rules lets its other names through even when other types have allow rules.
//!   Here the rule is the documented one: an allow list for one type denies the other types.
//! - step-ca refuses a literal wildcard SAN only by failing to match it, so a deny-only
//!   policy lets `*.example.com` through; here it is refused whenever any rule exists.
//! - step-ca lets a wildcard SAN `*.example.com` past a deny rule `www.example.com`; here a
//!   deny rule covering any name the wildcard stands for denies it.
//! - step-ca checks a CN that hits a `cn` deny rule again by its type, where an allow rule
//!   can let it through, and skips every type check when `cn` rules are deny-only; here a
//!   `cn` deny always denies, and deny-only `cn` rules do not exempt the CN from type checks.
//! - step-ca compares email local parts case-sensitively after lowercasing the rule, so
//!   `Bob@example.com` escapes a deny rule `bob@example.com`; here local parts compare
//!   case-insensitively.
//! - step-ca refuses a DNS name with a trailing dot; here it is ignored.
//! - step-ca converts internationalised names with IDNA; this crate has no IDNA tables, so
//!   non-ASCII names are denied under a policy and non-ASCII rules are configuration errors
//!   (write them in their `xn--` form). Quoted email local parts are likewise not supported.
//!
//! Reasons in a [`PolicyViolation`] never quote the policy's rules, because they may be
//! shown to the client that asked for the name.

use std::fmt;
use std::net::IpAddr;

use ipnet::{IpNet, Ipv4Net};
use serde::{Deserialize, Serialize};

use crate::{ConfigError, ErrorKind};

/// `authority.policy`: name policies by certificate kind, as step-ca's `policy` object.
///
/// Only X.509 is supported so far; an `ssh` table is refused at load rather than ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    /// Rules for the names in X.509 certificates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x509: Option<X509Policy>,
}

/// `policy.x509`: allowed and denied names, and whether literal wildcards may be issued.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct X509Policy {
    /// Names that may be issued; when any rule is set, names of other types are denied.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allow: Option<NameRules>,
    /// Names that may never be issued; wins over `allow`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deny: Option<NameRules>,
    /// Allow literal wildcard DNS names such as `*.example.com` (default false).
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_wildcard_names: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// One list of name rules per name type, with step-ca's keys.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NameRules {
    /// Exact subject common names (case-insensitive); `*` is not supported.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cn: Vec<String>,
    /// Domains: `example.com` (exactly) or `*.example.com` (exactly one more label).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dns: Vec<String>,
    /// IP addresses or CIDR ranges, v4 or v6.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip: Vec<String>,
    /// Mailboxes `user@example.com`, or every mailbox at a domain: `@example.com`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub email: Vec<String>,
    /// URI hosts: `example.com` or `*.example.com`, matched against the URI's host.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uri: Vec<String>,
}

impl Policy {
    /// Every problem in the policy at once (an empty list means valid), with field paths
    /// under `prefix`, e.g. `authority.policy.x509.allow.dns[2]`.
    pub fn validate(&self, prefix: &str) -> Vec<ConfigError> {
        let mut errors = Vec::new();
        if let Some(x509) = &self.x509 {
            compile_x509(x509, &format!("{prefix}.x509"), &mut errors);
        }
        errors
    }
}

/// The kind of a name, as step-ca's `NameType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NameType {
    /// The subject common name.
    CommonName,
    /// A dNSName SAN.
    Dns,
    /// An iPAddress SAN.
    Ip,
    /// An rfc822Name SAN.
    Email,
    /// A uniformResourceIdentifier SAN.
    Uri,
}

impl NameType {
    /// step-ca's short name of the type: `cn`, `dns`, `ip`, `email` or `uri`.
    pub fn as_str(self) -> &'static str {
        match self {
            NameType::CommonName => "cn",
            NameType::Dns => "dns",
            NameType::Ip => "ip",
            NameType::Email => "email",
            NameType::Uri => "uri",
        }
    }
}

impl fmt::Display for NameType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The names a certificate would carry, as plain borrowed data.
#[derive(Debug, Clone, Copy, Default)]
pub struct Names<'a> {
    /// The subject common name, if any.
    pub common_name: Option<&'a str>,
    /// dNSName SANs.
    pub dns: &'a [String],
    /// iPAddress SANs.
    pub ips: &'a [IpAddr],
    /// rfc822Name SANs.
    pub emails: &'a [String],
    /// uniformResourceIdentifier SANs.
    pub uris: &'a [String],
}

/// A name that a policy forbids: the first one found (SANs in the order DNS, IP, email,
/// URI, then the common name, as step-ca checks them).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("name '{name}' is not allowed: {reason}")]
pub struct PolicyViolation {
    /// The name as it was given.
    pub name: String,
    /// Where the name was found.
    pub name_type: NameType,
    /// Why it is refused; never quotes the policy's rules.
    pub reason: String,
}

impl PolicyViolation {
    /// Always [`ErrorKind::PolicyForbids`].
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::PolicyForbids
    }
}

/// A compiled X.509 name policy: rules parsed and normalised once, checked many times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePolicy {
    allow: Rules,
    deny: Rules,
    allow_wildcard_names: bool,
}

impl NamePolicy {
    /// Compile a policy, or report every invalid rule, with field paths relative to the
    /// `policy` table (`x509.allow.dns[2]`; prepend e.g. `authority.policy.`).
    pub fn new(policy: &X509Policy) -> Result<NamePolicy, Vec<ConfigError>> {
        let mut errors = Vec::new();
        let compiled = compile_x509(policy, "x509", &mut errors);
        if errors.is_empty() {
            Ok(compiled)
        } else {
            Err(errors)
        }
    }

    /// True when the policy has no rules at all and therefore allows every name.
    pub fn is_empty(&self) -> bool {
        self.allow.is_empty() && self.deny.is_empty()
    }

    /// Check every name; the first forbidden one is returned.
    pub fn check(&self, names: &Names<'_>) -> Result<(), PolicyViolation> {
        if self.is_empty() {
            return Ok(());
        }
        let fail = |name: String, name_type, reason| PolicyViolation {
            name,
            name_type,
            reason,
        };
        for dns in names.dns {
            self.check_dns(dns)
                .map_err(|r| fail(dns.clone(), NameType::Dns, r))?;
        }
        for ip in names.ips {
            self.check_ip(*ip)
                .map_err(|r| fail(ip.to_string(), NameType::Ip, r))?;
        }
        for email in names.emails {
            self.check_email(email)
                .map_err(|r| fail(email.clone(), NameType::Email, r))?;
        }
        for uri in names.uris {
            self.check_uri(uri)
                .map_err(|r| fail(uri.clone(), NameType::Uri, r))?;
        }
        if let Some(cn) = names.common_name {
            self.check_common_name(cn)
                .map_err(|r| fail(cn.to_owned(), NameType::CommonName, r))?;
        }
        Ok(())
    }

    fn check_common_name(&self, cn: &str) -> Result<(), String> {
        // step-ca does not check an empty common name.
        if cn.is_empty() {
            return Ok(());
        }
        let folded = cn.to_lowercase();
        if self.deny.cn.contains(&folded) {
            return Err("it matches a deny rule for common names".into());
        }
        let typed = Typed::classify(cn);
        if self.allow.cn.contains(&folded) {
            // Explicitly allowed; deny rules of the CN's own type still win (step-ca would
            // skip them).
            if self.typed_denied(&typed) {
                return Err(format!(
                    "it matches a deny rule for {} names",
                    typed.name_type()
                ));
            }
            return Ok(());
        }
        match typed {
            Typed::Ip(ip) => self.check_ip(ip),
            Typed::Uri(uri) => self.check_uri(uri),
            Typed::Email(email) => self.check_email(email),
            Typed::Dns(dns) => self.check_dns(dns),
        }
    }

    /// Whether a deny rule of the name's type matches; unparseable names do not match.
    fn typed_denied(&self, typed: &Typed<'_>) -> bool {
        match *typed {
            Typed::Ip(ip) => self.ip_denied(ip),
            Typed::Uri(uri) => match UriHost::parse(uri) {
                UriHost::Domain(host) => self.uri_denied(&host),
                _ => false,
            },
            Typed::Email(email) => Mailbox::parse(email).is_some_and(|m| self.email_denied(&m)),
            Typed::Dns(dns) => DnsName::parse(dns).is_some_and(|n| self.dns_denied(&n)),
        }
    }

    /// The implicit deny and the allow list: `matched` says whether an allow rule of the
    /// type matched (only asked when the type has allow rules).
    fn permitted(
        &self,
        name_type: NameType,
        type_has_allow_rules: bool,
        matched: impl FnOnce() -> bool,
    ) -> Result<(), String> {
        if self.allow.is_empty() {
            return Ok(());
        }
        if !type_has_allow_rules {
            return Err(format!(
                "there are allow rules, but none for {name_type} names"
            ));
        }
        if matched() {
            Ok(())
        } else {
            Err("it matches no allow rule".into())
        }
    }

    fn check_dns(&self, raw: &str) -> Result<(), String> {
        let Some(name) = DnsName::parse(raw) else {
            return Err("it is not a valid DNS name".into());
        };
        if name.wildcard && !self.allow_wildcard_names {
            return Err(
                "literal wildcard names are not allowed (allowWildcardNames is off)".into(),
            );
        }
        if self.dns_denied(&name) {
            return Err("it matches a deny rule".into());
        }
        self.permitted(NameType::Dns, !self.allow.dns.is_empty(), || {
            self.allow.dns.iter().any(|r| r.covers_all(&name))
        })
    }

    fn dns_denied(&self, name: &DnsName) -> bool {
        self.deny.dns.iter().any(|r| r.covers_any(name))
    }

    fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        let ip = ip.to_canonical();
        if self.ip_denied(ip) {
            return Err("it matches a deny rule".into());
        }
        self.permitted(NameType::Ip, !self.allow.ip.is_empty(), || {
            self.allow.ip.iter().any(|net| net.contains(&ip))
        })
    }

    fn ip_denied(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.deny.ip.iter().any(|net| net.contains(&ip))
    }

    fn check_email(&self, raw: &str) -> Result<(), String> {
        let Some(mailbox) = Mailbox::parse(raw) else {
            return Err("it is not a valid email address".into());
        };
        if self.email_denied(&mailbox) {
            return Err("it matches a deny rule".into());
        }
        self.permitted(NameType::Email, !self.allow.email.is_empty(), || {
            self.allow.email.iter().any(|r| r.matches(&mailbox))
        })
    }

    fn email_denied(&self, mailbox: &Mailbox) -> bool {
        self.deny.email.iter().any(|r| r.matches(mailbox))
    }

    fn check_uri(&self, raw: &str) -> Result<(), String> {
        let has_uri_rules = !self.allow.uri.is_empty() || !self.deny.uri.is_empty();
        let host = match UriHost::parse(raw) {
            UriHost::Domain(host) => host,
            UriHost::Invalid => return Err("it is not a valid URI".into()),
            // As step-ca: no URI rule can be checked against these, so they are refused
            // when URI rules exist, and otherwise fall to the implicit deny.
            UriHost::None if has_uri_rules => {
                return Err("the URI has no host for the URI rules to match".into());
            }
            UriHost::Ip if has_uri_rules => {
                return Err("the URI's host is an IP address, which URI rules cannot match".into());
            }
            UriHost::None | UriHost::Ip => {
                return self.permitted(NameType::Uri, false, || false);
            }
        };
        if self.uri_denied(&host) {
            return Err("its host matches a deny rule".into());
        }
        self.permitted(NameType::Uri, !self.allow.uri.is_empty(), || {
            self.allow.uri.iter().any(|r| r.covers_all(&host))
        })
    }

    fn uri_denied(&self, host: &DnsName) -> bool {
        self.deny.uri.iter().any(|r| r.covers_any(host))
    }
}

/// Check `names` against the authority-wide policy and the provisioner's policy: a name must
/// pass every level that is set. The authority's violation is reported first.
pub fn combine(
    authority: Option<&NamePolicy>,
    provisioner: Option<&NamePolicy>,
    names: &Names<'_>,
) -> Result<(), PolicyViolation> {
    for policy in [authority, provisioner].into_iter().flatten() {
        policy.check(names)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Compilation of the configuration.

/// The rules of one list (`allow` or `deny`), normalised.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Rules {
    /// Lowercased, trimmed.
    cn: Vec<String>,
    dns: Vec<DomainRule>,
    /// Truncated to their network; IPv4-mapped ranges stored as IPv4.
    ip: Vec<IpNet>,
    email: Vec<EmailRule>,
    uri: Vec<DomainRule>,
}

impl Rules {
    fn is_empty(&self) -> bool {
        self.cn.is_empty()
            && self.dns.is_empty()
            && self.ip.is_empty()
            && self.email.is_empty()
            && self.uri.is_empty()
    }

    fn compile(rules: Option<&NameRules>, prefix: &str, errors: &mut Vec<ConfigError>) -> Rules {
        let Some(rules) = rules else {
            return Rules::default();
        };
        Rules {
            cn: compile_list(&rules.cn, &format!("{prefix}.cn"), parse_cn_rule, errors),
            dns: compile_list(
                &rules.dns,
                &format!("{prefix}.dns"),
                DomainRule::parse,
                errors,
            ),
            ip: compile_list(&rules.ip, &format!("{prefix}.ip"), parse_ip_rule, errors),
            email: compile_list(
                &rules.email,
                &format!("{prefix}.email"),
                EmailRule::parse,
                errors,
            ),
            uri: compile_list(&rules.uri, &format!("{prefix}.uri"), parse_uri_rule, errors),
        }
    }
}

/// Parse every rule of one list, reporting each bad one as `field[i]`.
fn compile_list<T>(
    list: &[String],
    field: &str,
    parse: fn(&str) -> Result<T, String>,
    errors: &mut Vec<ConfigError>,
) -> Vec<T> {
    let mut out = Vec::with_capacity(list.len());
    for (i, raw) in list.iter().enumerate() {
        match parse(raw) {
            Ok(rule) => out.push(rule),
            Err(problem) => errors.push(ConfigError {
                field: format!("{field}[{i}]"),
                problem,
            }),
        }
    }
    out
}

fn compile_x509(policy: &X509Policy, prefix: &str, errors: &mut Vec<ConfigError>) -> NamePolicy {
    NamePolicy {
        allow: Rules::compile(policy.allow.as_ref(), &format!("{prefix}.allow"), errors),
        deny: Rules::compile(policy.deny.as_ref(), &format!("{prefix}.deny"), errors),
        allow_wildcard_names: policy.allow_wildcard_names,
    }
}

fn parse_cn_rule(raw: &str) -> Result<String, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    if s == "*" {
        return Err("a wildcard is not supported for common names".into());
    }
    Ok(s.to_lowercase())
}

fn parse_ip_rule(raw: &str) -> Result<IpNet, String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err("must not be empty".into());
    }
    let net = match (s.parse::<IpNet>(), s.parse::<IpAddr>()) {
        // As Go's ParseCIDR, host bits are dropped: 10.1.2.3/8 means 10.0.0.0/8.
        (Ok(net), _) => net.trunc(),
        (_, Ok(ip)) => IpNet::from(ip),
        _ => return Err(format!("'{raw}' is not an IP address or CIDR range")),
    };
    Ok(unmap_net(net))
}

/// `::ffff:a.b.c.d/n` with n >= 96 is the IPv4 range `a.b.c.d/(n-96)`.
fn unmap_net(net: IpNet) -> IpNet {
    if let IpNet::V6(v6) = net
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
        && let Ok(v4net) = Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return IpNet::V4(v4net);
    }
    net
}

fn parse_uri_rule(raw: &str) -> Result<DomainRule, String> {
    let s = raw.trim();
    if s.contains("://") {
        return Err(format!(
            "'{raw}' must be a host pattern such as 'example.com' or '*.example.com', not a URI"
        ));
    }
    if s.contains([':', '[', ']']) {
        return Err(format!(
            "'{raw}' must be a host name, without a port or brackets"
        ));
    }
    if s.parse::<IpAddr>().is_ok() {
        return Err(format!(
            "'{raw}' is an IP address; URI rules match host names"
        ));
    }
    DomainRule::parse(raw)
}

// ---------------------------------------------------------------------------------------------
// Names and matching.

/// A DNS name (or URI host), lowercased, without a trailing dot; a literal wildcard
/// `*.base` is kept as `wildcard` plus its base.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DnsName {
    wildcard: bool,
    base: String,
}

impl DnsName {
    /// `None` when the name is not a valid (ASCII) DNS name or `*.` followed by one.
    fn parse(raw: &str) -> Option<DnsName> {
        let (wildcard, rest) = match raw.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, raw),
        };
        Some(DnsName {
            wildcard,
            base: normalize_host(rest)?,
        })
    }
}

/// Lowercase a host name and drop one trailing dot; `None` unless it is 1–253 octets of
/// labels of 1–63 letters, digits, `-` or `_`.
fn normalize_host(s: &str) -> Option<String> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() || s.len() > 253 {
        return None;
    }
    let valid = s.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    valid.then(|| s.to_ascii_lowercase())
}

/// Whether `name` is exactly one label below `parent` (both normalised).
fn one_label_below(name: &str, parent: &str) -> bool {
    name.strip_suffix(parent)
        .and_then(|prefix| prefix.strip_suffix('.'))
        .is_some_and(|label| !label.is_empty() && !label.contains('.'))
}

/// A DNS or URI-host rule.
#[derive(Debug, Clone, PartialEq, Eq)]
enum DomainRule {
    /// `example.com`: exactly this name.
    Exact(String),
    /// `*.example.com`: exactly one label below `example.com`.
    OneLabelBelow(String),
}

impl DomainRule {
    fn parse(raw: &str) -> Result<DomainRule, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if let Some(rest) = s.strip_prefix('.') {
            return Err(format!(
                "'{raw}' starts with '.'; write '*.{rest}' to match names one label below {rest}"
            ));
        }
        let (wildcard, rest) = match s.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        if rest.contains('*') {
            return Err(format!(
                "'{raw}': a wildcard must be the whole first label, as in '*.example.com'"
            ));
        }
        if !rest.is_ascii() {
            return Err(format!(
                "'{raw}' is not ASCII; write internationalised names in their xn-- form"
            ));
        }
        let Some(host) = normalize_host(rest) else {
            return Err(format!("'{raw}' is not a valid domain name or '*.domain'"));
        };
        Ok(if wildcard {
            DomainRule::OneLabelBelow(host)
        } else {
            DomainRule::Exact(host)
        })
    }

    /// The rule covers every name `name` stands for (used for allow rules).
    fn covers_all(&self, name: &DnsName) -> bool {
        match (self, name.wildcard) {
            (DomainRule::Exact(rule), false) => *rule == name.base,
            (DomainRule::OneLabelBelow(parent), false) => one_label_below(&name.base, parent),
            // A wildcard stands for infinitely many names; no exact rule covers them all.
            (DomainRule::Exact(_), true) => false,
            (DomainRule::OneLabelBelow(parent), true) => *parent == name.base,
        }
    }

    /// The rule covers at least one name `name` stands for (used for deny rules).
    fn covers_any(&self, name: &DnsName) -> bool {
        match (self, name.wildcard) {
            (DomainRule::Exact(rule), true) => one_label_below(rule, &name.base),
            _ => self.covers_all(name),
        }
    }
}

/// An email address split at its `@`; both parts lowercased, the domain normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Mailbox {
    local: String,
    domain: String,
}

impl Mailbox {
    fn parse(raw: &str) -> Option<Mailbox> {
        let (local, domain) = raw.split_once('@')?;
        if !valid_local_part(local) {
            return None;
        }
        Some(Mailbox {
            local: local.to_ascii_lowercase(),
            domain: normalize_host(domain)?,
        })
    }
}

/// An unquoted RFC 5321 local part: dot-separated atoms of `atext`.
fn valid_local_part(local: &str) -> bool {
    const SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";
    !local.is_empty()
        && local.split('.').all(|atom| {
            !atom.is_empty()
                && atom
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || SPECIALS.contains(&b))
        })
}

/// An email rule.
#[derive(Debug, Clone, PartialEq, Eq)]
enum EmailRule {
    /// `user@example.com`: that mailbox.
    Mailbox(Mailbox),
    /// `@example.com` or `example.com`: every mailbox at exactly that domain.
    Domain(String),
}

impl EmailRule {
    fn parse(raw: &str) -> Result<EmailRule, String> {
        let s = raw.trim();
        if s.is_empty() {
            return Err("must not be empty".into());
        }
        if s.contains('*') {
            return Err(format!(
                "'{raw}': wildcards are not supported in email rules; \
                 '@example.com' matches every mailbox at a domain"
            ));
        }
        let bad = || {
            format!("'{raw}' is neither a mailbox 'user@example.com' nor a domain '@example.com'")
        };
        let (local, domain) = s.split_once('@').unwrap_or(("", s));
        if domain.contains('@') {
            return Err(bad());
        }
        if domain.starts_with('.') {
            return Err(format!(
                "'{raw}': subdomains are not matched; name each domain as '@domain'"
            ));
        }
        if local.is_empty() {
            normalize_host(domain)
                .map(EmailRule::Domain)
                .ok_or_else(bad)
        } else {
            Mailbox::parse(s).map(EmailRule::Mailbox).ok_or_else(bad)
        }
    }

    fn matches(&self, mailbox: &Mailbox) -> bool {
        match self {
            EmailRule::Mailbox(rule) => rule == mailbox,
            EmailRule::Domain(domain) => *domain == mailbox.domain,
        }
    }
}

/// The host of a URI SAN, as far as policy matching is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
enum UriHost {
    /// A host name (never a wildcard).
    Domain(DnsName),
    /// No authority or an empty host, e.g. `urn:uuid:…` or `file:///x`.
    None,
    /// An IPv4 or bracketed IPv6 host.
    Ip,
    /// Not a URI (no scheme), or a host that is not a valid host name.
    Invalid,
}

impl UriHost {
    fn parse(uri: &str) -> UriHost {
        let Some((scheme, rest)) = uri.split_once(':') else {
            return UriHost::Invalid;
        };
        if !is_scheme(scheme) {
            return UriHost::Invalid;
        }
        let Some(rest) = rest.strip_prefix("//") else {
            return UriHost::None;
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
        if host_port.starts_with('[') {
            return UriHost::Ip;
        }
        let host = match host_port.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) => host,
            Some(_) => return UriHost::Invalid,
            None => host_port,
        };
        if host.is_empty() {
            return UriHost::None;
        }
        if host.parse::<IpAddr>().is_ok() {
            return UriHost::Ip;
        }
        match normalize_host(host) {
            Some(base) => UriHost::Domain(DnsName {
                wildcard: false,
                base,
            }),
            None => UriHost::Invalid,
        }
    }
}

/// RFC 3986 `scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme(s: &str) -> bool {
    let mut bytes = s.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.')
}

/// A common name, typed as step-ca's `SplitSANs` types it.
enum Typed<'a> {
    Ip(IpAddr),
    Uri(&'a str),
    Email(&'a str),
    Dns(&'a str),
}

impl<'a> Typed<'a> {
    fn classify(s: &'a str) -> Typed<'a> {
        if let Ok(ip) = s.parse::<IpAddr>() {
            Typed::Ip(ip)
        } else if s
            .split_once(':')
            .is_some_and(|(scheme, _)| is_scheme(scheme))
        {
            Typed::Uri(s)
        } else if s.contains('@') {
            Typed::Email(s)
        } else {
            Typed::Dns(s)
        }
    }

    fn name_type(&self) -> NameType {
        match self {
            Typed::Ip(_) => NameType::Ip,
            Typed::Uri(_) => NameType::Uri,
            Typed::Email(_) => NameType::Email,
            Typed::Dns(_) => NameType::Dns,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One name of one type, for the table.
    #[derive(Debug, Clone, Copy)]
    enum N {
        Cn(&'static str),
        Dns(&'static str),
        Ip(&'static str),
        Email(&'static str),
        Uri(&'static str),
    }

    fn engine(toml_text: &str) -> NamePolicy {
        let x: X509Policy =
            toml::from_str(toml_text).unwrap_or_else(|e| panic!("{e}\n{toml_text}"));
        NamePolicy::new(&x).unwrap_or_else(|e| panic!("{e:?}\n{toml_text}"))
    }

    fn check(p: &NamePolicy, n: N) -> Result<(), PolicyViolation> {
        let one = |s: &str| vec![s.to_owned()];
        match n {
            N::Cn(s) => p.check(&Names {
                common_name: Some(s),
                ..Names::default()
            }),
            N::Dns(s) => p.check(&Names {
                dns: &one(s),
                ..Names::default()
            }),
            N::Ip(s) => {
                let ip: IpAddr = s.parse().unwrap_or_else(|e| panic!("{s}: {e}"));
                p.check(&Names {
                    ips: &[ip],
                    ..Names::default()
                })
            }
            N::Email(s) => p.check(&Names {
                emails: &one(s),
                ..Names::default()
            }),
            N::Uri(s) => p.check(&Names {
                uris: &one(s),
                ..Names::default()
            }),
        }
    }

    const WILD: &str = "allow = { dns = ['*.example.com'] }";
    const EXACT: &str = "allow = { dns = ['example.com'] }";

    /// Each policy (as TOML) with names checked against it and whether each is allowed.
    /// `true` = allowed, `false` = denied.
    const CASES: &[(&str, &[(N, bool)])] = &[
        // No rules: everything passes, wildcards and free text included (step-ca builds no
        // engine at all).
        (
            "",
            &[
                (N::Dns("anything.test"), true),
                (N::Dns("*.example.com"), true),
                (N::Cn("My Service"), true),
                (N::Uri("urn:uuid:0c7a"), true),
            ],
        ),
        ("allow = {}\ndeny = {}", &[(N::Ip("10.0.0.1"), true)]),
        // DNS: exact rules.
        (
            EXACT,
            &[
                (N::Dns("example.com"), true),
                (N::Dns("EXAMPLE.com."), true), // case and trailing dot
                (N::Dns("www.example.com"), false),
                (N::Dns("badexample.com"), false),
            ],
        ),
        (
            "allow = { dns = [' Example.COM. '] }",
            &[(N::Dns("example.com"), true)],
        ),
        // DNS: a wildcard rule matches exactly one label.
        (
            WILD,
            &[
                (N::Dns("www.example.com"), true),
                (N::Dns("WWW.Example.COM"), true),
                (N::Dns("example.com"), false),
                (N::Dns("a.b.example.com"), false),
                (N::Dns("www.example.org"), false),
                (N::Dns("wwwexample.com"), false),
                (N::Dns("*.example.com"), false), // literal wildcard, not allowed
                // Implicit deny: an allow list for DNS denies the other types.
                (N::Ip("10.0.0.1"), false),
                (N::Email("a@example.com"), false),
                (N::Uri("https://www.example.com/"), false),
                // The CN is checked as a DNS name.
                (N::Cn("www.example.com"), true),
                (N::Cn("evil.com"), false),
                (N::Cn("My Service"), false),
                (N::Cn("*.example.com"), false),
                (N::Cn(""), true), // an empty CN is not checked
            ],
        ),
        // Literal wildcard SANs.
        (
            "allowWildcardNames = true\nallow = { dns = ['*.example.com'] }",
            &[
                (N::Dns("*.example.com"), true),
                (N::Dns("*.www.example.com"), false),
                (N::Dns("www.example.com"), true),
            ],
        ),
        (
            "allowWildcardNames = true\nallow = { dns = ['www.example.com', 'example.com'] }",
            &[(N::Dns("*.example.com"), false)], // no exact rule covers a wildcard
        ),
        (
            "allowWildcardNames = true\nallow = { dns = ['*.example.com'] }\n\
             deny = { dns = ['www.example.com'] }",
            &[(N::Dns("*.example.com"), false)], // it covers a denied name
        ),
        // DNS deny; deny-only policies refuse wildcards and unparseable names.
        (
            "deny = { dns = ['bad.example.com'] }",
            &[
                (N::Dns("bad.example.com"), false),
                (N::Dns("BAD.example.com."), false),
                (N::Dns("ok.example.com"), true),
                (N::Dns("*.example.com"), false),
                (N::Dns("not a name"), false),
                (N::Dns("bücher.example"), false),
                (N::Dns("a..example.com"), false),
                (N::Ip("10.0.0.1"), true),
                (N::Uri("urn:uuid:0c7a"), true), // no URI rules, no allow rules
            ],
        ),
        // Deny always wins.
        (
            "allow = { dns = ['*.example.com'] }\ndeny = { dns = ['*.example.com'] }",
            &[(N::Dns("www.example.com"), false)],
        ),
        (
            "allow = { dns = ['*.example.com'] }\ndeny = { dns = ['bad.example.com'] }",
            &[
                (N::Dns("bad.example.com"), false),
                (N::Dns("good.example.com"), true),
            ],
        ),
        // Implicit deny of other types, also of a type that has only deny rules.
        (
            "allow = { ip = ['10.0.0.0/8'] }",
            &[
                (N::Dns("example.com"), false),
                (N::Ip("10.1.2.3"), true),
                (N::Ip("11.0.0.1"), false),
                (N::Ip("::ffff:10.0.0.1"), true), // IPv4-mapped
                (N::Cn("10.1.1.1"), true),
                (N::Cn("11.1.1.1"), false),
            ],
        ),
        (
            "allow = { dns = ['*.example.com'] }\ndeny = { ip = ['10.0.0.0/8'] }",
            &[(N::Ip("192.168.0.1"), false), (N::Ip("10.0.0.1"), false)],
        ),
        (
            "deny = { ip = ['10.0.0.0/8'] }",
            &[
                (N::Dns("example.com"), true),
                (N::Ip("::ffff:10.0.0.1"), false),
                (N::Ip("11.0.0.1"), true),
                (N::Cn("My Service"), false), // not a DNS name, as step-ca
            ],
        ),
        // IP.
        (
            "allow = { ip = ['192.168.1.10'] }",
            &[
                (N::Ip("192.168.1.10"), true),
                (N::Ip("192.168.1.11"), false),
            ],
        ),
        (
            "allow = { ip = ['2001:db8::/32', '::1'] }",
            &[
                (N::Ip("2001:db8::1"), true),
                (N::Ip("2001:db9::1"), false),
                (N::Ip("::1"), true),
                (N::Ip("127.0.0.1"), false),
            ],
        ),
        (
            "allow = { ip = ['::ffff:10.0.0.0/104'] }",
            &[(N::Ip("10.9.9.9"), true), (N::Ip("11.0.0.1"), false)],
        ),
        (
            "allow = { ip = ['10.1.2.3/8'] }", // host bits dropped, as Go's ParseCIDR
            &[(N::Ip("10.200.0.1"), true)],
        ),
        (
            "allow = { ip = ['0.0.0.0/0'] }\ndeny = { ip = ['10.0.0.0/8'] }",
            &[
                (N::Ip("10.0.0.1"), false),
                (N::Ip("8.8.8.8"), true),
                (N::Ip("::1"), false), // a v4 range holds no v6 address
            ],
        ),
        // Email.
        (
            "allow = { email = ['@example.com'] }",
            &[
                (N::Email("a@example.com"), true),
                (N::Email("a@EXAMPLE.com"), true),
                (N::Email("a@sub.example.com"), false),
                (N::Email("not-an-email"), false),
                (N::Email("a b@example.com"), false),
                (N::Cn("a@example.com"), true),
            ],
        ),
        (
            "allow = { email = ['example.com'] }", // a bare domain, as step-ca
            &[(N::Email("b@example.com"), true)],
        ),
        (
            "allow = { email = ['alice@example.com'] }",
            &[
                (N::Email("alice@example.com"), true),
                (N::Email("Alice@Example.COM"), true),
                (N::Email("bob@example.com"), false),
            ],
        ),
        (
            "allow = { email = ['@example.com'] }\ndeny = { email = ['bob@example.com'] }",
            &[
                (N::Email("BOB@example.com"), false),
                (N::Email("carol@example.com"), true),
            ],
        ),
        (
            "deny = { email = ['@evil.test'] }",
            &[
                (N::Email("x@evil.test"), false),
                (N::Email("x@ok.test"), true),
            ],
        ),
        // URI: matched by host.
        (
            "allow = { uri = ['example.com'] }",
            &[
                (N::Uri("https://example.com/path"), true),
                (N::Uri("spiffe://example.com/ns/x"), true),
                (N::Uri("https://EXAMPLE.com:8443/x"), true),
                (N::Uri("https://user@example.com/"), true),
                (N::Uri("https://other.com/"), false),
                (N::Uri("urn:uuid:0c7a"), false),
                (N::Uri("https://10.0.0.1/"), false),
                (N::Uri("https://[::1]:443/"), false),
                (N::Cn("https://example.com/x"), true),
            ],
        ),
        (
            "allow = { uri = ['*.example.com'] }",
            &[
                (N::Uri("https://svc.example.com/"), true),
                (N::Uri("https://example.com/"), false),
                (N::Uri("https://a.svc.example.com/"), false),
            ],
        ),
        (
            "deny = { uri = ['example.com'] }",
            &[
                (N::Uri("https://example.com/"), false),
                (N::Uri("https://ok.test/"), true),
                (N::Uri("urn:uuid:0c7a"), false), // as step-ca: URI rules need a host
                (N::Uri("example.com/x"), false), // no scheme: not a URI
            ],
        ),
        // Common names.
        (
            "allow = { cn = ['My Service'] }",
            &[
                (N::Cn("my service"), true),
                (N::Cn("Other"), false),
                (N::Dns("example.com"), false), // cn rules are allow rules too
            ],
        ),
        (
            "allow = { cn = ['My Service'], dns = ['*.example.com'] }",
            &[(N::Cn("www.example.com"), true)], // falls back to its type, as step-ca
        ),
        (
            "allow = { dns = ['*.example.com'] }\ndeny = { cn = ['www.example.com'] }",
            &[
                (N::Cn("www.example.com"), false),
                (N::Dns("www.example.com"), true),
            ],
        ),
        (
            "allow = { dns = ['*.example.com'] }\ndeny = { cn = ['root'] }",
            &[(N::Cn("evil.com"), false), (N::Cn("ROOT"), false)],
        ),
        (
            "allow = { cn = ['api.example.com'] }\ndeny = { dns = ['api.example.com'] }",
            &[(N::Cn("api.example.com"), false)], // deny wins across types
        ),
    ];

    #[test]
    fn table() {
        let mut count = 0;
        let mut failures = Vec::new();
        for (policy, names) in CASES {
            let p = engine(policy);
            for (name, allowed) in names.iter() {
                count += 1;
                let got = check(&p, *name);
                if got.is_ok() != *allowed {
                    failures.push(format!("{name:?} under {policy:?}: {got:?}"));
                }
            }
        }
        assert!(count >= 40, "{count}");
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn violation_reports_name_type_and_kind() {
        let p = engine(WILD);
        let err = check(&p, N::Cn("evil.com"))
            .err()
            .unwrap_or_else(|| panic!("allowed"));
        assert_eq!(err.name, "evil.com");
        assert_eq!(err.name_type, NameType::CommonName);
        assert_eq!(err.kind(), ErrorKind::PolicyForbids);
        assert_eq!(
            err.to_string(),
            "name 'evil.com' is not allowed: it matches no allow rule"
        );

        let err = check(&p, N::Ip("10.0.0.1"))
            .err()
            .unwrap_or_else(|| panic!("allowed"));
        assert_eq!(err.name_type, NameType::Ip);
        assert_eq!(err.reason, "there are allow rules, but none for ip names");

        let err = check(&p, N::Dns("*.example.com"))
            .err()
            .unwrap_or_else(|| panic!("allowed"));
        assert!(err.reason.contains("allowWildcardNames"), "{err}");

        // Reasons never quote the rules.
        let p = engine("deny = { dns = ['secret-internal.example.com'] }");
        let err = check(&p, N::Dns("secret-internal.example.com"))
            .err()
            .unwrap_or_else(|| panic!("allowed"));
        assert!(!err.reason.contains("secret"), "{err}");
    }

    #[test]
    fn first_violation_in_step_order() {
        let p = engine(WILD);
        let dns = vec!["www.example.com".to_owned(), "evil.test".to_owned()];
        let ips = ["10.0.0.1".parse().unwrap_or_else(|e| panic!("{e}"))];
        let names = Names {
            common_name: Some("also-evil.test"),
            dns: &dns,
            ips: &ips,
            ..Names::default()
        };
        let err = p.check(&names).err().unwrap_or_else(|| panic!("allowed"));
        assert_eq!(
            (err.name.as_str(), err.name_type),
            ("evil.test", NameType::Dns)
        );
        let ok = vec!["www.example.com".to_owned(), "api.example.com".to_owned()];
        let names = Names {
            common_name: Some("www.example.com"),
            dns: &ok,
            ..Names::default()
        };
        assert_eq!(p.check(&names), Ok(()));
    }

    #[test]
    fn combine_requires_both_levels() {
        let authority = engine("allow = { dns = ['*.example.com', '*.example.org'] }");
        let provisioner =
            engine("allow = { dns = ['*.example.com'] }\ndeny = { dns = ['db.example.com'] }");
        let run = |a: Option<&NamePolicy>, p: Option<&NamePolicy>, name: &str| {
            let dns = vec![name.to_owned()];
            combine(
                a,
                p,
                &Names {
                    dns: &dns,
                    ..Names::default()
                },
            )
            .is_ok()
        };
        assert!(run(None, None, "anything.test"));
        assert!(run(Some(&authority), None, "www.example.org"));
        assert!(run(None, Some(&provisioner), "www.example.com"));
        assert!(run(Some(&authority), Some(&provisioner), "www.example.com"));
        // Allowed by the authority, not by the provisioner.
        assert!(!run(
            Some(&authority),
            Some(&provisioner),
            "www.example.org"
        ));
        assert!(!run(Some(&authority), Some(&provisioner), "db.example.com"));
        // Allowed by the provisioner, not by the authority.
        let wide = engine("allow = { dns = ['*.example.net'] }");
        assert!(!run(Some(&authority), Some(&wide), "www.example.net"));
        assert!(run(Some(&wide), None, "www.example.net"));
    }

    #[test]
    fn toml_roundtrip_with_step_keys() {
        let policy = Policy {
            x509: Some(X509Policy {
                allow: Some(NameRules {
                    cn: vec!["My Service".into()],
                    dns: vec!["*.example.com".into(), "example.com".into()],
                    ip: vec!["10.0.0.0/8".into(), "2001:db8::/32".into()],
                    email: vec!["@example.com".into()],
                    uri: vec!["*.svc.example.com".into()],
                }),
                deny: Some(NameRules {
                    dns: vec!["db.example.com".into()],
                    ..NameRules::default()
                }),
                allow_wildcard_names: true,
            }),
        };
        let text = toml::to_string(&policy).unwrap_or_else(|e| panic!("{e}"));
        for key in [
            "[x509.allow]",
            "[x509.deny]",
            "allowWildcardNames = true",
            "cn = ",
            "dns = ",
            "ip = ",
            "email = ",
            "uri = ",
        ] {
            assert!(text.contains(key), "{key} missing from\n{text}");
        }
        let back: Policy = toml::from_str(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back, policy);
        assert_eq!(policy.validate("authority.policy"), vec![]);

        // As written by hand, step-ca style.
        let hand = r#"
            [x509]
            allowWildcardNames = false
            [x509.allow]
            dns = ["*.local"]
            [x509.deny]
            ip = ["10.0.0.1"]
        "#;
        let p: Policy = toml::from_str(hand).unwrap_or_else(|e| panic!("{e}"));
        let x = p.x509.unwrap_or_default();
        assert_eq!(x.allow.unwrap_or_default().dns, vec!["*.local".to_owned()]);
        assert!(!x.allow_wildcard_names);

        // Unknown keys (and ssh, not supported yet) are errors, never ignored.
        assert!(toml::from_str::<Policy>("[x509.allow]\ndnsDomains = ['a.test']").is_err());
        assert!(toml::from_str::<Policy>("[x509]\nallowWildcardLiteral = true").is_err());
        assert!(toml::from_str::<Policy>("[ssh.host.allow]\ndns = ['a.test']").is_err());
        assert_eq!(toml::to_string(&Policy::default()).unwrap_or_default(), "");
    }

    #[test]
    fn validate_reports_every_problem() {
        let policy = Policy {
            x509: Some(X509Policy {
                allow: Some(NameRules {
                    cn: vec!["*".into(), "ok".into()],
                    dns: vec![
                        "example.com".into(),
                        "*.example.com".into(),
                        "bad name".into(),
                        ".example.com".into(),
                        "a.*.example.com".into(),
                        "".into(),
                        "bücher.example".into(),
                    ],
                    ip: vec!["10.0.0.0/8".into(), "10.0.0.0/33".into(), "nope".into()],
                    email: vec![
                        "@example.com".into(),
                        "a@b@c".into(),
                        "*@example.com".into(),
                        "@.example.com".into(),
                        "user@".into(),
                    ],
                    uri: vec![
                        "https://example.com".into(),
                        "example.com:443".into(),
                        "10.0.0.1".into(),
                        "*.example.com".into(),
                    ],
                }),
                deny: Some(NameRules {
                    dns: vec!["  ".into()],
                    ..NameRules::default()
                }),
                allow_wildcard_names: false,
            }),
        };
        let errors = policy.validate("authority.policy");
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "authority.policy.x509.allow.cn[0]",
                "authority.policy.x509.allow.dns[2]",
                "authority.policy.x509.allow.dns[3]",
                "authority.policy.x509.allow.dns[4]",
                "authority.policy.x509.allow.dns[5]",
                "authority.policy.x509.allow.dns[6]",
                "authority.policy.x509.allow.ip[1]",
                "authority.policy.x509.allow.ip[2]",
                "authority.policy.x509.allow.email[1]",
                "authority.policy.x509.allow.email[2]",
                "authority.policy.x509.allow.email[3]",
                "authority.policy.x509.allow.email[4]",
                "authority.policy.x509.allow.uri[0]",
                "authority.policy.x509.allow.uri[1]",
                "authority.policy.x509.allow.uri[2]",
                "authority.policy.x509.deny.dns[0]",
            ],
            "{errors:#?}"
        );
        assert!(
            errors[2].problem.contains("'*.example.com'"),
            "{}",
            errors[2]
        );
        assert!(errors[5].problem.contains("xn--"), "{}", errors[5]);
        assert_eq!(errors[15].problem, "must not be empty");

        // NamePolicy::new reports the same problems, relative to the policy table.
        let x509 = policy.x509.clone().unwrap_or_default();
        let errs = NamePolicy::new(&x509).err().unwrap_or_default();
        assert_eq!(errs.len(), errors.len());
        assert_eq!(errs[0].field, "x509.allow.cn[0]");
        assert!(Policy::default().validate("authority.policy").is_empty());
    }

    #[test]
    fn empty_policy_is_empty() {
        assert!(engine("").is_empty());
        assert!(engine("allowWildcardNames = true\nallow = {}").is_empty());
        assert!(!engine(WILD).is_empty());
    }

    // Property tests.
    fn label() -> impl proptest::strategy::Strategy<Value = String> {
        "[a-z0-9][a-z0-9-]{0,8}[a-z0-9]"
    }

    fn domain() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::collection::vec(label(), 1..4).prop_map(|labels| labels.join("."))
    }

    use proptest::strategy::Strategy as _;

    fn dns_allowed(p: &NamePolicy, name: &str) -> bool {
        let dns = vec![name.to_owned()];
        p.check(&Names {
            dns: &dns,
            ..Names::default()
        })
        .is_ok()
    }

    fn rules(allow: &[String], deny: &[String]) -> NamePolicy {
        let x = X509Policy {
            allow: Some(NameRules {
                dns: allow.to_vec(),
                ..NameRules::default()
            }),
            deny: Some(NameRules {
                dns: deny.to_vec(),
                ..NameRules::default()
            }),
            allow_wildcard_names: false,
        };
        NamePolicy::new(&x).unwrap_or_else(|e| panic!("{e:?}"))
    }

    proptest::proptest! {
        #[test]
        fn a_name_passes_an_allow_list_naming_it(d in domain(), others in proptest::collection::vec(domain(), 0..3)) {
            let mut allow = others;
            allow.push(d.clone());
            let p = rules(&allow, &[]);
            proptest::prop_assert!(dns_allowed(&p, &d));
            proptest::prop_assert!(dns_allowed(&p, &d.to_ascii_uppercase()));
            let absolute = format!("{d}.");
            proptest::prop_assert!(dns_allowed(&p, &absolute));
        }

        #[test]
        fn wildcard_matches_exactly_one_label(d in domain(), l1 in label(), l2 in label()) {
            let p = rules(&[format!("*.{d}")], &[]);
            let one_label_below = format!("{l1}.{d}");
            let two_labels_below = format!("{l2}.{l1}.{d}");
            proptest::prop_assert!(dns_allowed(&p, &one_label_below));
            proptest::prop_assert!(!dns_allowed(&p, &d));
            proptest::prop_assert!(!dns_allowed(&p, &two_labels_below));
        }

        #[test]
        fn deny_of_a_name_beats_any_allow(d in domain(), l in label(), others in proptest::collection::vec(domain(), 0..3)) {
            let name = format!("{l}.{d}");
            let mut allow = others;
            allow.extend([name.clone(), format!("*.{d}")]);
            let p = rules(&allow, std::slice::from_ref(&name));
            proptest::prop_assert!(!dns_allowed(&p, &name));
            let p = rules(&allow, &[format!("*.{d}")]);
            proptest::prop_assert!(!dns_allowed(&p, &name));
        }

        #[test]
        fn an_ip_passes_a_range_holding_it(ip in proptest::prelude::any::<u32>(), prefix in 0u8..=32) {
            let addr = IpAddr::V4(std::net::Ipv4Addr::from(ip));
            let x = X509Policy {
                allow: Some(NameRules { ip: vec![format!("{addr}/{prefix}")], ..NameRules::default() }),
                ..X509Policy::default()
            };
            let p = NamePolicy::new(&x).unwrap_or_else(|e| panic!("{e:?}"));
            let mapped = match addr { IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()), v6 => v6 };
            for a in [addr, mapped] {
                let ips = [a];
                let allowed = p.check(&Names { ips: &ips, ..Names::default() }).is_ok();
                proptest::prop_assert!(allowed);
            }
        }

        #[test]
        fn an_empty_policy_allows_any_string(s in "\\PC{0,30}") {
            let p = NamePolicy::new(&X509Policy::default()).unwrap_or_else(|e| panic!("{e:?}"));
            let v = vec![s.clone()];
            let names = Names { common_name: Some(&s), dns: &v, emails: &v, uris: &v, ..Names::default() };
            proptest::prop_assert!(p.check(&names).is_ok());
        }

        #[test]
        fn check_never_panics(s in "\\PC{0,40}", policy in 0usize..4) {
            let p = engine([WILD, EXACT, "deny = { uri = ['a.test'] }", "allow = { email = ['@a.test'], uri = ['*.a.test'], cn = ['x'] }"][policy]);
            let v = vec![s.clone()];
            let names = Names { common_name: Some(&s), dns: &v, emails: &v, uris: &v, ..Names::default() };
            let _ = p.check(&names);
        }
    }
}
