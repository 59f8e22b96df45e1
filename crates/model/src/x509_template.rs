//! The X.509 certificate template: the JSON description of a certificate that a provisioner's
//! template renders to, with step-ca's field names (`crypto/x509util` `Certificate`).
//!
//! Design. The registration crate renders a template (minijinja) into JSON and parses it into
//! a [`CertificateTemplate`]; the issuing crate turns a validated one into a certificate and
//! lints it again before signing. This module is the contract between the two: plain data,
//! parsing rules and pure checks ([`CertificateTemplate::validate`]), no I/O, no crypto.
//!
//! Parsing follows step-ca where that is unambiguous:
//! - field names are step's camelCase names (`dnsNames`, `extKeyUsage`,
//!   `issuingCertificateURL`, `nameConstraints.permittedDNSDomains`, …);
//! - every list of strings also accepts a single string, and `null` means empty (step's
//!   `MultiString`);
//! - `subject` is an object or a string (the common name alone), as step's `Subject`;
//! - usage names compare case-insensitively with `_` ignored, as step's `convertName`;
//! - a SAN `type` of `""` or `auto` is typed from its value (IP, URI with a scheme, e-mail
//!   with an `@`, else DNS), and SAN types compare case-insensitively;
//! - `basicConstraints.maxPathLen` absent or `0` means a path length of 0 for a CA, negative
//!   means unlimited;
//! - `extensions[].value` is standard base64 of the DER extension value.
//!
//! Where Vouch is stricter than step-ca:
//! - unknown fields are an error (Go's decoder ignores them), so is a field written twice;
//!   step's fields Vouch does not take from templates are therefore errors too: `issuer`,
//!   `rawSubject`, `serialNumber`, `notBefore`/`notAfter` (validity comes from the request
//!   and the claims), `subjectKeyId`/`authorityKeyId` (always derived), `signatureAlgorithm`
//!   (fixed by the CA key), `version`, and SAN `asn1Value`;
//! - SAN types other than `dns`, `email`, `ip`, `uri` and `auto` are refused;
//! - the typed fields own their extensions: a raw `extensions` entry with the OID of
//!   keyUsage, extKeyUsage, basicConstraints, subjectAltName, nameConstraints, CRL
//!   distribution points, certificate policies, AIA, SKI or AKI is refused;
//! - [`CertificateTemplate::validate`] reports contradictions step-ca would sign (a CA without
//!   `certSign`, `certSign` on a non-CA, name constraints on a non-CA, no subject and no SAN).
//!
//! To let templates pass step-style variables straight through (`{{ toJson(Subject) }}`,
//! `{{ toJson(SANs) }}`), the subject, extra-name and SAN fields also accept the PascalCase
//! names the registration crate's template data uses (`CommonName`, `Type`, `Value`, …).

use std::collections::BTreeSet;
use std::fmt;
use std::net::IpAddr;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize, Serializer};

/// One problem found in a rendered template.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct TemplateProblem {
    /// The JSON path of the offending field (`sans[2].value`).
    pub field: String,
    /// What is wrong with it.
    pub problem: String,
}

/// A list of strings that JSON may write as one string, an array of strings, or `null`
/// (step's `MultiString`). Serialized as an array.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct MultiString(pub Vec<String>);

impl MultiString {
    /// No values.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    /// The values.
    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }
    /// Number of values.
    pub fn len(&self) -> usize {
        self.0.len()
    }
}

impl<S: Into<String>> FromIterator<S> for MultiString {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> Self {
        MultiString(iter.into_iter().map(Into::into).collect())
    }
}

