//! The OCSP paths (`cargo bench -p vouch-validation --bench ocsp`), without the HTTP layer:
//! - `ocsp_parse_lookup_cached`: parse a nonce-less single request, look the pre-signed
//!   response up in a cache of 100,000 responses, and hand back its bytes (a cache hit);
//! - `ocsp_build_and_sign_p256`: encode and sign a fresh BasicOCSPResponse for one serial with
//!   a P-256 responder key (a cache miss, or a request with a nonce).

#![allow(
    clippy::expect_used,
    clippy::cast_possible_truncation,
    reason = "benchmark setup: a failure should stop the benchmark loudly"
)]

use std::hint::black_box;
use std::sync::Arc;

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use criterion::{Criterion, criterion_group, criterion_main};
use der::{Encode, Header, Length, Tag};
use time::{Duration, OffsetDateTime};
use vouch_validation::{
    CertId, CertStatus, HashAlgorithm, IssuerId, OcspSigner, ResponderIdentity, ResponseCache,
    SingleResponseInput, build_basic_response, parse_ocsp_request,
};

fn sequence(body: &[u8]) -> Vec<u8> {
    let mut out = Header::new(Tag::Sequence, Length::try_from(body.len()).expect("length"))
        .to_der()
        .expect("header");
    out.extend_from_slice(body);
    out
}

/// OCSPRequest { tbsRequest { requestList { Request { reqCert } } } }.
fn request(id: &CertId) -> Vec<u8> {
    sequence(&sequence(&sequence(&sequence(id.der()))))
}

fn issuer() -> IssuerId {
    let key = rcgen::KeyPair::generate().expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let cert = params.self_signed(&key).expect("cert");
    IssuerId::from_certificate(cert.der()).expect("issuer")
}

fn serial(i: u64) -> Vec<u8> {
    let mut s = vec![0x42u8; 20];
    s[12..].copy_from_slice(&i.to_be_bytes());
    s
}

fn hot_path(c: &mut Criterion) {
    let issuer = issuer();
    let now = OffsetDateTime::now_utc();
    let cache = ResponseCache::default();
    for i in 0..100_000u64 {
        let id = CertId::new(HashAlgorithm::Sha1, &issuer, &serial(i)).expect("id");
        cache.insert(&id, Arc::from(vec![0u8; 400]), now + Duration::hours(1));
    }
    let id = CertId::new(HashAlgorithm::Sha1, &issuer, &serial(31_337)).expect("id");
    let der = request(&id);
    assert!(parse_ocsp_request(&der).expect("parse").is_cacheable());
    c.bench_function("ocsp_parse_lookup_cached", |b| {
        b.iter(|| {
            let req = parse_ocsp_request(black_box(&der)).expect("parse");
            let hit = cache.lookup(&req.cert_ids()[0], now).expect("cached");
            black_box(hit.der.len())
        })
    });
}

/// A P-256 responder key, as the server's delegated responder has by default.
struct P256Signer {
    key: EcdsaKeyPair,
    rng: SystemRandom,
}

impl OcspSigner for P256Signer {
    fn signature_algorithm_der(&self) -> Vec<u8> {
        // SEQUENCE { ecdsa-with-SHA256 }
        vec![
            0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
        ]
    }
    fn sign(&self, tbs: &[u8]) -> Result<Vec<u8>, String> {
        self.key
            .sign(&self.rng, tbs)
            .map(|s| s.as_ref().to_vec())
            .map_err(|_| "signing failed".to_string())
    }
}

fn build_and_sign(c: &mut Criterion) {
    let issuer = issuer();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).expect("key");
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::OcspSigning];
    let cert = params.self_signed(&key).expect("responder certificate");
    let responder = ResponderIdentity::new(cert.der().to_vec()).expect("responder");
    let signer = P256Signer {
        key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &key.serialize_der())
            .expect("pkcs8"),
        rng: SystemRandom::new(),
    };
    let now = OffsetDateTime::now_utc();
    let input = SingleResponseInput {
        cert_id: CertId::new(HashAlgorithm::Sha1, &issuer, &serial(31_337)).expect("id"),
        status: CertStatus::Good,
        this_update: now,
        next_update: now + Duration::hours(1),
    };
    let once = build_basic_response(&responder, std::slice::from_ref(&input), None, now, &signer)
        .expect("a response");
    assert!(
        once.starts_with(&[0x30])
            && once
                .windows(cert.der().len())
                .any(|w| w == cert.der().as_ref()),
        "a signed response carries the responder certificate"
    );
    c.bench_function("ocsp_build_and_sign_p256", |b| {
        b.iter(|| {
            let der = build_basic_response(
                &responder,
                std::slice::from_ref(black_box(&input)),
                None,
                now,
                &signer,
            )
            .expect("a response");
            black_box(der.len())
        })
    });
}

criterion_group!(benches, hot_path, build_and_sign);
criterion_main!(benches);
