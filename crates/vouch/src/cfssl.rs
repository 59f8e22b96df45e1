//! cfssl's JSON CSR format (`cfssl gencert` input), so that guides such as "Kubernetes the
//! hard way" work with Vouch: `CN`, `hosts`, `key: {algo, size}`, `names: [{C, L, O, OU, ST}]`.

use anyhow::{Result, bail};
use serde::Deserialize;
use vouch_issuing::{KeyType, Subject};

#[derive(Debug, Deserialize)]
struct CsrJson {
    #[serde(rename = "CN", default)]
    cn: Option<String>,
    #[serde(default)]
    hosts: Vec<String>,
    #[serde(default)]
    key: Option<KeyJson>,
    #[serde(default)]
    names: Vec<NameJson>,
    /// cfssl's CA options (expiry, pathlen); lifetimes come from Vouch's flags instead.
    #[serde(default, rename = "ca")]
    _ca: Option<serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KeyJson {
    algo: String,
    #[serde(default)]
    size: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NameJson {
    #[serde(rename = "C")]
    c: Option<String>,
    #[serde(rename = "ST")]
    st: Option<String>,
    #[serde(rename = "L")]
    l: Option<String>,
    #[serde(rename = "O")]
    o: Option<String>,
    #[serde(rename = "OU")]
    ou: Option<String>,
}

/// What a cfssl CSR JSON asks for.
#[derive(Debug)]
pub struct CfsslRequest {
    /// The subject.
    pub subject: Subject,
    /// The `hosts` (SANs).
    pub hosts: Vec<String>,
    /// The key type, when given.
    pub key_type: Option<KeyType>,
}

/// Parse a cfssl CSR JSON document.
pub fn parse(json: &str) -> Result<CfsslRequest> {
    let doc: CsrJson =
        serde_json::from_str(json).map_err(|e| anyhow::anyhow!("not a cfssl CSR JSON ({e})"))?;
    if doc.names.len() > 1 {
        bail!("only one entry in 'names' is supported");
    }
    let name = doc.names.into_iter().next().unwrap_or_default();
    let key_type = match doc.key {
        None => None,
        Some(k) => Some(match (k.algo.to_ascii_lowercase().as_str(), k.size) {
            ("ecdsa", None | Some(256)) => KeyType::EcP256,
            ("ecdsa", Some(384)) => KeyType::EcP384,
            ("ed25519", _) => KeyType::Ed25519,
            ("rsa", None) => KeyType::Rsa(2048),
            ("rsa", Some(n @ (2048 | 3072 | 4096))) => KeyType::Rsa(n),
            (algo, size) => bail!(
                "unsupported key {algo}{} (ecdsa 256/384, rsa 2048/3072/4096, ed25519)",
                size.map(|s| format!(" {s}")).unwrap_or_default()
            ),
        }),
    };
    let nonempty = |v: Option<String>| v.filter(|s| !s.is_empty());
    Ok(CfsslRequest {
        subject: Subject {
            country: nonempty(name.c),
            province: nonempty(name.st),
            locality: nonempty(name.l),
            organization: nonempty(name.o),
            organizational_unit: nonempty(name.ou),
            common_name: nonempty(doc.cn),
        },
        hosts: doc.hosts,
        key_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_the_hard_way_admin_csr() {
        let r = parse(
            r#"{"CN":"admin","key":{"algo":"rsa","size":2048},
                "names":[{"C":"US","L":"Portland","O":"system:masters","OU":"Kubernetes The Hard Way","ST":"Oregon"}]}"#,
        )
        .unwrap();
        assert_eq!(r.subject.common_name.as_deref(), Some("admin"));
        assert_eq!(r.subject.organization.as_deref(), Some("system:masters"));
        assert_eq!(r.key_type, Some(KeyType::Rsa(2048)));
        assert!(r.hosts.is_empty());
        assert!(parse(r#"{"CN":"x","key":{"algo":"dsa"}}"#).is_err());
        assert!(parse("not json").is_err());
    }
}
