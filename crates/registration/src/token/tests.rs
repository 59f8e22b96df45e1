//! Tests of minting and verification, all at a fixed time with freshly generated keys.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P384_SHA384_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RSA_PSS_SHA256, RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD as B64};
use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use vouch_model::{ErrorKind, Jwk, JwkProvisioner};

use super::mint::sign_compact;
use super::verify::strip_port;
use super::*;
use crate::ProvisionerKey;

const NAME: &str = "admin@example.com";
const AUD: &str = "https://ca.example.com/1.0/sign";

fn now() -> OffsetDateTime {
    datetime!(2030-06-01 12:00:00 UTC)
}

fn accepted() -> Vec<String> {
    vec![AUD.to_owned(), "https://ca.example.com/sign".to_owned()]
}

fn ctx(audiences: &[String]) -> TokenContext<'_> {
    TokenContext {
        audiences,
        now: now(),
        not_before_iat: None,
    }
}

fn provisioner_for(jwk: Jwk) -> JwkProvisioner {
    JwkProvisioner {
        name: NAME.to_owned(),
        key: jwk,
        encrypted_key: None,
        claims: None,
        policy: None,
        options: None,
    }
}

fn provisioner(key: &ProvisionerKey) -> JwkProvisioner {
    provisioner_for(key.public_jwk().clone())
}

fn kid(key: &ProvisionerKey) -> String {
    key.public_jwk().kid.clone().unwrap()
}

fn request<'a>(sans: &'a [String]) -> TokenRequest<'a> {
    TokenRequest {
        issuer: NAME,
        audience: "https://ca.example.com:9000/1.0/sign",
        subject: "svc.example.com",
        sans,
        not_before: now() - Duration::seconds(5),
        lifetime: Duration::minutes(5),
        sha: None,
        x5rt_s256: None,
    }
}

/// Claims as `step ca token` makes them, valid at `now()`; `changes` overrides members and a
/// `null` removes one.
fn claims_with(changes: Value) -> Value {
    let t = now().unix_timestamp();
    let mut claims = json!({
        "aud": AUD,
        "exp": t + 300,
        "iat": t - 5,
        "iss": NAME,
        "jti": "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
        "nbf": t - 5,
        "sans": ["svc.example.com"],
        "sub": "svc.example.com",
    });
    let (Value::Object(map), Value::Object(changes)) = (&mut claims, changes) else {
        panic!("objects expected");
    };
    for (name, value) in changes {
        if value.is_null() {
            map.remove(&name);
        } else {
            map.insert(name, value);
        }
    }
    claims
}

fn es256_header(key: &ProvisionerKey) -> Value {
    json!({"alg": "ES256", "kid": kid(key), "typ": "JWT"})
}

/// A token signed (ES256) by `key` over exactly the given header and claims.
fn hand_token(key: &ProvisionerKey, header: &Value, claims: &Value) -> String {
    sign_compact(
        key,
        &serde_json::to_vec(header).unwrap(),
        &serde_json::to_vec(claims).unwrap(),
    )
    .unwrap()
}

fn token_with(key: &ProvisionerKey, changes: Value) -> String {
    hand_token(key, &es256_header(key), &claims_with(changes))
}

fn verify(key: &ProvisionerKey, token: &str) -> Result<JwkTokenClaims, Error> {
    verify_jwk_token(&provisioner(key), token, &ctx(&accepted()))
}

fn verify_at(
    key: &ProvisionerKey,
    token: &str,
    at: OffsetDateTime,
) -> Result<JwkTokenClaims, Error> {
    let audiences = accepted();
    let ctx = TokenContext {
        now: at,
        ..ctx(&audiences)
    };
    verify_jwk_token(&provisioner(key), token, &ctx)
}

/// A compact JWS from raw parts, signature given.
fn compact(header: &Value, claims: &Value, signature: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        B64.encode(serde_json::to_vec(header).unwrap()),
        B64.encode(serde_json::to_vec(claims).unwrap()),
        B64.encode(signature)
    )
}

