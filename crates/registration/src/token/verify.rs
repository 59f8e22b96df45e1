//! Server side: peek at a token to find its provisioner, then verify it against that provisioner.

use std::borrow::Cow;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use time::OffsetDateTime;
use vouch_model::{Jwk, JwkProvisioner};

use super::{MAX_TOKEN_LIFETIME, Parsed, TOKEN_LEEWAY, audiences, malformed, opt_str, parse};
use crate::{Error, thumbprint};

/// What a verification is checked against: the CA's audiences for the operation and the time.
#[derive(Debug, Clone, Copy)]
pub struct TokenContext<'a> {
    /// Accepted audience URLs, without port, e.g. `https://ca.example.com/1.0/sign` and
    /// `https://ca.example.com/sign` (step-ca's `GetAudiences`).
    pub audiences: &'a [String],
    /// The current time (from the injected clock).
    pub now: OffsetDateTime,
    /// Refuse tokens whose `iat` is before this (the CA's start); `None` disables the check.
    pub not_before_iat: Option<OffsetDateTime>,
}

/// The claims of a verified JWK provisioner token.
#[derive(Debug, Clone, PartialEq)]
pub struct JwkTokenClaims {
    /// `iss`: the provisioner name.
    pub issuer: String,
    /// `sub`: the common name (or the serial, for revocation). Never empty.
    pub subject: String,
    /// `sans` as in the token; empty when absent (step-ca then uses `[sub]`).
    pub sans: Vec<String>,
    /// `jti`: the one-time ID to record against replay. Never empty.
    pub jti: String,
    /// `exp`: keep the replay record at least until then.
    pub expires_at: OffsetDateTime,
    /// `nbf`, when present.
    pub not_before: Option<OffsetDateTime>,
    /// `iat`, when present.
    pub issued_at: Option<OffsetDateTime>,
    /// `sha`: the root fingerprint the client pinned (informational for the server).
    pub sha: Option<String>,
    /// `cnf.x5rt#S256`: base64url SHA-256 of the one CSR this token may be used with.
    pub cnf_x5rt_s256: Option<String>,
    /// The whole claims object, for templates.
    pub raw: Value,
}

/// Unverified facts about a token, enough to find its provisioner. Trust none of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPeek {
    /// Header `alg`.
    pub alg: String,
    /// Header `kid`, when present.
    pub kid: Option<String>,
    /// Claim `iss`, when present.
    pub issuer: Option<String>,
    /// Claim `aud` as a list (empty when absent).
    pub audience: Vec<String>,
}

/// Read a token's header and routing claims WITHOUT verifying anything.
///
/// step-ca finds a JWK provisioner by `iss` + `":"` + header `kid` (`collection.go`
/// `LoadByToken`); verify with [`verify_jwk_token`] before trusting anything.
pub fn peek_token(token: &str) -> Result<TokenPeek, Error> {
    let parsed = parse(token)?;
    let alg = opt_str(&parsed.header, "alg")?.ok_or_else(|| malformed("header without 'alg'"))?;
    Ok(TokenPeek {
        alg: alg.to_owned(),
        kid: opt_str(&parsed.header, "kid")?.map(str::to_owned),
        issuer: opt_str(&parsed.claims, "iss")?.map(str::to_owned),
        audience: audiences(&parsed.claims)?,
    })
}