impl<'a> IntoIterator for &'a MultiString {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Serialize for MultiString {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for MultiString {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = MultiString;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MultiString, E> {
                Ok(MultiString(vec![v.to_owned()]))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<MultiString, E> {
                Ok(MultiString(vec![v]))
            }
            fn visit_unit<E: de::Error>(self) -> Result<MultiString, E> {
                Ok(MultiString::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<MultiString, E> {
                Ok(MultiString::default())
            }
            fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<MultiString, D2::Error> {
                MultiString::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MultiString, A::Error> {
                let mut out = Vec::new();
                while let Some(s) = seq.next_element::<String>()? {
                    out.push(s);
                }
                Ok(MultiString(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// `null` is read as the empty value (Go's `toJson` writes an empty slice as `null`).
fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(d).map(Option::unwrap_or_default)
}

/// The subject (step's `Subject`). Multi-valued attributes accept a string or an array.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateSubject {
    /// C: two-letter ISO 3166 codes.
    #[serde(
        default,
        alias = "Country",
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub country: MultiString,
    /// O.
    #[serde(
        default,
        alias = "Organization",
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub organization: MultiString,
    /// OU.
    #[serde(
        default,
        alias = "OrganizationalUnit",
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub organizational_unit: MultiString,
    /// L.
    #[serde(
        default,
        alias = "Locality",
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub locality: MultiString,
    /// ST.
    #[serde(
        default,
        alias = "Province",
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub province: MultiString,
    /// street.
    #[serde(
        default,
        alias = "StreetAddress",
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub street_address: MultiString,
    /// postalCode.
    #[serde(
        default,
        alias = "PostalCode",
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub postal_code: MultiString,
    /// serialNumber (the attribute 2.5.4.5, not the certificate serial). Empty means absent.
    #[serde(
        default,
        alias = "SerialNumber",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub serial_number: String,
    /// CN. Empty means absent.
    #[serde(
        default,
        alias = "CommonName",
        deserialize_with = "null_as_default",
        skip_serializing_if = "String::is_empty"
    )]
    pub common_name: String,
    /// Further attributes by OID, after the named ones.
    #[serde(
        default,
        alias = "ExtraNames",
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub extra_names: Vec<TemplateExtraName>,
}

impl TemplateSubject {
    /// Whether the subject has no attribute at all.
    pub fn is_empty(&self) -> bool {
        self.named_attributes().all(|(_, _, v)| v.is_empty()) && self.extra_names.is_empty()
    }

    /// The named attributes in step's (Go `pkix.Name`) encoding order: field name, OID arcs,
    /// values (empty strings of `serialNumber`/`commonName` dropped).
    pub fn named_attributes(
        &self,
    ) -> impl Iterator<Item = (&'static str, &'static [u64], Vec<&str>)> + '_ {
        fn multi(m: &MultiString) -> Vec<&str> {
            m.iter().map(String::as_str).collect()
        }
        fn one(s: &str) -> Vec<&str> {
            if s.is_empty() { Vec::new() } else { vec![s] }
        }
        [
            ("country", OID_COUNTRY, multi(&self.country)),
            ("province", OID_PROVINCE, multi(&self.province)),
            ("locality", OID_LOCALITY, multi(&self.locality)),
            ("streetAddress", OID_STREET, multi(&self.street_address)),
            ("postalCode", OID_POSTAL_CODE, multi(&self.postal_code)),
            ("organization", OID_ORGANIZATION, multi(&self.organization)),
            (
                "organizationalUnit",
                OID_ORGANIZATIONAL_UNIT,
                multi(&self.organizational_unit),
            ),
            ("commonName", OID_COMMON_NAME, one(&self.common_name)),
            ("serialNumber", OID_SERIAL_NUMBER, one(&self.serial_number)),
        ]
        .into_iter()
    }
}

/// Subject attribute OIDs (X.520).
const OID_COUNTRY: &[u64] = &[2, 5, 4, 6];
const OID_PROVINCE: &[u64] = &[2, 5, 4, 8];
const OID_LOCALITY: &[u64] = &[2, 5, 4, 7];
const OID_STREET: &[u64] = &[2, 5, 4, 9];
const OID_POSTAL_CODE: &[u64] = &[2, 5, 4, 17];
const OID_ORGANIZATION: &[u64] = &[2, 5, 4, 10];
const OID_ORGANIZATIONAL_UNIT: &[u64] = &[2, 5, 4, 11];
const OID_COMMON_NAME: &[u64] = &[2, 5, 4, 3];
const OID_SERIAL_NUMBER: &[u64] = &[2, 5, 4, 5];

/// A subject attribute given by OID (step's `DistinguishedName`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateExtraName {
    /// The attribute type, a dotted OID (`1.2.840.113549.1.9.1`).
    #[serde(rename = "type", alias = "Type")]
    pub oid: String,
    /// The value, as text.
    #[serde(alias = "Value")]
    pub value: String,
}

/// How a SAN's value is to be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SanKind {
    /// dNSName.
    Dns,
    /// rfc822Name.
    Email,
    /// iPAddress.
    Ip,
    /// uniformResourceIdentifier.
    Uri,
    /// Typed from the value, as step's `auto` (and an empty type).
    Auto,
}

/// A subject alternative name (step's `SubjectAlternativeName`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateSan {
    /// `dns`, `email`, `ip`, `uri` or `auto` (case-insensitive; empty means `auto`).
    #[serde(rename = "type", alias = "Type", default)]
    pub san_type: String,
    /// The name.
    #[serde(alias = "Value")]
    pub value: String,
}

impl TemplateSan {
    /// The kind named by `type`.
    pub fn kind(&self) -> Result<SanKind, String> {
        match self.san_type.to_ascii_lowercase().as_str() {
            "dns" => Ok(SanKind::Dns),
            "email" => Ok(SanKind::Email),
            "ip" => Ok(SanKind::Ip),
            "uri" => Ok(SanKind::Uri),
            "" | "auto" => Ok(SanKind::Auto),
            other => Err(format!(
                "SAN type '{other}' is not supported (use dns, email, ip, uri or auto)"
            )),
        }
    }
}

/// `basicConstraints` (step's `BasicConstraints`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateBasicConstraints {
    /// cA.
    #[serde(rename = "isCA", default)]
    pub is_ca: bool,
    /// pathLenConstraint for a CA: 0 (also when absent) or more; negative means unlimited.
    #[serde(rename = "maxPathLen", default)]
    pub max_path_len: i64,
}

/// A raw extension (step's `Extension`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateExtension {
    /// The extension's OID, dotted.
    pub id: String,
    /// Whether it is critical.
    #[serde(default)]
    pub critical: bool,
    /// Standard base64 of the DER value (the contents of extnValue).
    pub value: String,
}

impl TemplateExtension {
    /// The decoded value.
    pub fn decoded_value(&self) -> Result<Vec<u8>, String> {
        decode_base64(&self.value)
    }
}

/// `nameConstraints` (step's `NameConstraints`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateNameConstraints {
    /// Mark the extension critical (RFC 5280 asks for it; step's default is false).
    #[serde(default)]
    pub critical: bool,
    /// Permitted DNS domains.
    #[serde(
        rename = "permittedDNSDomains",
        default,
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub permitted_dns_domains: MultiString,
    /// Excluded DNS domains.
    #[serde(
        rename = "excludedDNSDomains",
        default,
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub excluded_dns_domains: MultiString,
    /// Permitted IP ranges (CIDR).
    #[serde(
        rename = "permittedIPRanges",
        default,
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub permitted_ip_ranges: MultiString,
    /// Excluded IP ranges (CIDR).
    #[serde(
        rename = "excludedIPRanges",
        default,
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub excluded_ip_ranges: MultiString,
    /// Permitted e-mail addresses, domains (`example.com`) or subdomains (`.example.com`).
    #[serde(
        rename = "permittedEmailAddresses",
        default,
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub permitted_email_addresses: MultiString,
    /// Excluded e-mail addresses or domains.
    #[serde(
        rename = "excludedEmailAddresses",
        default,
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub excluded_email_addresses: MultiString,
    /// Permitted URI host domains.
    #[serde(
        rename = "permittedURIDomains",
        default,
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub permitted_uri_domains: MultiString,
    /// Excluded URI host domains.
    #[serde(
        rename = "excludedURIDomains",
        default,
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub excluded_uri_domains: MultiString,
}