#[test]
fn mint_then_verify_round_trip() {
    let key = ProvisionerKey::generate().unwrap();
    let sans = vec!["svc.example.com".to_owned(), "10.0.0.1".to_owned()];
    let req = TokenRequest {
        sha: Some("aa11"),
        x5rt_s256: Some("csr-fingerprint"),
        ..request(&sans)
    };
    let token = key.sign_token(&req).unwrap();
    let claims = verify(&key, &token).unwrap();
    assert_eq!(claims.issuer, NAME);
    assert_eq!(claims.subject, "svc.example.com");
    assert_eq!(claims.sans, sans);
    assert_eq!(claims.jti.len(), 64);
    assert!(claims.jti.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(claims.not_before, Some(req.not_before));
    assert_eq!(claims.issued_at, Some(req.not_before));
    assert_eq!(claims.expires_at, req.not_before + Duration::minutes(5));
    assert_eq!(claims.sha.as_deref(), Some("aa11"));
    assert_eq!(claims.cnf_x5rt_s256.as_deref(), Some("csr-fingerprint"));
    assert_eq!(claims.raw["cnf"]["x5rt#S256"], "csr-fingerprint");
    assert_eq!(claims.raw["aud"], "https://ca.example.com:9000/1.0/sign");

    // Two tokens never share a jti.
    let again = verify(&key, &key.sign_token(&req).unwrap()).unwrap();
    assert_ne!(again.jti, claims.jti);
}

#[test]
fn minted_token_has_steps_exact_layout() {
    let key = ProvisionerKey::generate().unwrap();
    let token = key.sign_token(&request(&[])).unwrap();
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let header = String::from_utf8(B64.decode(parts[0]).unwrap()).unwrap();
    assert_eq!(
        header,
        format!(r#"{{"alg":"ES256","kid":"{}","typ":"JWT"}}"#, kid(&key))
    );
    let claims = String::from_utf8(B64.decode(parts[1]).unwrap()).unwrap();
    let jti = verify(&key, &token).unwrap().jti;
    let nbf = (now() - Duration::seconds(5)).unix_timestamp();
    // Empty sans become [sub]; no sha or cnf unless given; members sorted, as Go writes them.
    assert_eq!(
        claims,
        format!(
            r#"{{"aud":"https://ca.example.com:9000/1.0/sign","exp":{},"iat":{nbf},"iss":"{NAME}","jti":"{jti}","nbf":{nbf},"sans":["svc.example.com"],"sub":"svc.example.com"}}"#,
            nbf + 300
        )
    );
    assert_eq!(B64.decode(parts[2]).unwrap().len(), 64, "ES256 is r||s");
}

/// A token laid out byte for byte as smallstep/cli builds it (`token/token.go` `Claims.Sign`,
/// `utils/cautils/token_generator.go`): header and claims as Go marshals maps (sorted keys,
/// no spaces), `aud` forced to a string, a 256-bit hex `jti`, `sha` and `sans`, port in `aud`.
#[test]
fn accepts_a_token_laid_out_like_step_cli() {
    let key = ProvisionerKey::generate().unwrap();
    let t = now().unix_timestamp();
    let header = format!(r#"{{"alg":"ES256","kid":"{}","typ":"JWT"}}"#, kid(&key));
    let claims = format!(
        concat!(
            r#"{{"aud":"https://ca.example.com:8443/1.0/sign","exp":{exp},"iat":{iat},"#,
            r#""iss":"{iss}","jti":"{jti}","nbf":{iat},"sans":["svc.example.com","192.0.2.7"],"#,
            r#""sha":"{sha}","sub":"svc.example.com"}}"#
        ),
        exp = t + 290,
        iat = t - 10,
        iss = NAME,
        jti = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        sha = "9a3c5f29c4b5bb2a1c6f0b8b5e2a9b7e4d1f8c3a6b5e2d9c8f7a6b5c4d3e2f1a",
    );
    let token = sign_compact(&key, header.as_bytes(), claims.as_bytes()).unwrap();
    let got = verify(&key, &token).unwrap();
    assert_eq!(got.subject, "svc.example.com");
    assert_eq!(got.sans, ["svc.example.com", "192.0.2.7"]);
    assert_eq!(
        got.jti,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    assert!(got.sha.is_some());
    assert_eq!(got.expires_at.unix_timestamp(), t + 290);

    let peek = peek_token(&token).unwrap();
    assert_eq!(peek.alg, "ES256");
    assert_eq!(peek.kid.as_deref(), Some(kid(&key).as_str()));
    assert_eq!(peek.issuer.as_deref(), Some(NAME));
    assert_eq!(peek.audience, ["https://ca.example.com:8443/1.0/sign"]);
}

#[test]
fn wrong_issuer() {
    let key = ProvisionerKey::generate().unwrap();
    let token = token_with(&key, json!({"iss": "someone-else"}));
    assert!(matches!(verify(&key, &token), Err(Error::TokenIssuer)));
    let token = token_with(&key, json!({"iss": null}));
    assert!(matches!(
        verify(&key, &token),
        Err(Error::TokenMissingClaim("iss"))
    ));
}

#[test]
fn audiences() {
    let key = ProvisionerKey::generate().unwrap();
    for bad in [
        json!("https://other.example.com/1.0/sign"),
        json!("https://ca.example.com/1.0/revoke"),
        json!("https://ca.example.com:443/1.0/revoke"),
        json!("http://ca.example.com.evil/1.0/sign"),
        json!(["https://other.example.com/sign"]),
        json!([]),
    ] {
        let token = token_with(&key, json!({ "aud": bad }));
        assert!(
            matches!(
                verify(&key, &token),
                Err(Error::TokenAudience | Error::TokenMissingClaim("aud"))
            ),
            "{bad}"
        );
    }
    let token = token_with(&key, json!({"aud": "https://ca.example.com/1.0/revoke"}));
    assert!(matches!(verify(&key, &token), Err(Error::TokenAudience)));
    let token = token_with(&key, json!({"aud": null}));
    assert!(matches!(
        verify(&key, &token),
        Err(Error::TokenMissingClaim("aud"))
    ));
    for good in [
        json!("https://ca.example.com/1.0/sign"),
        json!("https://ca.example.com:9000/1.0/sign"),
        json!("https://ca.example.com:443/sign"),
        json!("HTTPS://ca.example.com:8443/sign"),
        json!([
            "https://x.example.com/sign",
            "https://ca.example.com:9000/sign"
        ]),
    ] {
        let token = token_with(&key, json!({ "aud": good }));
        assert!(verify(&key, &token).is_ok(), "{good}");
    }
}

#[test]
fn strip_port_like_go() {
    assert_eq!(
        strip_port("https://ca.example.com:9000/1.0/sign"),
        "https://ca.example.com/1.0/sign"
    );
    assert_eq!(
        strip_port("https://ca:1/sign?x=1#f"),
        "https://ca/sign?x=1#f"
    );
    assert_eq!(strip_port("https://[::1]:8443/sign"), "https://[::1]/sign");
    assert_eq!(
        strip_port("https://u:p@ca:8443/sign"),
        "https://u:p@ca/sign"
    );
    assert_eq!(
        strip_port("https://ca.example.com"),
        "https://ca.example.com"
    );
    assert_eq!(
        strip_port("step-certificate-authority"),
        "step-certificate-authority"
    );
    // Go cannot parse a non-numeric port, and step-ca then compares the text as it is.
    assert_eq!(strip_port("https://ca:abc/sign"), "https://ca:abc/sign");
}

#[test]
fn expiry_with_leeway() {
    let key = ProvisionerKey::generate().unwrap();
    let token = key.sign_token(&request(&[])).unwrap();
    let exp = now() - Duration::seconds(5) + Duration::minutes(5);
    assert!(verify_at(&key, &token, exp).is_ok());
    assert!(verify_at(&key, &token, exp + Duration::seconds(30)).is_ok());
    assert!(verify_at(&key, &token, exp + Duration::seconds(60)).is_ok());
    assert!(matches!(
        verify_at(&key, &token, exp + Duration::seconds(61)),
        Err(Error::TokenExpired)
    ));
    assert!(matches!(
        verify_at(&key, &token, exp + Duration::days(3)),
        Err(Error::TokenExpired)
    ));
    let token = token_with(&key, json!({"exp": null}));
    assert!(matches!(
        verify(&key, &token),
        Err(Error::TokenMissingClaim("exp"))
    ));
}

#[test]
fn not_yet_valid() {
    let key = ProvisionerKey::generate().unwrap();
    let t = now().unix_timestamp();
    let token = token_with(&key, json!({"nbf": t + 61, "iat": t, "exp": t + 600}));
    assert!(matches!(verify(&key, &token), Err(Error::TokenNotYetValid)));
    let token = token_with(&key, json!({"nbf": t + 60, "iat": t, "exp": t + 600}));
    assert!(verify(&key, &token).is_ok(), "within the leeway");
    // A client minting ahead of time: valid once nbf is reached.
    let req = TokenRequest {
        not_before: now() + Duration::minutes(10),
        ..request(&[])
    };
    let token = key.sign_token(&req).unwrap();
    assert!(matches!(verify(&key, &token), Err(Error::TokenNotYetValid)));
    assert!(verify_at(&key, &token, now() + Duration::minutes(10)).is_ok());
}

#[test]
fn issued_in_the_future() {
    let key = ProvisionerKey::generate().unwrap();
    let t = now().unix_timestamp();
    let token = token_with(&key, json!({"nbf": null, "iat": t + 120, "exp": t + 600}));
    assert!(matches!(
        verify(&key, &token),
        Err(Error::TokenIssuedInFuture)
    ));
}

#[test]
fn lifetime_at_most_one_hour() {
    let key = ProvisionerKey::generate().unwrap();
    let t = now().unix_timestamp();
    let too_long = token_with(
        &key,
        json!({"nbf": t - 10, "iat": t - 10, "exp": t - 10 + 3600 + 61}),
    );
    assert!(matches!(verify(&key, &too_long), Err(Error::TokenLifetime)));
    let hour = token_with(
        &key,
        json!({"nbf": t - 10, "iat": t - 10, "exp": t - 10 + 3600}),
    );
    assert!(verify(&key, &hour).is_ok());
    // Without nbf the lifetime is measured from iat, without both from now.
    let from_iat = token_with(&key, json!({"nbf": null, "iat": t - 10, "exp": t + 7200}));
    assert!(matches!(verify(&key, &from_iat), Err(Error::TokenLifetime)));
    let from_now = token_with(&key, json!({"nbf": null, "iat": null, "exp": t + 7200}));
    assert!(matches!(verify(&key, &from_now), Err(Error::TokenLifetime)));
    let bare = token_with(&key, json!({"nbf": null, "iat": null, "exp": t + 300}));
    assert!(verify(&key, &bare).is_ok());
    // Expiring before it starts (both inside the leeway).
    let negative = token_with(&key, json!({"nbf": t + 50, "iat": t, "exp": t - 50}));
    assert!(matches!(verify(&key, &negative), Err(Error::TokenLifetime)));
    // The client refuses to mint outside step's 10 s to 1 h.
    for lifetime in [Duration::seconds(9), Duration::minutes(61)] {
        let req = TokenRequest {
            lifetime,
            ..request(&[])
        };
        assert!(matches!(key.sign_token(&req), Err(Error::TokenRequest(_))));
    }
}

#[test]
fn issued_before_the_ca_started() {
    let key = ProvisionerKey::generate().unwrap();
    let t = now().unix_timestamp();
    let audiences = accepted();
    let started = now() - Duration::minutes(5);
    let ctx = TokenContext {
        not_before_iat: Some(started),
        ..ctx(&audiences)
    };
    let old = token_with(
        &key,
        json!({"iat": t - 7 * 60, "nbf": t - 7 * 60, "exp": t + 60}),
    );
    assert!(matches!(
        verify_jwk_token(&provisioner(&key), &old, &ctx),
        Err(Error::TokenIssuedBeforeStart)
    ));
    let within = token_with(
        &key,
        json!({"iat": t - 5 * 60 - 30, "nbf": t - 330, "exp": t + 60}),
    );
    assert!(verify_jwk_token(&provisioner(&key), &within, &ctx).is_ok());
    // Disabled.
    assert!(verify(&key, &old).is_ok());
}

#[test]
fn jti_and_sub_required() {
    let key = ProvisionerKey::generate().unwrap();
    for (changes, claim) in [
        (json!({"jti": null}), "jti"),
        (json!({"jti": ""}), "jti"),
        (json!({"sub": null}), "sub"),
        (json!({"sub": ""}), "sub"),
    ] {
        let token = token_with(&key, changes.clone());
        match verify(&key, &token) {
            Err(Error::TokenMissingClaim(c)) => assert_eq!(c, claim, "{changes}"),
            other => panic!("{changes}: {other:?}"),
        }
    }
    let token = token_with(&key, json!({"sub": 42}));
    assert!(matches!(
        verify(&key, &token),
        Err(Error::TokenMalformed(_))
    ));
}

#[test]
fn kid_must_be_the_provisioners() {
    let key = ProvisionerKey::generate().unwrap();
    let claims = claims_with(json!({}));
    let header = json!({"alg": "ES256", "kid": "another-key", "typ": "JWT"});
    let token = hand_token(&key, &header, &claims);
    assert!(matches!(verify(&key, &token), Err(Error::TokenKeyId)));
    // No kid at all: the signature decides.
    let token = hand_token(&key, &json!({"alg": "ES256"}), &claims);
    assert!(verify(&key, &token).is_ok());
    // A provisioner JWK without kid is compared by thumbprint.
    let mut jwk = key.public_jwk().clone();
    jwk.kid = None;
    let token = token_with(&key, json!({}));
    assert!(verify_jwk_token(&provisioner_for(jwk), &token, &ctx(&accepted())).is_ok());
}

#[test]
fn signed_by_another_key() {
    let key = ProvisionerKey::generate().unwrap();
    let other = ProvisionerKey::generate().unwrap();
    // The other key claims the provisioner's kid.
    let token = hand_token(&other, &es256_header(&key), &claims_with(json!({})));
    assert!(matches!(verify(&key, &token), Err(Error::TokenSignature)));
    // A changed claim breaks the signature.
    let token = key.sign_token(&request(&[])).unwrap();
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut claims: Value = serde_json::from_slice(&B64.decode(&parts[1]).unwrap()).unwrap();
    claims["sub"] = json!("evil.example.com");
    parts[1] = B64.encode(serde_json::to_vec(&claims).unwrap());
    assert!(matches!(
        verify(&key, &parts.join(".")),
        Err(Error::TokenSignature)
    ));
    // A truncated signature.
    let (input, signature) = token.rsplit_once('.').unwrap();
    let signature = B64.decode(signature).unwrap();
    let cut = format!("{input}.{}", B64.encode(&signature[..63]));
    assert!(matches!(verify(&key, &cut), Err(Error::TokenSignature)));
    let empty = format!("{input}.");
    assert!(matches!(verify(&key, &empty), Err(Error::TokenSignature)));
}

#[test]
fn alg_none_refused() {
    let key = ProvisionerKey::generate().unwrap();
    let claims = claims_with(json!({}));
    for alg in ["none", "None", "NONE"] {
        let token = compact(&json!({"alg": alg, "typ": "JWT"}), &claims, b"");
        assert!(token.ends_with('.'));
        match verify(&key, &token) {
            Err(Error::TokenAlgorithmForbidden(a)) => assert!(a.contains(alg), "{a}"),
            other => panic!("{alg}: {other:?}"),
        }
    }
    let token = compact(&json!({"typ": "JWT"}), &claims, b"");
    assert!(matches!(
        verify(&key, &token),
        Err(Error::TokenMalformed(_))
    ));
}

/// The classic confusion: HMAC "signed" with the provisioner's public key as the secret.
#[test]
fn hmac_with_the_public_key_refused() {
    let key = ProvisionerKey::generate().unwrap();
    let jwk = key.public_jwk();
    let x = B64.decode(jwk.x.as_deref().unwrap()).unwrap();
    let y = B64.decode(jwk.y.as_deref().unwrap()).unwrap();
    let point = [&[4u8][..], &x, &y].concat();
    // SubjectPublicKeyInfo for id-ecPublicKey / prime256v1.
    let spki_prefix = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    let spki = [&spki_prefix[..], &point].concat();
    let b64 = STANDARD.encode(&spki);
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
        lines.join("\n")
    );
    let secrets: Vec<Vec<u8>> = vec![
        serde_json::to_vec(jwk).unwrap(),
        serde_json::to_vec_pretty(jwk).unwrap(),
        point.clone(),
        [x.clone(), y.clone()].concat(),
        spki.clone(),
        pem.clone().into_bytes(),
        pem.trim_end().as_bytes().to_vec(),
    ];
    let claims = claims_with(json!({}));
    for secret in &secrets {
        for alg in [
            jsonwebtoken::Algorithm::HS256,
            jsonwebtoken::Algorithm::HS384,
            jsonwebtoken::Algorithm::HS512,
        ] {
            let mut header = jsonwebtoken::Header::new(alg);
            header.kid = jwk.kid.clone();
            let token = jsonwebtoken::encode(
                &header,
                &claims,
                &jsonwebtoken::EncodingKey::from_secret(secret),
            )
            .unwrap();
            // The token is a genuine HMAC under that secret: a confused verifier would pass it.
            let (input, signature) = token.rsplit_once('.').unwrap();
            assert!(
                jsonwebtoken::crypto::verify(
                    signature,
                    input.as_bytes(),
                    &jsonwebtoken::DecodingKey::from_secret(secret),
                    alg
                )
                .unwrap()
            );
            assert!(
                matches!(verify(&key, &token), Err(Error::TokenAlgorithmForbidden(_))),
                "{alg:?}"
            );
        }
    }
}

#[test]
fn alg_must_fit_the_key() {
    let key = ProvisionerKey::generate().unwrap();
    let claims = claims_with(json!({}));
    for alg in ["ES384", "EdDSA", "RS256", "PS256"] {
        let header = json!({"alg": alg, "kid": kid(&key), "typ": "JWT"});
        let token = hand_token(&key, &header, &claims);
        match verify(&key, &token) {
            Err(Error::TokenAlgorithmMismatch { alg: a, key: k }) => {
                assert_eq!(a, alg);
                assert_eq!(k, "EC P-256");
            }
            other => panic!("{alg}: {other:?}"),
        }
    }
    for alg in ["ES512", "RS512", "PS384", "ES256K", "whatever"] {
        let header = json!({"alg": alg, "kid": kid(&key), "typ": "JWT"});
        let token = hand_token(&key, &header, &claims);
        assert!(
            matches!(verify(&key, &token), Err(Error::TokenAlgorithmForbidden(_))),
            "{alg}"
        );
    }
}

#[test]
fn oversized_token() {
    let key = ProvisionerKey::generate().unwrap();
    let token = token_with(&key, json!({"pad": "x".repeat(MAX_TOKEN_BYTES)}));
    assert!(matches!(
        verify(&key, &token),
        Err(Error::TokenTooLarge {
            max: MAX_TOKEN_BYTES
        })
    ));
    assert!(matches!(
        peek_token(&token),
        Err(Error::TokenTooLarge { .. })
    ));
    // Just under the limit is parsed as usual.
    let fits = token_with(&key, json!({"pad": "x".repeat(MAX_TOKEN_BYTES / 2)}));
    assert!(fits.len() < MAX_TOKEN_BYTES);
    assert!(verify(&key, &fits).is_ok());
}

#[test]
fn garbage() {
    let key = ProvisionerKey::generate().unwrap();
    let good = key.sign_token(&request(&[])).unwrap();
    let parts: Vec<&str> = good.split('.').collect();
    let b = |s: &str| B64.encode(s);
    let cases = [
        String::new(),
        "not a token".to_owned(),
        "a.b".to_owned(),
        format!("{good}.extra"),
        format!("!!!.{}.{}", parts[1], parts[2]),
        format!("{}.{}=.{}", parts[0], parts[1], parts[2]),
        format!("{}.{}.***", parts[0], parts[1]),
        format!("{}.{}.{}", b("not json"), parts[1], parts[2]),
        format!("{}.{}.{}", b("[1,2]"), parts[1], parts[2]),
        format!("{}.{}.{}", parts[0], b("\"a string\""), parts[2]),
        format!("{}.{}.{}", parts[0], b("{\"sub\":"), parts[2]),
        format!(
            "{}.{}.{}",
            b(r#"{"alg":"ES256","alg":"none"}"#),
            parts[1],
            parts[2]
        ),
        format!(
            "{}.{}.{}",
            parts[0],
            b(r#"{"iss":"a","iss":"b"}"#),
            parts[2]
        ),
        format!("{}.{}.{}", b(r#"{"alg":256}"#), parts[1], parts[2]),
    ];
    for token in &cases {
        match verify(&key, token) {
            Err(e @ Error::TokenMalformed(_)) => {
                assert_eq!(e.kind(), ErrorKind::Unauthorized);
            }
            other => panic!("{token:?}: {other:?}"),
        }
        assert!(
            matches!(peek_token(token), Err(Error::TokenMalformed(_))),
            "{token:?}"
        );
    }
    // Typed claims of the wrong type, under a valid signature.
    for changes in [
        json!({"exp": "soon"}),
        json!({"exp": 1e300}),
        json!({"sans": "svc.example.com"}),
        json!({"sans": [1]}),
        json!({"cnf": "x"}),
        json!({"aud": 7}),
        json!({"sha": false}),
    ] {
        let token = token_with(&key, changes.clone());
        assert!(
            matches!(verify(&key, &token), Err(Error::TokenMalformed(_))),
            "{changes}"
        );
    }
    let token = compact(
        &json!({"alg": "ES256", "crit": ["exp"], "exp": 1}),
        &claims_with(json!({})),
        b"",
    );
    assert!(matches!(
        verify(&key, &token),
        Err(Error::TokenMalformed(_))
    ));
}

#[test]
fn fractional_numeric_dates() {
    let key = ProvisionerKey::generate().unwrap();
    let t = now().unix_timestamp() as f64;
    let token = token_with(
        &key,
        json!({"nbf": t - 5.5, "iat": t - 5.5, "exp": t + 299.9}),
    );
    let claims = verify(&key, &token).unwrap();
    assert_eq!(
        claims.expires_at.unix_timestamp(),
        now().unix_timestamp() + 299
    );
}

#[test]
fn peek() {
    let key = ProvisionerKey::generate().unwrap();
    let token = token_with(&key, json!({"aud": ["https://a/sign", "https://b/sign"]}));
    assert_eq!(
        peek_token(&token).unwrap(),
        TokenPeek {
            alg: "ES256".into(),
            kid: Some(kid(&key)),
            issuer: Some(NAME.into()),
            audience: vec!["https://a/sign".into(), "https://b/sign".into()],
        }
    );
    // Unverified: peeking works on tokens that fail verification.
    let none = compact(&json!({"alg": "none"}), &json!({}), b"");
    assert_eq!(
        peek_token(&none).unwrap(),
        TokenPeek {
            alg: "none".into(),
            kid: None,
            issuer: None,
            audience: vec![],
        }
    );
}

#[test]
fn errors_are_unauthorized_and_never_quote_the_token() {
    let key = ProvisionerKey::generate().unwrap();
    let other = ProvisionerKey::generate().unwrap();
    let t = now().unix_timestamp();
    let tokens = [
        token_with(&key, json!({"iss": "zzz-secret-issuer"})),
        token_with(&key, json!({"aud": "https://zzz-secret-aud/sign"})),
        token_with(
            &key,
            json!({"exp": t - 3600, "nbf": t - 3700, "iat": t - 3700}),
        ),
        hand_token(&other, &es256_header(&key), &claims_with(json!({}))),
        compact(&json!({"alg": "zzz-secret-alg"}), &json!({}), b""),
        "x".repeat(MAX_TOKEN_BYTES + 1),
        format!("{}.zzz.zzz", B64.encode("{\"alg\":\"ES256\"}")),
    ];
    for token in &tokens {
        let err = verify(&key, token).unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unauthorized, "{err}");
        let text = err.to_string();
        assert!(!text.contains("zzz"), "{text}");
        for part in token.split('.').filter(|p| p.len() > 8) {
            assert!(!text.contains(part), "{text}");
        }
    }
}

#[test]
fn mint_requests_are_checked() {
    let key = ProvisionerKey::generate().unwrap();
    for req in [
        TokenRequest {
            issuer: "",
            ..request(&[])
        },
        TokenRequest {
            audience: "",
            ..request(&[])
        },
        TokenRequest {
            subject: "",
            ..request(&[])
        },
    ] {
        let err = key.sign_token(&req).unwrap_err();
        assert!(matches!(err, Error::TokenRequest(_)));
        assert_eq!(err.kind(), ErrorKind::Malformed);
    }
}

// Other provisioner key types, signed with aws-lc-rs directly (not through our minting).

fn other_key_token(alg: &str, claims: &Value, sign: impl Fn(&[u8]) -> Vec<u8>) -> String {
    let header = B64.encode(serde_json::to_vec(&json!({"alg": alg, "typ": "JWT"})).unwrap());
    let payload = B64.encode(serde_json::to_vec(claims).unwrap());
    let input = format!("{header}.{payload}");
    let signature = sign(input.as_bytes());
    format!("{input}.{}", B64.encode(signature))
}

fn public_jwk(kty: &str, crv: Option<&str>, x: Option<&[u8]>, y: Option<&[u8]>) -> Jwk {
    Jwk {
        use_: Some("sig".into()),
        kty: kty.into(),
        kid: None,
        crv: crv.map(Into::into),
        alg: None,
        x: x.map(|v| B64.encode(v)),
        y: y.map(|v| B64.encode(v)),
        n: None,
        e: None,
    }
}

#[test]
fn p384_and_ed25519_provisioners() {
    let claims = claims_with(json!({}));
    let audiences = accepted();
    let rng = SystemRandom::new();

    let p384 = EcdsaKeyPair::generate(&ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
    let point = p384.public_key().as_ref().to_vec();
    let p = provisioner_for(public_jwk(
        "EC",
        Some("P-384"),
        Some(&point[1..49]),
        Some(&point[49..]),
    ));
    let token = other_key_token("ES384", &claims, |m| {
        p384.sign(&rng, m).unwrap().as_ref().to_vec()
    });
    assert!(verify_jwk_token(&p, &token, &ctx(&audiences)).is_ok());
    let token = other_key_token("ES256", &claims, |m| {
        p384.sign(&rng, m).unwrap().as_ref().to_vec()
    });
    assert!(matches!(
        verify_jwk_token(&p, &token, &ctx(&audiences)),
        Err(Error::TokenAlgorithmMismatch { .. })
    ));

    let ed = Ed25519KeyPair::generate().unwrap();
    let p = provisioner_for(public_jwk(
        "OKP",
        Some("Ed25519"),
        Some(ed.public_key().as_ref()),
        None,
    ));
    let token = other_key_token("EdDSA", &claims, |m| ed.sign(m).as_ref().to_vec());
    assert!(verify_jwk_token(&p, &token, &ctx(&audiences)).is_ok());
    let wrong = Ed25519KeyPair::generate().unwrap();
    let token = other_key_token("EdDSA", &claims, |m| wrong.sign(m).as_ref().to_vec());
    assert!(matches!(
        verify_jwk_token(&p, &token, &ctx(&audiences)),
        Err(Error::TokenSignature)
    ));

    // A P-256 JWK with a point of the wrong size is a configuration problem, not the client's.
    let p = provisioner_for(public_jwk(
        "EC",
        Some("P-256"),
        Some(&[1; 31]),
        Some(&[2; 32]),
    ));
    let err = verify_jwk_token(&p, &token, &ctx(&audiences)).unwrap_err();
    assert!(matches!(err, Error::ProvisionerKey(_)));
    assert_eq!(err.kind(), ErrorKind::Internal);
}

/// Reads one DER TLV, returning (tag, value, rest). Enough for an `RSAPublicKey`.
fn der_tlv(input: &[u8]) -> (u8, &[u8], &[u8]) {
    let tag = input[0];
    let (len, start) = match input[1] {
        l if l < 0x80 => (usize::from(l), 2),
        l => {
            let n = usize::from(l & 0x7f);
            let len = input[2..2 + n]
                .iter()
                .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
            (len, 2 + n)
        }
    };
    (tag, &input[start..start + len], &input[start + len..])
}

#[test]
fn rsa_provisioner_rs256_and_ps256() {
    let pair = RsaKeyPair::generate(KeySize::Rsa2048).unwrap();
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
    let (_, seq, _) = der_tlv(pair.public_key().as_ref());
    let (_, n, rest) = der_tlv(seq);
    let (_, e, _) = der_tlv(rest);
    let mut jwk = public_jwk("RSA", None, None, None);
    jwk.n = Some(
        B64.encode(
            n.iter()
                .skip_while(|b| **b == 0)
                .copied()
                .collect::<Vec<_>>(),
        ),
    );
    jwk.e = Some(B64.encode(e));
    let p = provisioner_for(jwk);
    let audiences = accepted();
    let claims = claims_with(json!({}));
    let rng = SystemRandom::new();
    let sign = |padding: &'static dyn aws_lc_rs::signature::RsaEncoding, m: &[u8]| {
        let mut sig = vec![0; pair.public_modulus_len()];
        pair.sign(padding, &rng, m, &mut sig).unwrap();
        sig
    };
    let rs = other_key_token("RS256", &claims, |m| sign(&RSA_PKCS1_SHA256, m));
    assert!(verify_jwk_token(&p, &rs, &ctx(&audiences)).is_ok());
    let ps = other_key_token("PS256", &claims, |m| sign(&RSA_PSS_SHA256, m));
    assert!(verify_jwk_token(&p, &ps, &ctx(&audiences)).is_ok());
    // The PKCS#1 signature presented as PSS does not verify.
    let swapped = other_key_token("PS256", &claims, |m| sign(&RSA_PKCS1_SHA256, m));
    assert!(matches!(
        verify_jwk_token(&p, &swapped, &ctx(&audiences)),
        Err(Error::TokenSignature)
    ));
    // An `alg` pinned in the JWK is honoured.
    let mut pinned = p.clone();
    pinned.key.alg = Some("RS256".into());
    assert!(verify_jwk_token(&pinned, &rs, &ctx(&audiences)).is_ok());
    assert!(matches!(
        verify_jwk_token(&pinned, &ps, &ctx(&audiences)),
        Err(Error::TokenAlgorithmMismatch { .. })
    ));
    let es = other_key_token("ES256", &claims, |m| sign(&RSA_PKCS1_SHA256, m));
    assert!(matches!(
        verify_jwk_token(&p, &es, &ctx(&audiences)),
        Err(Error::TokenAlgorithmMismatch { .. })
    ));
}
