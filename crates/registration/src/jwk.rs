//! Provisioner keys as JSON Web Keys (RFC 7517) with RFC 7638 thumbprints as `kid`.

use std::fmt;

use aws_lc_rs::encoding::{AsBigEndian, EcPrivateKeyBin};
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use vouch_model::Jwk;
use zeroize::Zeroizing;

use crate::{Error, decrypt_jwe, encrypt_jwe};

/// The RFC 7638 SHA-256 thumbprint of a public JWK, base64url.
pub fn thumbprint(jwk: &Jwk) -> Result<String, Error> {
    let missing = |f: &str| Error::Malformed(format!("{} JWK without '{f}'", jwk.kty));
    // Members in lexicographic order, no whitespace (RFC 7638 §3).
    let canonical = match jwk.kty.as_str() {
        "EC" => serde_json::json!({
            "crv": jwk.crv.as_deref().ok_or_else(|| missing("crv"))?,
            "kty": "EC",
            "x": jwk.x.as_deref().ok_or_else(|| missing("x"))?,
            "y": jwk.y.as_deref().ok_or_else(|| missing("y"))?,
        }),
        "OKP" => serde_json::json!({
            "crv": jwk.crv.as_deref().ok_or_else(|| missing("crv"))?,
            "kty": "OKP",
            "x": jwk.x.as_deref().ok_or_else(|| missing("x"))?,
        }),
        "RSA" => serde_json::json!({
            "e": jwk.e.as_deref().ok_or_else(|| missing("e"))?,
            "kty": "RSA",
            "n": jwk.n.as_deref().ok_or_else(|| missing("n"))?,
        }),
        other => return Err(Error::Unsupported(format!("kty {other}"))),
    };
    // serde_json's Map is a BTreeMap here, so keys serialise sorted.
    let text = serde_json::to_string(&canonical).map_err(|e| Error::Internal(e.to_string()))?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, text.as_bytes());
    Ok(B64.encode(digest.as_ref()))
}

#[derive(Serialize, Deserialize)]
struct PrivateJwk {
    #[serde(rename = "use", skip_serializing_if = "Option::is_none")]
    use_: Option<String>,
    kty: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    kid: Option<String>,
    crv: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    alg: Option<String>,
    x: String,
    y: String,
    d: String,
}

/// A provisioner's signing key pair (EC P-256, ES256, as `step ca init` makes).
pub struct ProvisionerKey {
    key: EcdsaKeyPair,
    public: Jwk,
}

impl fmt::Debug for ProvisionerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProvisionerKey")
            .field("kid", &self.public.kid)
            .finish_non_exhaustive()
    }
}

impl ProvisionerKey {
    /// A fresh P-256 key.
    pub fn generate() -> Result<Self, Error> {
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| Error::Internal("key generation failed".into()))?;
        Self::from_key_pair(key)
    }

    fn from_key_pair(key: EcdsaKeyPair) -> Result<Self, Error> {
        let point = key.public_key().as_ref();
        if point.len() != 65 || point[0] != 4 {
            return Err(Error::Internal("unexpected public key encoding".into()));
        }
        let mut public = Jwk {
            use_: Some("sig".into()),
            kty: "EC".into(),
            kid: None,
            crv: Some("P-256".into()),
            alg: Some("ES256".into()),
            x: Some(B64.encode(&point[1..33])),
            y: Some(B64.encode(&point[33..65])),
            n: None,
            e: None,
        };
        public.kid = Some(thumbprint(&public)?);
        Ok(ProvisionerKey { key, public })
    }

    /// Load a private JWK (JSON with `d`).
    pub fn from_private_jwk(json: &[u8]) -> Result<Self, Error> {
        let jwk: PrivateJwk = serde_json::from_slice(json)
            .map_err(|e| Error::Malformed(format!("private JWK: {e}")))?;
        if jwk.kty != "EC" || jwk.crv != "P-256" {
            return Err(Error::Unsupported(format!(
                "{} {} provisioner keys",
                jwk.kty, jwk.crv
            )));
        }
        let dec = |s: &str| Zeroizing::new(B64.decode(s).unwrap_or_default());
        let (x, y, d) = (dec(&jwk.x), dec(&jwk.y), dec(&jwk.d));
        let mut point = vec![4u8];
        point.extend_from_slice(&x);
        point.extend_from_slice(&y);
        let key = EcdsaKeyPair::from_private_key_and_public_key(
            &ECDSA_P256_SHA256_FIXED_SIGNING,
            &d,
            &point,
        )
        .map_err(|_| Error::Malformed("private JWK: inconsistent or invalid key".into()))?;
        Self::from_key_pair(key)
    }

    /// Decrypt step-ca's `encryptedKey` (or a step `.jwk` file) with the provisioner password.
    pub fn from_encrypted(jwe: &str, password: &[u8]) -> Result<Self, Error> {
        let json = decrypt_jwe(jwe, password)?;
        Self::from_private_jwk(&json)
    }

    /// The public JWK (with `kid`, `use`, `alg`).
    pub fn public_jwk(&self) -> &Jwk {
        &self.public
    }

    /// The private JWK as JSON (handle with care).
    pub fn private_jwk_json(&self) -> Result<Zeroizing<String>, Error> {
        let d: EcPrivateKeyBin<'_> = self
            .key
            .private_key()
            .as_be_bytes()
            .map_err(|_| Error::Internal("private key export failed".into()))?;
        let jwk = PrivateJwk {
            use_: self.public.use_.clone(),
            kty: self.public.kty.clone(),
            kid: self.public.kid.clone(),
            crv: "P-256".into(),
            alg: self.public.alg.clone(),
            x: self.public.x.clone().unwrap_or_default(),
            y: self.public.y.clone().unwrap_or_default(),
            d: B64.encode(d.as_ref()),
        };
        serde_json::to_string(&jwk)
            .map(Zeroizing::new)
            .map_err(|e| Error::Internal(e.to_string()))
    }

    /// The PKCS#8 DER of the key (tests use it as a stand-in certificate key).
    #[cfg(test)]
    pub(crate) fn pkcs8_der_for_tests(&self) -> Vec<u8> {
        self.key
            .to_pkcs8v1()
            .map(|d| d.as_ref().to_vec())
            .unwrap_or_default()
    }

    /// The private JWK encrypted under `password` as step-ca's `encryptedKey`.
    pub fn encrypt(&self, password: &[u8]) -> Result<String, Error> {
        encrypt_jwe(
            self.private_jwk_json()?.as_bytes(),
            password,
            Some("jwk+json"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7638_example_thumbprint() {
        // RFC 7638 §3.1.
        let jwk = Jwk {
            use_: None,
            kty: "RSA".into(),
            kid: None,
            crv: None,
            alg: Some("RS256".into()),
            x: None,
            y: None,
            n: Some("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw".into()),
            e: Some("AQAB".into()),
        };
        assert_eq!(
            thumbprint(&jwk).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn encrypted_key_roundtrip() {
        let key = ProvisionerKey::generate().unwrap();
        let jwe = key.encrypt(b"provisioner-pw").unwrap();
        let back = ProvisionerKey::from_encrypted(&jwe, b"provisioner-pw").unwrap();
        assert_eq!(back.public_jwk(), key.public_jwk());
        assert!(ProvisionerKey::from_encrypted(&jwe, b"bad").is_err());
        let private = key.private_jwk_json().unwrap();
        let v: serde_json::Value = serde_json::from_str(&private).unwrap();
        assert_eq!(
            v["kid"],
            serde_json::Value::from(key.public_jwk().kid.clone())
        );
    }
}
