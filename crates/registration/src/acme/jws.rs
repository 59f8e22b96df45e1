//! ACME request bodies: flattened JSON JWS (RFC 8555 §6.2, RFC 7515 §7.2.2).
//!
//! Only the flattened serialization is accepted: an object with exactly `protected`,
//! `payload` and `signature`. Compact tokens, the general serialization (`signatures`) and
//! unprotected headers (`header`) are refused, as are duplicate member names (in the body,
//! the protected header and JSON payloads) and bodies over [`MAX_JWS_BYTES`]. The protected
//! header must carry an accepted `alg` ([`JwsAlg`]; `none` and every MAC are refused by name
//! before a key is looked at), `nonce`, `url` and exactly one of `jwk` and `kid`; `crit` is
//! refused. Signatures are checked with aws-lc-rs directly (ECDSA in the fixed `r||s` form JWS
//! uses, RSA PKCS#1 v1.5 and PSS with SHA-256 on 2048..=8192-bit moduli, Ed25519): this gives
//! exact control of the key-size range and of the ACME problem type of each failure, where
//! the token module's `jsonwebtoken` path reports crate errors.
//!
//! What the caller does with an [`AcmeJws`]: check the nonce ([`super::NonceKey::check`] and
//! the used-nonce table), compare [`AcmeJws::url`] with the request URL
//! ([`AcmeJws::check_url`]), find the key (`jwk`, or the account named by `kid`), then
//! [`AcmeJws::verify`], and only then read the payload.

use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P384_SHA384_FIXED, ED25519, ParsedPublicKey,
    RSA_PKCS1_2048_8192_SHA256, RSA_PSS_2048_8192_SHA256, RsaPublicKeyComponents,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use vouch_model::Jwk;

use super::{AcmeError, ProblemType};
use crate::token::UniqueObject;

/// Request bodies longer than this are refused before parsing (a CSR of an 8192-bit RSA key
/// inside `finalize` is well under 8 KiB).
pub const MAX_JWS_BYTES: usize = 64 * 1024;

/// The accepted JWS algorithms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JwsAlg {
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// ECDSA P-384 with SHA-384.
    Es384,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// RSASSA-PSS with SHA-256.
    Ps256,
    /// Ed25519.
    EdDsa,
}

impl JwsAlg {
    /// Every accepted algorithm (what a `badSignatureAlgorithm` problem lists).
    pub const ALL: [JwsAlg; 5] = [
        JwsAlg::Es256,
        JwsAlg::Es384,
        JwsAlg::Rs256,
        JwsAlg::Ps256,
        JwsAlg::EdDsa,
    ];

    /// The JWA name, e.g. `ES256`.
    pub fn name(&self) -> &'static str {
        match self {
            JwsAlg::Es256 => "ES256",
            JwsAlg::Es384 => "ES384",
            JwsAlg::Rs256 => "RS256",
            JwsAlg::Ps256 => "PS256",
            JwsAlg::EdDsa => "EdDSA",
        }
    }

    /// The algorithm named `name` (case-sensitive, as JWA names are), if accepted.
    pub fn from_name(name: &str) -> Option<JwsAlg> {
        JwsAlg::ALL.into_iter().find(|a| a.name() == name)
    }
}

/// How the request names its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// The public key itself: newAccount, and revokeCert signed by the certificate's key.
    Jwk(Jwk),
    /// The account URL: every other request.
    Kid(String),
}

/// The protected header of an ACME JWS, checked for shape (nothing authenticated yet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtectedHeader {
    /// `alg`.
    pub alg: JwsAlg,
    /// `nonce`: always present after [`parse_jws`]; absent only in a keyChange inner JWS.
    pub nonce: Option<String>,
    /// `url`: the caller compares it with the request URL.
    pub url: String,
    /// `jwk` or `kid`.
    pub key: KeyRef,
}

/// A parsed ACME request. Nothing in it is authenticated until [`AcmeJws::verify`] succeeds.
#[derive(Debug, Clone)]
pub struct AcmeJws {
    protected: ProtectedHeader,
    payload: Vec<u8>,
    /// `protected "." payload`, as sent (base64url), what the signature covers.
    signing_input: String,
    signature: Vec<u8>,
}

