//! Software private keys: generation, import from every common format, encrypted export.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair,
};
use rcgen::PublicKeyData;
use x509_parser::prelude::FromDer;
use zeroize::Zeroizing;

use crate::{Error, Signer, pbes2};

const OID_EC: &str = "1.2.840.10045.2.1";
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_ED25519: &str = "1.3.101.112";

/// The key algorithms Vouch generates and signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// ECDSA on P-256 with SHA-256 (the default).
    EcP256,
    /// ECDSA on P-384 with SHA-384.
    EcP384,
    /// Ed25519.
    Ed25519,
    /// RSA with PKCS#1 v1.5 SHA-256 signatures; the modulus size in bits.
    Rsa(u32),
}

impl KeyType {
    /// The rcgen signature algorithm for this key type.
    pub(crate) fn rcgen_algorithm(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            KeyType::EcP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyType::EcP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyType::Ed25519 => &rcgen::PKCS_ED25519,
            KeyType::Rsa(_) => &rcgen::PKCS_RSA_SHA256,
        }
    }

    /// Whether this is an RSA key (leaf certificates then also get keyEncipherment).
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa(_))
    }

    /// The JOSE algorithm name of signatures made with this key.
    pub fn jose_alg(self) -> &'static str {
        match self {
            KeyType::EcP256 => "ES256",
            KeyType::EcP384 => "ES384",
            KeyType::Ed25519 => "EdDSA",
            KeyType::Rsa(_) => "RS256",
        }
    }
}

impl fmt::Display for KeyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyType::EcP256 => f.write_str("EC P-256"),
            KeyType::EcP384 => f.write_str("EC P-384"),
            KeyType::Ed25519 => f.write_str("Ed25519"),
            KeyType::Rsa(bits) => write!(f, "RSA {bits}"),
        }
    }
}

impl FromStr for KeyType {
    type Err = String;
    /// `ec-p256`, `ec-p384`, `ed25519`, `rsa-2048`, `rsa-3072`, `rsa-4096`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "ec-p256" | "p-256" | "p256" | "ec" => Ok(KeyType::EcP256),
            "ec-p384" | "p-384" | "p384" => Ok(KeyType::EcP384),
            "ed25519" | "okp" => Ok(KeyType::Ed25519),
            "rsa-2048" | "rsa" => Ok(KeyType::Rsa(2048)),
            "rsa-3072" => Ok(KeyType::Rsa(3072)),
            "rsa-4096" => Ok(KeyType::Rsa(4096)),
            other => Err(format!(
                "unknown key type '{other}' (expected ec-p256, ec-p384, ed25519, rsa-2048, rsa-3072 or rsa-4096)"
            )),
        }
    }
}

/// A private key held in memory. Its `Debug` output never shows key material.
pub struct PrivateKey {
    key: rcgen::KeyPair,
    key_type: KeyType,
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("key_type", &self.key_type)
            .finish_non_exhaustive()
    }
}

impl PrivateKey {
    /// Generate a fresh key.
    pub fn generate(key_type: KeyType) -> Result<Self, Error> {
        let key = match key_type {
            KeyType::Rsa(bits) => {
                let size = match bits {
                    2048 => rcgen::RsaKeySize::_2048,
                    3072 => rcgen::RsaKeySize::_3072,
                    4096 => rcgen::RsaKeySize::_4096,
                    other => {
                        return Err(Error::UnsupportedKey(format!(
                            "RSA keys are generated with 2048, 3072 or 4096 bits, not {other}"
                        )));
                    }
                };
                rcgen::KeyPair::generate_rsa_for(&rcgen::PKCS_RSA_SHA256, size)
            }
            other => rcgen::KeyPair::generate_for(other.rcgen_algorithm()),
        }
        .map_err(|e| Error::internal(format!("key generation failed: {e}")))?;
        if key_type == KeyType::Ed25519 {
            // Normalise through import, which writes the PKCS#8 v1 form every tool reads.
            return Self::from_pkcs8(key.serialized_der());
        }
        Ok(PrivateKey { key, key_type })
    }

