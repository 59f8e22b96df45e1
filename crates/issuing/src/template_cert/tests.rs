//! Templates to signed certificates, read back with x509-parser; and the lint's refusals.
//!
//! The issuing crate cannot depend on the registration crate, so the rendered templates are
//! written here as the JSON the renderer produces (the default leaf template's output is
//! what `DEFAULT_LEAF_TEMPLATE` gives for the data shown).

use std::future::Future;
use std::pin::pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};

use time::Duration;
use time::macros::datetime;
use x509_parser::der_parser::asn1_rs::Tag as Asn1Tag;
use x509_parser::extensions::{DistributionPointName, GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};

use super::*;
use crate::{
    CaCertificate, Intent, IssuanceLog, IssuedCertificate, LogError, OnlineIssuer, PrivateKey,
    ProvisionerInfo, Signer, Subject, issue_certificate, step_provisioner_extension,
};

fn now() -> OffsetDateTime {
    datetime!(2030-06-01 12:00:00 UTC)
}

fn ca_spec(cn: &str, profile: Profile) -> CertificateSpec {
    CertificateSpec {
        subject: Dn::try_from(&Subject::common_name(cn)).unwrap(),
        sans: vec![],
        profile,
        not_before: now() - Duration::hours(1),
        not_after: now() + Duration::days(3650),
        extensions: vec![],
    }
}

/// A throwaway root (pathLen 1) and intermediate (pathLen 0).
struct Pki {
    root: CaCertificate,
    root_key: PrivateKey,
    intermediate: CaCertificate,
    intermediate_key: PrivateKey,
}

fn pki() -> Pki {
    let root_key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let root = issue_certificate(
        &ca_spec("Template Test Root", Profile::RootCa),
        &root_key.public_key_der(),
        None,
        &root_key,
        now(),
    )
    .unwrap();
    let root = CaCertificate::from_der(root.der).unwrap();
    let intermediate_key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let intermediate = issue_certificate(
        &ca_spec("Template Test Intermediate", Profile::IntermediateCa),
        &intermediate_key.public_key_der(),
        Some(&root),
        &root_key,
        now(),
    )
    .unwrap();
    Pki {
        root,
        root_key,
        intermediate: CaCertificate::from_der(intermediate.der).unwrap(),
        intermediate_key,
    }
}

fn template(json: &str) -> CertificateTemplate {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}\n{json}"))
}

fn spec_for(json: &str, key: &PrivateKey) -> Result<CertificateSpec, Error> {
    template_spec(
        &template(json),
        &key.public_key_der(),
        now() - Duration::minutes(1),
        now() + Duration::hours(24),
    )
}

/// Records what the online issuer logs.
#[derive(Default)]
struct MemoryLog {
    intents: Mutex<Vec<(String, Vec<String>)>>,
    issued: Mutex<Vec<Vec<u8>>>,
}

impl IssuanceLog for MemoryLog {
    fn record_intent(
        &self,
        intent: &Intent<'_>,
    ) -> impl Future<Output = Result<(), LogError>> + Send {
        self.intents
            .lock()
            .unwrap()
            .push((intent.subject.clone(), intent.sans.clone()));
        std::future::ready(Ok(()))
    }
    fn record_issued(
        &self,
        _serial: &str,
        der: &[u8],
    ) -> impl Future<Output = Result<(), LogError>> + Send {
        self.issued.lock().unwrap().push(der.to_vec());
        std::future::ready(Ok(()))
    }
}

/// The in-memory log never waits, so polling once finishes the future.
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(v) = future.as_mut().poll(&mut cx) {
            return v;
        }
    }
}

/// Issue through the online entry point, as `/sign` does, with step's provisioner extension.
fn issue_online(pki: Pki, mut spec: CertificateSpec, key: &PrivateKey) -> IssuedCertificate {
    spec.extensions.push(
        step_provisioner_extension(&ProvisionerInfo {
            type_id: 1,
            name: "admin".into(),
            credential_id: "kid".into(),
        })
        .unwrap(),
    );
    let issuer = OnlineIssuer::new(pki.intermediate, Arc::new(pki.intermediate_key)).unwrap();
    let log = MemoryLog::default();
    let issued = block_on(issuer.issue(
        &spec,
        &key.public_key_der(),
        Some("admin"),
        &[],
        &log,
        now(),
    ))
    .unwrap();
    assert_eq!(log.issued.lock().unwrap().len(), 1);
    assert_eq!(log.intents.lock().unwrap().len(), 1);
    issued
}