/// Verify a JWK provisioner's one-time token and return its claims.
///
/// Checks, in order: size, shape, `alg` allow-list (ES256, ES384, EdDSA, RS256, PS256; `none`
/// and HMAC refused), `alg` fits the key, `kid` (when present) is the key's, the signature,
/// `iss`, `aud` (ports ignored), `exp`/`nbf`/`iat` against `ctx.now` with a one-minute leeway,
/// lifetime at most one hour, `iat` not before `ctx.not_before_iat`, `jti` and `sub` present.
/// Each failure is its own [`Error`] variant of kind `Unauthorized`. Replay (each `jti` once)
/// is the caller's job.
pub fn verify_jwk_token(
    provisioner: &JwkProvisioner,
    token: &str,
    ctx: &TokenContext<'_>,
) -> Result<JwkTokenClaims, Error> {
    let parsed = parse(token)?;
    check_signature(&parsed, &provisioner.key)?;

    // Claims, now authenticated.
    let claims = &parsed.claims;
    let issuer = opt_str(claims, "iss")?.ok_or(Error::TokenMissingClaim("iss"))?;
    if issuer != provisioner.name {
        return Err(Error::TokenIssuer);
    }
    check_audience(claims, ctx)?;
    let (expires_at, not_before, issued_at) = check_times(claims, ctx)?;
    let jti = required_str(claims, "jti")?;
    let subject = required_str(claims, "sub")?;
    let sans = match claims.get("sans") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| malformed("'sans' is not an array of strings"))?,
        Some(_) => return Err(malformed("'sans' is not an array of strings")),
    };
    let sha = opt_str(claims, "sha")?.map(str::to_owned);
    let cnf_x5rt_s256 = match claims.get("cnf") {
        None | Some(Value::Null) => None,
        Some(Value::Object(cnf)) => opt_str(cnf, "x5rt#S256")?.map(str::to_owned),
        Some(_) => return Err(malformed("'cnf' is not an object")),
    };

    let (issuer, subject, jti) = (issuer.to_owned(), subject.to_owned(), jti.to_owned());
    Ok(JwkTokenClaims {
        issuer,
        subject,
        sans,
        jti,
        expires_at,
        not_before,
        issued_at,
        sha,
        cnf_x5rt_s256,
        raw: Value::Object(parsed.claims),
    })
}

/// Check the header (`alg` allowed and fitting `key`, no `crit`, `kid` when present) and the
/// signature of `parsed` with `key`.
pub(super) fn check_signature(parsed: &Parsed<'_>, key_jwk: &Jwk) -> Result<(), Error> {
    // Header: the algorithm first, by name, before any key is built.
    let alg_name =
        opt_str(&parsed.header, "alg")?.ok_or_else(|| malformed("header without 'alg'"))?;
    let alg = accepted_algorithm(alg_name)?;
    if parsed.header.contains_key("crit") {
        return Err(malformed("critical header parameters are not supported"));
    }
    let key = VerifyKey::from_jwk(key_jwk)?;
    let fits_jwk_alg = match key_jwk.alg.as_deref() {
        None | Some("") => true,
        Some(jwk_alg) => jwk_alg == alg_name,
    };
    if !key.algorithms.contains(&alg) || !fits_jwk_alg {
        return Err(Error::TokenAlgorithmMismatch {
            alg: alg_name.to_owned(),
            key: key.label.to_owned(),
        });
    }
    if let Some(kid) = opt_str(&parsed.header, "kid")? {
        let expected = match &key_jwk.kid {
            Some(kid) => Cow::Borrowed(kid.as_str()),
            None => Cow::Owned(thumbprint(key_jwk)?),
        };
        if kid != expected {
            return Err(Error::TokenKeyId);
        }
    }
    // `parse` already checked that the signature is base64url, so an error here is ours.
    let valid = jsonwebtoken::crypto::verify(
        parsed.signature,
        parsed.signing_input.as_bytes(),
        &key.key,
        alg,
    )
    .map_err(|_| Error::Internal("token signature verification could not run".into()))?;
    if !valid {
        return Err(Error::TokenSignature);
    }

    Ok(())
}

/// `aud` present and one of `ctx.audiences` (ports ignored).
pub(super) fn check_audience(
    claims: &Map<String, Value>,
    ctx: &TokenContext<'_>,
) -> Result<(), Error> {
    let token_audiences = audiences(claims)?;
    if token_audiences.is_empty() {
        return Err(Error::TokenMissingClaim("aud"));
    }
    if !matches_audience(&token_audiences, ctx.audiences) {
        return Err(Error::TokenAudience);
    }
    Ok(())
}

/// A claim that must be a non-empty string.
pub(super) fn required_str<'a>(
    claims: &'a Map<String, Value>,
    name: &'static str,
) -> Result<&'a str, Error> {
    opt_str(claims, name)?
        .filter(|s| !s.is_empty())
        .ok_or(Error::TokenMissingClaim(name))
}

/// The registered time claims, checked against `ctx` with the leeway: `exp` required and not
/// past, `nbf`/`iat` not in the future, lifetime at most an hour, `iat` not before the start.
pub(super) fn check_times(
    claims: &Map<String, Value>,
    ctx: &TokenContext<'_>,
) -> Result<
    (
        OffsetDateTime,
        Option<OffsetDateTime>,
        Option<OffsetDateTime>,
    ),
    Error,
