//! `vouch cert inspect`: certificates (every one of a chain), CSRs and CRLs, PEM or DER, as
//! text (in the spirit of `openssl x509 -text`) or JSON. Both renderings come from one tree,
//! so they never disagree.

use anyhow::{Result, anyhow, bail};
use time::format_description::well_known::Rfc3339;
use x509_parser::certification_request::X509CertificationRequest;
use x509_parser::extensions::{GeneralName, ParsedExtension, X509Extension};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::revocation_list::CertificateRevocationList;
use x509_parser::time::ASN1Time;

/// An ordered tree of facts.
#[derive(Debug, Clone)]
pub enum Node {
    /// A scalar.
    Text(String),
    /// A list.
    List(Vec<Node>),
    /// Ordered key/value pairs.
    Map(Vec<(String, Node)>),
}

fn text(s: impl Into<String>) -> Node {
    Node::Text(s.into())
}

impl Node {
    /// The JSON rendering.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Node::Text(s) => serde_json::Value::String(s.clone()),
            Node::List(v) => serde_json::Value::Array(v.iter().map(Node::to_json).collect()),
            Node::Map(kv) => serde_json::Value::Object(
                kv.iter().map(|(k, v)| (k.clone(), v.to_json())).collect(),
            ),
        }
    }

    /// The text rendering, indented by `depth`.
    pub fn render(&self, depth: usize, out: &mut String) {
        let pad = "    ".repeat(depth);
        match self {
            Node::Text(s) => {
                out.push_str(&pad);
                out.push_str(s);
                out.push('\n');
            }
            Node::List(items) => {
                for item in items {
                    item.render(depth, out);
                }
            }
            Node::Map(kv) => {
                for (k, v) in kv {
                    match v {
                        Node::Text(s) => out.push_str(&format!("{pad}{k}: {s}\n")),
                        other => {
                            out.push_str(&format!("{pad}{k}:\n"));
                            other.render(depth + 1, out);
                        }
                    }
                }
            }
        }
    }
}

/// Every object in the input, as nodes titled by their type.
pub fn inspect(data: &[u8]) -> Result<Vec<(String, Node)>> {
    let mut found = Vec::new();
    match std::str::from_utf8(data)
        .ok()
        .filter(|t| t.contains("-----BEGIN "))
    {
        Some(text) => {
            let blocks = pem::parse_many(text).map_err(|e| anyhow!("bad PEM ({e})"))?;
            for b in &blocks {
                match b.tag() {
                    "CERTIFICATE" | "TRUSTED CERTIFICATE" => {
                        found.push(("Certificate".into(), certificate(b.contents())?))
                    }
                    "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => {
                        found.push(("Certificate Request".into(), csr(b.contents())?));
                    }
                    "X509 CRL" => {
                        found.push(("Certificate Revocation List".into(), crl(b.contents())?))
                    }
                    _ => {}
                }
            }
            if found.is_empty() {
                let tags: Vec<&str> = blocks.iter().map(pem::Pem::tag).collect();
                bail!(
                    "no certificate, request or CRL in the PEM (found {})",
                    tags.join(", ")
                );
            }
        }
        None => {
            if X509Certificate::from_der(data).is_ok() {
                found.push(("Certificate".into(), certificate(data)?));
            } else if X509CertificationRequest::from_der(data).is_ok() {
                found.push(("Certificate Request".into(), csr(data)?));
            } else if CertificateRevocationList::from_der(data).is_ok() {
                found.push(("Certificate Revocation List".into(), crl(data)?));
            } else {
                bail!("not a certificate, certificate request or CRL (PEM or DER)");
            }
        }
    }
    Ok(found)
}

fn time(t: &ASN1Time) -> String {
    t.to_datetime()
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.to_string())
}

fn oid_name(oid: &x509_parser::der_parser::oid::Oid<'_>) -> String {
    x509_parser::objects::oid2sn(oid, x509_parser::objects::oid_registry())
        .map_or_else(|_| oid.to_id_string(), str::to_owned)
}

