//! Names in certificates: the subject DN and typed subject alternative names.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use crate::Error;

/// A subject alternative name, typed from how it is written: an IP address, an e-mail
/// address (`a@b`), a URI (`scheme://…` or `urn:…`), otherwise a DNS name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum San {
    /// dNSName.
    Dns(String),
    /// iPAddress.
    Ip(IpAddr),
    /// rfc822Name.
    Email(String),
    /// uniformResourceIdentifier.
    Uri(String),
}

impl FromStr for San {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = |reason: &str| Error::InvalidName {
            name: s.to_owned(),
            reason: reason.to_owned(),
        };
        let s = s.trim();
        if s.is_empty() {
            return Err(invalid("empty"));
        }
        if !s.is_ascii() {
            return Err(invalid(
                "names must be ASCII (use punycode for internationalised domains)",
            ));
        }
        if let Ok(ip) = s
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
        {
            return Ok(San::Ip(ip));
        }
        if s.contains("://") || s.starts_with("urn:") {
            if s.chars().any(|c| c.is_ascii_whitespace()) {
                return Err(invalid("a URI cannot contain spaces"));
            }
            return Ok(San::Uri(s.to_owned()));
        }
        if let Some((local, domain)) = s.split_once('@') {
            if local.is_empty() || domain.is_empty() || domain.contains('@') {
                return Err(invalid("not an e-mail address"));
            }
            return Ok(San::Email(s.to_owned()));
        }
        validate_dns(s).map_err(invalid)?;
        Ok(San::Dns(s.to_ascii_lowercase()))
    }
}

fn validate_dns(name: &str) -> Result<(), &'static str> {
    if name.len() > 253 {
        return Err("longer than 253 characters");
    }
    let body = name.strip_prefix("*.").unwrap_or(name);
    for label in body.split('.') {
        if label.is_empty() {
            return Err("empty label");
        }
        if label.len() > 63 {
            return Err("label longer than 63 characters");
        }
        if !label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err("only letters, digits, '-' and '_' are allowed in DNS labels");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a label cannot start or end with '-'");
        }
    }
    Ok(())
}

impl fmt::Display for San {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            San::Dns(s) | San::Email(s) | San::Uri(s) => f.write_str(s),
            San::Ip(ip) => write!(f, "{ip}"),
        }
    }
}

impl San {
    pub(crate) fn to_rcgen(&self) -> Result<rcgen::SanType, Error> {
        let ia5 = |s: &str| {
            rcgen::string::Ia5String::try_from(s).map_err(|e| Error::InvalidName {
                name: s.to_owned(),
                reason: e.to_string(),
            })
        };
        Ok(match self {
            San::Dns(s) => rcgen::SanType::DnsName(ia5(s)?),
            San::Ip(ip) => rcgen::SanType::IpAddress(*ip),
            San::Email(s) => rcgen::SanType::Rfc822Name(ia5(s)?),
            San::Uri(s) => rcgen::SanType::URI(ia5(s)?),
        })
    }
}

/// A subject distinguished name with the attributes people set (cfssl's `names`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subject {
    /// C.
    pub country: Option<String>,
    /// ST.
    pub province: Option<String>,
    /// L.
    pub locality: Option<String>,
    /// O.
    pub organization: Option<String>,
    /// OU.
    pub organizational_unit: Option<String>,
    /// CN.
    pub common_name: Option<String>,
}

impl Subject {
    /// A subject with only a common name.
    pub fn common_name(cn: impl Into<String>) -> Self {
        Subject {
            common_name: Some(cn.into()),
            ..Subject::default()
        }
    }