> {
    let expires_at = numeric_date(claims, "exp")?.ok_or(Error::TokenMissingClaim("exp"))?;
    let not_before = numeric_date(claims, "nbf")?;
    let issued_at = numeric_date(claims, "iat")?;
    if ctx.now - TOKEN_LEEWAY > expires_at {
        return Err(Error::TokenExpired);
    }
    if not_before.is_some_and(|nbf| ctx.now + TOKEN_LEEWAY < nbf) {
        return Err(Error::TokenNotYetValid);
    }
    if issued_at.is_some_and(|iat| ctx.now + TOKEN_LEEWAY < iat) {
        return Err(Error::TokenIssuedInFuture);
    }
    // Measured from nbf, else iat, else now: a token without either still cannot live long.
    let starts_at = not_before.or(issued_at).unwrap_or(ctx.now);
    let lifetime = expires_at - starts_at;
    if lifetime.is_negative() || lifetime > MAX_TOKEN_LIFETIME + TOKEN_LEEWAY {
        return Err(Error::TokenLifetime);
    }
    if let (Some(started), Some(iat)) = (ctx.not_before_iat, issued_at)
        && iat < started - TOKEN_LEEWAY
    {
        return Err(Error::TokenIssuedBeforeStart);
    }

    Ok((expires_at, not_before, issued_at))
}

/// The allow-list. Everything else is refused by name; in particular `none` and the HMAC
/// algorithms, whose "secret" an attacker would pick as the provisioner's public key.
fn accepted_algorithm(alg: &str) -> Result<Algorithm, Error> {
    match alg {
        "ES256" => Ok(Algorithm::ES256),
        "ES384" => Ok(Algorithm::ES384),
        "EdDSA" => Ok(Algorithm::EdDSA),
        "RS256" => Ok(Algorithm::RS256),
        "PS256" => Ok(Algorithm::PS256),
        other => Err(Error::TokenAlgorithmForbidden(printable_alg(other))),
    }
}

/// The `alg` for an error message: a known JWA name as is, anything else not echoed.
fn printable_alg(alg: &str) -> String {
    const KNOWN: &[&str] = &[
        "none", "HS256", "HS384", "HS512", "RS384", "RS512", "PS384", "PS512", "ES512", "ES256K",
        "Ed25519", "Ed448",
    ];
    if KNOWN.iter().any(|k| k.eq_ignore_ascii_case(alg)) {
        format!("'{alg}'")
    } else {
        "(unrecognised)".to_owned()
    }
}

/// A provisioner's public key ready for `jsonwebtoken`, with the algorithms it may verify.
struct VerifyKey {
    key: DecodingKey,
    algorithms: &'static [Algorithm],
    label: &'static str,
}

