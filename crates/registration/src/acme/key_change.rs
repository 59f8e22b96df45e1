//! Account key rollover (RFC 8555 §7.3.5).
//!
//! The outer JWS is an ordinary `kid` request signed by the current key (the caller has
//! verified it, its nonce and its url). Its payload is an inner flattened JWS signed by the
//! NEW key, naming it with `jwk`, without `nonce`, with the same `url`, whose payload is
//! `{"account": <account URL>, "oldKey": <current JWK>}`. On success the caller replaces the
//! account key, after checking in the same transaction that no other account has the new key
//! (`409 Conflict` with a Location header, RFC 8555 §7.3.5).

use serde::Deserialize;
use serde_json::{Map, Value};
use vouch_model::Jwk;

use super::jws::{NonceRule, parse_with, public_jwk};
use super::{AcmeError, AcmeJws, KeyRef};
use crate::thumbprint;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct KeyChange {
    account: String,
    old_key: Map<String, Value>,
}

/// Validate a keyChange request whose outer JWS `outer` (already verified with `current_key`,
/// the account's key) names the account with `kid`. Returns the new key.
///
/// `malformed` for a bad inner JWS (shape, `nonce` present, `kid` instead of `jwk`, `url` not
/// the outer one, a signature that does not verify, a new key equal to the old one);
/// `unauthorized` when `account` is not the outer `kid` or `oldKey` is not the current key.
pub fn verify_key_change(outer: &AcmeJws, current_key: &Jwk) -> Result<Jwk, AcmeError> {
    let KeyRef::Kid(account_url) = outer.key_ref() else {
        return Err(AcmeError::malformed(
            "keyChange must be signed by the account key, named with 'kid'",
        ));
    };
    let inner = parse_with(outer.payload(), NonceRule::Forbidden)
        .map_err(|e| AcmeError::new(e.problem(), format!("keyChange inner JWS: {}", e.detail())))?;
    let KeyRef::Jwk(new_key) = inner.key_ref() else {
        return Err(AcmeError::malformed(
            "keyChange inner JWS must carry the new key as 'jwk'",
        ));
    };
    if inner.url() != outer.url() {
        return Err(AcmeError::malformed(
            "keyChange inner JWS 'url' differs from the outer one",
        ));
    }
    inner
        .verify(new_key)
        .map_err(|e| AcmeError::new(e.problem(), format!("keyChange inner JWS: {}", e.detail())))?;

    let change: KeyChange = inner.payload_json()?;
    if change.account != *account_url {
        return Err(AcmeError::unauthorized(
            "keyChange 'account' is not the account that signed the request",
        ));
    }
    let old_key = public_jwk(&change.old_key)?;
    let old = thumbprint(&old_key).map_err(|_| AcmeError::malformed("keyChange 'oldKey'"))?;
    let current = thumbprint(current_key)
        .map_err(|_| AcmeError::new(super::ProblemType::ServerInternal, "account key"))?;
    if old != current {
        return Err(AcmeError::unauthorized(
            "keyChange 'oldKey' is not the account's current key",
        ));
    }
    let new = thumbprint(new_key).map_err(|_| AcmeError::malformed("keyChange new key"))?;
    if new == current {
        return Err(AcmeError::malformed(
            "keyChange new key is the same as the old key",
        ));
    }
    Ok(new_key.clone())
}
