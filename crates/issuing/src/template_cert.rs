//! Certificates from templates, and the lint every certificate passes before it is signed.
//!
//! Design. The registration crate renders a provisioner's template into a
//! [`CertificateTemplate`] (model); [`template_spec`] turns one into the [`CertificateSpec`]
//! that [`crate::OnlineIssuer::issue`] (or [`crate::issue_certificate`]) signs. Everything a
//! template decides besides the names travels as DER [`Extension`]s, encoded here with the
//! `der` crate's primitives (rcgen has no builder for AIA, URI name constraints, critical
//! flags chosen by the caller, or certificate policies):
//! - basicConstraints is always present; its presence switches the spec to *explicit* mode
//!   (see [`CertificateSpec::extensions`]): the profile then adds no basicConstraints, keyUsage
//!   or extKeyUsage, and the certificate has exactly the usages the template gave;
//! - keyUsage (critical), extKeyUsage, nameConstraints (critical as the template says),
//!   cRLDistributionPoints, authorityInfoAccess (OCSP, then CA Issuers, as Go writes them),
//!   certificatePolicies (identifiers only), then the template's raw extensions in order.
//!
//! The lint ([`lint_spec`], run by `prepare` for every certificate, template or profile) is
//! the issuing authority's own check that what it is about to sign is a valid certificate,
//! whatever the registration side approved: extensions unique, well-formed DER that
//! x509-parser reads back, none of the ones the issuer itself writes (SAN, SKI, AKI); a CA has
//! keyCertSign and only a CA has it; at least one usage bit; encipherOnly/decipherOnly only
//! with keyAgreement; usages the subject key can have (no keyEncipherment for EC or Ed25519
//! keys, no keyAgreement for RSA or Ed25519); name constraints only on a CA and not empty; a
//! non-critical AIA; a subject or at least one SAN.
//!
//! Limits compared with step-ca (each refused with a clear error, never dropped silently): one
//! value per subject attribute type (rcgen's `DistinguishedName` holds one), SAN types dns,
//! email, ip and uri only, a pathLenConstraint of at most 255.

use std::collections::HashSet;
use std::net::IpAddr;

use pkcs8::der::asn1::{AnyRef, BitStringRef};
use pkcs8::der::{Decode, Encode, Header, Length, Tag, TagNumber};
use rcgen::{BasicConstraints, DnType, DnValue, IsCa};
use time::OffsetDateTime;
use vouch_model::{
    CertificateTemplate, ExtKeyUsage, KeyUsage, MultiString, Profile, SanKind,
    TemplateBasicConstraints, TemplateNameConstraints, TemplateSubject, parse_oid,
};
use x509_parser::extensions::{ParsedExtension, X509Extension};
use x509_parser::prelude::FromDer;

use crate::name::Dn;
use crate::{CertificateSpec, Error, Extension, KeyType, San, describe_public_key};

const OID_SKI: &[u64] = &[2, 5, 29, 14];
const OID_KEY_USAGE: &[u64] = &[2, 5, 29, 15];
const OID_SAN: &[u64] = &[2, 5, 29, 17];
/// basicConstraints: its presence in [`CertificateSpec::extensions`] makes a spec explicit.
pub(crate) const OID_BASIC_CONSTRAINTS: &[u64] = &[2, 5, 29, 19];
const OID_NAME_CONSTRAINTS: &[u64] = &[2, 5, 29, 30];
const OID_CRL_DP: &[u64] = &[2, 5, 29, 31];
const OID_CERT_POLICIES: &[u64] = &[2, 5, 29, 32];
const OID_AKI: &[u64] = &[2, 5, 29, 35];
const OID_EXT_KEY_USAGE: &[u64] = &[2, 5, 29, 37];
const OID_AIA: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 1, 1];
const OID_AD_OCSP: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 1];
const OID_AD_CA_ISSUERS: &[u64] = &[1, 3, 6, 1, 5, 5, 7, 48, 2];
const OID_EMAIL_ADDRESS: &[u64] = &[1, 2, 840, 113549, 1, 9, 1];
const OID_DOMAIN_COMPONENT: &[u64] = &[0, 9, 2342, 19200300, 100, 1, 25];

