//! External Account Binding (RFC 8555 §7.3.4).
//!
//! A provisioner that requires EAB hands each customer a key id and an HMAC key out of band.
//! The client proves possession by putting, in the newAccount payload, a flattened JWS with
//! protected header `{alg: HS256|HS384|HS512, kid: <EAB key id>, url: <newAccount URL>}` (no
//! `nonce`) whose payload is the account's public JWK, MACed with the EAB key. We check the
//! shape, that the payload is the very key that signed the outer request (by RFC 7638
//! thumbprint), the `url`, and the MAC in constant time (`aws_lc_rs::hmac::verify`). Marking
//! the EAB key as used (bound to the new account) is the caller's job.

use aws_lc_rs::hmac;
use serde_json::Value;
use vouch_model::Jwk;

use super::jws::{Flattened, json_object, opt_str, printable_alg, public_jwk};
use super::{AcmeError, ProblemType};
use crate::thumbprint;

/// Verify `eab` (the newAccount payload's `externalAccountBinding`) for `account_jwk` (the
/// outer JWS's `jwk`, already verified) and return its EAB key id.
///
/// `lookup` gives the HMAC key of an EAB key id (`None` when unknown or already used).
/// Failures: `malformed` for shape and algorithm, `unauthorized` for an unknown key id, a
/// wrong `url`, a payload that is not `account_jwk`, or a MAC that does not verify.
pub fn verify_eab(
    eab: &Value,
    account_jwk: &Jwk,
    new_account_url: &str,
    lookup: impl Fn(&str) -> Option<Vec<u8>>,
) -> Result<String, AcmeError> {
    let Value::Object(object) = eab else {
        return Err(AcmeError::malformed(
            "externalAccountBinding is not a flattened JWS object",
        ));
    };
    let flat = Flattened::from_object(object)?;
    let header = json_object("externalAccountBinding protected header", &flat.protected)?;
    let alg_name = opt_str(&header, "alg")?
        .ok_or_else(|| AcmeError::malformed("externalAccountBinding without 'alg'"))?;
    let algorithm = match alg_name {
        "HS256" => hmac::HMAC_SHA256,
        "HS384" => hmac::HMAC_SHA384,
        "HS512" => hmac::HMAC_SHA512,
        other => {
            return Err(AcmeError::malformed(format!(
                "externalAccountBinding algorithm {} is not a MAC (HS256, HS384, HS512)",
                printable_alg(other)
            )));
        }
    };
    if header.contains_key("crit") {
        return Err(AcmeError::malformed(
            "critical JWS header parameters are not supported",
        ));
    }
    if header.contains_key("nonce") {
        return Err(AcmeError::malformed(
            "externalAccountBinding must not have a 'nonce'",
        ));
    }
    if header.contains_key("jwk") {
        return Err(AcmeError::malformed(
            "externalAccountBinding must name its key with 'kid', not 'jwk'",
        ));
    }
    let kid = opt_str(&header, "kid")?
        .filter(|k| !k.is_empty())
        .ok_or_else(|| AcmeError::malformed("externalAccountBinding without 'kid'"))?;
    let url = opt_str(&header, "url")?
        .ok_or_else(|| AcmeError::malformed("externalAccountBinding without 'url'"))?;
    if url != new_account_url {
        return Err(AcmeError::unauthorized(
            "externalAccountBinding 'url' is not the newAccount URL",
        ));
    }

    // The MAC before the payload is believed. An unknown kid and a wrong MAC read the same.
    let secret = lookup(kid)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| AcmeError::unauthorized("external account binding does not verify"))?;
    let key = hmac::Key::new(algorithm, &secret);
    hmac::verify(&key, flat.signing_input.as_bytes(), &flat.signature)
        .map_err(|_| AcmeError::unauthorized("external account binding does not verify"))?;

    let payload = json_object("externalAccountBinding payload", &flat.payload)?;
    let bound = public_jwk(&payload).map_err(|e| {
        AcmeError::new(
            ProblemType::Malformed,
            format!("externalAccountBinding payload: {}", e.detail()),
        )
    })?;
    let same = match (thumbprint(&bound), thumbprint(account_jwk)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if !same {
        return Err(AcmeError::unauthorized(
            "externalAccountBinding payload is not the account key",
        ));
    }
    Ok(kid.to_owned())
}