impl VerifyKey {
    fn from_jwk(jwk: &Jwk) -> Result<Self, Error> {
        let member = |name: &str, value: &Option<String>| -> Result<Vec<u8>, Error> {
            let text = value.as_deref().ok_or_else(|| {
                Error::ProvisionerKey(format!("{} key without '{name}'", jwk.kty))
            })?;
            B64.decode(text)
                .map_err(|_| Error::ProvisionerKey(format!("'{name}' is not base64url")))
        };
        let sized = |name: &str, value: &Option<String>, len: usize| -> Result<(), Error> {
            if member(name, value)?.len() == len {
                Ok(())
            } else {
                Err(Error::ProvisionerKey(format!(
                    "'{name}' is not {len} bytes long"
                )))
            }
        };
        let component = |r: jsonwebtoken::errors::Result<DecodingKey>| {
            r.map_err(|_| Error::ProvisionerKey("key components rejected".into()))
        };
        match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("EC", Some(crv @ ("P-256" | "P-384"))) => {
                let (len, algorithms, label): (usize, &'static [Algorithm], _) = if crv == "P-256" {
                    (32, &[Algorithm::ES256], "EC P-256")
                } else {
                    (48, &[Algorithm::ES384], "EC P-384")
                };
                sized("x", &jwk.x, len)?;
                sized("y", &jwk.y, len)?;
                let (x, y) = (jwk.x.as_deref(), jwk.y.as_deref());
                let key = component(DecodingKey::from_ec_components(
                    x.unwrap_or_default(),
                    y.unwrap_or_default(),
                ))?;
                Ok(VerifyKey {
                    key,
                    algorithms,
                    label,
                })
            }
            ("OKP", Some("Ed25519")) => {
                sized("x", &jwk.x, 32)?;
                let key = component(DecodingKey::from_ed_components(
                    jwk.x.as_deref().unwrap_or_default(),
                ))?;
                Ok(VerifyKey {
                    key,
                    algorithms: &[Algorithm::EdDSA],
                    label: "OKP Ed25519",
                })
            }
            ("RSA", _) => {
                let n = member("n", &jwk.n)?;
                member("e", &jwk.e)?;
                let significant = n.iter().skip_while(|b| **b == 0).count();
                if significant < 256 {
                    return Err(Error::ProvisionerKey(
                        "RSA keys shorter than 2048 bits are not accepted".into(),
                    ));
                }
                let key = component(DecodingKey::from_rsa_components(
                    jwk.n.as_deref().unwrap_or_default(),
                    jwk.e.as_deref().unwrap_or_default(),
                ))?;
                Ok(VerifyKey {
                    key,
                    algorithms: &[Algorithm::RS256, Algorithm::PS256],
                    label: "RSA",
                })
            }
            (kty, crv) => Err(Error::ProvisionerKey(format!(
                "{kty} {} keys are not supported",
                crv.unwrap_or("(no curve)")
            ))),
        }
    }
}

/// A NumericDate claim: seconds since the epoch, integer or not (RFC 7519 §2).
fn numeric_date(claims: &Map<String, Value>, name: &str) -> Result<Option<OffsetDateTime>, Error> {
    let bad = || Error::TokenMalformed(format!("'{name}' is not a valid NumericDate"));
    let seconds = match claims.get(name) {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Number(n)) => match n.as_i64() {
            Some(s) => s,
            None => {
                let f = n.as_f64().ok_or_else(bad)?;
                // Far outside `time`'s range either way; keeps the cast below exact.
                if !f.is_finite() || f.abs() > 1e15 {
                    return Err(bad());
                }
                #[allow(
                    clippy::cast_possible_truncation,
                    reason = "range checked above; dropping the fraction of a second is intended"
                )]
                let s = f.trunc() as i64;
                s
            }
        },
        Some(_) => return Err(bad()),
    };
    OffsetDateTime::from_unix_timestamp(seconds)
        .map(Some)
        .map_err(|_| bad())
}

/// step-ca's `matchesAudience`: equal, or equal once the port is removed from both URLs.
pub(super) fn matches_audience(token: &[String], accepted: &[String]) -> bool {
    accepted.iter().any(|b| {
        token
            .iter()
            .any(|a| a == b || strip_port(a) == strip_port(b))
    })
}

/// Remove the port from an absolute URL (and lower-case the scheme, as Go's `url.Parse`
/// does). Anything that is not `scheme://authority...` is returned unchanged, as is a URL
/// whose port is not numeric (Go fails to parse it, and step-ca then compares it verbatim).
pub(super) fn strip_port(url: &str) -> Cow<'_, str> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Cow::Borrowed(url);
    };
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, path) = rest.split_at(authority_end);
    let (userinfo, hostport) = match authority.rfind('@') {
        Some(at) => authority.split_at(at + 1),
        None => ("", authority),
    };
    let (host, port) = if hostport.starts_with('[') {
        match hostport.find(']') {
            Some(end) => {
                let (host, after) = hostport.split_at(end + 1);
                match after.strip_prefix(':') {
                    Some(port) => (host, Some(port)),
                    None if after.is_empty() => (host, None),
                    None => return Cow::Borrowed(url),
                }
            }
            None => return Cow::Borrowed(url),
        }
    } else {
        match hostport.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (hostport, None),
        }
    };
    if port.is_some_and(|p| !p.bytes().all(|b| b.is_ascii_digit())) {
        return Cow::Borrowed(url);
    }
    Cow::Owned(format!(
        "{}://{userinfo}{host}{path}",
        scheme.to_ascii_lowercase()
    ))
}