fn lint(message: impl Into<String>) -> Error {
    Error::Lint(message.into())
}

/// The spec a validated template describes, for the public key `subject_spki_der`, valid from
/// `not_before` to `not_after`. The template is validated again and the result linted; push
/// further extensions (step's provisioner extension) onto `extensions` afterwards.
pub fn template_spec(
    template: &CertificateTemplate,
    subject_spki_der: &[u8],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
) -> Result<CertificateSpec, Error> {
    let problems = template.validate();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        return Err(lint(list.join("; ")));
    }
    let key = describe_public_key(subject_spki_der)?;
    let Some(key_type) = key.key_type else {
        return Err(Error::UnsupportedKey(key.description));
    };
    let mut extensions = vec![basic_constraints(template.basic_constraints)?];
    extensions.extend(key_usage(&template.key_usage)?);
    extensions.extend(ext_key_usage(
        &template.ext_key_usage,
        &template.unknown_ext_key_usage,
    )?);
    if let Some(nc) = &template.name_constraints {
        extensions.push(name_constraints(nc)?);
    }
    extensions.extend(crl_distribution_points(&template.crl_distribution_points)?);
    extensions.extend(authority_info_access(
        &template.ocsp_server,
        &template.issuing_certificate_url,
    )?);
    extensions.extend(certificate_policies(&template.policy_identifiers)?);
    for (i, raw) in template.extensions.iter().enumerate() {
        let oid = parse_oid(&raw.id).map_err(|e| lint(format!("extensions[{i}].id: {e}")))?;
        let value = raw
            .decoded_value()
            .map_err(|e| lint(format!("extensions[{i}].value: {e}")))?;
        extensions.push(Extension {
            oid,
            critical: raw.critical,
            value,
        });
    }
    let spec = CertificateSpec {
        subject: template_dn(&template.subject)?,
        sans: template_sans(template)?,
        profile: if template.is_ca() {
            Profile::IntermediateCa
        } else {
            Profile::Leaf
        },
        not_before,
        not_after,
        extensions,
    };
    lint_spec(&spec, key_type)?;
    Ok(spec)
}

/// The attributes of a name as `(dotted OID, text)` pairs in encoding order (to fill a
/// template's `Insecure.CR.Subject` from a CSR). Attributes that are not text are skipped.
pub fn subject_attributes(dn: &Dn) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (ty, value) in dn.0.iter() {
        let oid = match ty {
            DnType::CountryName => "2.5.4.6".to_owned(),
            DnType::StateOrProvinceName => "2.5.4.8".to_owned(),
            DnType::LocalityName => "2.5.4.7".to_owned(),
            DnType::OrganizationName => "2.5.4.10".to_owned(),
            DnType::OrganizationalUnitName => "2.5.4.11".to_owned(),
            DnType::CommonName => "2.5.4.3".to_owned(),
            DnType::CustomDnType(arcs) => dotted(arcs),
            _ => continue,
        };
        let text = match value {
            DnValue::Utf8String(s) => s.clone(),
            DnValue::PrintableString(s) => s.as_str().to_owned(),
            DnValue::Ia5String(s) => s.as_str().to_owned(),
            DnValue::TeletexString(s) => s.as_str().to_owned(),
            _ => continue,
        };
        out.push((oid, text));
    }
    out
}

/// Go's name for a key's algorithm (`x509.PublicKeyAlgorithm`), as templates see it in
/// `Insecure.CR.PublicKeyAlgorithm`: `RSA`, `ECDSA` or `Ed25519`.
pub fn public_key_algorithm_name(key_type: KeyType) -> &'static str {
    match key_type {
        KeyType::Rsa(_) => "RSA",
        KeyType::EcP256 | KeyType::EcP384 => "ECDSA",
        KeyType::Ed25519 => "Ed25519",
    }
}

fn dotted(arcs: &[u64]) -> String {
    arcs.iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(".")
}

// ---------------------------------------------------------------------------------------
// Names.

