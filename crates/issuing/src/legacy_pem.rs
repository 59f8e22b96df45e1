//! Legacy OpenSSL PEM encryption (`Proc-Type: 4,ENCRYPTED` with `DEK-Info: AES-256-CBC,IV`),
//! read-only. It is what `openssl ec -aes256`, `openssl rsa -traditional -aes256` and step-ca
//! (`secrets/root_ca_key`, `secrets/intermediate_ca_key`) write, so importing a step-ca PKI
//! needs it.
//!
//! The key is OpenSSL's `EVP_BytesToKey` with MD5 and one iteration over the password and the
//! first 8 bytes of the IV: weak by today's standards, which is why Vouch never writes this
//! format (keys are re-encrypted as PBES2 PKCS#8 on the way in). MD5 comes from the `md-5`
//! crate because aws-lc-rs does not expose it; AES-CBC comes from aws-lc-rs.

use aws_lc_rs::cipher::{
    AES_128, AES_192, AES_256, DecryptionContext, PaddedBlockDecryptingKey, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use md5::{Digest, Md5};
use zeroize::Zeroizing;

use crate::Error;

/// Decrypt the body of a legacy-encrypted PEM block.
pub(crate) fn decrypt(block: &pem::Pem, password: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    let dek = block
        .headers()
        .get("DEK-Info")
        .ok_or_else(|| Error::KeyFormat("encrypted PEM without DEK-Info".into()))?;
    let (cipher, iv_hex) = dek
        .split_once(',')
        .ok_or_else(|| Error::KeyFormat("malformed DEK-Info header".into()))?;
    let (alg, key_len) = match cipher.trim().to_ascii_uppercase().as_str() {
        "AES-128-CBC" => (&AES_128, 16),
        "AES-192-CBC" => (&AES_192, 24),
        "AES-256-CBC" => (&AES_256, 32),
        other => {
            return Err(Error::UnsupportedKey(format!(
                "legacy PEM encryption with {other}; convert it with 'openssl pkcs8 -topk8 -v2 aes256'"
            )));
        }
    };
    let iv = hex16(iv_hex.trim())
        .ok_or_else(|| Error::KeyFormat("DEK-Info IV is not 16 hex bytes".into()))?;
    let key = bytes_to_key(password, &iv[..8], key_len);
    let cipher = UnboundCipherKey::new(alg, &key)
        .and_then(PaddedBlockDecryptingKey::cbc_pkcs7)
        .map_err(|_| Error::internal("AES key setup failed"))?;
    let mut data = Zeroizing::new(block.contents().to_vec());
    let len = cipher
        .decrypt(&mut data, DecryptionContext::Iv128(FixedLength::from(iv)))
        .map_err(|_| Error::WrongPassword)?
        .len();
    data.truncate(len);
    Ok(data)
}

/// `EVP_BytesToKey(MD5, salt, password, count = 1)`: D_i = MD5(D_{i-1} || password || salt).
fn bytes_to_key(password: &[u8], salt: &[u8], len: usize) -> Zeroizing<Vec<u8>> {
    let mut out = Zeroizing::new(Vec::with_capacity(len + 16));
    let mut prev: Vec<u8> = Vec::new();
    while out.len() < len {
        let mut h = Md5::new();
        h.update(&prev);
        h.update(password);
        h.update(salt);
        prev = h.finalize().to_vec();
        out.extend_from_slice(&prev);
    }
    out.truncate(len);
    out
}

fn hex16(s: &str) -> Option<[u8; 16]> {
    if s.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_to_key_matches_openssl() {
        // The value `openssl enc -aes-128-cbc -P -pass pass:password -S 0102030405060708 -md md5`
        // prints as key=.
        let key = bytes_to_key(b"password", &[1, 2, 3, 4, 5, 6, 7, 8], 16);
        assert_eq!(crate::key::hex(&key), OPENSSL_KEY);
    }

    const OPENSSL_KEY: &str = "e7b0971e52ca5cc8d0539fb3412f6316";
}