fn extension<'a, 'b>(
    cert: &'b X509Certificate<'a>,
    oid: &str,
) -> &'b x509_parser::extensions::X509Extension<'a> {
    cert.extensions()
        .iter()
        .find(|e| e.oid.to_id_string() == oid)
        .unwrap_or_else(|| panic!("no extension {oid}"))
}

fn uri<'a>(name: &GeneralName<'a>) -> &'a str {
    match name {
        GeneralName::URI(u) => u,
        other => panic!("not a URI: {other:?}"),
    }
}

/// What `DEFAULT_LEAF_TEMPLATE` renders for subject `web.example.com`, SANs
/// `web.example.com` and `10.0.0.1`, and an EC (or, with `rsa`, an RSA) key.
fn default_template_output(rsa: bool) -> String {
    let key_usage = if rsa {
        r#"["keyEncipherment", "digitalSignature"]"#
    } else {
        r#"["digitalSignature"]"#
    };
    format!(
        r#"{{
	"subject": {{"Country": [], "Organization": [], "OrganizationalUnit": [], "Locality": [], "Province": [], "StreetAddress": [], "PostalCode": [], "SerialNumber": "", "CommonName": "web.example.com", "ExtraNames": []}},
	"sans": [{{"Type": "dns", "Value": "web.example.com"}}, {{"Type": "ip", "Value": "10.0.0.1"}}],
	"keyUsage": {key_usage},
	"extKeyUsage": ["serverAuth", "clientAuth"]
}}"#
    )
}

#[test]
fn default_template_gives_steps_leaf() {
    for (rsa, key_type) in [(false, KeyType::EcP256), (true, KeyType::Rsa(2048))] {
        let key = PrivateKey::generate(key_type).unwrap();
        let spec = spec_for(&default_template_output(rsa), &key).unwrap();
        assert_eq!(spec.profile, Profile::Leaf);
        let issued = issue_online(pki(), spec, &key);
        let (_, cert) = X509Certificate::from_der(&issued.der).unwrap();

        assert_eq!(cert.subject().to_string(), "CN=web.example.com");
        let san = cert.subject_alternative_name().unwrap().unwrap();
        assert!(!san.critical);
        assert_eq!(
            san.value.general_names,
            vec![
                GeneralName::DNSName("web.example.com"),
                GeneralName::IPAddress(&[10, 0, 0, 1]),
            ]
        );
        let ku = cert.key_usage().unwrap().unwrap();
        assert!(ku.critical);
        assert!(ku.value.digital_signature());
        assert_eq!(ku.value.key_encipherment(), rsa);
        assert_eq!(ku.value.flags.count_ones(), if rsa { 2 } else { 1 });
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && eku.client_auth && !eku.any && eku.other.is_empty());
        let bc = cert.basic_constraints().unwrap().unwrap();
        assert!(bc.critical && !bc.value.ca && bc.value.path_len_constraint.is_none());
        // SKI, AKI and step's provisioner extension are there, once each.
        extension(&cert, "2.5.29.14");
        extension(&cert, "2.5.29.35");
        extension(&cert, "1.3.6.1.4.1.37476.9000.64.1");
        let mut oids: Vec<String> = cert
            .extensions()
            .iter()
            .map(|e| e.oid.to_id_string())
            .collect();
        let n = oids.len();
        oids.sort();
        oids.dedup();
        assert_eq!(oids.len(), n, "duplicate extensions");
    }
}