/// Upper bounds of attribute lengths (RFC 5280 appendix A; 256 for types it does not bound).
fn max_attribute_len(oid: &[u64]) -> usize {
    match oid {
        [2, 5, 4, 3] | [2, 5, 4, 5] | [2, 5, 4, 10] | [2, 5, 4, 11] => 64,
        [2, 5, 4, 7] | [2, 5, 4, 8] | [2, 5, 4, 9] => 128,
        [2, 5, 4, 17] => 40,
        [1, 2, 840, 113549, 1, 9, 1] => 255,
        [0, 9, 2342, 19200300, 100, 1, 25] => 63,
        _ => 256,
    }
}

/// One attribute value with the string type RFC 5280 and the CA/B rules expect: country and
/// serialNumber PrintableString, emailAddress and domainComponent IA5String, else UTF8String.
fn attribute_value(field: &str, oid: &[u64], value: &str) -> Result<DnValue, Error> {
    let invalid = |reason: String| Error::InvalidName {
        name: value.to_owned(),
        reason: format!("{field}: {reason}"),
    };
    let len = value.chars().count();
    if len == 0 || len > max_attribute_len(oid) {
        return Err(invalid(format!(
            "must be 1 to {} characters",
            max_attribute_len(oid)
        )));
    }
    Ok(match oid {
        [2, 5, 4, 6] => {
            if value.len() != 2 || !value.bytes().all(|b| b.is_ascii_alphabetic()) {
                return Err(invalid("a country is a two-letter ISO 3166 code".into()));
            }
            DnValue::PrintableString(
                rcgen::string::PrintableString::try_from(value.to_ascii_uppercase())
                    .map_err(|e| invalid(e.to_string()))?,
            )
        }
        [2, 5, 4, 5] => {
            DnValue::PrintableString(rcgen::string::PrintableString::try_from(value).map_err(
                |_| invalid("only A-Z a-z 0-9 space and '()+,-./:=? are allowed".into()),
            )?)
        }
        o if o == OID_EMAIL_ADDRESS || o == OID_DOMAIN_COMPONENT => DnValue::Ia5String(
            rcgen::string::Ia5String::try_from(value)
                .map_err(|_| invalid("must be ASCII".into()))?,
        ),
        _ => DnValue::Utf8String(value.to_owned()),
    })
}

/// The subject in Go's order (C, ST, L, street, postalCode, O, OU, CN, serialNumber, then
/// the extra names), one value per attribute type.
fn template_dn(subject: &TemplateSubject) -> Result<Dn, Error> {
    let mut dn = rcgen::DistinguishedName::new();
    for (field, oid, values) in subject.named_attributes() {
        match values.as_slice() {
            [] => {}
            [value] => dn.push(
                DnType::from_oid(oid),
                attribute_value(&format!("subject.{field}"), oid, value)?,
            ),
            _ => {
                return Err(lint(format!(
                    "subject.{field}: more than one value is not supported (one value per attribute type)"
                )));
            }
        }
    }
    for (i, extra) in subject.extra_names.iter().enumerate() {
        let field = format!("subject.extraNames[{i}]");
        let oid = parse_oid(&extra.oid).map_err(|e| lint(format!("{field}.type: {e}")))?;
        let ty = DnType::from_oid(&oid);
        if dn.get(&ty).is_some() {
            return Err(lint(format!(
                "{field}: the subject already has a {} attribute",
                extra.oid
            )));
        }
        dn.push(ty, attribute_value(&field, &oid, &extra.value)?);
    }
    Ok(Dn(dn))
}

