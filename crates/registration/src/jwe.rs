//! Password-based JWE (RFC 7516, RFC 7518 §4.8), as step-ca stores a JWK provisioner's
//! private key.
//!
//! We write compact JWEs with `alg` PBES2-HS256+A128KW, `enc` A256GCM and `cty` jwk+json,
//! 600,000 PBKDF2 iterations. We read compact and JSON (flattened) serializations with
//! PBES2-HS256+A128KW or PBES2-HS512+A256KW and A128GCM/A192GCM/A256GCM, which covers what
//! the step CLI writes. Primitives (PBKDF2, AES key wrap, AES-GCM) are aws-lc-rs's.

use std::num::NonZeroU32;

use aws_lc_rs::aead::{AES_128_GCM, AES_192_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::key_wrap::{self, KeyEncryptionKey, KeyWrap};
use aws_lc_rs::pbkdf2;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use crate::Error;

/// PBKDF2 iterations for JWEs Vouch writes (step's current default).
pub const JWE_PBKDF2_ITERATIONS: u32 = 600_000;
/// Refuse larger counts in JWEs we read (a denial of service otherwise).
const MAX_ITERATIONS: u32 = 10_000_000;

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    enc: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    cty: Option<String>,
    p2c: u32,
    p2s: String,
}

#[derive(Deserialize)]
struct JsonJwe {
    protected: String,
    encrypted_key: String,
    iv: String,
    ciphertext: String,
    tag: String,
}

fn random<const N: usize>(rng: &SystemRandom) -> Result<[u8; N], Error> {
    let mut b = [0u8; N];
    rng.fill(&mut b)
        .map_err(|_| Error::Internal("random number generator failed".into()))?;
    Ok(b)
}

fn derive_kek(
    alg: &str,
    password: &[u8],
    p2s: &[u8],
    p2c: u32,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let (prf, len) = match alg {
        "PBES2-HS256+A128KW" => (pbkdf2::PBKDF2_HMAC_SHA256, 16),
        "PBES2-HS512+A256KW" => (pbkdf2::PBKDF2_HMAC_SHA512, 32),
        other => return Err(Error::Unsupported(format!("alg {other}"))),
    };
    if p2c > MAX_ITERATIONS {
        return Err(Error::Unsupported(format!(
            "p2c {p2c} is above {MAX_ITERATIONS}"
        )));
    }
    let iterations = NonZeroU32::new(p2c).ok_or_else(|| Error::Malformed("p2c is 0".into()))?;
    if p2s.len() < 8 {
        return Err(Error::Malformed("p2s shorter than 8 bytes".into()));
    }
    // RFC 7518 §4.8.1.1: the salt is UTF8(alg) || 0x00 || p2s.
    let mut salt = alg.as_bytes().to_vec();
    salt.push(0);
    salt.extend_from_slice(p2s);
    let mut kek = Zeroizing::new(vec![0u8; len]);
    pbkdf2::derive(prf, iterations, &salt, password, kek.as_mut());
    Ok(kek)
}

fn kek_cipher(kek: &[u8]) -> Result<KeyEncryptionKey<key_wrap::AesBlockCipher>, Error> {
    let cipher = if kek.len() == 16 {
        &key_wrap::AES_128
    } else {
        &key_wrap::AES_256
    };
    KeyEncryptionKey::new(cipher, kek).map_err(|_| Error::Internal("key wrap setup".into()))
}

fn gcm(enc: &str) -> Result<&'static aws_lc_rs::aead::Algorithm, Error> {
    match enc {
        "A128GCM" => Ok(&AES_128_GCM),
        "A192GCM" => Ok(&AES_192_GCM),
        "A256GCM" => Ok(&AES_256_GCM),
        other => Err(Error::Unsupported(format!("enc {other}"))),
    }
}

/// Encrypt `plaintext` under `password` as a compact JWE (PBES2-HS256+A128KW, A256GCM).
pub fn encrypt_jwe(
    plaintext: &[u8],
    password: &[u8],
    content_type: Option<&str>,
) -> Result<String, Error> {
    let rng = SystemRandom::new();
    let p2s: [u8; 16] = random(&rng)?;
    let header = Header {
        alg: "PBES2-HS256+A128KW".into(),
        enc: "A256GCM".into(),
        cty: content_type.map(str::to_owned),
        p2c: JWE_PBKDF2_ITERATIONS,
        p2s: B64.encode(p2s),
    };
    let protected =
        B64.encode(serde_json::to_vec(&header).map_err(|e| Error::Internal(e.to_string()))?);
    let kek = derive_kek(&header.alg, password, &p2s, header.p2c)?;
    let cek: Zeroizing<[u8; 32]> = Zeroizing::new(random(&rng)?);
    let mut wrapped = [0u8; 40];
    let wrapped = kek_cipher(&kek)?
        .wrap(cek.as_ref(), &mut wrapped)
        .map_err(|_| Error::Internal("key wrap failed".into()))?
        .to_vec();
    let iv: [u8; 12] = random(&rng)?;
    let key = LessSafeKey::new(
        UnboundKey::new(&AES_256_GCM, cek.as_ref())
            .map_err(|_| Error::Internal("AES-GCM key".into()))?,
    );
    let mut data = plaintext.to_vec();
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(iv),
            Aad::from(protected.as_bytes()),
            &mut data,
        )
        .map_err(|_| Error::Internal("AES-GCM seal failed".into()))?;
    Ok(format!(
        "{protected}.{}.{}.{}.{}",
        B64.encode(wrapped),
        B64.encode(iv),
        B64.encode(&data),
        B64.encode(tag.as_ref())
    ))
}