impl TemplateNameConstraints {
    /// Whether no subtree is given at all.
    pub fn is_empty(&self) -> bool {
        [
            &self.permitted_dns_domains,
            &self.excluded_dns_domains,
            &self.permitted_ip_ranges,
            &self.excluded_ip_ranges,
            &self.permitted_email_addresses,
            &self.excluded_email_addresses,
            &self.permitted_uri_domains,
            &self.excluded_uri_domains,
        ]
        .iter()
        .all(|m| m.is_empty())
    }
}

/// What a rendered X.509 template describes (step's `x509util.Certificate`, less the fields
/// the CA decides itself).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CertificateTemplate {
    /// The subject; a plain string is the common name.
    #[serde(default, deserialize_with = "subject_or_common_name")]
    pub subject: TemplateSubject,
    /// Typed SANs.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub sans: Vec<TemplateSan>,
    /// DNS SANs (shortcut).
    #[serde(default, skip_serializing_if = "MultiString::is_empty")]
    pub dns_names: MultiString,
    /// E-mail SANs (shortcut).
    #[serde(default, skip_serializing_if = "MultiString::is_empty")]
    pub email_addresses: MultiString,
    /// IP SANs (shortcut).
    #[serde(default, skip_serializing_if = "MultiString::is_empty")]
    pub ip_addresses: MultiString,
    /// URI SANs (shortcut).
    #[serde(default, skip_serializing_if = "MultiString::is_empty")]
    pub uris: MultiString,
    /// Key usage names ([`KeyUsage`]). Empty: no keyUsage extension.
    #[serde(default, skip_serializing_if = "MultiString::is_empty")]
    pub key_usage: MultiString,
    /// Extended key usage names ([`ExtKeyUsage`]).
    #[serde(default, skip_serializing_if = "MultiString::is_empty")]
    pub ext_key_usage: MultiString,
    /// Further extended key usages by OID.
    #[serde(default, skip_serializing_if = "MultiString::is_empty")]
    pub unknown_ext_key_usage: MultiString,
    /// Basic constraints. Absent: not a CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basic_constraints: Option<TemplateBasicConstraints>,
    /// Raw extensions.
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub extensions: Vec<TemplateExtension>,
    /// CRL distribution point URLs.
    #[serde(default, skip_serializing_if = "MultiString::is_empty")]
    pub crl_distribution_points: MultiString,
    /// OCSP responder URLs (authorityInfoAccess id-ad-ocsp).
    #[serde(default, skip_serializing_if = "MultiString::is_empty")]
    pub ocsp_server: MultiString,
    /// CA certificate URLs (authorityInfoAccess id-ad-caIssuers).
    #[serde(
        rename = "issuingCertificateURL",
        default,
        skip_serializing_if = "MultiString::is_empty"
    )]
    pub issuing_certificate_url: MultiString,
    /// Certificate policy OIDs.
    #[serde(default, skip_serializing_if = "MultiString::is_empty")]
    pub policy_identifiers: MultiString,
    /// Name constraints (CA certificates only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_constraints: Option<TemplateNameConstraints>,
}

