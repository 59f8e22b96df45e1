//! PKCS#8 `EncryptedPrivateKeyInfo` with PBES2 (RFC 8018), the format of
//! `openssl genpkey -aes256` and `openssl pkcs8 -topk8 -v2 aes256`.
//!
//! The ASN.1 structures come from the `pkcs8`/`pkcs5` crates; PBKDF2 and AES-CBC come from
//! aws-lc-rs. We write PBKDF2-HMAC-SHA256 (600,000 iterations, OWASP's figure) with
//! AES-256-CBC, and read any PBKDF2 PRF from SHA-1 to SHA-512 with AES-128/192/256-CBC.

use std::num::NonZeroU32;

use aws_lc_rs::cipher::{
    AES_128, AES_192, AES_256, DecryptionContext, EncryptionContext, PaddedBlockDecryptingKey,
    PaddedBlockEncryptingKey, UnboundCipherKey,
};
use aws_lc_rs::iv::FixedLength;
use aws_lc_rs::pbkdf2;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use pkcs8::EncryptedPrivateKeyInfoRef;
use pkcs8::der::asn1::OctetString;
use pkcs8::der::{Decode, Encode};
use pkcs8::pkcs5::pbes2::{self, Kdf, Pbkdf2Params, Pbkdf2Prf};
use zeroize::Zeroizing;

use crate::Error;

/// PBKDF2 iterations for keys Vouch writes.
pub(crate) const ITERATIONS: u32 = 600_000;
/// Refuse absurd iteration counts in files we read (a denial of service otherwise).
const MAX_ITERATIONS: u32 = 10_000_000;

/// Whether `der` parses as an `EncryptedPrivateKeyInfo`.
pub(crate) fn is_encrypted_pkcs8(der: &[u8]) -> bool {
    EncryptedPrivateKeyInfoRef::from_der(der).is_ok()
}

/// Encrypt a PKCS#8 `PrivateKeyInfo` under a password.
pub(crate) fn encrypt(plain_der: &[u8], password: &[u8]) -> Result<Vec<u8>, Error> {
    let rng = SystemRandom::new();
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    rng.fill(&mut salt)
        .and_then(|()| rng.fill(&mut iv))
        .map_err(|_| Error::internal("random number generator failed"))?;
    let iterations = NonZeroU32::new(ITERATIONS).ok_or_else(|| Error::internal("iterations"))?;
    let mut key = Zeroizing::new([0u8; 32]);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        iterations,
        &salt,
        password,
        key.as_mut(),
    );
    let cipher = UnboundCipherKey::new(&AES_256, key.as_ref())
        .and_then(PaddedBlockEncryptingKey::cbc_pkcs7)
        .map_err(|_| Error::internal("AES key setup failed"))?;
    let mut data = plain_der.to_vec();
    cipher
        .less_safe_encrypt(&mut data, EncryptionContext::Iv128(FixedLength::from(iv)))
        .map_err(|_| Error::internal("AES-CBC encryption failed"))?;

    let params = pbes2::Parameters {
        kdf: Kdf::Pbkdf2(Pbkdf2Params::hmac_sha256(ITERATIONS, &salt).map_err(Error::internal)?),
        encryption: pbes2::EncryptionScheme::Aes256Cbc { iv },
    };
    let info = pkcs8::EncryptedPrivateKeyInfoOwned {
        encryption_algorithm: pkcs8::pkcs5::EncryptionScheme::Pbes2(params),
        encrypted_data: OctetString::new(data).map_err(Error::internal)?,
    };
    info.to_der().map_err(Error::internal)
}