/// Decrypt a password-based JWE in compact or JSON (flattened) serialization.
pub fn decrypt_jwe(jwe: &str, password: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    let jwe = jwe.trim();
    let parts: JsonJwe = if jwe.starts_with('{') {
        serde_json::from_str(jwe).map_err(|e| Error::Malformed(format!("JSON JWE: {e}")))?
    } else {
        let p: Vec<&str> = jwe.split('.').collect();
        let [protected, encrypted_key, iv, ciphertext, tag] = p.as_slice() else {
            return Err(Error::Malformed(format!(
                "a compact JWE has 5 parts, not {}",
                p.len()
            )));
        };
        JsonJwe {
            protected: (*protected).to_owned(),
            encrypted_key: (*encrypted_key).to_owned(),
            iv: (*iv).to_owned(),
            ciphertext: (*ciphertext).to_owned(),
            tag: (*tag).to_owned(),
        }
    };
    let dec = |what: &str, s: &str| {
        B64.decode(s)
            .map_err(|_| Error::Malformed(format!("{what} is not base64url")))
    };
    let header: Header = serde_json::from_slice(&dec("protected header", &parts.protected)?)
        .map_err(|e| Error::Malformed(format!("protected header: {e}")))?;
    let alg = gcm(&header.enc)?;
    let kek = derive_kek(&header.alg, password, &dec("p2s", &header.p2s)?, header.p2c)?;
    let wrapped = dec("encrypted_key", &parts.encrypted_key)?;
    let mut cek = Zeroizing::new(vec![0u8; wrapped.len()]);
    let cek_len = kek_cipher(&kek)?
        .unwrap(&wrapped, cek.as_mut())
        .map_err(|_| Error::Decrypt)?
        .len();
    cek.truncate(cek_len);
    let key = LessSafeKey::new(
        UnboundKey::new(alg, &cek).map_err(|_| Error::Malformed("content key length".into()))?,
    );
    let nonce = Nonce::try_assume_unique_for_key(&dec("iv", &parts.iv)?)
        .map_err(|_| Error::Malformed("iv must be 12 bytes".into()))?;
    let mut data = Zeroizing::new(dec("ciphertext", &parts.ciphertext)?);
    data.extend_from_slice(&dec("tag", &parts.tag)?);
    let len = key
        .open_in_place(nonce, Aad::from(parts.protected.as_bytes()), data.as_mut())
        .map_err(|_| Error::Decrypt)?
        .len();
    data.truncate(len);
    Ok(data)
}

/// The compact serialization of a JWE given in compact or JSON (flattened) form, as step-ca's
/// `encryptedKey` holds it. A JSON JWE with an unprotected header or AAD has no compact form.
pub fn compact_jwe(jwe: &str) -> Result<String, Error> {
    let jwe = jwe.trim();
    if !jwe.starts_with('{') {
        if jwe.split('.').count() != 5 {
            return Err(Error::Malformed("a compact JWE has 5 parts".into()));
        }
        return Ok(jwe.to_owned());
    }
    let v: serde_json::Value =
        serde_json::from_str(jwe).map_err(|e| Error::Malformed(format!("JSON JWE: {e}")))?;
    if v.get("header").is_some() || v.get("unprotected").is_some() || v.get("aad").is_some() {
        return Err(Error::Malformed(
            "a JWE with unprotected headers or AAD has no compact form".into(),
        ));
    }
    let parts: JsonJwe =
        serde_json::from_value(v).map_err(|e| Error::Malformed(format!("JSON JWE: {e}")))?;
    Ok(format!(
        "{}.{}.{}.{}.{}",
        parts.protected, parts.encrypted_key, parts.iv, parts.ciphertext, parts.tag
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_wrong_password_and_tamper() {
        let jwe = encrypt_jwe(b"{\"k\":1}", b"pw", Some("jwk+json")).unwrap();
        assert_eq!(jwe.split('.').count(), 5);
        let header: serde_json::Value =
            serde_json::from_slice(&B64.decode(jwe.split('.').next().unwrap()).unwrap()).unwrap();
        assert_eq!(header["alg"], "PBES2-HS256+A128KW");
        assert_eq!(header["enc"], "A256GCM");
        assert_eq!(header["p2c"], JWE_PBKDF2_ITERATIONS);
        assert_eq!(decrypt_jwe(&jwe, b"pw").unwrap().as_slice(), b"{\"k\":1}");
        assert!(matches!(decrypt_jwe(&jwe, b"nope"), Err(Error::Decrypt)));
        let mut parts: Vec<String> = jwe.split('.').map(str::to_owned).collect();
        parts[3] = B64.encode(b"tampered-ciphertext");
        assert!(matches!(
            decrypt_jwe(&parts.join("."), b"pw"),
            Err(Error::Decrypt)
        ));
        assert!(matches!(
            decrypt_jwe("a.b", b"pw"),
            Err(Error::Malformed(_))
        ));
        // The JSON form of the same JWE compacts back to it.
        let p: Vec<&str> = jwe.split('.').collect();
        let json = serde_json::json!({"protected": p[0], "encrypted_key": p[1], "iv": p[2], "ciphertext": p[3], "tag": p[4]});
        assert_eq!(compact_jwe(&json.to_string()).unwrap(), jwe);
        assert_eq!(
            decrypt_jwe(&json.to_string(), b"pw").unwrap().as_slice(),
            b"{\"k\":1}"
        );
    }
}