/// Every SAN of the template, typed as declared, duplicates dropped, in order.
fn template_sans(template: &CertificateTemplate) -> Result<Vec<San>, Error> {
    let mut typed: Vec<(String, SanKind, &str)> = Vec::new();
    for (i, san) in template.sans.iter().enumerate() {
        let kind = san.kind().map_err(|e| lint(format!("sans[{i}]: {e}")))?;
        typed.push((format!("sans[{i}]"), kind, &san.value));
    }
    let lists: [(&str, SanKind, &MultiString); 4] = [
        ("dnsNames", SanKind::Dns, &template.dns_names),
        ("emailAddresses", SanKind::Email, &template.email_addresses),
        ("ipAddresses", SanKind::Ip, &template.ip_addresses),
        ("uris", SanKind::Uri, &template.uris),
    ];
    for (name, kind, list) in lists {
        for (i, v) in list.iter().enumerate() {
            typed.push((format!("{name}[{i}]"), kind, v));
        }
    }
    let mut out: Vec<San> = Vec::new();
    for (field, kind, value) in typed {
        let san = typed_san(kind, value).map_err(|e| match e {
            Error::InvalidName { name, reason } => Error::InvalidName {
                name,
                reason: format!("{field}: {reason}"),
            },
            other => other,
        })?;
        if !out.contains(&san) {
            out.push(san);
        }
    }
    Ok(out)
}

fn typed_san(kind: SanKind, value: &str) -> Result<San, Error> {
    let invalid = |reason: &str| Error::InvalidName {
        name: value.to_owned(),
        reason: reason.to_owned(),
    };
    match kind {
        SanKind::Auto => value.parse(),
        SanKind::Dns => match value.parse()? {
            San::Dns(d) => Ok(San::Dns(d)),
            _ => Err(invalid("not a DNS name")),
        },
        SanKind::Email => match value.parse()? {
            San::Email(e) => Ok(San::Email(e)),
            _ => Err(invalid("not an e-mail address")),
        },
        SanKind::Ip => value
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .map(San::Ip)
            .map_err(|_| invalid("not an IP address")),
        SanKind::Uri => {
            let scheme_ok = value.split_once(':').is_some_and(|(scheme, rest)| {
                !rest.is_empty()
                    && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                    && scheme
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
            });
            if !scheme_ok || !value.bytes().all(|b| b.is_ascii_graphic()) {
                return Err(invalid(
                    "not a URI (a scheme, then printable ASCII without spaces)",
                ));
            }
            Ok(San::Uri(value.to_owned()))
        }
    }
}

// ---------------------------------------------------------------------------------------
// DER encoding of the extensions (the `der` crate's headers and primitives).

fn der_error(e: pkcs8::der::Error) -> Error {
    Error::internal(format!("DER encoding failed: {e}"))
}

fn tlv(tag: Tag, content: &[u8]) -> Result<Vec<u8>, Error> {
    let length = Length::try_from(content.len()).map_err(der_error)?;
    let mut out = Header::new(tag, length).to_der().map_err(der_error)?;
    out.extend_from_slice(content);
    Ok(out)
}

fn sequence(items: &[Vec<u8>]) -> Result<Vec<u8>, Error> {
    tlv(Tag::Sequence, &items.concat())
}

/// A context-specific `[number]` tag around `content` (IMPLICIT when primitive).
fn context(number: u32, constructed: bool, content: &[u8]) -> Result<Vec<u8>, Error> {
    tlv(
        Tag::ContextSpecific {
            constructed,
            number: TagNumber(number),
        },
        content,
    )
}

/// An OBJECT IDENTIFIER with u64 arcs (`const-oid` arcs are 32 bits; rcgen's are 64).
fn oid_der(arcs: &[u64]) -> Result<Vec<u8>, Error> {
    let bad = || lint(format!("'{}' is not a valid OID", dotted(arcs)));
    let [first, second, rest @ ..] = arcs else {
        return Err(bad());
    };
    if *first > 2 || (*first < 2 && *second >= 40) {
        return Err(bad());
    }
    let mut content = Vec::new();
    base128(
        (first * 40).checked_add(*second).ok_or_else(bad)?,
        &mut content,
    );
    for arc in rest {
        base128(*arc, &mut content);
    }
    tlv(Tag::ObjectIdentifier, &content)
}

fn base128(mut value: u64, out: &mut Vec<u8>) {
    let mut groups = [0u8; 10];
    let mut start = groups.len();
    loop {
        start -= 1;
        let continuation = if start == groups.len() - 1 { 0 } else { 0x80 };
        groups[start] = (value & 0x7f).to_le_bytes()[0] | continuation;
        value >>= 7;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&groups[start..]);
}