    /// Whether the file holds an encrypted key (so that the caller knows to ask for a password).
    pub fn is_encrypted(data: &[u8]) -> bool {
        match pem_blocks(data) {
            Some(blocks) => blocks.iter().any(|p| {
                p.tag() == "ENCRYPTED PRIVATE KEY" || p.headers().get("Proc-Type").is_some()
            }),
            None => pbes2::is_encrypted_pkcs8(data),
        }
    }

    /// Read a private key: PKCS#8 (plain or PBES2-encrypted), PKCS#1 RSA or SEC1 EC, each PEM
    /// or DER. `password` is used only when the key is encrypted.
    pub fn from_bytes(data: &[u8], password: Option<&[u8]>) -> Result<Self, Error> {
        if let Some(blocks) = pem_blocks(data) {
            let block = blocks
                .iter()
                .find(|p| p.tag().ends_with("PRIVATE KEY"))
                .ok_or_else(|| {
                    let tags: Vec<&str> = blocks.iter().map(|p| p.tag()).collect();
                    Error::KeyFormat(format!("PEM holds {} and no private key", tags.join(", ")))
                })?;
            if block.headers().get("Proc-Type").is_some() {
                // Legacy OpenSSL encryption, as `openssl ec -aes128` and step-ca write keys.
                let password = password.ok_or(Error::PasswordRequired)?;
                let der = crate::legacy_pem::decrypt(block, password)?;
                // A wrong password that passed the padding check yields garbage here.
                return Self::from_typed_der(block.tag(), &der, None).map_err(|e| match e {
                    Error::KeyFormat(_) => Error::WrongPassword,
                    other => other,
                });
            }
            return Self::from_typed_der(block.tag(), block.contents(), password);
        }
        // DER: try each structure in turn.
        if pkcs8::PrivateKeyInfoRef::try_from(data).is_ok() {
            return Self::from_pkcs8(data);
        }
        if pbes2::is_encrypted_pkcs8(data) {
            return Self::from_encrypted(data, password);
        }
        if let Ok(key) = Self::from_pkcs1(data) {
            return Ok(key);
        }
        if let Ok(key) = Self::from_sec1(data) {
            return Ok(key);
        }
        Err(Error::KeyFormat(
            "neither PEM nor a DER PKCS#8, PKCS#1 or SEC1 private key".into(),
        ))
    }

    fn from_typed_der(tag: &str, der: &[u8], password: Option<&[u8]>) -> Result<Self, Error> {
        match tag {
            "PRIVATE KEY" => Self::from_pkcs8(der),
            "ENCRYPTED PRIVATE KEY" => Self::from_encrypted(der, password),
            "RSA PRIVATE KEY" => Self::from_pkcs1(der),
            "EC PRIVATE KEY" => Self::from_sec1(der),
            other => Err(Error::UnsupportedKey(format!("PEM type '{other}'"))),
        }
    }

    fn from_encrypted(der: &[u8], password: Option<&[u8]>) -> Result<Self, Error> {
        let password = password.ok_or(Error::PasswordRequired)?;
        let plain = pbes2::decrypt(der, password)?;
        // A wrong password that happened to pass the padding check gives garbage here.
        Self::from_pkcs8(&plain).map_err(|_| Error::WrongPassword)
    }