/// Decrypt an `EncryptedPrivateKeyInfo`; the result is a PKCS#8 `PrivateKeyInfo`.
pub(crate) fn decrypt(der: &[u8], password: &[u8]) -> Result<Zeroizing<Vec<u8>>, Error> {
    let info = EncryptedPrivateKeyInfoRef::from_der(der)
        .map_err(|e| Error::KeyFormat(format!("bad encrypted PKCS#8 structure ({e})")))?;
    let Some(params) = info.encryption_algorithm.pbes2() else {
        return Err(Error::UnsupportedKey(
            "PBES1 encryption is obsolete; re-encrypt with 'openssl pkcs8 -topk8 -v2 aes256'"
                .into(),
        ));
    };
    let Kdf::Pbkdf2(kdf) = &params.kdf else {
        return Err(Error::UnsupportedKey(
            "scrypt-encrypted keys are not supported; use PBKDF2 ('openssl pkcs8 -topk8 -v2 aes256')"
                .into(),
        ));
    };
    let prf = match kdf.prf {
        Pbkdf2Prf::HmacWithSha1 => pbkdf2::PBKDF2_HMAC_SHA1,
        Pbkdf2Prf::HmacWithSha256 => pbkdf2::PBKDF2_HMAC_SHA256,
        Pbkdf2Prf::HmacWithSha384 => pbkdf2::PBKDF2_HMAC_SHA384,
        Pbkdf2Prf::HmacWithSha512 => pbkdf2::PBKDF2_HMAC_SHA512,
        _ => {
            return Err(Error::UnsupportedKey(
                "PBKDF2 with an unsupported PRF".into(),
            ));
        }
    };
    let (alg, key_len, iv) = match params.encryption {
        pbes2::EncryptionScheme::Aes128Cbc { iv } => (&AES_128, 16, iv),
        pbes2::EncryptionScheme::Aes192Cbc { iv } => (&AES_192, 24, iv),
        pbes2::EncryptionScheme::Aes256Cbc { iv } => (&AES_256, 32, iv),
        _ => {
            return Err(Error::UnsupportedKey(
                "only AES-CBC encrypted PKCS#8 keys are supported".into(),
            ));
        }
    };
    if kdf.iteration_count > MAX_ITERATIONS {
        return Err(Error::UnsupportedKey(format!(
            "PBKDF2 iteration count {} is above the limit {MAX_ITERATIONS}",
            kdf.iteration_count
        )));
    }
    let iterations = NonZeroU32::new(kdf.iteration_count)
        .ok_or_else(|| Error::KeyFormat("zero PBKDF2 iterations".into()))?;
    if let Some(len) = kdf.key_length
        && usize::from(len) != key_len
    {
        return Err(Error::KeyFormat(
            "PBKDF2 key length does not match the cipher".into(),
        ));
    }
    let mut key = Zeroizing::new(vec![0u8; key_len]);
    pbkdf2::derive(prf, iterations, kdf.salt.as_ref(), password, key.as_mut());
    let cipher = UnboundCipherKey::new(alg, key.as_ref())
        .and_then(PaddedBlockDecryptingKey::cbc_pkcs7)
        .map_err(|_| Error::internal("AES key setup failed"))?;
    let mut data = Zeroizing::new(info.encrypted_data.as_bytes().to_vec());
    let plain_len = cipher
        .decrypt(&mut data, DecryptionContext::Iv128(FixedLength::from(iv)))
        .map_err(|_| Error::WrongPassword)?
        .len();
    data.truncate(plain_len);
    // A wrong password passes the padding check about 1 time in 256: the result must still
    // parse as a PrivateKeyInfo, which the caller checks.
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_wrong_password() {
        let plain = b"0123456789 some private key bytes".to_vec();
        let enc = encrypt(&plain, b"hunter2").unwrap();
        assert!(is_encrypted_pkcs8(&enc));
        assert_eq!(
            decrypt(&enc, b"hunter2").unwrap().as_slice(),
            plain.as_slice()
        );
        // A wrong password either fails the padding check or yields different bytes.
        match decrypt(&enc, b"wrong") {
            Err(Error::WrongPassword) => {}
            Ok(other) => assert_ne!(other.as_slice(), plain.as_slice()),
            Err(e) => panic!("unexpected {e}"),
        }
    }
}