/// A GeneralName that is an IA5String (`[1]` rfc822Name, `[2]` dNSName, `[6]` URI).
fn ia5_name(tag: u32, value: &str) -> Result<Vec<u8>, Error> {
    if value.is_empty() || !value.is_ascii() {
        return Err(Error::InvalidName {
            name: value.to_owned(),
            reason: "must be non-empty ASCII (IA5String)".into(),
        });
    }
    context(tag, false, value.as_bytes())
}

fn basic_constraints(bc: Option<TemplateBasicConstraints>) -> Result<Extension, Error> {
    let bc = bc.unwrap_or_default();
    let mut items = Vec::new();
    if bc.is_ca {
        items.push(true.to_der().map_err(der_error)?);
        if bc.max_path_len >= 0 {
            let n = u8::try_from(bc.max_path_len)
                .map_err(|_| lint("basicConstraints.maxPathLen: at most 255"))?;
            items.push(n.to_der().map_err(der_error)?);
        }
    }
    Ok(Extension {
        oid: OID_BASIC_CONSTRAINTS.to_vec(),
        critical: true,
        value: sequence(&items)?,
    })
}

fn key_usage(names: &MultiString) -> Result<Option<Extension>, Error> {
    let mut bits = [0u8; 2];
    let mut highest: Option<usize> = None;
    for name in names {
        let usage = KeyUsage::from_name(name)
            .ok_or_else(|| lint(format!("keyUsage: unknown key usage '{name}'")))?;
        let bit = usage.bit();
        bits[bit / 8] |= 0x80 >> (bit % 8);
        highest = highest.max(Some(bit));
    }
    let Some(highest) = highest else {
        return Ok(None);
    };
    let bytes = highest / 8 + 1;
    let unused = u8::try_from(8 * bytes - (highest + 1)).map_err(Error::internal)?;
    let value = BitStringRef::new(unused, &bits[..bytes])
        .and_then(|b| b.to_der())
        .map_err(der_error)?;
    Ok(Some(Extension {
        oid: OID_KEY_USAGE.to_vec(),
        critical: true,
        value,
    }))
}

fn ext_key_usage(names: &MultiString, oids: &MultiString) -> Result<Option<Extension>, Error> {
    let mut arcs: Vec<Vec<u64>> = Vec::new();
    for name in names {
        let usage = ExtKeyUsage::from_name(name)
            .ok_or_else(|| lint(format!("extKeyUsage: unknown usage '{name}'")))?;
        arcs.push(usage.oid().to_vec());
    }
    for oid in oids {
        arcs.push(parse_oid(oid).map_err(|e| lint(format!("unknownExtKeyUsage: {e}")))?);
    }
    let mut seen = HashSet::new();
    arcs.retain(|a| seen.insert(a.clone()));
    if arcs.is_empty() {
        return Ok(None);
    }
    let items = arcs
        .iter()
        .map(|a| oid_der(a))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(Extension {
        oid: OID_EXT_KEY_USAGE.to_vec(),
        critical: false,
        value: sequence(&items)?,
    }))
}

/// `address/prefix` as the iPAddress of a GeneralSubtree: the network address, then the
/// mask (4 + 4 or 16 + 16 bytes), host bits cleared as Go's `net.ParseCIDR` does.
fn cidr_bytes(text: &str) -> Result<Vec<u8>, Error> {
    let invalid = || Error::InvalidName {
        name: text.to_owned(),
        reason: "not a CIDR range (e.g. 10.0.0.0/8)".into(),
    };
    let (addr, prefix) = text.split_once('/').ok_or_else(invalid)?;
    let addr: IpAddr = addr.parse().map_err(|_| invalid())?;
    let prefix: u32 = prefix.parse().map_err(|_| invalid())?;
    let bytes = match addr {
        IpAddr::V4(a) => a.octets().to_vec(),
        IpAddr::V6(a) => a.octets().to_vec(),
    };
    let total = u32::try_from(bytes.len() * 8).map_err(Error::internal)?;
    if prefix > total {
        return Err(invalid());
    }
    let mut mask = vec![0u8; bytes.len()];
    for bit in 0..prefix {
        let i = usize::try_from(bit / 8).map_err(Error::internal)?;
        mask[i] |= 0x80 >> (bit % 8);
    }
    let mut out: Vec<u8> = bytes.iter().zip(&mask).map(|(b, m)| b & m).collect();
    out.extend_from_slice(&mask);
    Ok(out)
}