fn subject_or_common_name<'de, D: Deserializer<'de>>(d: D) -> Result<TemplateSubject, D::Error> {
    struct V;
    impl<'de> Visitor<'de> for V {
        type Value = TemplateSubject;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a subject object or a common name string")
        }
        fn visit_str<E: de::Error>(self, v: &str) -> Result<TemplateSubject, E> {
            Ok(TemplateSubject {
                common_name: v.to_owned(),
                ..TemplateSubject::default()
            })
        }
        fn visit_unit<E: de::Error>(self) -> Result<TemplateSubject, E> {
            Ok(TemplateSubject::default())
        }
        fn visit_none<E: de::Error>(self) -> Result<TemplateSubject, E> {
            Ok(TemplateSubject::default())
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<TemplateSubject, D2::Error> {
            subject_or_common_name(d)
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<TemplateSubject, A::Error> {
            TemplateSubject::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_any(V)
}

/// A key usage bit (RFC 5280 §4.2.1.3), with step's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum KeyUsage {
    /// digitalSignature (bit 0).
    DigitalSignature,
    /// contentCommitment / nonRepudiation (bit 1).
    ContentCommitment,
    /// keyEncipherment (bit 2).
    KeyEncipherment,
    /// dataEncipherment (bit 3).
    DataEncipherment,
    /// keyAgreement (bit 4).
    KeyAgreement,
    /// keyCertSign, step's `certSign` (bit 5).
    CertSign,
    /// cRLSign, step's `crlSign` (bit 6).
    CrlSign,
    /// encipherOnly (bit 7).
    EncipherOnly,
    /// decipherOnly (bit 8).
    DecipherOnly,
}

impl KeyUsage {
    /// Every usage, in bit order.
    pub const ALL: [KeyUsage; 9] = [
        KeyUsage::DigitalSignature,
        KeyUsage::ContentCommitment,
        KeyUsage::KeyEncipherment,
        KeyUsage::DataEncipherment,
        KeyUsage::KeyAgreement,
        KeyUsage::CertSign,
        KeyUsage::CrlSign,
        KeyUsage::EncipherOnly,
        KeyUsage::DecipherOnly,
    ];

    /// step's name.
    pub fn name(self) -> &'static str {
        match self {
            KeyUsage::DigitalSignature => "digitalSignature",
            KeyUsage::ContentCommitment => "contentCommitment",
            KeyUsage::KeyEncipherment => "keyEncipherment",
            KeyUsage::DataEncipherment => "dataEncipherment",
            KeyUsage::KeyAgreement => "keyAgreement",
            KeyUsage::CertSign => "certSign",
            KeyUsage::CrlSign => "crlSign",
            KeyUsage::EncipherOnly => "encipherOnly",
            KeyUsage::DecipherOnly => "decipherOnly",
        }
    }

    /// The bit number in the KeyUsage BIT STRING.
    pub fn bit(self) -> usize {
        match self {
            KeyUsage::DigitalSignature => 0,
            KeyUsage::ContentCommitment => 1,
            KeyUsage::KeyEncipherment => 2,
            KeyUsage::DataEncipherment => 3,
            KeyUsage::KeyAgreement => 4,
            KeyUsage::CertSign => 5,
            KeyUsage::CrlSign => 6,
            KeyUsage::EncipherOnly => 7,
            KeyUsage::DecipherOnly => 8,
        }
    }

    /// Look a name up as step does (case-insensitive, `_` ignored). RFC 5280's names
    /// `keyCertSign`, `cRLSign` and `nonRepudiation` are accepted too.
    pub fn from_name(name: &str) -> Option<Self> {
        let n = normalize(name);
        match n.as_str() {
            "keycertsign" => return Some(KeyUsage::CertSign),
            "nonrepudiation" => return Some(KeyUsage::ContentCommitment),
            _ => {}
        }
        Self::ALL.into_iter().find(|k| normalize(k.name()) == n)
    }
}

/// An extended key usage with a name (step's list, RFC 5280 §4.2.1.12 and vendors').
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtKeyUsage {
    /// anyExtendedKeyUsage.
    Any,
    /// id-kp-serverAuth.
    ServerAuth,
    /// id-kp-clientAuth.
    ClientAuth,
    /// id-kp-codeSigning.
    CodeSigning,
    /// id-kp-emailProtection.
    EmailProtection,
    /// id-kp-ipsecEndSystem.
    IpsecEndSystem,
    /// id-kp-ipsecTunnel.
    IpsecTunnel,
    /// id-kp-ipsecUser.
    IpsecUser,
    /// id-kp-timeStamping.
    TimeStamping,
    /// id-kp-OCSPSigning.
    OcspSigning,
    /// Microsoft Server Gated Crypto.
    MicrosoftServerGatedCrypto,
    /// Netscape Server Gated Crypto.
    NetscapeServerGatedCrypto,
    /// Microsoft commercial code signing.
    MicrosoftCommercialCodeSigning,
    /// Microsoft kernel code signing.
    MicrosoftKernelCodeSigning,
}

impl ExtKeyUsage {
    /// Every named usage.
    pub const ALL: [ExtKeyUsage; 14] = [
        ExtKeyUsage::Any,
        ExtKeyUsage::ServerAuth,
        ExtKeyUsage::ClientAuth,
        ExtKeyUsage::CodeSigning,
        ExtKeyUsage::EmailProtection,
        ExtKeyUsage::IpsecEndSystem,
        ExtKeyUsage::IpsecTunnel,
        ExtKeyUsage::IpsecUser,
        ExtKeyUsage::TimeStamping,
        ExtKeyUsage::OcspSigning,
        ExtKeyUsage::MicrosoftServerGatedCrypto,
        ExtKeyUsage::NetscapeServerGatedCrypto,
        ExtKeyUsage::MicrosoftCommercialCodeSigning,
        ExtKeyUsage::MicrosoftKernelCodeSigning,
    ];

    /// step's name.
    pub fn name(self) -> &'static str {
        match self {
            ExtKeyUsage::Any => "any",
            ExtKeyUsage::ServerAuth => "serverAuth",
            ExtKeyUsage::ClientAuth => "clientAuth",
            ExtKeyUsage::CodeSigning => "codeSigning",
            ExtKeyUsage::EmailProtection => "emailProtection",
            ExtKeyUsage::IpsecEndSystem => "ipsecEndSystem",
            ExtKeyUsage::IpsecTunnel => "ipsecTunnel",
            ExtKeyUsage::IpsecUser => "ipsecUser",
            ExtKeyUsage::TimeStamping => "timeStamping",
            ExtKeyUsage::OcspSigning => "ocspSigning",
            ExtKeyUsage::MicrosoftServerGatedCrypto => "microsoftServerGatedCrypto",
            ExtKeyUsage::NetscapeServerGatedCrypto => "netscapeServerGatedCrypto",
            ExtKeyUsage::MicrosoftCommercialCodeSigning => "microsoftCommercialCodeSigning",
            ExtKeyUsage::MicrosoftKernelCodeSigning => "microsoftKernelCodeSigning",
        }
    }

    /// The usage's OID arcs.
    pub fn oid(self) -> &'static [u64] {
        match self {
            ExtKeyUsage::Any => &[2, 5, 29, 37, 0],
            ExtKeyUsage::ServerAuth => &[1, 3, 6, 1, 5, 5, 7, 3, 1],
            ExtKeyUsage::ClientAuth => &[1, 3, 6, 1, 5, 5, 7, 3, 2],
            ExtKeyUsage::CodeSigning => &[1, 3, 6, 1, 5, 5, 7, 3, 3],
            ExtKeyUsage::EmailProtection => &[1, 3, 6, 1, 5, 5, 7, 3, 4],
            ExtKeyUsage::IpsecEndSystem => &[1, 3, 6, 1, 5, 5, 7, 3, 5],
            ExtKeyUsage::IpsecTunnel => &[1, 3, 6, 1, 5, 5, 7, 3, 6],
            ExtKeyUsage::IpsecUser => &[1, 3, 6, 1, 5, 5, 7, 3, 7],
            ExtKeyUsage::TimeStamping => &[1, 3, 6, 1, 5, 5, 7, 3, 8],
            ExtKeyUsage::OcspSigning => &[1, 3, 6, 1, 5, 5, 7, 3, 9],
            ExtKeyUsage::MicrosoftServerGatedCrypto => &[1, 3, 6, 1, 4, 1, 311, 10, 3, 3],
            ExtKeyUsage::NetscapeServerGatedCrypto => &[2, 16, 840, 1, 113730, 4, 1],
            ExtKeyUsage::MicrosoftCommercialCodeSigning => &[1, 3, 6, 1, 4, 1, 311, 2, 1, 22],
            ExtKeyUsage::MicrosoftKernelCodeSigning => &[1, 3, 6, 1, 4, 1, 311, 61, 1, 1],
        }
    }

    /// Look a name up as step does (case-insensitive, `_` ignored).
    pub fn from_name(name: &str) -> Option<Self> {
        let n = normalize(name);
        Self::ALL.into_iter().find(|k| normalize(k.name()) == n)
    }
}