/// Whether a `nonce` header member must be present (requests) or absent (keyChange inner JWS).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NonceRule {
    Required,
    Forbidden,
}

/// Parse an ACME request body (flattened JSON JWS) and its protected header.
///
/// Failures: `malformed` for shape and encoding, `badSignatureAlgorithm` for an `alg` not in
/// [`JwsAlg::ALL`], `badNonce` for a missing or non-string `nonce`, `badPublicKey` for a `jwk`
/// of an unsupported type or size.
pub fn parse_jws(body: &[u8]) -> Result<AcmeJws, AcmeError> {
    parse_with(body, NonceRule::Required)
}

pub(super) fn parse_with(body: &[u8], rule: NonceRule) -> Result<AcmeJws, AcmeError> {
    if body.len() > MAX_JWS_BYTES {
        return Err(AcmeError::malformed(format!(
            "request body longer than {MAX_JWS_BYTES} bytes"
        )));
    }
    let object = serde_json::from_slice::<UniqueObject>(body)
        .map_err(|_| {
            AcmeError::malformed(
                "request body is not a JSON object with unique members (flattened JWS expected)",
            )
        })?
        .0;
    let flat = Flattened::from_object(&object)?;
    let header = json_object("protected header", &flat.protected)?;
    let protected = ProtectedHeader::from_map(&header, rule)?;
    Ok(AcmeJws {
        protected,
        payload: flat.payload,
        signing_input: flat.signing_input,
        signature: flat.signature,
    })
}

/// The three members of a flattened JWS, decoded.
pub(super) struct Flattened {
    pub(super) protected: Vec<u8>,
    pub(super) payload: Vec<u8>,
    pub(super) signing_input: String,
    pub(super) signature: Vec<u8>,
}

impl Flattened {
    pub(super) fn from_object(object: &Map<String, Value>) -> Result<Self, AcmeError> {
        for name in object.keys() {
            match name.as_str() {
                "protected" | "payload" | "signature" => {}
                "signatures" => {
                    return Err(AcmeError::malformed(
                        "the general JWS serialization is not accepted; use the flattened one",
                    ));
                }
                "header" => {
                    return Err(AcmeError::malformed(
                        "unprotected JWS header members are not accepted",
                    ));
                }
                _ => return Err(AcmeError::malformed("unknown member in the JWS object")),
            }
        }
        let member = |name: &str| match object.get(name) {
            Some(Value::String(s)) => Ok(s.as_str()),
            Some(_) => Err(AcmeError::malformed(format!(
                "JWS member '{name}' is not a string"
            ))),
            None => Err(AcmeError::malformed(format!("JWS without '{name}'"))),
        };
        let (protected_b64, payload_b64, signature_b64) = (
            member("protected")?,
            member("payload")?,
            member("signature")?,
        );
        let decode = |what: &str, text: &str| {
            B64.decode(text)
                .map_err(|_| AcmeError::malformed(format!("JWS '{what}' is not base64url")))
        };
        let protected = decode("protected", protected_b64)?;
        let payload = decode("payload", payload_b64)?;
        let signature = decode("signature", signature_b64)?;
        if protected.is_empty() {
            return Err(AcmeError::malformed("JWS with an empty protected header"));
        }
        if signature.is_empty() {
            return Err(AcmeError::malformed("JWS with an empty signature"));
        }
        Ok(Flattened {
            protected,
            payload,
            signing_input: format!("{protected_b64}.{payload_b64}"),
            signature,
        })
    }
}

/// A JSON object with unique member names, from `bytes`.
pub(super) fn json_object(what: &str, bytes: &[u8]) -> Result<Map<String, Value>, AcmeError> {
    serde_json::from_slice::<UniqueObject>(bytes)
        .map(|o| o.0)
        .map_err(|_| {
            AcmeError::malformed(format!(
                "{what} is not a JSON object with unique member names"
            ))
        })
}

/// An optional string member; another type is malformed.
pub(super) fn opt_str<'a>(
    map: &'a Map<String, Value>,
    name: &str,
) -> Result<Option<&'a str>, AcmeError> {
    match map.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(AcmeError::malformed(format!("'{name}' is not a string"))),
    }
}