fn name_constraints(nc: &TemplateNameConstraints) -> Result<Extension, Error> {
    let subtrees = |dns: &MultiString,
                    ips: &MultiString,
                    emails: &MultiString,
                    uris: &MultiString|
     -> Result<Vec<Vec<u8>>, Error> {
        let mut out = Vec::new();
        for d in dns {
            out.push(sequence(&[ia5_name(2, d)?])?);
        }
        for ip in ips {
            out.push(sequence(&[context(7, false, &cidr_bytes(ip)?)?])?);
        }
        for e in emails {
            out.push(sequence(&[ia5_name(1, e)?])?);
        }
        for u in uris {
            out.push(sequence(&[ia5_name(6, u)?])?);
        }
        Ok(out)
    };
    let permitted = subtrees(
        &nc.permitted_dns_domains,
        &nc.permitted_ip_ranges,
        &nc.permitted_email_addresses,
        &nc.permitted_uri_domains,
    )?;
    let excluded = subtrees(
        &nc.excluded_dns_domains,
        &nc.excluded_ip_ranges,
        &nc.excluded_email_addresses,
        &nc.excluded_uri_domains,
    )?;
    let mut items = Vec::new();
    if !permitted.is_empty() {
        items.push(context(0, true, &permitted.concat())?);
    }
    if !excluded.is_empty() {
        items.push(context(1, true, &excluded.concat())?);
    }
    Ok(Extension {
        oid: OID_NAME_CONSTRAINTS.to_vec(),
        critical: nc.critical,
        value: sequence(&items)?,
    })
}

/// The CRL distribution point and authority information access extensions for the
/// validation authority's URLs (empty lists add nothing), for certificates not built from a
/// template (renewals) or whose template left them out.
pub fn status_url_extensions(
    crl: &[String],
    ocsp: &[String],
    ca_issuers: &[String],
) -> Result<Vec<Extension>, Error> {
    let list = |v: &[String]| MultiString(v.to_vec());
    let mut out = Vec::new();
    out.extend(crl_distribution_points(&list(crl))?);
    out.extend(authority_info_access(&list(ocsp), &list(ca_issuers))?);
    Ok(out)
}

/// One DistributionPoint per URL, each `{distributionPoint [0] {fullName [0] {URI}}}`, as Go.
fn crl_distribution_points(urls: &MultiString) -> Result<Option<Extension>, Error> {
    if urls.is_empty() {
        return Ok(None);
    }
    let mut points = Vec::new();
    for url in urls {
        let full_name = context(0, true, &ia5_name(6, url)?)?;
        points.push(sequence(&[context(0, true, &full_name)?])?);
    }
    Ok(Some(Extension {
        oid: OID_CRL_DP.to_vec(),
        critical: false,
        value: sequence(&points)?,
    }))
}

/// authorityInfoAccess (RFC 5280 §4.2.2.1): OCSP responders, then CA Issuers URLs.
fn authority_info_access(
    ocsp: &MultiString,
    ca_issuers: &MultiString,
) -> Result<Option<Extension>, Error> {
    let mut descriptions = Vec::new();
    for (method, urls) in [(OID_AD_OCSP, ocsp), (OID_AD_CA_ISSUERS, ca_issuers)] {
        for url in urls {
            descriptions.push(sequence(&[oid_der(method)?, ia5_name(6, url)?])?);
        }
    }
    if descriptions.is_empty() {
        return Ok(None);
    }
    Ok(Some(Extension {
        oid: OID_AIA.to_vec(),
        critical: false,
        value: sequence(&descriptions)?,
    }))
}