/// step's `convertName`: lowercase, underscores removed.
fn normalize(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// Extension OIDs that the typed template fields (or the CA itself) produce; a raw
/// `extensions` entry may not use them.
pub const RESERVED_EXTENSION_OIDS: [(&[u64], &str); 10] = [
    (
        &[2, 5, 29, 14],
        "subjectKeyIdentifier (always derived from the key)",
    ),
    (&[2, 5, 29, 15], "keyUsage (use the keyUsage field)"),
    (
        &[2, 5, 29, 17],
        "subjectAltName (use sans or dnsNames/ipAddresses/emailAddresses/uris)",
    ),
    (
        &[2, 5, 29, 19],
        "basicConstraints (use the basicConstraints field)",
    ),
    (
        &[2, 5, 29, 30],
        "nameConstraints (use the nameConstraints field)",
    ),
    (
        &[2, 5, 29, 31],
        "cRLDistributionPoints (use crlDistributionPoints)",
    ),
    (
        &[2, 5, 29, 32],
        "certificatePolicies (use policyIdentifiers)",
    ),
    (
        &[2, 5, 29, 35],
        "authorityKeyIdentifier (always derived from the issuer)",
    ),
    (
        &[2, 5, 29, 37],
        "extKeyUsage (use extKeyUsage and unknownExtKeyUsage)",
    ),
    (
        &[1, 3, 6, 1, 5, 5, 7, 1, 1],
        "authorityInfoAccess (use ocspServer and issuingCertificateURL)",
    ),
];

/// Parse a dotted OID (`1.3.6.1.4.1.37476.9000.64.1`) into its arcs.
pub fn parse_oid(text: &str) -> Result<Vec<u64>, String> {
    let bad = |why: &str| format!("'{text}' is not an OID: {why}");
    let mut arcs = Vec::new();
    for arc in text.split('.') {
        if arc.is_empty() || !arc.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("arcs are decimal numbers separated by dots"));
        }
        if arc.len() > 1 && arc.starts_with('0') {
            return Err(bad("an arc has a leading zero"));
        }
        arcs.push(arc.parse::<u64>().map_err(|_| bad("an arc is too large"))?);
    }
    match arcs.as_slice() {
        [first, second, ..] => {
            if *first > 2 {
                return Err(bad("the first arc must be 0, 1 or 2"));
            }
            if *first < 2 && *second >= 40 {
                return Err(bad("the second arc must be below 40"));
            }
            if second.checked_add(80).is_none() {
                return Err(bad("the second arc is too large"));
            }
            Ok(arcs)
        }
        _ => Err(bad("at least two arcs are needed")),
    }
}

/// Decode standard base64 (RFC 4648 §4: `+` and `/`), with or without `=` padding, strictly:
/// no whitespace, no other characters, no non-zero trailing bits.
pub fn decode_base64(text: &str) -> Result<Vec<u8>, String> {
    let body = text.trim_end_matches('=');
    let padding = text.len() - body.len();
    if padding > 2 || (padding > 0 && !text.len().is_multiple_of(4)) {
        return Err("not base64: bad '=' padding".into());
    }
    if body.len() % 4 == 1 {
        return Err("not base64: truncated".into());
    }
    let mut out = Vec::with_capacity(body.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in body.bytes() {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            b'-' | b'_' => {
                return Err(
                    "not standard base64 ('-' and '_' are base64url; use '+' and '/')".into(),
                );
            }
            _ => {
                return Err(format!(
                    "not base64: unexpected character {:?}",
                    char::from(c)
                ));
            }
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits).to_le_bytes()[0]);
            acc &= (1 << bits) - 1;
        }
    }
    if acc != 0 {
        return Err("not base64: non-zero trailing bits".into());
    }
    Ok(out)
}