    /// Read an unencrypted PKCS#8 `PrivateKeyInfo`.
    pub fn from_pkcs8(der: &[u8]) -> Result<Self, Error> {
        let info = pkcs8::PrivateKeyInfoRef::try_from(der)
            .map_err(|e| Error::KeyFormat(format!("bad PKCS#8 structure ({e})")))?;
        let oid = info.algorithm.oid.to_string();
        let key_type = match oid.as_str() {
            OID_EC => {
                let curve = info
                    .algorithm
                    .parameters_oid()
                    .map_err(|_| Error::KeyFormat("EC key without a named curve".into()))?
                    .to_string();
                match curve.as_str() {
                    OID_P256 => KeyType::EcP256,
                    OID_P384 => KeyType::EcP384,
                    other => {
                        return Err(Error::UnsupportedKey(format!(
                            "EC curve {other} (P-256 and P-384 are supported)"
                        )));
                    }
                }
            }
            OID_ED25519 => KeyType::Ed25519,
            OID_RSA => {
                let rsa = aws_lc_rs::rsa::KeyPair::from_pkcs8(der)
                    .map_err(|e| Error::KeyFormat(format!("bad RSA key ({e})")))?;
                rsa_type(rsa.public_modulus_len())?
            }
            other => return Err(Error::UnsupportedKey(format!("algorithm {other}"))),
        };
        // aws-lc-rs writes Ed25519 keys as PKCS#8 v2 (RFC 5958, with the public key), which
        // OpenSSL 3.0 cannot read; store the v1 form (RFC 5208) instead.
        let v1;
        let der = if key_type == KeyType::Ed25519 {
            let kp = aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der)
                .map_err(|e| Error::KeyFormat(format!("bad Ed25519 key ({e})")))?;
            v1 = kp
                .to_pkcs8v1()
                .map_err(|_| Error::internal("PKCS#8 encoding failed"))?;
            v1.as_ref()
        } else {
            der
        };
        let pkcs8 = rustls_pki_types_der(der);
        let key = rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&pkcs8, key_type.rcgen_algorithm())
            .map_err(|e| Error::KeyFormat(format!("key rejected ({e})")))?;
        Ok(PrivateKey { key, key_type })
    }

    fn from_pkcs1(der: &[u8]) -> Result<Self, Error> {
        let rsa = aws_lc_rs::rsa::KeyPair::from_der(der)
            .map_err(|e| Error::KeyFormat(format!("bad PKCS#1 RSA key ({e})")))?;
        rsa_type(rsa.public_modulus_len())?;
        let pkcs8 = rsa
            .as_der()
            .map_err(|_| Error::internal("PKCS#8 encoding failed"))?;
        Self::from_pkcs8(pkcs8.as_ref())
    }

    fn from_sec1(der: &[u8]) -> Result<Self, Error> {
        for alg in [
            &ECDSA_P256_SHA256_ASN1_SIGNING,
            &ECDSA_P384_SHA384_ASN1_SIGNING,
        ] {
            if let Ok(kp) = EcdsaKeyPair::from_private_key_der(alg, der) {
                let pkcs8 = kp
                    .to_pkcs8v1()
                    .map_err(|_| Error::internal("PKCS#8 encoding failed"))?;
                return Self::from_pkcs8(pkcs8.as_ref());
            }
        }
        Err(Error::KeyFormat(
            "bad SEC1 EC key (or a curve other than P-256/P-384)".into(),
        ))
    }

    /// The key's algorithm.
    pub fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// The unencrypted PKCS#8 DER (handle with care).
    pub fn pkcs8_der(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.key.serialized_der().to_vec())
    }

    /// PEM for a file: `ENCRYPTED PRIVATE KEY` under `password`, or `PRIVATE KEY` when `None`.
    pub fn to_pem(&self, password: Option<&[u8]>) -> Result<Zeroizing<String>, Error> {
        let pem = match password {
            Some(pw) => crate::to_pem(
                "ENCRYPTED PRIVATE KEY",
                &pbes2::encrypt(&self.pkcs8_der(), pw)?,
            ),
            None => crate::to_pem("PRIVATE KEY", &self.pkcs8_der()),
        };
        Ok(Zeroizing::new(pem))
    }

    /// The public key as a `PUBLIC KEY` PEM.
    pub fn public_key_pem(&self) -> String {
        crate::to_pem("PUBLIC KEY", &self.key.subject_public_key_info())
    }

    /// The underlying rcgen key pair (for CSRs signed by this key).
    pub(crate) fn rcgen(&self) -> &rcgen::KeyPair {
        &self.key
    }
}

impl Signer for PrivateKey {
    fn key_type(&self) -> KeyType {
        self.key_type
    }
    fn public_key_raw(&self) -> &[u8] {
        self.key.public_key_raw()
    }
    fn public_key_der(&self) -> Vec<u8> {
        self.key.subject_public_key_info()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, Error> {
        rcgen::SigningKey::sign(&self.key, message)
            .map_err(|e| Error::internal(format!("signing failed: {e}")))
    }
}

fn rustls_pki_types_der(der: &[u8]) -> rustls_pki_types::PrivatePkcs8KeyDer<'_> {
    rustls_pki_types::PrivatePkcs8KeyDer::from(der)
}