/// certificatePolicies with policy identifiers only (no qualifiers).
fn certificate_policies(oids: &MultiString) -> Result<Option<Extension>, Error> {
    if oids.is_empty() {
        return Ok(None);
    }
    let mut policies = Vec::new();
    for oid in oids {
        let arcs = parse_oid(oid).map_err(|e| lint(format!("policyIdentifiers: {e}")))?;
        policies.push(sequence(&[oid_der(&arcs)?])?);
    }
    Ok(Some(Extension {
        oid: OID_CERT_POLICIES.to_vec(),
        critical: false,
        value: sequence(&policies)?,
    }))
}

// ---------------------------------------------------------------------------------------
// The lint.

/// What a spec amounts to once its extensions are read: the facts `prepare` builds from.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Effective {
    /// The extensions carry basicConstraints (and the usages); the profile adds none.
    pub(crate) explicit: bool,
    /// The certificate is a CA.
    pub(crate) is_ca: bool,
    /// Its pathLenConstraint (`None`: unlimited); only for a CA.
    pub(crate) path_len: Option<u8>,
}

impl Effective {
    /// basicConstraints for rcgen (which also writes the SKI with it).
    pub(crate) fn rcgen_is_ca(&self) -> IsCa {
        match (self.is_ca, self.path_len) {
            (true, Some(n)) => IsCa::Ca(BasicConstraints::Constrained(n)),
            (true, None) => IsCa::Ca(BasicConstraints::Unconstrained),
            (false, _) => IsCa::ExplicitNoCa,
        }
    }
}

/// The whole X.509 extension (`SEQUENCE {extnID, critical, extnValue}`), for x509-parser.
fn extension_der(ext: &Extension) -> Result<Vec<u8>, Error> {
    let mut items = vec![oid_der(&ext.oid)?];
    if ext.critical {
        items.push(true.to_der().map_err(der_error)?);
    }
    items.push(tlv(Tag::OctetString, &ext.value)?);
    sequence(&items)
}

fn has(flags: u16, usage: KeyUsage) -> bool {
    (flags >> usage.bit()) & 1 == 1
}

