//! One-time tokens (OTT) of JWK provisioners: verification on the CA, minting in the client.
//!
//! Design. A JWK provisioner authorises a request with a short-lived JWT signed by its key,
//! exactly as step-ca and `step ca token` do, so step clients and Vouch clients are
//! interchangeable. The token is a compact JWS; we parse it ourselves (size limit, strict
//! base64url, JSON objects without duplicate members, an explicit algorithm allow-list) and
//! hand only the signature check to `jsonwebtoken` (aws-lc-rs backend), with a
//! [`jsonwebtoken::DecodingKey`] built from the provisioner's public JWK components. Time is a
//! value ([`TokenContext::now`]), never the system clock. The replay check (each `jti` once) is
//! not done here: the caller records `(provisioner, jti, expires_at)` in the database.
//!
//! Behaviour followed from smallstep's sources (behaviour copied, not code):
//! - `certificates/authority/provisioner/jwk.go` (`authorizeToken`, `jwtPayload`): the signature
//!   is checked with the provisioner key, then `iss` = provisioner name, time claims with a
//!   one-minute leeway, audience, and a non-empty `sub`; the claim names `sans`, `step`,
//!   `cnf` with `x5rt#S256`.
//! - `certificates/authority/provisioner/collection.go` (`matchesAudience`, `stripPort`,
//!   `LoadByToken`): an audience matches when equal or equal after removing the port from
//!   both URLs; JWK provisioners are found by `iss` + header `kid` (what [`peek_token`] gives).
//! - `certificates/authority/config/config.go` (`GetAudiences`): audiences are configured
//!   without ports (`https://<dnsName>/1.0/sign`, `https://<dnsName>/sign`, ...).
//! - `certificates/authority/authorize.go`: a token whose `iat` is before the CA started is
//!   refused (we allow the leeway there too).
//! - `certificates/authority/provisioner/sign_options.go` (`csrFingerprintValidator`):
//!   `cnf.x5rt#S256` is the base64url (unpadded) SHA-256 of the CSR DER; the caller compares.
//! - go-jose's `Claims.ValidateWithLeeway` as step uses it: `nbf` and `iat` must not be in the
//!   future and `exp` not past, each beyond the leeway.
//! - `cli/token/token.go`, `cli/token/options.go`, `cli/token/provision/provision.go`,
//!   `cli/utils/cautils/token_generator.go`, `cli/command/ca/token.go`: how `step ca token`
//!   builds a token: header `{"alg","kid","typ":"JWT"}`; claims `aud` (a single string),
//!   `exp`, `iat`, `iss`, `jti` (256 random bits, hex), `nbf`, `sans` (`[sub]` when empty),
//!   `sha` (root fingerprint), `sub`, optional `cnf`; members in sorted order (Go marshals
//!   maps sorted); lifetime between 10 s and 1 h (5 min by default).
//!
//! Stricter than step-ca: `exp` and `jti` are required, the lifetime is capped at one hour on
//! the server too, HMAC and `none` are refused by name before any key is built, and the
//! header `alg` must fit the key type (and the JWK's own `alg` when it has one).

mod mint;
mod renew;
mod verify;

#[cfg(test)]
mod tests;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::de::{Deserializer, Error as _, MapAccess, Visitor};
use serde_json::{Map, Value};
use time::Duration;

use crate::Error;

pub use mint::TokenRequest;
pub use renew::{
    RenewKey, RenewTokenClaims, peek_x5c_insecure, sign_renew_token, verify_renew_token,
};
pub use verify::{JwkTokenClaims, TokenContext, TokenPeek, peek_token, verify_jwk_token};

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Clock skew allowed on every time check (step-ca: one minute).
pub const TOKEN_LEEWAY: Duration = Duration::seconds(60);

/// The longest a token may be valid (`exp` − `nbf`, plus [`TOKEN_LEEWAY`] on the server).
pub const MAX_TOKEN_LIFETIME: Duration = Duration::hours(1);

/// The shortest lifetime `step ca token` (and [`crate::ProvisionerKey::sign_token`]) mint.
const MIN_TOKEN_LIFETIME: Duration = Duration::seconds(10);

fn malformed(what: &str) -> Error {
    Error::TokenMalformed(what.to_owned())
}

/// A compact JWS taken apart, nothing verified yet.
struct Parsed<'a> {
    header: Map<String, Value>,
    claims: Map<String, Value>,
    /// `base64url(header) "." base64url(claims)`, what the signature covers.
    signing_input: &'a str,
    /// The third part, base64url (checked to decode).
    signature: &'a str,
}

fn parse(token: &str) -> Result<Parsed<'_>, Error> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Error::TokenTooLarge {
            max: MAX_TOKEN_BYTES,
        });
    }
    let mut parts = token.split('.');
    let (Some(header), Some(claims), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed("a compact JWS has three parts"));
    };
    let header = json_object("header", header)?;
    let claims = json_object("claims", claims)?;
    B64.decode(signature)
        .map_err(|_| malformed("signature is not base64url"))?;
    let signing_input = token
        .rsplit_once('.')
        .map(|(input, _)| input)
        .ok_or_else(|| malformed("a compact JWS has three parts"))?;
    Ok(Parsed {
        header,
        claims,
        signing_input,
        signature,
    })
}

fn json_object(what: &str, part: &str) -> Result<Map<String, Value>, Error> {
    let bytes = B64
        .decode(part)
        .map_err(|_| Error::TokenMalformed(format!("{what} is not base64url")))?;
    serde_json::from_slice::<UniqueObject>(&bytes)
        .map(|o| o.0)
        .map_err(|_| {
            Error::TokenMalformed(format!(
                "{what} is not a JSON object with unique member names"
            ))
        })
}

/// A JSON object whose top-level member names are unique: a duplicate `alg`, `iss` or `aud`
/// could be read one way by us and another way by a different parser, so it is refused.
pub(crate) struct UniqueObject(pub(crate) Map<String, Value>);

impl<'de> serde::Deserialize<'de> for UniqueObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ObjectVisitor;
        impl<'de> Visitor<'de> for ObjectVisitor {
            type Value = UniqueObject;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<UniqueObject, A::Error> {
                let mut map = Map::new();
                while let Some((name, value)) = access.next_entry::<String, Value>()? {
                    if map.contains_key(&name) {
                        return Err(A::Error::custom("duplicate member"));
                    }
                    map.insert(name, value);
                }
                Ok(UniqueObject(map))
            }
        }
        deserializer.deserialize_map(ObjectVisitor)
    }
}

/// An optional string member; present with another type is malformed.
fn opt_str<'a>(map: &'a Map<String, Value>, name: &str) -> Result<Option<&'a str>, Error> {
    match map.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(Error::TokenMalformed(format!("'{name}' is not a string"))),
    }
}

/// `aud`: a string or an array of strings (RFC 7519 §4.1.3).
fn audiences(claims: &Map<String, Value>) -> Result<Vec<String>, Error> {
    match claims.get("aud") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.clone()),
                _ => Err(malformed("'aud' is not a string or an array of strings")),
            })
            .collect(),
        Some(_) => Err(malformed("'aud' is not a string or an array of strings")),
    }
}
