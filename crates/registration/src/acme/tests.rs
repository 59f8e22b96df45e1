//! Tests of the ACME protocol foundation with real keys (aws-lc-rs) and, for interop, JWS
//! made by Python's `jwcrypto`.

use std::sync::OnceLock;

use aws_lc_rs::hmac;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair,
    KeyPair, RSA_PKCS1_SHA256, RSA_PSS_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use time::Duration;
use time::macros::datetime;
use vouch_model::{ErrorKind, Jwk};

use super::*;

const URL: &str = "https://ca.example/acme/acme/new-account";
const ACCOUNT: &str = "https://ca.example/acme/acme/account/a1";
const KEY_CHANGE_URL: &str = "https://ca.example/acme/acme/key-change";

enum Key {
    P256(EcdsaKeyPair),
    P384(EcdsaKeyPair),
    Rsa(&'static RsaKeyPair),
    Ed(Ed25519KeyPair),
}

fn rsa_key() -> &'static RsaKeyPair {
    static KEY: OnceLock<RsaKeyPair> = OnceLock::new();
    KEY.get_or_init(|| RsaKeyPair::generate(KeySize::Rsa2048).unwrap())
}

fn p256() -> Key {
    Key::P256(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
}

fn ec_jwk(crv: &str, point: &[u8]) -> Jwk {
    let len = (point.len() - 1) / 2;
    Jwk {
        use_: None,
        kty: "EC".into(),
        kid: None,
        crv: Some(crv.into()),
        alg: None,
        x: Some(B64.encode(&point[1..=len])),
        y: Some(B64.encode(&point[1 + len..])),
        n: None,
        e: None,
    }
}

impl Key {
    fn jwk(&self) -> Jwk {
        match self {
            Key::P256(k) => ec_jwk("P-256", k.public_key().as_ref()),
            Key::P384(k) => ec_jwk("P-384", k.public_key().as_ref()),
            Key::Rsa(k) => Jwk {
                use_: None,
                kty: "RSA".into(),
                kid: None,
                crv: None,
                alg: None,
                x: None,
                y: None,
                n: Some(B64.encode(k.public_key().modulus().big_endian_without_leading_zero())),
                e: Some(B64.encode(k.public_key().exponent().big_endian_without_leading_zero())),
            },
            Key::Ed(k) => Jwk {
                use_: None,
                kty: "OKP".into(),
                kid: None,
                crv: Some("Ed25519".into()),
                alg: None,
                x: Some(B64.encode(k.public_key().as_ref())),
                y: None,
                n: None,
                e: None,
            },
        }
    }

    fn jwk_json(&self) -> Value {
        serde_json::to_value(self.jwk()).unwrap()
    }

    fn sign(&self, alg: &str, msg: &[u8]) -> Vec<u8> {
        let rng = SystemRandom::new();
        match self {
            Key::P256(k) | Key::P384(k) => k.sign(&rng, msg).unwrap().as_ref().to_vec(),
            Key::Ed(k) => k.sign(msg).as_ref().to_vec(),
            Key::Rsa(k) => {
                let mut sig = vec![0; k.public_modulus_len()];
                let padding = if alg == "PS256" {
                    &RSA_PSS_SHA256
                } else {
                    &RSA_PKCS1_SHA256
                };
                k.sign(padding, &rng, msg, &mut sig).unwrap();
                sig
            }
        }
    }
}

/// A flattened JWS with `header` as protected header, signed by `key` with `alg`.
fn jws_value(header: &Value, payload: &[u8], key: &Key, alg: &str) -> Value {
    let protected = B64.encode(header.to_string());
    let payload = B64.encode(payload);
    let signature = key.sign(alg, format!("{protected}.{payload}").as_bytes());
    json!({"protected": protected, "payload": payload, "signature": B64.encode(signature)})
}

fn jws(header: &Value, payload: &[u8], key: &Key, alg: &str) -> Vec<u8> {
    jws_value(header, payload, key, alg)
        .to_string()
        .into_bytes()
}

fn jwk_header(key: &Key, alg: &str) -> Value {
    json!({"alg": alg, "nonce": "n1", "url": URL, "jwk": key.jwk_json()})
}

fn problem<T: std::fmt::Debug>(r: Result<T, AcmeError>) -> ProblemType {
    r.unwrap_err().problem()
}

fn all_keys() -> Vec<(Key, &'static str)> {
    vec![
        (p256(), "ES256"),
        (
            Key::P384(EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).unwrap()),
            "ES384",
        ),
        (Key::Rsa(rsa_key()), "RS256"),
        (Key::Rsa(rsa_key()), "PS256"),
        (Key::Ed(Ed25519KeyPair::generate().unwrap()), "EdDSA"),
    ]
}