/// The `alg` for an error message: a known JWA name as is, anything else not echoed.
pub(super) fn printable_alg(alg: &str) -> String {
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

impl ProtectedHeader {
    fn from_map(header: &Map<String, Value>, rule: NonceRule) -> Result<Self, AcmeError> {
        let alg_name =
            opt_str(header, "alg")?.ok_or_else(|| AcmeError::malformed("JWS without 'alg'"))?;
        let alg = JwsAlg::from_name(alg_name).ok_or_else(|| {
            AcmeError::new(
                ProblemType::BadSignatureAlgorithm,
                format!("JWS algorithm {} is not accepted", printable_alg(alg_name)),
            )
        })?;
        if header.contains_key("crit") {
            return Err(AcmeError::malformed(
                "critical JWS header parameters are not supported",
            ));
        }
        let nonce = match (rule, header.get("nonce")) {
            (NonceRule::Required, None) => {
                return Err(AcmeError::bad_nonce("JWS has no anti-replay nonce"));
            }
            (NonceRule::Required, Some(Value::String(n))) if !n.is_empty() => Some(n.clone()),
            (NonceRule::Required, Some(_)) => {
                return Err(AcmeError::bad_nonce(
                    "JWS 'nonce' is not a non-empty string",
                ));
            }
            (NonceRule::Forbidden, None) => None,
            (NonceRule::Forbidden, Some(_)) => {
                return Err(AcmeError::malformed("inner JWS must not have a 'nonce'"));
            }
        };
        let url = opt_str(header, "url")?
            .filter(|u| !u.is_empty())
            .ok_or_else(|| AcmeError::malformed("JWS without 'url'"))?
            .to_owned();
        let key = match (header.get("jwk"), header.get("kid")) {
            (Some(_), Some(_)) => {
                return Err(AcmeError::malformed(
                    "JWS has both 'jwk' and 'kid'; exactly one is allowed",
                ));
            }
            (None, None) => {
                return Err(AcmeError::malformed("JWS has neither 'jwk' nor 'kid'"));
            }
            (Some(Value::Object(jwk)), None) => KeyRef::Jwk(public_jwk(jwk)?),
            (Some(_), None) => return Err(AcmeError::malformed("JWS 'jwk' is not an object")),
            (None, Some(Value::String(kid))) if !kid.is_empty() => KeyRef::Kid(kid.clone()),
            (None, Some(_)) => {
                return Err(AcmeError::malformed("JWS 'kid' is not a non-empty string"));
            }
        };
        Ok(ProtectedHeader {
            alg,
            nonce,
            url,
            key,
        })
    }
}

/// A public JWK from a JSON object: private members refused, members we do not use (such as
/// `key_ops` or `ext` from WebCrypto) ignored, and the key checked with [`check_account_key`].
pub(super) fn public_jwk(map: &Map<String, Value>) -> Result<Jwk, AcmeError> {
    const PRIVATE: &[&str] = &["d", "p", "q", "dp", "dq", "qi", "oth", "k"];
    if PRIVATE.iter().any(|m| map.contains_key(*m)) {
        return Err(AcmeError::new(
            ProblemType::BadPublicKey,
            "JWK contains private or symmetric key material",
        ));
    }
    let s = |name: &str| opt_str(map, name).map(|v| v.map(str::to_owned));
    let jwk = Jwk {
        use_: s("use")?,
        kty: s("kty")?.ok_or_else(|| AcmeError::malformed("JWK without 'kty'"))?,
        kid: s("kid")?,
        crv: s("crv")?,
        alg: s("alg")?,
        x: s("x")?,
        y: s("y")?,
        n: s("n")?,
        e: s("e")?,
    };
    check_account_key(&jwk)?;
    Ok(jwk)
}

/// Whether `jwk` is an acceptable ACME account (or certificate-revocation) key: EC P-256 or
/// P-384, OKP Ed25519, or RSA with a 2048..=8192-bit modulus; `badPublicKey` otherwise.
pub fn check_account_key(jwk: &Jwk) -> Result<(), AcmeError> {
    PublicKey::from_jwk(jwk).map(|_| ())
}

/// A verification key built from a JWK.
enum PublicKey {
    /// EC or Ed25519, parsed (and so validated) by aws-lc-rs, with the one `alg` it fits.
    Parsed { key: ParsedPublicKey, alg: JwsAlg },
    /// RSA components without leading zeros (RS256 or PS256).
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

fn bad_key(detail: impl Into<String>) -> AcmeError {
    AcmeError::new(ProblemType::BadPublicKey, detail)
}

impl PublicKey {
    fn from_jwk(jwk: &Jwk) -> Result<Self, AcmeError> {
        let member = |name: &str, value: &Option<String>| -> Result<Vec<u8>, AcmeError> {
            let text = value
                .as_deref()
                .ok_or_else(|| bad_key(format!("{} JWK without '{name}'", jwk.kty)))?;
            B64.decode(text)
                .map_err(|_| bad_key(format!("JWK '{name}' is not base64url")))
        };
        let sized = |name: &str, value: &Option<String>, len: usize| {
            let bytes = member(name, value)?;
            if bytes.len() == len {
                Ok(bytes)
            } else {
                Err(bad_key(format!("JWK '{name}' is not {len} bytes long")))
            }
        };
        match (jwk.kty.as_str(), jwk.crv.as_deref()) {
            ("EC", Some(crv @ ("P-256" | "P-384"))) => {
                let (len, algorithm, alg) = if crv == "P-256" {
                    (32, &ECDSA_P256_SHA256_FIXED, JwsAlg::Es256)
                } else {
                    (48, &ECDSA_P384_SHA384_FIXED, JwsAlg::Es384)
                };
                let mut point = vec![4u8];
                point.extend_from_slice(&sized("x", &jwk.x, len)?);
                point.extend_from_slice(&sized("y", &jwk.y, len)?);
                let key = ParsedPublicKey::new(algorithm, point)
                    .map_err(|_| bad_key(format!("not a valid {crv} public key")))?;
                Ok(PublicKey::Parsed { key, alg })
            }
            ("OKP", Some("Ed25519")) => {
                let key = ParsedPublicKey::new(&ED25519, sized("x", &jwk.x, 32)?)
                    .map_err(|_| bad_key("not a valid Ed25519 public key"))?;
                Ok(PublicKey::Parsed {
                    key,
                    alg: JwsAlg::EdDsa,
                })
            }
            ("RSA", _) => {
                let strip = |v: Vec<u8>| v.into_iter().skip_while(|b| *b == 0).collect::<Vec<_>>();
                let n = strip(member("n", &jwk.n)?);
                let e = strip(member("e", &jwk.e)?);
                let bits = n.first().map_or(0, |top| {
                    (n.len() - 1) * 8 + (8 - usize::try_from(top.leading_zeros()).unwrap_or(8))
                });
                if !(2048..=8192).contains(&bits) {
                    return Err(bad_key("RSA keys must have a modulus of 2048 to 8192 bits"));
                }
                // aws-lc accepts exponents up to 33 bits; even or tiny exponents are not RSA.
                let odd = e.last().is_some_and(|b| b & 1 == 1);
                if e.is_empty() || e.len() > 4 || !odd || e == [1] {
                    return Err(bad_key("unsupported RSA public exponent"));
                }
                Ok(PublicKey::Rsa { n, e })
            }
            (kty, crv) => Err(bad_key(format!(
                "{} {} keys are not accepted (EC P-256/P-384, OKP Ed25519, RSA)",
                printable_kty(kty),
                crv.map_or("(no curve)", printable_crv)
            ))),
        }
    }

    fn fits(&self, alg: JwsAlg) -> bool {
        match self {
            PublicKey::Parsed { alg: own, .. } => *own == alg,
            PublicKey::Rsa { .. } => matches!(alg, JwsAlg::Rs256 | JwsAlg::Ps256),
        }
    }

    fn verify(&self, alg: JwsAlg, message: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Parsed { key, .. } => key.verify_sig(message, signature).is_ok(),
            PublicKey::Rsa { n, e } => {
                let params = if alg == JwsAlg::Ps256 {
                    &RSA_PSS_2048_8192_SHA256
                } else {
                    &RSA_PKCS1_2048_8192_SHA256
                };
                RsaPublicKeyComponents {
                    n: n.as_slice(),
                    e: e.as_slice(),
                }
                .verify(params, message, signature)
                .is_ok()
            }
        }
    }
}

fn printable_kty(kty: &str) -> &str {
    match kty {
        "EC" | "RSA" | "OKP" | "oct" => kty,
        _ => "(unrecognised kty)",
    }
}

fn printable_crv(crv: &str) -> &str {
    match crv {
        "P-256" | "P-384" | "P-521" | "Ed25519" | "Ed448" | "X25519" | "X448" | "secp256k1" => crv,
        _ => "(unrecognised curve)",
    }
}

/// Verify `signature` over `signing_input` made with `alg` by `key` (shared with keyChange).
pub(super) fn verify_signature(
    alg: JwsAlg,
    key: &Jwk,
    signing_input: &[u8],
    signature: &[u8],
) -> Result<(), AcmeError> {
    let public = PublicKey::from_jwk(key)?;
    let fits_jwk_alg = key
        .alg
        .as_deref()
        .is_none_or(|a| a.is_empty() || a == alg.name());
    if !public.fits(alg) || !fits_jwk_alg {
        return Err(AcmeError::new(
            ProblemType::BadSignatureAlgorithm,
            format!("JWS algorithm {} does not fit the key", alg.name()),
        ));
    }
    if public.verify(alg, signing_input, signature) {
        Ok(())
    } else {
        Err(AcmeError::malformed("JWS signature does not verify"))
    }
}

impl AcmeJws {
    /// The protected header.
    pub fn protected(&self) -> &ProtectedHeader {
        &self.protected
    }

    /// The decoded payload (empty for POST-as-GET).
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// `alg`.
    pub fn alg(&self) -> JwsAlg {
        self.protected.alg
    }

    /// `nonce` (always present in a request parsed with [`parse_jws`]).
    pub fn nonce(&self) -> Option<&str> {
        self.protected.nonce.as_deref()
    }

    /// `url`.
    pub fn url(&self) -> &str {
        &self.protected.url
    }

    /// `jwk` or `kid`.
    pub fn key_ref(&self) -> &KeyRef {
        &self.protected.key
    }

    /// `unauthorized` unless the header `url` is `request_url` (RFC 8555 §6.4), compared
    /// exactly: the caller passes the URL the server itself would have advertised.
    pub fn check_url(&self, request_url: &str) -> Result<(), AcmeError> {
        if self.protected.url == request_url {
            Ok(())
        } else {
            Err(AcmeError::unauthorized(
                "JWS 'url' is not the URL of this request",
            ))
        }
    }

    /// Verify the signature with `key`: the header `jwk`, or the account key found by `kid`.
    ///
    /// `badSignatureAlgorithm` when `alg` does not fit the key, `badPublicKey` for an
    /// unacceptable key, `malformed` when the signature does not verify.
    pub fn verify(&self, key: &Jwk) -> Result<(), AcmeError> {
        verify_signature(
            self.protected.alg,
            key,
            self.signing_input.as_bytes(),
            &self.signature,
        )
    }

    /// Verify with the header's own `jwk` and return it; `malformed` for a `kid` request.
    pub fn verify_embedded(&self) -> Result<&Jwk, AcmeError> {
        match &self.protected.key {
            KeyRef::Jwk(jwk) => self.verify(jwk).map(|()| jwk),
            KeyRef::Kid(_) => Err(AcmeError::malformed(
                "this request must carry 'jwk', not 'kid'",
            )),
        }
    }

    /// A POST-as-GET request (RFC 8555 §6.3): the payload is the empty string.
    pub fn is_post_as_get(&self) -> bool {
        self.payload.is_empty()
    }

    /// The payload as JSON: an object with unique member names, deserialised into `T`.
    pub fn payload_json<T: DeserializeOwned>(&self) -> Result<T, AcmeError> {
        if self.payload.is_empty() {
            return Err(AcmeError::malformed(
                "empty payload where a JSON object is expected",
            ));
        }
        let object = json_object("payload", &self.payload)?;
        serde_json::from_value(Value::Object(object))
            .map_err(|e| AcmeError::malformed(format!("payload: {e}")))
    }
}
