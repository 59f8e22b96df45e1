//! The OCSP hot path (`cargo bench -p vouch-validation --bench ocsp`): parse a nonce-less
//! single request, look the pre-signed response up in a cache of 100,000 responses, and hand
//! back its bytes — what the responder does for a cache hit, without the HTTP layer.

#![allow(
    clippy::expect_used,
    clippy::cast_possible_truncation,
    reason = "benchmark setup: a failure should stop the benchmark loudly"
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use der::{Encode, Header, Length, Tag};
use time::{Duration, OffsetDateTime};
use vouch_validation::{CertId, HashAlgorithm, IssuerId, ResponseCache, parse_ocsp_request};

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

criterion_group!(benches, hot_path);
criterion_main!(benches);
