//! Client side: mint a one-time token the way `step ca token` does.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};
use zeroize::{Zeroize, Zeroizing};

use super::{MAX_TOKEN_LIFETIME, MIN_TOKEN_LIFETIME};
use crate::{Error, ProvisionerKey};

/// What to put in a token (`vouch ca token`, tests).
#[derive(Debug, Clone, Copy)]
pub struct TokenRequest<'a> {
    /// `iss`: the provisioner name.
    pub issuer: &'a str,
    /// `aud`: e.g. `https://ca.example.com:9000/1.0/sign`.
    pub audience: &'a str,
    /// `sub`: the common name (or the serial to revoke).
    pub subject: &'a str,
    /// `sans`; empty means `[subject]`, as `step ca token` does.
    pub sans: &'a [String],
    /// `nbf`, and also `iat` (this library reads no clock; pass now for an immediate token).
    pub not_before: OffsetDateTime,
    /// `exp` − `nbf`: 10 s to 1 h, like `step ca token` (its default is 5 min).
    pub lifetime: Duration,
    /// `sha`: the root certificate's SHA-256 fingerprint, hex.
    pub sha: Option<&'a str>,
    /// `cnf.x5rt#S256`: base64url SHA-256 of the CSR DER, binding the token to one CSR.
    pub x5rt_s256: Option<&'a str>,
}

/// The protected header, members in the order Go marshals them (sorted).
#[derive(Serialize)]
struct StepHeader<'a> {
    alg: &'a str,
    kid: &'a str,
    typ: &'a str,
}

/// The claims, members in the order Go marshals the merged claims map (sorted).
#[derive(Serialize)]
struct StepClaims<'a> {
    aud: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    cnf: Option<Confirmation<'a>>,
    exp: i64,
    iat: i64,
    iss: &'a str,
    jti: &'a str,
    nbf: i64,
    sans: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    sha: Option<&'a str>,
    sub: &'a str,
}

#[derive(Serialize)]
struct Confirmation<'a> {
    #[serde(rename = "x5rt#S256")]
    x5rt_s256: &'a str,
}

impl ProvisionerKey {
    /// Mint a one-time token: ES256, header `{alg, kid, typ: "JWT"}`, claims as `step ca token`
    /// makes them (`aud`, `cnf`?, `exp`, `iat`, `iss`, `jti` = 256 random bits in hex, `nbf`,
    /// `sans`, `sha`?, `sub`).
    pub fn sign_token(&self, req: &TokenRequest<'_>) -> Result<String, Error> {
        for (name, value) in [
            ("issuer", req.issuer),
            ("audience", req.audience),
            ("subject", req.subject),
        ] {
            if value.is_empty() {
                return Err(Error::TokenRequest(format!("{name} cannot be empty")));
            }
        }
        if req.lifetime < MIN_TOKEN_LIFETIME || req.lifetime > MAX_TOKEN_LIFETIME {
            return Err(Error::TokenRequest(format!(
                "lifetime must be between {MIN_TOKEN_LIFETIME} and {MAX_TOKEN_LIFETIME}"
            )));
        }
        let expires_at = req
            .not_before
            .checked_add(req.lifetime)
            .ok_or_else(|| Error::TokenRequest("expiry out of range".into()))?;
        let kid = self
            .public_jwk()
            .kid
            .as_deref()
            .ok_or_else(|| Error::Internal("provisioner key without kid".into()))?;

        let mut random = [0u8; 32];
        aws_lc_rs::rand::fill(&mut random)
            .map_err(|_| Error::Internal("random generator failed".into()))?;
        let jti: String = random.iter().map(|b| format!("{b:02x}")).collect();

        let default_sans = [req.subject.to_owned()];
        let claims = StepClaims {
            aud: req.audience,
            cnf: req.x5rt_s256.map(|x5rt_s256| Confirmation { x5rt_s256 }),
            exp: expires_at.unix_timestamp(),
            iat: req.not_before.unix_timestamp(),
            iss: req.issuer,
            jti: &jti,
            nbf: req.not_before.unix_timestamp(),
            sans: if req.sans.is_empty() {
                &default_sans
            } else {
                req.sans
            },
            sha: req.sha,
            sub: req.subject,
        };
        let header = StepHeader {
            alg: "ES256",
            kid,
            typ: "JWT",
        };
        sign_compact(self, &to_json(&header)?, &to_json(&claims)?)
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Vec<u8>, Error> {
    serde_json::to_vec(value).map_err(|e| Error::Internal(e.to_string()))
}

/// `base64url(header) "." base64url(claims) "." base64url(ES256 signature)`, byte for byte
/// what is given (tests use it to hand-build tokens).
pub(super) fn sign_compact(
    key: &ProvisionerKey,
    header: &[u8],
    claims: &[u8],
) -> Result<String, Error> {
    let signing_input = format!("{}.{}", B64.encode(header), B64.encode(claims));
    let signature = jsonwebtoken::crypto::sign(
        signing_input.as_bytes(),
        &encoding_key(key)?,
        Algorithm::ES256,
    )
    .map_err(|_| Error::Internal("token signing failed".into()))?;
    Ok(format!("{signing_input}.{signature}"))
}

/// The members of the private JWK needed to rebuild the key pair.
#[derive(Deserialize)]
struct PrivateParts {
    x: String,
    y: String,
    d: String,
}

impl Drop for PrivateParts {
    fn drop(&mut self) {
        self.d.zeroize();
    }
}

/// PKCS#8 for `jsonwebtoken`, rebuilt from the private JWK (the only export
/// `ProvisionerKey` offers).
fn encoding_key(key: &ProvisionerKey) -> Result<EncodingKey, Error> {
    let json = key.private_jwk_json()?;
    let parts: PrivateParts = serde_json::from_str(&json)
        .map_err(|_| Error::Internal("private JWK does not parse".into()))?;
    let decode = |s: &str| {
        B64.decode(s)
            .map(Zeroizing::new)
            .map_err(|_| Error::Internal("private JWK member is not base64url".into()))
    };
    let d = decode(&parts.d)?;
    let mut point = vec![4u8];
    point.extend_from_slice(&decode(&parts.x)?);
    point.extend_from_slice(&decode(&parts.y)?);
    let pair =
        EcdsaKeyPair::from_private_key_and_public_key(&ECDSA_P256_SHA256_FIXED_SIGNING, &d, &point)
            .map_err(|_| Error::Internal("private JWK does not load".into()))?;
    let pkcs8 = pair
        .to_pkcs8v1()
        .map_err(|_| Error::Internal("PKCS#8 export failed".into()))?;
    Ok(EncodingKey::from_ec_der(pkcs8.as_ref()))
}