    pub(crate) fn to_rcgen(&self) -> Result<rcgen::DistinguishedName, Error> {
        let mut dn = rcgen::DistinguishedName::new();
        if let Some(c) = &self.country {
            if c.len() != 2 || !c.chars().all(|ch| ch.is_ascii_alphabetic()) {
                return Err(Error::InvalidName {
                    name: c.clone(),
                    reason: "a country is a two-letter ISO 3166 code".into(),
                });
            }
            let printable = rcgen::string::PrintableString::try_from(c.to_ascii_uppercase())
                .map_err(|e| Error::internal(e.to_string()))?;
            dn.push(
                rcgen::DnType::CountryName,
                rcgen::DnValue::PrintableString(printable),
            );
        }
        let fields = [
            (rcgen::DnType::StateOrProvinceName, &self.province),
            (rcgen::DnType::LocalityName, &self.locality),
            (rcgen::DnType::OrganizationName, &self.organization),
            (
                rcgen::DnType::OrganizationalUnitName,
                &self.organizational_unit,
            ),
            (rcgen::DnType::CommonName, &self.common_name),
        ];
        for (ty, value) in fields {
            if let Some(v) = value {
                if v.is_empty() || v.chars().count() > 64 {
                    return Err(Error::InvalidName {
                        name: v.clone(),
                        reason: "subject attributes must be 1 to 64 characters".into(),
                    });
                }
                dn.push(ty, rcgen::DnValue::Utf8String(v.clone()));
            }
        }
        Ok(dn)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sans_are_typed() {
        let t = |s: &str| s.parse::<San>().unwrap();
        assert_eq!(t("example.com"), San::Dns("example.com".into()));
        assert_eq!(t("*.Example.com"), San::Dns("*.example.com".into()));
        assert_eq!(t("10.0.0.1"), San::Ip("10.0.0.1".parse().unwrap()));
        assert_eq!(t("::1"), San::Ip("::1".parse().unwrap()));
        assert_eq!(t("ops@example.com"), San::Email("ops@example.com".into()));
        assert_eq!(
            t("spiffe://example.org/web"),
            San::Uri("spiffe://example.org/web".into())
        );
        assert_eq!(t("urn:uuid:0f3c"), San::Uri("urn:uuid:0f3c".into()));
        for bad in ["", "a..b", "-a.com", "a b.com", "ü.com", "@x", "x@"] {
            assert!(bad.parse::<San>().is_err(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn dns_names_parse_as_dns(labels in proptest::collection::vec("[a-z0-9]{1,20}", 1..5)) {
            let name = labels.join(".");
            // All-numeric dotted names may be IPv4 addresses; everything else is DNS.
            if name.parse::<IpAddr>().is_err() {
                proptest::prop_assert_eq!(name.parse::<San>().ok(), Some(San::Dns(name.clone())));
            }
        }
    }
}

/// A subject DN ready to be put in a certificate (built from a [`Subject`] or taken from a
/// CSR exactly as it was encoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dn(pub(crate) rcgen::DistinguishedName);

impl TryFrom<&Subject> for Dn {
    type Error = Error;
    fn try_from(s: &Subject) -> Result<Self, Error> {
        s.to_rcgen().map(Dn)
    }
}

impl Dn {
    /// The name as text, RFC 4514 style in encoding order (`C=US, O=Acme, CN=web`).
    pub fn to_text(&self) -> String {
        let mut parts = Vec::new();
        for (ty, value) in self.0.iter() {
            let key = match ty {
                rcgen::DnType::CountryName => "C".to_owned(),
                rcgen::DnType::StateOrProvinceName => "ST".to_owned(),
                rcgen::DnType::LocalityName => "L".to_owned(),
                rcgen::DnType::OrganizationName => "O".to_owned(),
                rcgen::DnType::OrganizationalUnitName => "OU".to_owned(),
                rcgen::DnType::CommonName => "CN".to_owned(),
                rcgen::DnType::CustomDnType(oid) => {
                    oid.iter().map(u64::to_string).collect::<Vec<_>>().join(".")
                }
                other => format!("{other:?}"),
            };
            let text = match value {
                rcgen::DnValue::Utf8String(s) => s.clone(),
                rcgen::DnValue::PrintableString(s) => s.as_str().to_owned(),
                rcgen::DnValue::Ia5String(s) => s.as_str().to_owned(),
                rcgen::DnValue::TeletexString(s) => s.as_str().to_owned(),
                other => format!("{other:?}"),
            };
            parts.push(format!("{key}={text}"));
        }
        parts.join(", ")
    }

    /// The common name, when there is one.
    pub fn common_name(&self) -> Option<String> {
        match self.0.get(&rcgen::DnType::CommonName)? {
            rcgen::DnValue::Utf8String(s) => Some(s.clone()),
            rcgen::DnValue::PrintableString(s) => Some(s.as_str().to_owned()),
            rcgen::DnValue::Ia5String(s) => Some(s.as_str().to_owned()),
            rcgen::DnValue::TeletexString(s) => Some(s.as_str().to_owned()),
            _ => None,
        }
    }

    /// Convert a parsed X.509 name, keeping each attribute's string type.
    pub fn from_name(name: &x509_parser::x509::X509Name<'_>) -> Result<Self, Error> {
        Self::from_x509(name)
    }

    /// Convert a parsed X.509 name, keeping each attribute's string type.
    pub(crate) fn from_x509(name: &x509_parser::x509::X509Name<'_>) -> Result<Self, Error> {
        use x509_parser::der_parser::asn1_rs::Tag;
        let mut dn = rcgen::DistinguishedName::new();
        for attr in name.iter_attributes() {
            let oid: Vec<u64> = attr
                .attr_type()
                .iter()
                .ok_or_else(|| Error::CsrFormat("attribute OID too large".into()))?
                .collect();
            let ty = rcgen::DnType::from_oid(&oid);
            let any = attr.attr_value();
            let text = attr
                .as_str()
                .map_err(|_| Error::CsrFormat("a subject attribute is not a string".into()))?
                .to_owned();
            let bad = |e: rcgen::Error| Error::CsrFormat(format!("subject attribute: {e}"));
            let value = match any.tag() {
                Tag::PrintableString => rcgen::DnValue::PrintableString(
                    rcgen::string::PrintableString::try_from(text).map_err(bad)?,
                ),
                Tag::Ia5String => rcgen::DnValue::Ia5String(
                    rcgen::string::Ia5String::try_from(text).map_err(bad)?,
                ),
                Tag::TeletexString => rcgen::DnValue::TeletexString(
                    rcgen::string::TeletexString::try_from(text).map_err(bad)?,
                ),
                _ => rcgen::DnValue::Utf8String(text),
            };
            dn.push(ty, value);
        }
        Ok(Dn(dn))
    }
}