fn rsa_type(modulus_bytes: usize) -> Result<KeyType, Error> {
    let bits =
        u32::try_from(modulus_bytes * 8).map_err(|_| Error::UnsupportedKey("RSA size".into()))?;
    if bits < 2048 {
        return Err(Error::UnsupportedKey(format!(
            "RSA {bits} is too small (minimum 2048)"
        )));
    }
    Ok(KeyType::Rsa(bits))
}

/// Parse PEM blocks when the data looks like PEM; `None` for binary data.
fn pem_blocks(data: &[u8]) -> Option<Vec<pem::Pem>> {
    let text = std::str::from_utf8(data).ok()?;
    if !text.contains("-----BEGIN ") {
        return None;
    }
    pem::parse_many(text).ok().filter(|v| !v.is_empty())
}

/// What a public key is, for display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicKeyInfo {
    /// The key type, when Vouch supports it.
    pub key_type: Option<KeyType>,
    /// A human description (`EC P-256`, `RSA 2048`, or the algorithm OID).
    pub description: String,
    /// SHA-256 of the DER SubjectPublicKeyInfo, lowercase hex.
    pub sha256: String,
}

/// Describe a DER SubjectPublicKeyInfo.
pub fn describe_public_key(spki_der: &[u8]) -> Result<PublicKeyInfo, Error> {
    let (_, spki) = x509_parser::x509::SubjectPublicKeyInfo::from_der(spki_der)
        .map_err(|e| Error::KeyFormat(format!("bad public key ({e})")))?;
    let alg = spki.algorithm.algorithm.to_id_string();
    let key_type = match alg.as_str() {
        OID_EC => {
            let curve = spki
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.as_oid().ok())
                .map(|o| o.to_id_string());
            match curve.as_deref() {
                Some(OID_P256) => Some(KeyType::EcP256),
                Some(OID_P384) => Some(KeyType::EcP384),
                _ => None,
            }
        }
        OID_ED25519 => Some(KeyType::Ed25519),
        OID_RSA => match spki.parsed() {
            Ok(x509_parser::public_key::PublicKey::RSA(rsa)) => {
                u32::try_from(rsa.key_size()).ok().map(KeyType::Rsa)
            }
            _ => None,
        },
        _ => None,
    };
    let description =
        key_type.map_or_else(|| format!("unsupported algorithm {alg}"), |k| k.to_string());
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, spki_der);
    Ok(PublicKeyInfo {
        key_type,
        description,
        sha256: hex(digest.as_ref()),
    })
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_export_import_every_type() {
        for kt in [
            KeyType::EcP256,
            KeyType::EcP384,
            KeyType::Ed25519,
            KeyType::Rsa(2048),
        ] {
            let key = PrivateKey::generate(kt).unwrap();
            let plain = key.to_pem(None).unwrap();
            let back = PrivateKey::from_bytes(plain.as_bytes(), None).unwrap();
            assert_eq!(back.key_type(), kt);
            assert_eq!(back.public_key_pem(), key.public_key_pem());
            let info = describe_public_key(&key.public_key_der()).unwrap();
            assert_eq!(info.key_type, Some(kt));
        }
    }

    #[test]
    fn encrypted_roundtrip_needs_the_password() {
        let key = PrivateKey::generate(KeyType::EcP256).unwrap();
        let pem = key.to_pem(Some(b"secret")).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
        assert!(PrivateKey::is_encrypted(pem.as_bytes()));
        assert!(matches!(
            PrivateKey::from_bytes(pem.as_bytes(), None),
            Err(Error::PasswordRequired)
        ));
        assert!(matches!(
            PrivateKey::from_bytes(pem.as_bytes(), Some(b"nope")),
            Err(Error::WrongPassword)
        ));
        let back = PrivateKey::from_bytes(pem.as_bytes(), Some(b"secret")).unwrap();
        assert_eq!(back.public_key_pem(), key.public_key_pem());
    }

    #[test]
    fn garbage_is_a_clear_error() {
        for bad in [
            &b""[..],
            b"hello",
            b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            &[0x30, 0x03, 0x02, 0x01],
        ] {
            let err = PrivateKey::from_bytes(bad, None).unwrap_err();
            assert!(matches!(err, Error::KeyFormat(_)), "{err:?}");
        }
    }
}
