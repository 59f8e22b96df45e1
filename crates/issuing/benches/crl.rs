//! CRL build and sign with 1k, 100k and 1M entries (`cargo bench -p vouch-issuing --bench crl`).
//!
//! Measures `StatusSigner::sign_crl`: DER encoding of every entry plus one P-256 signature,
//! which is what a rebuild costs after the entries are read from the store.

#![allow(
    clippy::expect_used,
    clippy::cast_possible_truncation,
    reason = "benchmark setup: a failure should stop the benchmark loudly"
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use time::{Duration, OffsetDateTime};
use vouch_issuing::{
    CaCertificate, CertificateSpec, Dn, KeyType, OnlineIssuer, PrivateKey, Signer, Subject,
    issue_certificate,
};
use vouch_model::{CrlContent, CrlEntry, Profile};

fn issuer() -> OnlineIssuer {
    let key = PrivateKey::generate(KeyType::EcP256).expect("key");
    let now = OffsetDateTime::now_utc();
    let spec = CertificateSpec {
        subject: Dn::try_from(&Subject::common_name("Bench CA")).expect("dn"),
        sans: vec![],
        profile: Profile::RootCa,
        not_before: now - Duration::minutes(1),
        not_after: now + Duration::days(365),
        extensions: vec![],
    };
    let cert = issue_certificate(&spec, &key.public_key_der(), None, &key, now).expect("root");
    let ca = CaCertificate::from_der(cert.der).expect("parse");
    OnlineIssuer::new(ca, Arc::new(key)).expect("issuer")
}

fn content(n: usize) -> CrlContent {
    let now = OffsetDateTime::now_utc();
    CrlContent {
        number: 42,
        this_update: now,
        next_update: now + Duration::hours(24),
        entries: (0..n)
            .map(|i| {
                let mut serial = [0x5au8; 20];
                serial[12..20].copy_from_slice(&(i as u64).to_be_bytes());
                CrlEntry {
                    serial: serial.to_vec(),
                    revoked_at: now - Duration::seconds(i as i64 % 86_400),
                    reason_code: [0u8, 1, 4, 5][i % 4],
                }
            })
            .collect(),
    }
}

fn crl(c: &mut Criterion) {
    let signer = issuer().status_signer();
    let mut group = c.benchmark_group("crl_build_and_sign");
    group.sample_size(10);
    for n in [1_000usize, 100_000, 1_000_000] {
        let content = content(n);
        group.bench_function(format!("{n}_entries"), |b| {
            b.iter(|| black_box(signer.sign_crl(black_box(&content)).expect("sign")))
        });
    }
    group.finish();
}

criterion_group!(benches, crl);
criterion_main!(benches);
