//! Renewal tokens: how a certificate renews without mTLS, in particular after it expired
//! (step-ca's `x5cInsecure` flow, smallstep/certificates `authority/authorize.go`
//! `AuthorizeRenewToken`; smallstep/cli `command/ca/renew.go` with `--mtls=false`).
//!
//! The token is a JWT signed by the certificate's own key, carrying the certificate chain in
//! the `x5cInsecure` header (standard base64 DER, leaf first); `sub` is the certificate's
//! common name, `aud` the CA's `/renew` URL, and `jti` makes it one-time. "Insecure" because
//! the chain is not validated as of now (it may be expired): the CA checks it chains to its
//! own intermediate and whether the provisioner allows renewal after expiry.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    RSA_PKCS1_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use serde_json::{Value, json};
use time::{Duration, OffsetDateTime};
use vouch_model::Jwk;

use super::verify::{check_audience, check_signature, check_times, required_str};
use super::{Parsed, malformed, parse};
use crate::{Error, TokenContext};

/// The `x5cInsecure` chain of a token, leaf first (DER), NOT verified.
pub fn peek_x5c_insecure(token: &str) -> Result<Vec<Vec<u8>>, Error> {
    chain(&parse(token)?)
}

fn chain(parsed: &Parsed<'_>) -> Result<Vec<Vec<u8>>, Error> {
    let Some(Value::Array(items)) = parsed.header.get("x5cInsecure") else {
        return Err(malformed("renew token without an 'x5cInsecure' header"));
    };
    let certs = items
        .iter()
        .map(|v| v.as_str().and_then(|s| STANDARD.decode(s).ok()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| malformed("'x5cInsecure' is not a list of base64 certificates"))?;
    if certs.is_empty() || certs.len() > 8 {
        return Err(malformed("'x5cInsecure' must hold 1 to 8 certificates"));
    }
    Ok(certs)
}

/// The verified claims of a renewal token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenewTokenClaims {
    /// The `x5cInsecure` chain, leaf first.
    pub chain: Vec<Vec<u8>>,
    /// `sub`.
    pub subject: String,
    /// `jti`, to burn in the replay table.
    pub jti: String,
    /// `exp`.
    pub expires_at: OffsetDateTime,
}

/// Verify a renewal token with `leaf_key`, the public key of its `x5cInsecure` leaf (as a
/// JWK): signature, audience (`ctx.audiences`, ports ignored), time claims, `jti` and `sub`.
pub fn verify_renew_token(
    token: &str,
    leaf_key: &Jwk,
    ctx: &TokenContext<'_>,
) -> Result<RenewTokenClaims, Error> {
    let parsed = parse(token)?;
    let certs = chain(&parsed)?;
    check_signature(&parsed, leaf_key)?;
    let claims = &parsed.claims;
    check_audience(claims, ctx)?;
    let (expires_at, _, _) = check_times(claims, ctx)?;
    let jti = required_str(claims, "jti")?;
    let subject = required_str(claims, "sub")?;
    Ok(RenewTokenClaims {
        chain: certs,
        subject: subject.to_owned(),
        jti: jti.to_owned(),
        expires_at,
    })
}

/// The private key a client signs its renewal token with, as PKCS#8 DER plus its JOSE `alg`
/// (`ES256`, `ES384`, `EdDSA` or `RS256`).
#[derive(Debug, Clone, Copy)]
pub struct RenewKey<'a> {
    /// PKCS#8 DER of the certificate's private key.
    pub pkcs8: &'a [u8],
    /// The JOSE algorithm for that key.
    pub alg: &'a str,
}