/// `scheme:rest` with an RFC 3986 scheme, printable ASCII without spaces.
fn check_uri(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("empty".into());
    }
    if !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "'{value}' must be printable ASCII without spaces (percent-encode the rest)"
        ));
    }
    let scheme_ok = value.split_once(':').is_some_and(|(scheme, rest)| {
        !rest.is_empty()
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !scheme_ok {
        return Err(format!(
            "'{value}' is not a URI (it needs a scheme, e.g. https:)"
        ));
    }
    Ok(())
}

/// A syntax check of one SAN value.
type NameCheck = fn(&str) -> Result<(), String>;

fn check_ip(value: &str) -> Result<(), String> {
    value
        .trim_start_matches('[')
        .trim_end_matches(']')
        .parse::<IpAddr>()
        .map(|_| ())
        .map_err(|_| format!("'{value}' is not an IP address"))
}

fn check_email(value: &str) -> Result<(), String> {
    match value.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !domain.contains('@')
                && value.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            Ok(())
        }
        _ => Err(format!("'{value}' is not an e-mail address")),
    }
}

fn check_dns(value: &str) -> Result<(), String> {
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "'{value}' is not a DNS name (ASCII without spaces; use punycode)"
        ));
    }
    Ok(())
}

impl CertificateTemplate {
    /// Every problem in the description at once (empty means valid). The issuing crate
    /// checks again, and more (string lengths, DER), before it signs.
    pub fn validate(&self) -> Vec<TemplateProblem> {
        let mut problems = Vec::new();
        let mut report = |field: String, problem: String| {
            problems.push(TemplateProblem { field, problem });
        };

        // Subject.
        for (name, _, values) in self.subject.named_attributes() {
            for (i, v) in values.iter().enumerate() {
                if v.is_empty() {
                    report(format!("subject.{name}[{i}]"), "empty value".into());
                }
                if name == "country"
                    && !(v.len() == 2 && v.bytes().all(|b| b.is_ascii_alphabetic()))
                {
                    report(
                        format!("subject.country[{i}]"),
                        format!("'{v}' is not a two-letter ISO 3166 code"),
                    );
                }
            }
        }
        for (i, extra) in self.subject.extra_names.iter().enumerate() {
            if let Err(e) = parse_oid(&extra.oid) {
                report(format!("subject.extraNames[{i}].type"), e);
            }
            if extra.value.is_empty() {
                report(
                    format!("subject.extraNames[{i}].value"),
                    "empty value".into(),
                );
            }
        }

        // SANs.
        for (i, san) in self.sans.iter().enumerate() {
            let checked = match san.kind() {
                Err(e) => Err(e),
                Ok(SanKind::Dns) => check_dns(&san.value),
                Ok(SanKind::Email) => check_email(&san.value),
                Ok(SanKind::Ip) => check_ip(&san.value),
                Ok(SanKind::Uri) => check_uri(&san.value),
                Ok(SanKind::Auto) if san.value.is_empty() => Err("empty".into()),
                Ok(SanKind::Auto) => Ok(()),
            };
            if let Err(e) = checked {
                report(format!("sans[{i}]"), e);
            }
        }
        let lists: [(&str, &MultiString, NameCheck); 4] = [
            ("dnsNames", &self.dns_names, check_dns),
            ("emailAddresses", &self.email_addresses, check_email),
            ("ipAddresses", &self.ip_addresses, check_ip),
            ("uris", &self.uris, check_uri),
        ];
        for (name, list, check) in lists {
            for (i, v) in list.iter().enumerate() {
                if let Err(e) = check(v) {
                    report(format!("{name}[{i}]"), e);
                }
            }
        }
        if self.subject.is_empty() && !self.has_sans() {
            report(
                "subject".into(),
                "a certificate needs a subject or at least one SAN".into(),
            );
        }

        // Usages.
        let mut usages = BTreeSet::new();
        for (i, name) in self.key_usage.iter().enumerate() {
            match KeyUsage::from_name(name) {
                Some(k) => {
                    usages.insert(k);
                }
                None => report(
                    format!("keyUsage[{i}]"),
                    format!(
                        "unknown key usage '{name}' (one of {})",
                        KeyUsage::ALL.map(KeyUsage::name).join(", ")
                    ),
                ),
            }
        }
        if (usages.contains(&KeyUsage::EncipherOnly) || usages.contains(&KeyUsage::DecipherOnly))
            && !usages.contains(&KeyUsage::KeyAgreement)
        {
            report(
                "keyUsage".into(),
                "encipherOnly and decipherOnly need keyAgreement".into(),
            );
        }
        for (i, name) in self.ext_key_usage.iter().enumerate() {
            if ExtKeyUsage::from_name(name).is_none() {
                report(
                    format!("extKeyUsage[{i}]"),
                    format!(
                        "unknown extended key usage '{name}' (one of {}; give others by OID in unknownExtKeyUsage)",
                        ExtKeyUsage::ALL.map(ExtKeyUsage::name).join(", ")
                    ),
                );
            }
        }
        for (i, oid) in self.unknown_ext_key_usage.iter().enumerate() {
            if let Err(e) = parse_oid(oid) {
                report(format!("unknownExtKeyUsage[{i}]"), e);
            }
        }

        // CA or not.
        let is_ca = self.is_ca();
        if let Some(bc) = &self.basic_constraints {
            if !bc.is_ca && bc.max_path_len > 0 {
                report(
                    "basicConstraints.maxPathLen".into(),
                    "a path length needs isCA".into(),
                );
            }
            if bc.max_path_len > 255 {
                report(
                    "basicConstraints.maxPathLen".into(),
                    "at most 255 (use a negative value for no limit)".into(),
                );
            }
        }
        if is_ca && !usages.contains(&KeyUsage::CertSign) {
            report(
                "keyUsage".into(),
                "a CA certificate (isCA) needs certSign".into(),
            );
        }
        if !is_ca && usages.contains(&KeyUsage::CertSign) {
            report(
                "keyUsage".into(),
                "certSign needs basicConstraints.isCA".into(),
            );
        }

        // Raw extensions.
        let mut seen = BTreeSet::new();
        for (i, ext) in self.extensions.iter().enumerate() {
            match parse_oid(&ext.id) {
                Ok(oid) => {
                    if let Some((_, what)) = RESERVED_EXTENSION_OIDS
                        .iter()
                        .find(|(o, _)| *o == oid.as_slice())
                    {
                        report(
                            format!("extensions[{i}].id"),
                            format!("{} is {what}", ext.id),
                        );
                    }
                    if !seen.insert(oid) {
                        report(
                            format!("extensions[{i}].id"),
                            format!("{} appears more than once", ext.id),
                        );
                    }
                }
                Err(e) => report(format!("extensions[{i}].id"), e),
            }
            match ext.decoded_value() {
                Ok(v) if v.is_empty() => {
                    report(format!("extensions[{i}].value"), "empty value".into());
                }
                Ok(_) => {}
                Err(e) => report(format!("extensions[{i}].value"), e),
            }
        }

        // URLs and policies.
        let urls = [
            ("crlDistributionPoints", &self.crl_distribution_points),
            ("ocspServer", &self.ocsp_server),
            ("issuingCertificateURL", &self.issuing_certificate_url),
        ];
        for (name, list) in urls {
            for (i, v) in list.iter().enumerate() {
                if let Err(e) = check_uri(v) {
                    report(format!("{name}[{i}]"), e);
                }
            }
        }
        for (i, oid) in self.policy_identifiers.iter().enumerate() {
            if let Err(e) = parse_oid(oid) {
                report(format!("policyIdentifiers[{i}]"), e);
            }
        }

        // Name constraints.
        if let Some(nc) = &self.name_constraints {
            if !is_ca {
                report(
                    "nameConstraints".into(),
                    "name constraints are only allowed in CA certificates (isCA)".into(),
                );
            }
            if nc.is_empty() {
                report(
                    "nameConstraints".into(),
                    "no permitted or excluded names given".into(),
                );
            }
            for (name, list) in [
                ("permittedIPRanges", &nc.permitted_ip_ranges),
                ("excludedIPRanges", &nc.excluded_ip_ranges),
            ] {
                for (i, v) in list.iter().enumerate() {
                    if v.parse::<ipnet::IpNet>().is_err() {
                        report(
                            format!("nameConstraints.{name}[{i}]"),
                            format!("'{v}' is not a CIDR range (e.g. 10.0.0.0/8)"),
                        );
                    }
                }
            }
            for (name, list) in [
                ("permittedDNSDomains", &nc.permitted_dns_domains),
                ("excludedDNSDomains", &nc.excluded_dns_domains),
                ("permittedEmailAddresses", &nc.permitted_email_addresses),
                ("excludedEmailAddresses", &nc.excluded_email_addresses),
                ("permittedURIDomains", &nc.permitted_uri_domains),
                ("excludedURIDomains", &nc.excluded_uri_domains),
            ] {
                for (i, v) in list.iter().enumerate() {
                    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_graphic()) {
                        report(
                            format!("nameConstraints.{name}[{i}]"),
                            format!("'{v}' must be non-empty ASCII without spaces"),
                        );
                    }
                }
            }
        }
        problems
    }

    /// Whether `basicConstraints.isCA` is set.
    pub fn is_ca(&self) -> bool {
        self.basic_constraints.is_some_and(|b| b.is_ca)
    }

    /// Whether any SAN is given (typed or in a shortcut list).
    pub fn has_sans(&self) -> bool {
        !(self.sans.is_empty()
            && self.dns_names.is_empty()
            && self.email_addresses.is_empty()
            && self.ip_addresses.is_empty()
            && self.uris.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<CertificateTemplate, String> {
        // The model crate has no JSON parser; TOML exercises the same serde paths, and the
        // registration and issuing crates test the JSON form.
        toml::from_str(json).map_err(|e| e.to_string())
    }

    #[test]
    fn oids() {
        assert_eq!(parse_oid("2.5.29.17").unwrap(), vec![2, 5, 29, 17]);
        assert_eq!(
            parse_oid("1.3.6.1.4.1.37476.9000.64.1").unwrap(),
            vec![1, 3, 6, 1, 4, 1, 37476, 9000, 64, 1]
        );
        assert_eq!(parse_oid("2.999.3").unwrap(), vec![2, 999, 3]);
        for bad in [
            "", "1", "3.1", "1.40", "1..2", "1.2.", "a.b", "1.02", " 1.2", "1.2.-3",
        ] {
            assert!(parse_oid(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn base64() {
        assert_eq!(decode_base64("").unwrap(), b"");
        assert_eq!(decode_base64("Zg==").unwrap(), b"f");
        assert_eq!(decode_base64("Zg").unwrap(), b"f");
        assert_eq!(decode_base64("Zm8=").unwrap(), b"fo");
        assert_eq!(decode_base64("Zm9v").unwrap(), b"foo");
        assert_eq!(decode_base64("BQA=").unwrap(), [5, 0]);
        assert_eq!(decode_base64("+/+/").unwrap(), [0xfb, 0xff, 0xbf]);
        for bad in [
            "Z", "Zh==", "Zg=", "Zg===", "Zm9v\n", "-_-_", "Zm 9v", "Z=g=",
        ] {
            assert!(decode_base64(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn usage_names_follow_step() {
        assert_eq!(
            KeyUsage::from_name("digitalSignature"),
            Some(KeyUsage::DigitalSignature)
        );
        assert_eq!(
            KeyUsage::from_name("DIGITAL_SIGNATURE"),
            Some(KeyUsage::DigitalSignature)
        );
        assert_eq!(KeyUsage::from_name("certsign"), Some(KeyUsage::CertSign));
        assert_eq!(KeyUsage::from_name("keyCertSign"), Some(KeyUsage::CertSign));
        assert_eq!(KeyUsage::from_name("signing"), None);
        assert_eq!(
            ExtKeyUsage::from_name("server_auth"),
            Some(ExtKeyUsage::ServerAuth)
        );
        assert_eq!(
            ExtKeyUsage::from_name("OCSPSigning"),
            Some(ExtKeyUsage::OcspSigning)
        );
        assert_eq!(ExtKeyUsage::from_name("web"), None);
        for k in KeyUsage::ALL {
            assert_eq!(KeyUsage::from_name(k.name()), Some(k));
        }
        for k in ExtKeyUsage::ALL {
            assert_eq!(ExtKeyUsage::from_name(k.name()), Some(k));
        }
    }

    #[test]
    fn multi_strings_and_subject_forms() {
        let t = parse(
            r#"
            subject = "web.example.com"
            dnsNames = "web.example.com"
            keyUsage = ["digitalSignature"]
            "#,
        )
        .unwrap();
        assert_eq!(t.subject.common_name, "web.example.com");
        assert_eq!(t.dns_names.0, vec!["web.example.com"]);
        assert!(t.validate().is_empty(), "{:?}", t.validate());

        let t = parse(
            r#"
            [subject]
            CommonName = "x"
            organizationalUnit = ["a", "b"]
            Country = "DE"
            [[subject.extraNames]]
            type = "1.2.840.113549.1.9.1"
            Value = "ops@example.com"
            [[sans]]
            Type = "DNS"
            value = "x.example.com"
            "#,
        )
        .unwrap();
        assert_eq!(t.subject.common_name, "x");
        assert_eq!(t.subject.organizational_unit.0, vec!["a", "b"]);
        assert_eq!(t.subject.country.0, vec!["DE"]);
        assert_eq!(t.sans[0].kind(), Ok(SanKind::Dns));
        assert!(t.validate().is_empty(), "{:?}", t.validate());
    }

    #[test]
    fn unknown_and_unsupported_fields_are_errors() {
        assert!(
            parse("notAfter = \"2030-01-01T00:00:00Z\"")
                .unwrap_err()
                .contains("notAfter")
        );
        assert!(parse("issuer = \"x\"").unwrap_err().contains("issuer"));
        assert!(parse("[subject]\ncommonNam = \"x\"").is_err());
        assert!(parse("[[sans]]\ntype = \"dns\"\nvalue = \"a\"\nasn1Value = \"x\"").is_err());
        assert!(parse("[basicConstraints]\nisCa = true").is_err());
    }

    #[test]
    fn validation_reports_every_problem() {
        let t = parse(
            r#"
            subject = { country = "Germany", extraNames = [{ type = "1.x", value = "" }] }
            sans = [{ type = "dn", value = "CN=x" }, { type = "ip", value = "300.1.1.1" }, { type = "uri", value = "no scheme" }]
            keyUsage = ["digitalSignature", "signing", "certSign"]
            extKeyUsage = ["serverAuth", "web"]
            unknownExtKeyUsage = ["1.2.3", "x"]
            crlDistributionPoints = ["http://crl.example.com/a.crl", "crl.example.com"]
            policyIdentifiers = ["2.23.140.1.2.1", "1"]
            extensions = [
              { id = "2.5.29.15", value = "AwIHgA==" },
              { id = "1.2.3.4", value = "not base64!" },
              { id = "1.2.3.4", value = "BQA=" },
            ]
            nameConstraints = { permittedIPRanges = ["10.0.0.0/33"] }
            "#,
        )
        .unwrap();
        let problems = t.validate();
        let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
        for want in [
            "subject.country[0]",
            "subject.extraNames[0].type",
            "subject.extraNames[0].value",
            "sans[0]",
            "sans[1]",
            "sans[2]",
            "keyUsage[1]",
            "keyUsage",
            "extKeyUsage[1]",
            "unknownExtKeyUsage[1]",
            "crlDistributionPoints[1]",
            "policyIdentifiers[1]",
            "extensions[0].id",
            "extensions[1].value",
            "extensions[2].id",
            "nameConstraints",
            "nameConstraints.permittedIPRanges[0]",
        ] {
            assert!(fields.contains(&want), "{want} missing from {problems:#?}");
        }
        assert!(!fields.contains(&"unknownExtKeyUsage[0]"));
        assert!(!fields.contains(&"crlDistributionPoints[0]"));
    }

    #[test]
    fn ca_rules() {
        let ca = |toml: &str| parse(toml).unwrap().validate();
        assert!(ca("subject = \"CA\"\nkeyUsage = [\"certSign\", \"crlSign\"]\nbasicConstraints = { isCA = true, maxPathLen = 0 }").is_empty());
        let p =
            ca("subject = \"CA\"\nkeyUsage = [\"crlSign\"]\nbasicConstraints = { isCA = true }");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].problem.contains("needs certSign"));
        let p = ca("subject = \"x\"\nbasicConstraints = { isCA = false, maxPathLen = 2 }");
        assert_eq!(p.len(), 1, "{p:?}");
        let p = ca("subject = \"x\"\nnameConstraints = { permittedDNSDomains = \"example.com\" }");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].problem.contains("only allowed in CA"));
        let p = ca("keyUsage = [\"digitalSignature\"]");
        assert_eq!(p.len(), 1, "{p:?}");
        assert!(p[0].problem.contains("subject or at least one SAN"));
        let p = ca("subject = \"x\"\nkeyUsage = [\"encipherOnly\"]");
        assert_eq!(p.len(), 1, "{p:?}");
    }
}