// ---- JWS -------------------------------------------------------------------------------

#[test]
fn every_algorithm_verifies_with_jwk_and_kid() {
    for (key, alg) in all_keys() {
        let body = jws(&jwk_header(&key, alg), br#"{"contact":[]}"#, &key, alg);
        let parsed = parse_jws(&body).unwrap();
        assert_eq!(parsed.alg().name(), alg);
        assert_eq!(parsed.nonce(), Some("n1"));
        parsed.check_url(URL).unwrap();
        assert_eq!(parsed.verify_embedded().unwrap(), &key.jwk(), "{alg}");
        parsed.verify(&key.jwk()).unwrap();
        assert!(!parsed.is_post_as_get());
        let payload: Value = parsed.payload_json().unwrap();
        assert_eq!(payload, json!({"contact": []}));
        crate::thumbprint(&key.jwk()).unwrap();

        let header = json!({"alg": alg, "nonce": "n2", "url": URL, "kid": ACCOUNT});
        let parsed = parse_jws(&jws(&header, b"{}", &key, alg)).unwrap();
        assert_eq!(parsed.key_ref(), &KeyRef::Kid(ACCOUNT.into()));
        parsed.verify(&key.jwk()).unwrap();
        assert_eq!(
            problem(parsed.verify_embedded()),
            ProblemType::Malformed,
            "kid request has no embedded key"
        );
    }
}

#[test]
fn post_as_get_has_an_empty_payload() {
    let key = p256();
    let header = json!({"alg": "ES256", "nonce": "n", "url": URL, "kid": ACCOUNT});
    let parsed = parse_jws(&jws(&header, b"", &key, "ES256")).unwrap();
    assert!(parsed.is_post_as_get());
    assert!(parsed.payload().is_empty());
    parsed.verify(&key.jwk()).unwrap();
    assert_eq!(
        problem(parsed.payload_json::<Value>()),
        ProblemType::Malformed
    );
}

#[test]
fn url_mismatch_is_unauthorized() {
    let key = p256();
    let parsed = parse_jws(&jws(&jwk_header(&key, "ES256"), b"{}", &key, "ES256")).unwrap();
    let e = parsed
        .check_url("https://ca.example/acme/acme/new-order")
        .unwrap_err();
    assert_eq!(e.problem(), ProblemType::Unauthorized);
}

#[test]
fn none_and_mac_algorithms_are_refused() {
    let key = p256();
    for alg in [
        "none", "HS256", "HS384", "HS512", "ES512", "RS512", "es256", "made-up",
    ] {
        let header = json!({"alg": alg, "nonce": "n", "url": URL, "jwk": key.jwk_json()});
        let body = jws(&header, b"{}", &key, "ES256");
        let e = parse_jws(&body).unwrap_err();
        assert_eq!(e.problem(), ProblemType::BadSignatureAlgorithm, "{alg}");
        assert!(!e.detail().contains("made-up"));
    }
    // An HS256 "signature" keyed with the JWK text (the classic confusion) never gets near a MAC.
    let header = json!({"alg": "HS256", "nonce": "n", "url": URL, "jwk": key.jwk_json()});
    let protected = B64.encode(header.to_string());
    let payload = B64.encode("{}");
    let mac_key = hmac::Key::new(hmac::HMAC_SHA256, key.jwk_json().to_string().as_bytes());
    let tag = hmac::sign(&mac_key, format!("{protected}.{payload}").as_bytes());
    let body = json!({"protected": protected, "payload": payload, "signature": B64.encode(tag)});
    assert_eq!(
        problem(parse_jws(body.to_string().as_bytes())),
        ProblemType::BadSignatureAlgorithm
    );
}

#[test]
fn other_serializations_are_refused() {
    let key = p256();
    let flat = jws_value(&jwk_header(&key, "ES256"), b"{}", &key, "ES256");
    let compact = format!(
        "{}.{}.{}",
        flat["protected"].as_str().unwrap(),
        flat["payload"].as_str().unwrap(),
        flat["signature"].as_str().unwrap()
    );
    assert_eq!(
        problem(parse_jws(compact.as_bytes())),
        ProblemType::Malformed
    );
    let quoted = serde_json::to_string(&compact).unwrap();
    assert_eq!(
        problem(parse_jws(quoted.as_bytes())),
        ProblemType::Malformed
    );

    let general = json!({
        "payload": flat["payload"],
        "signatures": [{"protected": flat["protected"], "signature": flat["signature"]}],
    });
    assert_eq!(
        problem(parse_jws(general.to_string().as_bytes())),
        ProblemType::Malformed
    );
    let mut unprotected = flat.clone();
    unprotected["header"] = json!({"kid": ACCOUNT});
    assert_eq!(
        problem(parse_jws(unprotected.to_string().as_bytes())),
        ProblemType::Malformed
    );
    let mut extra = flat.clone();
    extra["extra"] = json!(1);
    assert_eq!(
        problem(parse_jws(extra.to_string().as_bytes())),
        ProblemType::Malformed
    );
    // Duplicate members could be read differently by another parser.
    let p = flat["protected"].as_str().unwrap();
    let dup = format!(r#"{{"protected":"{p}","protected":"{p}","payload":"","signature":"AAAA"}}"#);
    assert_eq!(problem(parse_jws(dup.as_bytes())), ProblemType::Malformed);
    // Padding is not base64url as JWS uses it.
    let mut padded = flat.clone();
    padded["payload"] = json!("e30=");
    assert_eq!(
        problem(parse_jws(padded.to_string().as_bytes())),
        ProblemType::Malformed
    );
}

#[test]
fn key_naming_must_be_exactly_one_of_jwk_and_kid() {
    let key = p256();
    let both =
        json!({"alg": "ES256", "nonce": "n", "url": URL, "jwk": key.jwk_json(), "kid": ACCOUNT});
    let neither = json!({"alg": "ES256", "nonce": "n", "url": URL});
    let kid_number = json!({"alg": "ES256", "nonce": "n", "url": URL, "kid": 7});
    let jwk_string = json!({"alg": "ES256", "nonce": "n", "url": URL, "jwk": "key"});
    for header in [both, neither, kid_number, jwk_string] {
        let body = jws(&header, b"{}", &key, "ES256");
        assert_eq!(
            problem(parse_jws(&body)),
            ProblemType::Malformed,
            "{header}"
        );
    }
}

#[test]
fn nonce_and_url_are_required() {
    let key = p256();
    let no_nonce = json!({"alg": "ES256", "url": URL, "jwk": key.jwk_json()});
    assert_eq!(
        problem(parse_jws(&jws(&no_nonce, b"{}", &key, "ES256"))),
        ProblemType::BadNonce
    );
    let empty_nonce = json!({"alg": "ES256", "nonce": "", "url": URL, "jwk": key.jwk_json()});
    assert_eq!(
        problem(parse_jws(&jws(&empty_nonce, b"{}", &key, "ES256"))),
        ProblemType::BadNonce
    );
    let no_url = json!({"alg": "ES256", "nonce": "n", "jwk": key.jwk_json()});
    assert_eq!(
        problem(parse_jws(&jws(&no_url, b"{}", &key, "ES256"))),
        ProblemType::Malformed
    );
    let crit = json!({"alg": "ES256", "nonce": "n", "url": URL, "jwk": key.jwk_json(), "crit": ["b64"], "b64": false});
    assert_eq!(
        problem(parse_jws(&jws(&crit, b"{}", &key, "ES256"))),
        ProblemType::Malformed
    );
}

#[test]
fn tampering_and_wrong_keys_fail_verification() {
    for (key, alg) in all_keys() {
        let flat = jws_value(&jwk_header(&key, alg), br#"{"a":1}"#, &key, alg);

        let mut payload = flat.clone();
        payload["payload"] = json!(B64.encode(br#"{"a":2}"#));
        let parsed = parse_jws(payload.to_string().as_bytes()).unwrap();
        assert_eq!(
            problem(parsed.verify_embedded()),
            ProblemType::Malformed,
            "{alg}"
        );

        let mut header = jwk_header(&key, alg);
        header["nonce"] = json!("n-other");
        let mut protected = flat.clone();
        protected["protected"] = json!(B64.encode(header.to_string()));
        let parsed = parse_jws(protected.to_string().as_bytes()).unwrap();
        assert_eq!(
            problem(parsed.verify_embedded()),
            ProblemType::Malformed,
            "{alg}"
        );

        let parsed = parse_jws(flat.to_string().as_bytes()).unwrap();
        let other = match key {
            Key::P384(_) => {
                Key::P384(EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).unwrap())
            }
            Key::Ed(_) => Key::Ed(Ed25519KeyPair::generate().unwrap()),
            Key::Rsa(_) => Key::Rsa(Box::leak(Box::new(
                RsaKeyPair::generate(KeySize::Rsa2048).unwrap(),
            ))),
            Key::P256(_) => p256(),
        };
        assert_eq!(
            problem(parsed.verify(&other.jwk())),
            ProblemType::Malformed,
            "{alg}"
        );
    }
}

#[test]
fn algorithm_must_fit_the_key() {
    let key = p256();
    // Signed with P-256 but labelled ES384: the label is refused before any signature check.
    let header = json!({"alg": "ES384", "nonce": "n", "url": URL, "kid": ACCOUNT});
    let parsed = parse_jws(&jws(&header, b"{}", &key, "ES256")).unwrap();
    assert_eq!(
        problem(parsed.verify(&key.jwk())),
        ProblemType::BadSignatureAlgorithm
    );
    let header = json!({"alg": "RS256", "nonce": "n", "url": URL, "kid": ACCOUNT});
    let parsed = parse_jws(&jws(&header, b"{}", &key, "ES256")).unwrap();
    assert_eq!(
        problem(parsed.verify(&key.jwk())),
        ProblemType::BadSignatureAlgorithm
    );
    // A JWK that names its own alg must be used with that alg.
    let mut jwk = Key::Rsa(rsa_key()).jwk();
    jwk.alg = Some("RS256".into());
    let rsa = Key::Rsa(rsa_key());
    let header = json!({"alg": "PS256", "nonce": "n", "url": URL, "kid": ACCOUNT});
    let parsed = parse_jws(&jws(&header, b"{}", &rsa, "PS256")).unwrap();
    assert_eq!(
        problem(parsed.verify(&jwk)),
        ProblemType::BadSignatureAlgorithm
    );
}

#[test]
fn unacceptable_keys_are_bad_public_keys() {
    let good = p256().jwk();
    let mut off_curve = good.clone();
    off_curve.y = off_curve.x.clone();
    let mut short = good.clone();
    short.x = Some(B64.encode([1u8; 31]));
    let small_rsa = Jwk {
        kty: "RSA".into(),
        crv: None,
        x: None,
        y: None,
        n: Some(B64.encode([0xc5u8; 128])),
        e: Some("AQAB".into()),
        ..good.clone()
    };
    let mut even_e = Key::Rsa(rsa_key()).jwk();
    even_e.e = Some(B64.encode([2u8]));
    let mut p521 = good.clone();
    p521.crv = Some("P-521".into());
    let mut x25519 = Key::Ed(Ed25519KeyPair::generate().unwrap()).jwk();
    x25519.crv = Some("X25519".into());
    let oct = Jwk {
        kty: "oct".into(),
        crv: None,
        x: None,
        y: None,
        ..good.clone()
    };
    for jwk in [off_curve, short, small_rsa, even_e, p521, x25519, oct] {
        assert_eq!(
            problem(check_account_key(&jwk)),
            ProblemType::BadPublicKey,
            "{jwk:?}"
        );
    }
    check_account_key(&good).unwrap();

    // In a request: a private member, or a key we do not accept.
    let key = p256();
    let mut private = key.jwk_json();
    private["d"] = json!(B64.encode([7u8; 32]));
    let header = json!({"alg": "ES256", "nonce": "n", "url": URL, "jwk": private});
    assert_eq!(
        problem(parse_jws(&jws(&header, b"{}", &key, "ES256"))),
        ProblemType::BadPublicKey
    );
    // Members we do not use (WebCrypto's key_ops, ext) are ignored.
    let mut extra = key.jwk_json();
    extra["key_ops"] = json!(["verify"]);
    extra["ext"] = json!(true);
    let header = json!({"alg": "ES256", "nonce": "n", "url": URL, "jwk": extra});
    let parsed = parse_jws(&jws(&header, b"{}", &key, "ES256")).unwrap();
    assert_eq!(parsed.verify_embedded().unwrap(), &key.jwk());
}

#[test]
fn oversized_and_garbage_bodies_are_malformed() {
    let key = p256();
    let big = vec![b'a'; MAX_JWS_BYTES];
    let body = jws(&jwk_header(&key, "ES256"), &big, &key, "ES256");
    assert!(body.len() > MAX_JWS_BYTES);
    assert_eq!(problem(parse_jws(&body)), ProblemType::Malformed);
    for garbage in [
        &b""[..],
        b"{",
        b"null",
        b"[]",
        b"\xff\xfe",
        b"{\"protected\":1}",
    ] {
        assert_eq!(problem(parse_jws(garbage)), ProblemType::Malformed);
    }
    let empty_sig = json!({"protected": B64.encode(jwk_header(&key, "ES256").to_string()), "payload": "", "signature": ""});
    assert_eq!(
        problem(parse_jws(empty_sig.to_string().as_bytes())),
        ProblemType::Malformed
    );
    // A payload with duplicate members is refused when read.
    let parsed = parse_jws(&jws(
        &jwk_header(&key, "ES256"),
        br#"{"a":1,"a":2}"#,
        &key,
        "ES256",
    ))
    .unwrap();
    parsed.verify_embedded().unwrap();
    assert_eq!(
        problem(parsed.payload_json::<Value>()),
        ProblemType::Malformed
    );
}

// ---- nonces ----------------------------------------------------------------------------

#[test]
fn nonce_round_trip_and_reuse_is_visible() {
    let (key, secret) = NonceKey::generate().unwrap();
    let now = datetime!(2026-01-01 12:00 UTC);
    let nonce = key.issue(now).unwrap();
    assert_eq!(nonce.len(), 54);
    assert!(
        nonce
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let id = key
        .check(&nonce, now + Duration::minutes(5), DEFAULT_NONCE_MAX_AGE)
        .unwrap();
    assert_eq!(id.as_str().len(), 32);
    assert_eq!(id.expires_at(), now + DEFAULT_NONCE_MAX_AGE);
    // Another node with the same secret accepts it, and sees the same id: the caller's
    // used-nonce table is what makes the second use fail.
    let other_node = NonceKey::from_bytes(&secret);
    let again = other_node
        .check(&nonce, now, DEFAULT_NONCE_MAX_AGE)
        .unwrap();
    assert_eq!(again, id);
    assert_eq!(again.to_string(), id.as_str());
    let second = key.issue(now).unwrap();
    assert_ne!(second, nonce);
    assert_ne!(key.check(&second, now, DEFAULT_NONCE_MAX_AGE).unwrap(), id);
}

#[test]
fn bad_nonces_are_refused() {
    let key = NonceKey::from_bytes(&[7u8; 32]);
    let now = datetime!(2026-01-01 12:00 UTC);
    let nonce = key.issue(now).unwrap();
    let check = |n: &str, at| problem(key.check(n, at, DEFAULT_NONCE_MAX_AGE));

    let mut bytes = B64.decode(&nonce).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    assert_eq!(
        check(&B64.encode(&bytes), now),
        ProblemType::BadNonce,
        "forged tag"
    );
    let mut bytes = B64.decode(&nonce).unwrap();
    bytes[7] ^= 1;
    assert_eq!(
        check(&B64.encode(&bytes), now),
        ProblemType::BadNonce,
        "changed time"
    );
    assert_eq!(
        check(&nonce, now + Duration::minutes(61)),
        ProblemType::BadNonce,
        "expired"
    );
    assert_eq!(
        problem(key.check(&nonce, now + Duration::minutes(2), Duration::minutes(1))),
        ProblemType::BadNonce
    );
    assert_eq!(
        check(&nonce, now - Duration::minutes(5)),
        ProblemType::BadNonce,
        "future"
    );
    key.check(&nonce, now - Duration::seconds(30), DEFAULT_NONCE_MAX_AGE)
        .unwrap();
    let stranger = NonceKey::from_bytes(&[8u8; 32]);
    assert_eq!(
        problem(stranger.check(&nonce, now, DEFAULT_NONCE_MAX_AGE)),
        ProblemType::BadNonce,
        "another server's key"
    );
    for garbage in [
        "",
        "!!!",
        "AAAA",
        &nonce[..53],
        &format!("{nonce}A"),
        &format!("{nonce}="),
    ] {
        assert_eq!(check(garbage, now), ProblemType::BadNonce, "{garbage}");
    }
    assert!(format!("{key:?}").starts_with("NonceKey"));
    assert!(!format!("{key:?}").contains('7'));
}

// ---- external account binding ----------------------------------------------------------

const EAB_KEY: &[u8] = b"0123456789abcdef0123456789abcdef";

fn eab(alg: &str, kid: &str, url: &str, payload: &Value, mac_key: &[u8]) -> Value {
    eab_with_header(
        &json!({"alg": alg, "kid": kid, "url": url}),
        payload,
        mac_key,
    )
}

fn eab_with_header(header: &Value, payload: &Value, mac_key: &[u8]) -> Value {
    let algorithm = match header["alg"].as_str() {
        Some("HS384") => hmac::HMAC_SHA384,
        Some("HS512") => hmac::HMAC_SHA512,
        _ => hmac::HMAC_SHA256,
    };
    let protected = B64.encode(header.to_string());
    let payload = B64.encode(payload.to_string());
    let tag = hmac::sign(
        &hmac::Key::new(algorithm, mac_key),
        format!("{protected}.{payload}").as_bytes(),
    );
    json!({"protected": protected, "payload": payload, "signature": B64.encode(tag)})
}

fn lookup(kid: &str) -> Option<Vec<u8>> {
    (kid == "eab-1").then(|| EAB_KEY.to_vec())
}

#[test]
fn eab_valid_for_each_mac() {
    let account = p256();
    for alg in ["HS256", "HS384", "HS512"] {
        let binding = eab(alg, "eab-1", URL, &account.jwk_json(), EAB_KEY);
        assert_eq!(
            verify_eab(&binding, &account.jwk(), URL, lookup).unwrap(),
            "eab-1"
        );
    }
    // The payload may spell the key with extra members; the thumbprint decides.
    let mut spelled = account.jwk_json();
    spelled["use"] = json!("sig");
    let binding = eab("HS256", "eab-1", URL, &spelled, EAB_KEY);
    verify_eab(&binding, &account.jwk(), URL, lookup).unwrap();
}

#[test]
fn eab_refusals() {
    let account = p256();
    let jwk = account.jwk();
    let run = |binding: &Value| problem(verify_eab(binding, &jwk, URL, lookup));
    let payload = account.jwk_json();

    let wrong_mac = eab(
        "HS256",
        "eab-1",
        URL,
        &payload,
        b"another key, same length.........",
    );
    assert_eq!(run(&wrong_mac), ProblemType::Unauthorized);
    let wrong_url = eab("HS256", "eab-1", KEY_CHANGE_URL, &payload, EAB_KEY);
    assert_eq!(run(&wrong_url), ProblemType::Unauthorized);
    let other_key = eab("HS256", "eab-1", URL, &p256().jwk_json(), EAB_KEY);
    assert_eq!(run(&other_key), ProblemType::Unauthorized);
    let unknown = eab("HS256", "eab-2", URL, &payload, EAB_KEY);
    assert_eq!(run(&unknown), ProblemType::Unauthorized);

    let not_mac = eab("ES256", "eab-1", URL, &payload, EAB_KEY);
    assert_eq!(run(&not_mac), ProblemType::Malformed);
    let none = eab("none", "eab-1", URL, &payload, EAB_KEY);
    assert_eq!(run(&none), ProblemType::Malformed);
    let with_nonce = eab_with_header(
        &json!({"alg": "HS256", "kid": "eab-1", "url": URL, "nonce": "n"}),
        &payload,
        EAB_KEY,
    );
    assert_eq!(run(&with_nonce), ProblemType::Malformed);
    let no_kid = eab_with_header(&json!({"alg": "HS256", "url": URL}), &payload, EAB_KEY);
    assert_eq!(run(&no_kid), ProblemType::Malformed);
    let not_a_key = eab("HS256", "eab-1", URL, &json!({"hello": 1}), EAB_KEY);
    assert_eq!(run(&not_a_key), ProblemType::Malformed);
    assert_eq!(run(&json!("a.b.c")), ProblemType::Malformed);
    let mut general = eab("HS256", "eab-1", URL, &payload, EAB_KEY);
    general["header"] = json!({});
    assert_eq!(run(&general), ProblemType::Malformed);
}

// ---- keyChange -------------------------------------------------------------------------

fn key_change(old: &Key, new: &Key, inner_header: &Value, inner_payload: &Value) -> AcmeJws {
    let inner = jws_value(
        inner_header,
        inner_payload.to_string().as_bytes(),
        new,
        "ES256",
    );
    let outer_header = json!({"alg": "ES256", "nonce": "n", "url": KEY_CHANGE_URL, "kid": ACCOUNT});
    let outer = parse_jws(&jws(
        &outer_header,
        inner.to_string().as_bytes(),
        old,
        "ES256",
    ))
    .unwrap();
    outer.verify(&old.jwk()).unwrap();
    outer
}

#[test]
fn key_change_valid() {
    let (old, new) = (p256(), p256());
    let header = json!({"alg": "ES256", "url": KEY_CHANGE_URL, "jwk": new.jwk_json()});
    let payload = json!({"account": ACCOUNT, "oldKey": old.jwk_json()});
    let outer = key_change(&old, &new, &header, &payload);
    assert_eq!(verify_key_change(&outer, &old.jwk()).unwrap(), new.jwk());
}

#[test]
fn key_change_refusals() {
    let (old, new) = (p256(), p256());
    let good_header = json!({"alg": "ES256", "url": KEY_CHANGE_URL, "jwk": new.jwk_json()});
    let good_payload = json!({"account": ACCOUNT, "oldKey": old.jwk_json()});
    let run = |header: &Value, payload: &Value, signer: &Key| {
        let outer = key_change(&old, signer, header, payload);
        problem(verify_key_change(&outer, &old.jwk()))
    };

    let wrong_account =
        json!({"account": "https://ca.example/acme/acme/account/a2", "oldKey": old.jwk_json()});
    assert_eq!(
        run(&good_header, &wrong_account, &new),
        ProblemType::Unauthorized
    );
    let wrong_old = json!({"account": ACCOUNT, "oldKey": p256().jwk_json()});
    assert_eq!(
        run(&good_header, &wrong_old, &new),
        ProblemType::Unauthorized
    );

    let mut with_nonce = good_header.clone();
    with_nonce["nonce"] = json!("n");
    assert_eq!(
        run(&with_nonce, &good_payload, &new),
        ProblemType::Malformed
    );
    let mut other_url = good_header.clone();
    other_url["url"] = json!(URL);
    assert_eq!(run(&other_url, &good_payload, &new), ProblemType::Malformed);
    let kid = json!({"alg": "ES256", "url": KEY_CHANGE_URL, "kid": ACCOUNT});
    assert_eq!(run(&kid, &good_payload, &new), ProblemType::Malformed);
    // Signed by someone other than the key it names.
    assert_eq!(
        run(&good_header, &good_payload, &p256()),
        ProblemType::Malformed
    );
    // The new key is the old one.
    let same = json!({"alg": "ES256", "url": KEY_CHANGE_URL, "jwk": old.jwk_json()});
    assert_eq!(run(&same, &good_payload, &old), ProblemType::Malformed);
    assert_eq!(
        run(&good_header, &json!({"account": ACCOUNT}), &new),
        ProblemType::Malformed
    );

    // The outer request must be a kid request.
    let inner = jws_value(
        &good_header,
        good_payload.to_string().as_bytes(),
        &new,
        "ES256",
    );
    let outer_header =
        json!({"alg": "ES256", "nonce": "n", "url": KEY_CHANGE_URL, "jwk": old.jwk_json()});
    let outer = parse_jws(&jws(
        &outer_header,
        inner.to_string().as_bytes(),
        &old,
        "ES256",
    ))
    .unwrap();
    assert_eq!(
        problem(verify_key_change(&outer, &old.jwk())),
        ProblemType::Malformed
    );
}

// ---- problems --------------------------------------------------------------------------

#[test]
fn problem_types_and_documents() {
    for t in ProblemType::ALL {
        assert_eq!(ProblemType::from_urn(t.urn()), Some(t));
        assert!(t.urn().starts_with("urn:ietf:params:acme:error:"));
        assert!([400, 403, 409, 429, 500].contains(&t.status()));
    }
    assert_eq!(ProblemType::AlreadyReplaced.status(), 409);
    assert_eq!(ProblemType::AlreadyReplaced.kind(), ErrorKind::Conflict);
    assert_eq!(
        ProblemType::BadCsr.urn(),
        "urn:ietf:params:acme:error:badCSR"
    );
    assert_eq!(ProblemType::BadNonce.status(), 400);
    assert_eq!(ProblemType::OrderNotReady.status(), 403);
    assert_eq!(ProblemType::RateLimited.status(), 429);
    assert_eq!(ProblemType::ServerInternal.kind(), ErrorKind::Internal);
    assert_eq!(
        ProblemType::AlreadyRevoked.kind(),
        ErrorKind::AlreadyRevoked
    );

    let e = AcmeError::bad_nonce("nonce expired");
    let doc = serde_json::to_value(Problem::from(&e)).unwrap();
    assert_eq!(
        doc,
        json!({"type": "urn:ietf:params:acme:error:badNonce", "detail": "nonce expired", "status": 400})
    );
    let crate_error = crate::Error::from(e.clone());
    assert_eq!(crate_error.kind(), ErrorKind::Malformed);
    assert_eq!(crate_error.to_string(), e.to_string());

    let doc = Problem::new(
        ProblemType::RejectedIdentifier,
        "some names are not allowed",
    )
    .with_subproblem(SubProblem {
        type_: ProblemType::RejectedIdentifier,
        detail: "forbidden by policy".into(),
        identifier: Some(ProblemIdentifier {
            type_: "dns".into(),
            value: "evil.example".into(),
        }),
    });
    let json = serde_json::to_value(&doc).unwrap();
    assert_eq!(
        json["subproblems"][0],
        json!({"type": "urn:ietf:params:acme:error:rejectedIdentifier", "detail": "forbidden by policy", "identifier": {"type": "dns", "value": "evil.example"}})
    );
    let back: Problem = serde_json::from_value(json).unwrap();
    assert_eq!(back, doc);

    let doc = serde_json::to_value(Problem::new(ProblemType::BadSignatureAlgorithm, "x")).unwrap();
    assert_eq!(
        doc["algorithms"],
        json!(["ES256", "ES384", "RS256", "PS256", "EdDSA"])
    );
}

// ---- interop ---------------------------------------------------------------------------

/// Flattened JWS made by jwcrypto (an independent implementation) for each algorithm.
const JWCRYPTO_SCRIPT: &str = r#"
import json
from jwcrypto import jwk, jws
from jwcrypto.common import json_encode
out = []
for kty, params, alg in [("EC", {"crv": "P-256"}, "ES256"), ("EC", {"crv": "P-384"}, "ES384"),
                         ("RSA", {"size": 2048}, "RS256"), ("RSA", {"size": 3072}, "PS256"),
                         ("OKP", {"crv": "Ed25519"}, "EdDSA")]:
    key = jwk.JWK.generate(kty=kty, **params)
    protected = {"alg": alg, "nonce": "interop-nonce", "url": "https://ca.example/acme/acme/new-account",
                 "jwk": json.loads(key.export_public())}
    s = jws.JWS(json.dumps({"termsOfServiceAgreed": True}).encode())
    s.add_signature(key, None, json_encode(protected))
    out.append({"alg": alg, "jws": s.serialize(compact=False), "thumbprint": key.thumbprint()})
print(json.dumps(out))
"#;

#[test]
fn interop_jwcrypto_flattened_jws_verifies() {
    let tools = std::env::var("VOUCH_TOOLS_DIR").unwrap_or_else(|_| "/var/tmp/vouch-tools".into());
    let python = std::path::Path::new(&tools).join("venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run scripts/test-deps.sh (jwcrypto is the independent JOSE verifier)",
        python.display()
    );
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(JWCRYPTO_SCRIPT)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "jwcrypto failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let items: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(items.len(), 5);
    for item in items {
        let alg = item["alg"].as_str().unwrap();
        let body = item["jws"].as_str().unwrap();
        let parsed = parse_jws(body.as_bytes()).unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(parsed.alg().name(), alg);
        let jwk = parsed
            .verify_embedded()
            .unwrap_or_else(|e| panic!("{alg}: {e}"));
        assert_eq!(
            crate::thumbprint(jwk).unwrap(),
            item["thumbprint"].as_str().unwrap(),
            "{alg}: RFC 7638 thumbprints agree"
        );
        let payload: Value = parsed.payload_json().unwrap();
        assert_eq!(payload, json!({"termsOfServiceAgreed": true}));
        // And a flipped signature bit is caught.
        let mut flat: Value = serde_json::from_str(body).unwrap();
        let mut sig = B64.decode(flat["signature"].as_str().unwrap()).unwrap();
        sig[0] ^= 0x80;
        flat["signature"] = json!(B64.encode(sig));
        let parsed = parse_jws(flat.to_string().as_bytes()).unwrap();
        assert_eq!(
            problem(parsed.verify_embedded()),
            ProblemType::Malformed,
            "{alg}"
        );
    }
}