/// Mint a renewal token for the certificate `chain` (leaf first, DER), signed by its key.
pub fn sign_renew_token(
    key: RenewKey<'_>,
    chain: &[Vec<u8>],
    subject: &str,
    audience: &str,
    now: OffsetDateTime,
) -> Result<String, Error> {
    let x5c: Vec<String> = chain.iter().map(|c| STANDARD.encode(c)).collect();
    let header = json!({"alg": key.alg, "typ": "JWT", "x5cInsecure": x5c});
    let mut id = [0u8; 32];
    aws_lc_rs::rand::SecureRandom::fill(&SystemRandom::new(), &mut id)
        .map_err(|_| Error::Internal("random number generator failed".into()))?;
    let claims = json!({
        "aud": audience,
        "exp": (now + Duration::minutes(5)).unix_timestamp(),
        "iat": now.unix_timestamp(),
        "iss": "step-ca-client/1.0",
        "jti": id.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        "nbf": now.unix_timestamp(),
        "sub": subject,
    });
    let input = format!(
        "{}.{}",
        B64.encode(header.to_string()),
        B64.encode(claims.to_string())
    );
    let bad = |_| Error::TokenRequest("the certificate key cannot sign this algorithm".into());
    let rng = SystemRandom::new();
    let signature: Vec<u8> = match key.alg {
        "ES256" => EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, key.pkcs8)
            .map_err(|_| Error::TokenRequest("not a P-256 key".into()))?
            .sign(&rng, input.as_bytes())
            .map_err(bad)?
            .as_ref()
            .to_vec(),
        "ES384" => EcdsaKeyPair::from_pkcs8(&ECDSA_P384_SHA384_FIXED_SIGNING, key.pkcs8)
            .map_err(|_| Error::TokenRequest("not a P-384 key".into()))?
            .sign(&rng, input.as_bytes())
            .map_err(bad)?
            .as_ref()
            .to_vec(),
        "EdDSA" => Ed25519KeyPair::from_pkcs8_maybe_unchecked(key.pkcs8)
            .map_err(|_| Error::TokenRequest("not an Ed25519 key".into()))?
            .sign(input.as_bytes())
            .as_ref()
            .to_vec(),
        "RS256" => {
            let kp = RsaKeyPair::from_pkcs8(key.pkcs8)
                .map_err(|_| Error::TokenRequest("not an RSA key".into()))?;
            let mut sig = vec![0u8; kp.public_modulus_len()];
            kp.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig)
                .map_err(bad)?;
            sig
        }
        other => {
            return Err(Error::TokenRequest(format!(
                "unsupported algorithm {other}"
            )));
        }
    };
    Ok(format!("{input}.{}", B64.encode(signature)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ProvisionerKey;

    #[test]
    fn mint_and_verify_with_the_leaf_key() {
        // A P-256 key stands in for a certificate key; its public JWK is what the server
        // derives from the x5cInsecure leaf.
        let key = ProvisionerKey::generate().unwrap();
        let pkcs8 = key.pkcs8_der_for_tests();
        let now = time::macros::datetime!(2030-01-01 00:00 UTC);
        let chain = vec![vec![0x30, 0x03, 0x02, 0x01, 0x01]];
        let t = sign_renew_token(
            RenewKey {
                pkcs8: &pkcs8,
                alg: "ES256",
            },
            &chain,
            "web",
            "https://ca.test:9443/1.0/renew",
            now,
        )
        .unwrap();
        assert_eq!(peek_x5c_insecure(&t).unwrap(), chain);
        let aud = vec!["https://ca.test/1.0/renew".to_owned()];
        let ctx = TokenContext {
            audiences: &aud,
            now,
            not_before_iat: None,
        };
        let c = verify_renew_token(&t, key.public_jwk(), &ctx).unwrap();
        assert_eq!((c.subject.as_str(), c.chain.len()), ("web", 1));
        // Another key, another audience, later than exp: refused.
        let other = ProvisionerKey::generate().unwrap();
        assert!(matches!(
            verify_renew_token(&t, other.public_jwk(), &ctx),
            Err(Error::TokenSignature)
        ));
        let wrong = vec!["https://ca.test/1.0/sign".to_owned()];
        assert!(matches!(
            verify_renew_token(
                &t,
                key.public_jwk(),
                &TokenContext {
                    audiences: &wrong,
                    now,
                    not_before_iat: None
                }
            ),
            Err(Error::TokenAudience)
        ));
        let late = now + Duration::hours(1);
        assert!(matches!(
            verify_renew_token(
                &t,
                key.public_jwk(),
                &TokenContext {
                    audiences: &aud,
                    now: late,
                    not_before_iat: None
                }
            ),
            Err(Error::TokenExpired)
        ));
        // A JWK provisioner token (no x5cInsecure) is not a renew token.
        assert!(peek_x5c_insecure("eyJhbGciOiJFUzI1NiJ9.e30.AAAA").is_err());
    }
}