/// Check that the certificate `spec` describes, for a key of `key_type`, is valid; returns
/// what it amounts to. Run by `prepare` before every signature.
pub(crate) fn lint_spec(spec: &CertificateSpec, key_type: KeyType) -> Result<Effective, Error> {
    let mut seen: HashSet<&[u64]> = HashSet::new();
    let mut key_usage: Option<u16> = None;
    let mut has_eku = false;
    let mut basic: Option<(bool, Option<u32>)> = None;
    let mut has_name_constraints = false;
    for ext in &spec.extensions {
        let name = dotted(&ext.oid);
        if !seen.insert(&ext.oid) {
            return Err(lint(format!("extension {name} appears more than once")));
        }
        let issuer_owned = [
            (OID_SAN, "subjectAltName (give the SANs as names)"),
            (OID_SKI, "subjectKeyIdentifier (derived from the key)"),
            (OID_AKI, "authorityKeyIdentifier (derived from the issuer)"),
        ];
        if let Some((_, what)) = issuer_owned.iter().find(|(o, _)| *o == ext.oid.as_slice()) {
            return Err(lint(format!(
                "extension {name} is {what} and cannot be given as an extension"
            )));
        }
        AnyRef::from_der(&ext.value).map_err(|e| {
            lint(format!(
                "extension {name}: the value is not one DER element ({e})"
            ))
        })?;
        let der = extension_der(ext)?;
        let (rest, parsed) = X509Extension::from_der(&der)
            .map_err(|e| lint(format!("extension {name} does not parse: {e}")))?;
        if !rest.is_empty() {
            return Err(lint(format!("extension {name}: trailing data")));
        }
        match parsed.parsed_extension() {
            ParsedExtension::ParseError { error } => {
                return Err(lint(format!("extension {name} does not parse: {error}")));
            }
            ParsedExtension::KeyUsage(k) => key_usage = Some(k.flags),
            ParsedExtension::ExtendedKeyUsage(e) => {
                let any = e.any
                    || e.server_auth
                    || e.client_auth
                    || e.code_signing
                    || e.email_protection
                    || e.time_stamping
                    || e.ocsp_signing
                    || !e.other.is_empty();
                if !any {
                    return Err(lint("extKeyUsage lists no usage"));
                }
                has_eku = true;
            }
            ParsedExtension::BasicConstraints(b) => basic = Some((b.ca, b.path_len_constraint)),
            ParsedExtension::NameConstraints(n) => {
                if n.permitted_subtrees.is_none() && n.excluded_subtrees.is_none() {
                    return Err(lint("nameConstraints has no permitted or excluded subtree"));
                }
                has_name_constraints = true;
            }
            ParsedExtension::AuthorityInfoAccess(_) if ext.critical => {
                return Err(lint(
                    "authorityInfoAccess must not be critical (RFC 5280 §4.2.2.1)",
                ));
            }
            _ => {}
        }
    }

    let explicit = basic.is_some();
    if !explicit && (key_usage.is_some() || has_eku) {
        return Err(lint(
            "keyUsage and extKeyUsage extensions replace the profile's only together with a basicConstraints extension",
        ));
    }
    let (is_ca, path_len) = match basic {
        Some((ca, path_len)) => {
            if !ca && path_len.is_some() {
                return Err(lint("basicConstraints has a path length but cA is false"));
            }
            let path_len = path_len
                .map(u8::try_from)
                .transpose()
                .map_err(|_| lint("basicConstraints path length above 255"))?;
            (ca, path_len)
        }
        None => (spec.profile.is_ca(), spec.profile.path_len()),
    };
    let key_usage = if explicit {
        key_usage
    } else if is_ca {
        Some((1 << KeyUsage::CertSign.bit()) | (1 << KeyUsage::CrlSign.bit()))
    } else if key_type.is_rsa() {
        Some((1 << KeyUsage::DigitalSignature.bit()) | (1 << KeyUsage::KeyEncipherment.bit()))
    } else {
        Some(1 << KeyUsage::DigitalSignature.bit())
    };

    if let Some(flags) = key_usage {
        if flags == 0 {
            return Err(lint("keyUsage has no bit set"));
        }
        if (has(flags, KeyUsage::EncipherOnly) || has(flags, KeyUsage::DecipherOnly))
            && !has(flags, KeyUsage::KeyAgreement)
        {
            return Err(lint("encipherOnly and decipherOnly need keyAgreement"));
        }
        let forbidden: &[KeyUsage] = match key_type {
            KeyType::Rsa(_) => &[
                KeyUsage::KeyAgreement,
                KeyUsage::EncipherOnly,
                KeyUsage::DecipherOnly,
            ],
            KeyType::EcP256 | KeyType::EcP384 => {
                &[KeyUsage::KeyEncipherment, KeyUsage::DataEncipherment]
            }
            KeyType::Ed25519 => &[
                KeyUsage::KeyEncipherment,
                KeyUsage::DataEncipherment,
                KeyUsage::KeyAgreement,
                KeyUsage::EncipherOnly,
                KeyUsage::DecipherOnly,
            ],
        };
        if let Some(bad) = forbidden.iter().find(|k| has(flags, **k)) {
            return Err(lint(format!(
                "keyUsage {} is not possible with a {} key",
                bad.name(),
                public_key_algorithm_name(key_type)
            )));
        }
    }
    let cert_sign = key_usage.is_some_and(|f| has(f, KeyUsage::CertSign));
    if is_ca && !cert_sign {
        return Err(lint(
            "a CA certificate needs keyUsage keyCertSign (certSign)",
        ));
    }
    if !is_ca && cert_sign {
        return Err(lint(
            "keyCertSign (certSign) is only allowed in a CA certificate (basicConstraints cA)",
        ));
    }
    if has_name_constraints && !is_ca {
        return Err(lint("nameConstraints are only allowed in a CA certificate"));
    }
    if spec.subject.0.iter().next().is_none() && spec.sans.is_empty() {
        return Err(lint(
            "the certificate has neither a subject nor a subject alternative name",
        ));
    }
    Ok(Effective {
        explicit,
        is_ca,
        path_len,
    })
}

#[cfg(test)]
mod tests;