#[test]
fn default_template_matches_the_leaf_profile() {
    // A profile-built leaf and a default-template leaf carry the same extensions.
    let pki = pki();
    let key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let by_template = spec_for(&default_template_output(false), &key).unwrap();
    let by_profile = CertificateSpec {
        extensions: vec![],
        ..by_template.clone()
    };
    let ext_set = |spec: &CertificateSpec| {
        let c = issue_certificate(
            spec,
            &key.public_key_der(),
            Some(&pki.intermediate),
            &pki.intermediate_key,
            now(),
        )
        .unwrap();
        let (_, cert) = X509Certificate::from_der(&c.der).unwrap();
        let mut v: Vec<(String, bool, Vec<u8>)> = cert
            .extensions()
            .iter()
            .filter(|e| !["2.5.29.14", "2.5.29.35"].contains(&e.oid.to_id_string().as_str()))
            .map(|e| (e.oid.to_id_string(), e.critical, e.value.to_vec()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(ext_set(&by_template), ext_set(&by_profile));
}

const CUSTOM: &str = r#"{
    "subject": {
        "country": "de",
        "streetAddress": "1 Main Street",
        "postalCode": "12345",
        "organization": ["Acme"],
        "organizationalUnit": "Edge",
        "commonName": "device-42",
        "serialNumber": "SN-42",
        "extraNames": [
            {"type": "1.2.840.113549.1.9.1", "value": "ops@example.com"},
            {"type": "0.9.2342.19200300.100.1.25", "value": "example"},
            {"type": "1.3.6.1.4.1.99999.7", "value": "Grüße"}
        ]
    },
    "sans": [
        {"type": "uri", "value": "spiffe://example.org/device/42"},
        {"type": "auto", "value": "device-42.example.com"},
        {"type": "EMAIL", "value": "device@example.com"}
    ],
    "dnsNames": "device-42.example.com",
    "ipAddresses": ["192.0.2.7", "2001:db8::7"],
    "uris": "urn:uuid:6f1c2a4e-8d1b-4a57-9c1e-0a9a4f0c2b11",
    "keyUsage": ["digitalSignature", "keyAgreement"],
    "extKeyUsage": ["clientAuth"],
    "unknownExtKeyUsage": "1.3.6.1.4.1.311.20.2.2",
    "extensions": [
        {"id": "1.3.6.1.4.1.99999.1", "value": "DAVoZWxsbw=="},
        {"id": "1.3.6.1.4.1.99999.3", "critical": true, "value": "BQA="}
    ],
    "crlDistributionPoints": ["http://crl.example.com/ca.crl", "ldap://ldap.example.com/cn=CA"],
    "ocspServer": "http://ocsp.example.com",
    "issuingCertificateURL": ["http://ca.example.com/ca.crt"],
    "policyIdentifiers": ["2.23.140.1.2.1", "1.3.6.1.4.1.99999.2.1"]
}"#;

#[test]
fn custom_template_sets_every_field() {
    let key = PrivateKey::generate(KeyType::EcP384).unwrap();
    let spec = spec_for(CUSTOM, &key).unwrap();
    let issued = issue_online(pki(), spec, &key);
    let (_, cert) = X509Certificate::from_der(&issued.der).unwrap();

    // Subject: Go's order, then the extra names; string types per attribute.
    let attributes: Vec<(String, String, Asn1Tag)> = cert
        .subject()
        .iter_attributes()
        .map(|a| {
            (
                a.attr_type().to_id_string(),
                a.as_str().unwrap().to_owned(),
                a.attr_value().tag(),
            )
        })
        .collect();
    assert_eq!(
        attributes,
        vec![
            ("2.5.4.6".into(), "DE".into(), Asn1Tag::PrintableString),
            (
                "2.5.4.9".into(),
                "1 Main Street".into(),
                Asn1Tag::Utf8String
            ),
            ("2.5.4.17".into(), "12345".into(), Asn1Tag::Utf8String),
            ("2.5.4.10".into(), "Acme".into(), Asn1Tag::Utf8String),
            ("2.5.4.11".into(), "Edge".into(), Asn1Tag::Utf8String),
            ("2.5.4.3".into(), "device-42".into(), Asn1Tag::Utf8String),
            ("2.5.4.5".into(), "SN-42".into(), Asn1Tag::PrintableString),
            (
                "1.2.840.113549.1.9.1".into(),
                "ops@example.com".into(),
                Asn1Tag::Ia5String
            ),
            (
                "0.9.2342.19200300.100.1.25".into(),
                "example".into(),
                Asn1Tag::Ia5String
            ),
            (
                "1.3.6.1.4.1.99999.7".into(),
                "Grüße".into(),
                Asn1Tag::Utf8String
            ),
        ]
    );

    // SANs: typed ones first, then the shortcut lists; the repeated DNS name once.
    let san = cert.subject_alternative_name().unwrap().unwrap().value;
    assert_eq!(
        san.general_names,
        vec![
            GeneralName::URI("spiffe://example.org/device/42"),
            GeneralName::DNSName("device-42.example.com"),
            GeneralName::RFC822Name("device@example.com"),
            GeneralName::IPAddress(&[192, 0, 2, 7]),
            GeneralName::IPAddress(&[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7]),
            GeneralName::URI("urn:uuid:6f1c2a4e-8d1b-4a57-9c1e-0a9a4f0c2b11"),
        ]
    );

    let ku = cert.key_usage().unwrap().unwrap();
    assert!(ku.critical && ku.value.digital_signature() && ku.value.key_agreement());
    assert_eq!(ku.value.flags.count_ones(), 2);
    let eku = cert.extended_key_usage().unwrap().unwrap();
    assert!(!eku.critical);
    assert!(eku.value.client_auth && !eku.value.server_auth);
    assert_eq!(
        eku.value
            .other
            .iter()
            .map(|o| o.to_id_string())
            .collect::<Vec<_>>(),
        vec!["1.3.6.1.4.1.311.20.2.2"]
    );
    let bc = cert.basic_constraints().unwrap().unwrap();
    assert!(!bc.value.ca);

    // Custom extensions by OID, value and criticality exactly as given.
    let hello = extension(&cert, "1.3.6.1.4.1.99999.1");
    assert!(!hello.critical);
    assert_eq!(hello.value, b"\x0c\x05hello");
    let null = extension(&cert, "1.3.6.1.4.1.99999.3");
    assert!(null.critical);
    assert_eq!(null.value, [0x05, 0x00]);

    // AIA: OCSP, then CA Issuers.
    let aia = extension(&cert, "1.3.6.1.5.5.7.1.1");
    assert!(!aia.critical);
    let ParsedExtension::AuthorityInfoAccess(aia) = aia.parsed_extension() else {
        panic!("{:?}", aia.parsed_extension())
    };
    let access: Vec<(String, &str)> = aia
        .accessdescs
        .iter()
        .map(|d| (d.access_method.to_id_string(), uri(&d.access_location)))
        .collect();
    assert_eq!(
        access,
        vec![
            ("1.3.6.1.5.5.7.48.1".into(), "http://ocsp.example.com"),
            ("1.3.6.1.5.5.7.48.2".into(), "http://ca.example.com/ca.crt"),
        ]
    );

    // CRL distribution points, one per URL.
    let ParsedExtension::CRLDistributionPoints(dps) =
        extension(&cert, "2.5.29.31").parsed_extension()
    else {
        panic!("no CRL DP")
    };
    let urls: Vec<&str> = dps
        .points
        .iter()
        .map(|p| match &p.distribution_point {
            Some(DistributionPointName::FullName(names)) => {
                assert_eq!(names.len(), 1);
                assert!(p.reasons.is_none() && p.crl_issuer.is_none());
                uri(&names[0])
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        urls,
        vec![
            "http://crl.example.com/ca.crl",
            "ldap://ldap.example.com/cn=CA"
        ]
    );

    // Certificate policies, identifiers only.
    let ParsedExtension::CertificatePolicies(policies) =
        extension(&cert, "2.5.29.32").parsed_extension()
    else {
        panic!("no policies")
    };
    let ids: Vec<String> = policies
        .iter()
        .map(|p| {
            assert!(p.policy_qualifiers.is_none());
            p.policy_id.to_id_string()
        })
        .collect();
    assert_eq!(ids, vec!["2.23.140.1.2.1", "1.3.6.1.4.1.99999.2.1"]);
}

const CONSTRAINED_CA: &str = r#"{
    "subject": {"commonName": "Constrained Sub CA", "organization": "Acme"},
    "keyUsage": ["certSign", "crlSign", "digitalSignature"],
    "basicConstraints": {"isCA": true, "maxPathLen": 0},
    "nameConstraints": {
        "critical": true,
        "permittedDNSDomains": [".example.com", "example.com"],
        "excludedDNSDomains": "bad.example.com",
        "permittedIPRanges": ["10.0.0.0/8", "2001:db8::/32"],
        "excludedIPRanges": "10.1.2.3/16",
        "permittedEmailAddresses": ["example.com"],
        "permittedURIDomains": ".example.org"
    },
    "ocspServer": "http://ocsp.example.com"
}"#;

#[test]
fn ca_template_with_name_constraints() {
    let pki = pki();
    let key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let spec = spec_for(CONSTRAINED_CA, &key).unwrap();
    assert_eq!(spec.profile, Profile::IntermediateCa);

    // The intermediate has pathLen 0: it cannot issue a CA.
    let refused = issue_certificate(
        &spec,
        &key.public_key_der(),
        Some(&pki.intermediate),
        &pki.intermediate_key,
        now(),
    );
    assert!(matches!(refused, Err(Error::NotACa(_))), "{refused:?}");

    // The root (pathLen 1) can.
    let issued = issue_certificate(
        &spec,
        &key.public_key_der(),
        Some(&pki.root),
        &pki.root_key,
        now(),
    )
    .unwrap();
    let (_, cert) = X509Certificate::from_der(&issued.der).unwrap();
    let bc = cert.basic_constraints().unwrap().unwrap();
    assert!(bc.critical && bc.value.ca);
    assert_eq!(bc.value.path_len_constraint, Some(0));
    let ku = cert.key_usage().unwrap().unwrap().value;
    assert!(ku.key_cert_sign() && ku.crl_sign() && ku.digital_signature());
    assert!(cert.extended_key_usage().unwrap().is_none());
    extension(&cert, "2.5.29.14");

    let nc = cert.name_constraints().unwrap().unwrap();
    assert!(nc.critical);
    let bases = |trees: &Option<Vec<x509_parser::extensions::GeneralSubtree<'_>>>| {
        trees
            .as_ref()
            .unwrap()
            .iter()
            .map(|t| format!("{:?}", t.base))
            .collect::<Vec<_>>()
    };
    assert_eq!(
        bases(&nc.value.permitted_subtrees),
        vec![
            format!("{:?}", GeneralName::DNSName(".example.com")),
            format!("{:?}", GeneralName::DNSName("example.com")),
            format!("{:?}", GeneralName::IPAddress(&[10, 0, 0, 0, 255, 0, 0, 0])),
            format!(
                "{:?}",
                GeneralName::IPAddress(&[
                    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff,
                    0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0
                ])
            ),
            format!("{:?}", GeneralName::RFC822Name("example.com")),
            format!("{:?}", GeneralName::URI(".example.org")),
        ]
    );
    assert_eq!(
        bases(&nc.value.excluded_subtrees),
        vec![
            format!("{:?}", GeneralName::DNSName("bad.example.com")),
            format!(
                "{:?}",
                GeneralName::IPAddress(&[10, 1, 0, 0, 255, 255, 0, 0])
            ),
        ]
    );

    // The new CA can issue a leaf from the default template.
    let sub = CaCertificate::from_der(issued.der).unwrap();
    assert_eq!(sub.path_len(), Some(0));
    let leaf_key = PrivateKey::generate(KeyType::Ed25519).unwrap();
    let leaf = issue_certificate(
        &spec_for(&default_template_output(false), &leaf_key).unwrap(),
        &leaf_key.public_key_der(),
        Some(&sub),
        &key,
        now(),
    )
    .unwrap();
    let (_, leaf) = X509Certificate::from_der(&leaf.der).unwrap();
    let (_, sub_cert) = X509Certificate::from_der(sub.der()).unwrap();
    leaf.verify_signature(Some(sub_cert.public_key())).unwrap();
    assert_eq!(leaf.issuer(), sub_cert.subject());

    // A negative maxPathLen means no limit.
    let unlimited = CONSTRAINED_CA.replace("\"maxPathLen\": 0", "\"maxPathLen\": -1");
    let spec = spec_for(&unlimited, &key).unwrap();
    let issued = issue_certificate(
        &spec,
        &key.public_key_der(),
        Some(&pki.root),
        &pki.root_key,
        now(),
    )
    .unwrap();
    let (_, cert) = X509Certificate::from_der(&issued.der).unwrap();
    let bc = cert.basic_constraints().unwrap().unwrap().value;
    assert!(bc.ca && bc.path_len_constraint.is_none());
}

fn lint_message(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Lint(m)) => m,
        other => panic!("expected a lint error, got {other:?}"),
    }
}

