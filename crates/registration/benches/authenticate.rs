//! The registration authority's hot paths (`cargo bench -p vouch-registration --bench authenticate`):
//! verifying a JWK one-time token (ES256), rendering step's default leaf template, and
//! parsing plus verifying an ACME flattened JWS (ES256, key in the header).

#![allow(
    clippy::expect_used,
    reason = "benchmark setup: a failure should stop the benchmark loudly"
)]

use std::hint::black_box;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::json;
use time::{Duration, OffsetDateTime};
use vouch_model::JwkProvisioner;
use vouch_registration::{
    CertificateRequestData, DEFAULT_LEAF_TEMPLATE, ProvisionerKey, TemplateData, TokenContext,
    TokenRequest, parse_jws, render_x509_template, verify_jwk_token,
};

fn token(c: &mut Criterion) {
    let key = ProvisionerKey::generate().expect("key");
    let provisioner = JwkProvisioner {
        name: "bench@vouch".into(),
        key: key.public_jwk().clone(),
        encrypted_key: None,
        claims: None,
        policy: None,
        options: None,
    };
    let now = OffsetDateTime::now_utc();
    let sans = vec!["svc.bench.internal".to_owned()];
    let token = key
        .sign_token(&TokenRequest {
            issuer: "bench@vouch",
            audience: "https://ca.bench.internal/1.0/sign",
            subject: "svc.bench.internal",
            sans: &sans,
            not_before: now,
            lifetime: Duration::minutes(5),
            sha: None,
            x5rt_s256: None,
        })
        .expect("token");
    let audiences = vec!["https://ca.bench.internal/1.0/sign".to_owned()];
    let ctx = TokenContext {
        audiences: &audiences,
        now,
        not_before_iat: None,
    };
    c.bench_function("verify_jwk_token_es256", |b| {
        b.iter(|| {
            black_box(verify_jwk_token(&provisioner, black_box(&token), &ctx).expect("valid"))
        });
    });

    let claims = verify_jwk_token(&provisioner, &token, &ctx).expect("valid");
    let request = CertificateRequestData {
        dns_names: sans.clone(),
        ..CertificateRequestData::default()
    };
    c.bench_function("render_default_leaf_template", |b| {
        b.iter(|| {
            let data = TemplateData::from_token(&claims, request.clone());
            black_box(render_x509_template(DEFAULT_LEAF_TEMPLATE, &data).expect("renders"))
        });
    });
}

fn acme_jws(c: &mut Criterion) {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("key");
    let key =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref()).expect("key");
    let point = key.public_key().as_ref();
    let jwk = json!({"kty": "EC", "crv": "P-256", "x": B64.encode(&point[1..33]), "y": B64.encode(&point[33..65])});
    let protected = B64.encode(
        json!({"alg": "ES256", "jwk": jwk, "nonce": "AAAAAAAAAAAAAAAAAAAAAA", "url": "https://ca.bench.internal/acme/acme/new-order"})
            .to_string(),
    );
    let payload = B64.encode(
        json!({"identifiers": [{"type": "dns", "value": "svc.bench.internal"}]}).to_string(),
    );
    let signature = key
        .sign(&rng, format!("{protected}.{payload}").as_bytes())
        .expect("sign");
    let body = json!({"protected": protected, "payload": payload, "signature": B64.encode(signature.as_ref())})
        .to_string();
    c.bench_function("acme_jws_parse_and_verify_es256", |b| {
        b.iter(|| {
            let jws = parse_jws(black_box(body.as_bytes())).expect("parses");
            black_box(jws.verify_embedded().expect("verifies").clone())
        });
    });
}

criterion_group!(benches, token, acme_jws);
criterion_main!(benches);
