//! Build and sign a leaf from a CSR, per CA key type (`cargo bench -p vouch-issuing --bench leaf`).
//!
//! One iteration is what the issuance pipeline does in the issuing crate for `/1.0/sign`:
//! verify the CSR's self-signature (P-256), then build the TBSCertificate and sign it with the
//! intermediate's key (P-256, Ed25519 or RSA-2048).

#![allow(
    clippy::expect_used,
    reason = "benchmark setup: a failure should stop the benchmark loudly"
)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use time::{Duration, OffsetDateTime};
use vouch_issuing::{
    CaCertificate, CertificateSpec, Dn, KeyType, PrivateKey, San, Signer, Subject, create_csr,
    issue_certificate, verify_csr,
};
use vouch_model::Profile;

fn spec(cn: &str, profile: Profile, sans: Vec<San>, now: OffsetDateTime) -> CertificateSpec {
    CertificateSpec {
        subject: Dn::try_from(&Subject::common_name(cn)).expect("dn"),
        sans,
        profile,
        not_before: now - Duration::minutes(1),
        not_after: now + Duration::days(365),
        extensions: vec![],
    }
}

/// A root and an intermediate with `kind` keys; returns the intermediate and its key.
fn ca(kind: KeyType) -> (CaCertificate, PrivateKey) {
    let now = OffsetDateTime::now_utc();
    let root_key = PrivateKey::generate(kind).expect("root key");
    let root = issue_certificate(
        &spec("Bench Root", Profile::RootCa, vec![], now),
        &root_key.public_key_der(),
        None,
        &root_key,
        now,
    )
    .expect("root");
    let root = CaCertificate::from_der(root.der).expect("root parse");
    let int_key = PrivateKey::generate(kind).expect("intermediate key");
    let int = issue_certificate(
        &spec("Bench Issuing CA", Profile::IntermediateCa, vec![], now),
        &int_key.public_key_der(),
        Some(&root),
        &root_key,
        now,
    )
    .expect("intermediate");
    (
        CaCertificate::from_der(int.der).expect("int parse"),
        int_key,
    )
}

fn leaf(c: &mut Criterion) {
    let leaf_key = PrivateKey::generate(KeyType::EcP256).expect("leaf key");
    let name = "svc.bench.internal";
    let csr = create_csr(
        &Dn::try_from(&Subject::common_name(name)).expect("dn"),
        &[San::Dns(name.to_owned())],
        &leaf_key,
    )
    .expect("csr");
    let mut group = c.benchmark_group("leaf_from_csr");
    for (label, kind) in [
        ("ca_p256", KeyType::EcP256),
        ("ca_ed25519", KeyType::Ed25519),
        ("ca_rsa2048", KeyType::Rsa(2048)),
    ] {
        let (int, key) = ca(kind);
        group.bench_function(label, |b| {
            b.iter(|| {
                let now = OffsetDateTime::now_utc();
                let req = verify_csr(black_box(&csr)).expect("csr verifies");
                let spec = CertificateSpec {
                    subject: req.subject.clone(),
                    sans: req.sans.clone(),
                    profile: Profile::Leaf,
                    not_before: now - Duration::minutes(1),
                    not_after: now + Duration::hours(24),
                    extensions: vec![],
                };
                black_box(
                    issue_certificate(&spec, &req.spki_der, Some(&int), &key, now).expect("leaf"),
                )
            });
        });
    }
    group.finish();
}

criterion_group!(benches, leaf);
criterion_main!(benches);