#[test]
fn templates_that_would_break_the_certificate_are_refused() {
    let key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let m = lint_message(spec_for(
        r#"{"subject": "ca", "keyUsage": "crlSign", "basicConstraints": {"isCA": true}}"#,
        &key,
    ));
    assert!(m.contains("certSign"), "{m}");
    let m = lint_message(spec_for(
        r#"{"subject": "x", "keyUsage": ["digitalSignature", "certSign"]}"#,
        &key,
    ));
    assert!(m.contains("isCA"), "{m}");
    let m = lint_message(spec_for(r#"{"keyUsage": ["digitalSignature"]}"#, &key));
    assert!(m.contains("subject or at least one SAN"), "{m}");
    let m = lint_message(spec_for(
        r#"{"subject": {"commonName": "x", "organizationalUnit": ["a", "b"]}}"#,
        &key,
    ));
    assert!(
        m.contains("organizationalUnit") && m.contains("more than one"),
        "{m}"
    );
    let m = lint_message(spec_for(
        r#"{"subject": {"commonName": "x", "extraNames": [{"type": "2.5.4.3", "value": "y"}]}}"#,
        &key,
    ));
    assert!(m.contains("already has"), "{m}");
    let m = lint_message(spec_for(
        r#"{"subject": "x", "keyUsage": ["keyEncipherment"]}"#,
        &key,
    ));
    assert!(
        m.contains("keyEncipherment is not possible with a ECDSA key"),
        "{m}"
    );
    let m = lint_message(spec_for(
        r#"{"subject": "x", "extensions": [{"id": "1.2.3.4", "value": "BAUB"}]}"#,
        &key,
    ));
    assert!(m.contains("not one DER element"), "{m}");
    let m = lint_message(spec_for(
        r#"{"subject": "x", "extensions": [{"id": "2.5.29.17", "value": "MAA="}]}"#,
        &key,
    ));
    assert!(m.contains("subjectAltName"), "{m}");
    let m = lint_message(spec_for(
        r#"{"subject": "x", "extensions": [{"id": "1.3.6.1.4.1.37476.9000.64.1", "value": "BQA="}, {"id": "1.3.6.1.4.1.37476.9000.64.1", "value": "BQA="}]}"#,
        &key,
    ));
    assert!(m.contains("more than once"), "{m}");
    let m = lint_message(spec_for(
        r#"{"subject": "x", "basicConstraints": {"isCA": true, "maxPathLen": 300}, "keyUsage": "certSign"}"#,
        &key,
    ));
    assert!(m.contains("255"), "{m}");

    // Names that cannot be encoded are named with their field.
    for (json, needle) in [
        (
            r#"{"sans": [{"type": "dns", "value": "10.0.0.1"}]}"#,
            "sans[0]",
        ),
        (r#"{"dnsNames": ["bad name.example"]}"#, "dnsNames[0]"),
        (
            r#"{"sans": [{"type": "email", "value": "spiffe://x/y"}]}"#,
            "sans[0]",
        ),
        (
            r#"{"subject": {"commonName": "x", "serialNumber": "a*b"}}"#,
            "serialNumber",
        ),
        (
            r#"{"subject": {"commonName": "x", "postalCode": "1234567890123456789012345678901234567890x"}}"#,
            "postalCode",
        ),
        (
            r#"{"subject": "x", "ocspServer": "http://ocsp.example.com/ü"}"#,
            "ü",
        ),
    ] {
        let err = spec_for(json, &key).unwrap_err();
        assert!(err.to_string().contains(needle), "{json}: {err}");
        assert_eq!(
            err.kind(),
            vouch_model::ErrorKind::Malformed,
            "{json}: {err}"
        );
    }
}

/// A spec straight to `issue_certificate`: the lint runs for every caller.
fn issue_spec(spec: &CertificateSpec, key: &PrivateKey) -> Result<IssuedCertificate, Error> {
    let pki = pki();
    issue_certificate(
        spec,
        &key.public_key_der(),
        Some(&pki.intermediate),
        &pki.intermediate_key,
        now(),
    )
}

fn ext(oid: &[u64], critical: bool, value: &[u8]) -> Extension {
    Extension {
        oid: oid.to_vec(),
        critical,
        value: value.to_vec(),
    }
}

const BC_CA: &[u8] = &[0x30, 0x03, 0x01, 0x01, 0xff];
const BC_LEAF: &[u8] = &[0x30, 0x00];
const KU_DIGITAL_SIGNATURE: &[u8] = &[0x03, 0x02, 0x07, 0x80];
const KU_KEY_ENCIPHERMENT: &[u8] = &[0x03, 0x02, 0x05, 0x20];
const KU_CERT_SIGN: &[u8] = &[0x03, 0x02, 0x02, 0x04];

#[test]
fn the_lint_guards_every_spec() {
    let key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let leaf = ca_spec("leaf.example.com", Profile::Leaf);
    let with = |exts: Vec<Extension>| CertificateSpec {
        extensions: exts,
        ..leaf.clone()
    };
    let cases: Vec<(CertificateSpec, &str)> = vec![
        (
            with(vec![
                ext(OID_BASIC_CONSTRAINTS, true, BC_CA),
                ext(OID_KEY_USAGE, true, KU_DIGITAL_SIGNATURE),
            ]),
            "needs keyUsage keyCertSign",
        ),
        (
            with(vec![ext(OID_BASIC_CONSTRAINTS, true, BC_CA)]),
            "needs keyUsage keyCertSign",
        ),
        (
            with(vec![
                ext(OID_BASIC_CONSTRAINTS, true, BC_LEAF),
                ext(OID_KEY_USAGE, true, KU_CERT_SIGN),
            ]),
            "only allowed in a CA",
        ),
        (
            with(vec![ext(OID_KEY_USAGE, true, KU_DIGITAL_SIGNATURE)]),
            "together with a basicConstraints",
        ),
        (
            with(vec![
                ext(OID_BASIC_CONSTRAINTS, true, BC_LEAF),
                ext(OID_KEY_USAGE, true, KU_KEY_ENCIPHERMENT),
            ]),
            "not possible with a ECDSA key",
        ),
        (
            with(vec![
                ext(OID_BASIC_CONSTRAINTS, true, BC_LEAF),
                ext(OID_KEY_USAGE, true, &[0x03, 0x01, 0x00]),
            ]),
            "no bit set",
        ),
        (
            with(vec![
                ext(OID_BASIC_CONSTRAINTS, true, BC_LEAF),
                ext(OID_EXT_KEY_USAGE, false, &[0x30, 0x00]),
            ]),
            "extKeyUsage",
        ),
        (
            with(vec![
                ext(OID_BASIC_CONSTRAINTS, true, BC_LEAF),
                ext(
                    OID_NAME_CONSTRAINTS,
                    true,
                    &[0x30, 0x06, 0xa0, 0x04, 0x30, 0x02, 0x82, 0x00],
                ),
            ]),
            "only allowed in a CA",
        ),
        (
            with(vec![ext(OID_AIA, false, &[0x05, 0x00])]),
            "does not parse",
        ),
        (
            with(vec![ext(
                OID_AIA,
                true,
                &[
                    0x30, 0x0c, 0x30, 0x0a, 0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30,
                    0x01,
                ],
            )]),
            "does not parse",
        ),
        (
            with(vec![ext(OID_SKI, false, &[0x04, 0x01, 0x00])]),
            "subjectKeyIdentifier",
        ),
        (
            with(vec![
                ext(&[1, 2, 3], false, &[0x05, 0x00]),
                ext(&[1, 2, 3], false, &[0x05, 0x00]),
            ]),
            "more than once",
        ),
        (
            with(vec![ext(&[1, 2, 3], false, &[])]),
            "not one DER element",
        ),
        (
            with(vec![ext(&[1, 2, 3], false, &[0x05, 0x00, 0x05, 0x00])]),
            "not one DER element",
        ),
        (
            with(vec![ext(&[7, 1], false, &[0x05, 0x00])]),
            "not a valid OID",
        ),
        (
            CertificateSpec {
                subject: Dn(rcgen::DistinguishedName::new()),
                ..leaf.clone()
            },
            "neither a subject nor a subject alternative name",
        ),
    ];
    for (spec, needle) in cases {
        let m = lint_message(issue_spec(&spec, &key));
        assert!(m.contains(needle), "{needle}: {m}");
    }

    // A critical AIA is refused even when well-formed.
    let aia = authority_info_access(
        &MultiString(vec!["http://ocsp.example.com".into()]),
        &MultiString::default(),
    )
    .unwrap()
    .unwrap();
    let m = lint_message(issue_spec(
        &with(vec![Extension {
            critical: true,
            ..aia.clone()
        }]),
        &key,
    ));
    assert!(m.contains("must not be critical"), "{m}");
    // The same extensions are accepted where they belong.
    issue_spec(&with(vec![aia]), &key).unwrap();
    issue_spec(
        &with(vec![
            ext(OID_BASIC_CONSTRAINTS, true, BC_LEAF),
            ext(OID_KEY_USAGE, true, KU_DIGITAL_SIGNATURE),
        ]),
        &key,
    )
    .unwrap();
}

#[test]
fn profile_specs_are_unchanged() {
    // What the profiles produced before templates existed, for an RSA leaf and a CA.
    let pki = pki();
    let key = PrivateKey::generate(KeyType::Rsa(2048)).unwrap();
    let mut spec = ca_spec("rsa.example.com", Profile::Leaf);
    spec.sans = vec!["rsa.example.com".parse().unwrap()];
    let leaf = issue_spec(&spec, &key).unwrap();
    let (_, cert) = X509Certificate::from_der(&leaf.der).unwrap();
    let ku = cert.key_usage().unwrap().unwrap().value;
    assert!(ku.digital_signature() && ku.key_encipherment());
    assert_eq!(ku.flags.count_ones(), 2);
    let eku = cert.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.server_auth && eku.client_auth);
    assert!(!cert.basic_constraints().unwrap().unwrap().value.ca);

    let ca_key = PrivateKey::generate(KeyType::EcP256).unwrap();
    let ca = issue_certificate(
        &ca_spec("Sub", Profile::IntermediateCa),
        &ca_key.public_key_der(),
        Some(&pki.root),
        &pki.root_key,
        now(),
    )
    .unwrap();
    let (_, cert) = X509Certificate::from_der(&ca.der).unwrap();
    let bc = cert.basic_constraints().unwrap().unwrap().value;
    assert!(bc.ca && bc.path_len_constraint == Some(0));
    let ku = cert.key_usage().unwrap().unwrap().value;
    assert!(ku.key_cert_sign() && ku.crl_sign() && ku.flags.count_ones() == 2);
    assert!(cert.extended_key_usage().unwrap().is_none());
}

#[test]
fn der_encoders() {
    assert_eq!(
        oid_der(&[2, 5, 29, 17]).unwrap(),
        [0x06, 0x03, 0x55, 0x1d, 0x11]
    );
    assert_eq!(
        oid_der(&[2, 999, 3]).unwrap(),
        [0x06, 0x03, 0x88, 0x37, 0x03]
    );
    assert_eq!(
        oid_der(&[1, 2, 1 << 40]).unwrap(),
        [0x06, 0x07, 0x2a, 0xa0, 0x80, 0x80, 0x80, 0x80, 0x00]
    );
    assert!(oid_der(&[3, 1]).is_err() && oid_der(&[1, 40]).is_err() && oid_der(&[1]).is_err());

    let ku = |names: &[&str]| {
        key_usage(&names.iter().copied().collect())
            .unwrap()
            .map(|e| e.value)
    };
    assert_eq!(ku(&[]), None);
    assert_eq!(ku(&["digitalSignature"]).unwrap(), KU_DIGITAL_SIGNATURE);
    assert_eq!(
        ku(&["keyEncipherment", "digitalSignature"]).unwrap(),
        [0x03, 0x02, 0x05, 0xa0]
    );
    assert_eq!(
        ku(&["certSign", "crlSign"]).unwrap(),
        [0x03, 0x02, 0x01, 0x06]
    );
    assert_eq!(
        ku(&["keyAgreement", "decipherOnly"]).unwrap(),
        [0x03, 0x03, 0x07, 0x08, 0x80]
    );

    assert_eq!(basic_constraints(None).unwrap().value, BC_LEAF);
    assert_eq!(
        basic_constraints(Some(TemplateBasicConstraints {
            is_ca: true,
            max_path_len: 2
        }))
        .unwrap()
        .value,
        [0x30, 0x06, 0x01, 0x01, 0xff, 0x02, 0x01, 0x02]
    );
    assert_eq!(
        cidr_bytes("192.0.2.9/24").unwrap(),
        [192, 0, 2, 0, 255, 255, 255, 0]
    );
    assert!(cidr_bytes("10.0.0.0/33").is_err() && cidr_bytes("10.0.0.0").is_err());
}

#[test]
fn helpers_for_template_data() {
    let subject = template_dn(&template(CUSTOM).subject).unwrap();
    let attributes = subject_attributes(&subject);
    assert_eq!(attributes[0], ("2.5.4.6".to_owned(), "DE".to_owned()));
    assert_eq!(
        attributes[5],
        ("2.5.4.3".to_owned(), "device-42".to_owned())
    );
    assert_eq!(
        attributes[9],
        ("1.3.6.1.4.1.99999.7".to_owned(), "Grüße".to_owned())
    );
    assert_eq!(public_key_algorithm_name(KeyType::Rsa(3072)), "RSA");
    assert_eq!(public_key_algorithm_name(KeyType::EcP384), "ECDSA");
    assert_eq!(public_key_algorithm_name(KeyType::Ed25519), "Ed25519");
}