fn hex_colon(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn sha256_hex(bytes: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn public_key(spki_raw: &[u8]) -> Node {
    match vouch_issuing::describe_public_key(spki_raw) {
        Ok(info) => Node::Map(vec![
            ("algorithm".into(), text(info.description)),
            ("sha256".into(), text(info.sha256)),
        ]),
        Err(e) => text(format!("unparsable public key: {e}")),
    }
}

fn general_name(name: &GeneralName<'_>) -> String {
    match name {
        GeneralName::DNSName(s) => format!("DNS:{s}"),
        GeneralName::RFC822Name(s) => format!("email:{s}"),
        GeneralName::URI(s) => format!("URI:{s}"),
        GeneralName::IPAddress(b) => match b.len() {
            4 => format!("IP:{}", std::net::Ipv4Addr::new(b[0], b[1], b[2], b[3])),
            16 => {
                let mut a = [0u8; 16];
                a.copy_from_slice(b);
                format!("IP:{}", std::net::Ipv6Addr::from(a))
            }
            _ => format!("IP:{}", hex_colon(b)),
        },
        GeneralName::DirectoryName(n) => format!("DirName:{n}"),
        other => format!("{other:?}"),
    }
}

fn extension(ext: &X509Extension<'_>) -> (String, Node) {
    let name = match oid_name(&ext.oid).as_str() {
        "1.3.6.1.4.1.37476.9000.64.1" => "stepProvisioner".to_owned(),
        n => n.to_owned(),
    };
    let label = if ext.critical {
        format!("{name} (critical)")
    } else {
        name
    };
    let value = match ext.parsed_extension() {
        ParsedExtension::KeyUsage(ku) => text(ku.to_string()),
        ParsedExtension::ExtendedKeyUsage(eku) => {
            let mut v = Vec::new();
            for (on, n) in [
                (eku.any, "any"),
                (eku.server_auth, "serverAuth"),
                (eku.client_auth, "clientAuth"),
                (eku.code_signing, "codeSigning"),
                (eku.email_protection, "emailProtection"),
                (eku.time_stamping, "timeStamping"),
                (eku.ocsp_signing, "OCSPSigning"),
            ] {
                if on {
                    v.push(n.to_owned());
                }
            }
            v.extend(eku.other.iter().map(|o| o.to_id_string()));
            text(v.join(", "))
        }
        ParsedExtension::BasicConstraints(bc) => text(match (bc.ca, bc.path_len_constraint) {
            (true, Some(n)) => format!("CA:TRUE, pathlen:{n}"),
            (true, None) => "CA:TRUE".to_owned(),
            (false, _) => "CA:FALSE".to_owned(),
        }),
        ParsedExtension::SubjectKeyIdentifier(k) => text(hex_colon(k.0)),
        ParsedExtension::AuthorityKeyIdentifier(aki) => text(
            aki.key_identifier
                .as_ref()
                .map_or_else(|| "(no key id)".to_owned(), |k| hex_colon(k.0)),
        ),
        ParsedExtension::SubjectAlternativeName(san) => Node::List(
            san.general_names
                .iter()
                .map(|g| text(general_name(g)))
                .collect(),
        ),
        ParsedExtension::CRLDistributionPoints(cdp) => Node::List(
            cdp.points
                .iter()
                .flat_map(|p| match &p.distribution_point {
                    Some(x509_parser::extensions::DistributionPointName::FullName(names)) => names
                        .iter()
                        .map(|g| text(general_name(g)))
                        .collect::<Vec<_>>(),
                    _ => vec![text("(relative name)")],
                })
                .collect(),
        ),
        ParsedExtension::AuthorityInfoAccess(aia) => Node::List(
            aia.accessdescs
                .iter()
                .map(|d| {
                    text(format!(
                        "{} - {}",
                        oid_name(&d.access_method),
                        general_name(&d.access_location)
                    ))
                })
                .collect(),
        ),
        ParsedExtension::CRLNumber(n) => text(n.to_string()),
        ParsedExtension::ReasonCode(r) => text(format!("{r}")),
        _ => text(hex_colon(ext.value)),
    };
    (label, value)
}

fn certificate(der: &[u8]) -> Result<Node> {
    let (_, c) = X509Certificate::from_der(der).map_err(|e| anyhow!("bad certificate ({e})"))?;
    let mut kv = vec![
        ("version".into(), text((c.version().0 + 1).to_string())),
        ("serial".into(), text(c.raw_serial_as_string())),
        (
            "signatureAlgorithm".into(),
            text(oid_name(&c.signature_algorithm.algorithm)),
        ),
        ("issuer".into(), text(c.issuer().to_string())),
        (
            "validity".into(),
            Node::Map(vec![
                ("notBefore".into(), text(time(&c.validity().not_before))),
                ("notAfter".into(), text(time(&c.validity().not_after))),
            ]),
        ),
        ("subject".into(), text(c.subject().to_string())),
        ("publicKey".into(), public_key(c.public_key().raw)),
    ];
    if !c.extensions().is_empty() {
        kv.push((
            "extensions".into(),
            Node::Map(c.extensions().iter().map(extension).collect()),
        ));
    }
    kv.push(("signature".into(), text(hex_colon(&c.signature_value.data))));
    kv.push(("fingerprintSha256".into(), text(sha256_hex(der))));
    Ok(Node::Map(kv))
}

fn csr(der: &[u8]) -> Result<Node> {
    let (_, r) = X509CertificationRequest::from_der(der)
        .map_err(|e| anyhow!("bad certificate request ({e})"))?;
    let info = &r.certification_request_info;
    let mut kv = vec![
        ("version".into(), text((info.version.0 + 1).to_string())),
        ("subject".into(), text(info.subject.to_string())),
        ("publicKey".into(), public_key(info.subject_pki.raw)),
        (
            "signatureAlgorithm".into(),
            text(oid_name(&r.signature_algorithm.algorithm)),
        ),
        (
            "signatureValid".into(),
            text(if r.verify_signature().is_ok() {
                "yes"
            } else {
                "NO"
            }),
        ),
    ];
    if let Some(exts) = r.requested_extensions() {
        let mut items = Vec::new();
        for e in exts {
            if let ParsedExtension::SubjectAlternativeName(san) = e {
                items.push((
                    "subjectAltName".into(),
                    Node::List(
                        san.general_names
                            .iter()
                            .map(|g| text(general_name(g)))
                            .collect(),
                    ),
                ));
            }
        }
        if !items.is_empty() {
            kv.push(("requestedExtensions".into(), Node::Map(items)));
        }
    }
    Ok(Node::Map(kv))
}

fn crl(der: &[u8]) -> Result<Node> {
    let (_, l) = CertificateRevocationList::from_der(der).map_err(|e| anyhow!("bad CRL ({e})"))?;
    let mut kv = vec![
        ("issuer".into(), text(l.issuer().to_string())),
        (
            "signatureAlgorithm".into(),
            text(oid_name(&l.signature_algorithm.algorithm)),
        ),
        ("thisUpdate".into(), text(time(&l.last_update()))),
        (
            "nextUpdate".into(),
            text(
                l.next_update()
                    .map_or_else(|| "(none)".to_owned(), |t| time(&t)),
            ),
        ),
    ];
    if let Some(n) = l.crl_number() {
        kv.push(("crlNumber".into(), text(n.to_string())));
    }
    let revoked: Vec<Node> = l
        .iter_revoked_certificates()
        .map(|r| {
            let mut e = vec![
                ("serial".into(), text(r.raw_serial_as_string())),
                ("revocationDate".into(), text(time(&r.revocation_date))),
            ];
            if let Some((_, reason)) = r.reason_code() {
                e.push(("reason".into(), text(format!("{reason}"))));
            }
            Node::Map(e)
        })
        .collect();
    kv.push(("revoked".into(), Node::List(revoked)));
    if !l.extensions().is_empty() {
        kv.push((
            "extensions".into(),
            Node::Map(l.extensions().iter().map(extension).collect()),
        ));
    }
    Ok(Node::Map(kv))
}
