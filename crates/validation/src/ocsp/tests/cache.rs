//! The response cache: hits, expiry, invalidation, bounds, concurrency.

use std::sync::Arc;

use time::{Duration, OffsetDateTime};

use crate::ocsp::{CertId, HashAlgorithm, IssuerId, ResponseCache};

fn t0() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_800_000_000).unwrap()
}

fn issuer(name: &[u8]) -> IssuerId {
    IssuerId::from_parts(name, b"key")
}

fn id(serial: &[u8]) -> CertId {
    CertId::new(HashAlgorithm::Sha1, &issuer(b"\x30\x00"), serial).unwrap()
}

fn bytes(b: &[u8]) -> Arc<[u8]> {
    Arc::from(b)
}

#[test]
fn hit_then_miss_at_next_update() {
    let cache = ResponseCache::new(100);
    let next = t0() + Duration::hours(1);
    assert!(cache.get(&id(&[1]), t0()).is_none());
    cache.insert(&id(&[1]), bytes(b"r1"), next);
    assert_eq!(cache.get(&id(&[1]), t0()).as_deref(), Some(&b"r1"[..]));
    assert_eq!(cache.lookup(&id(&[1]), t0()).unwrap().next_update, next);
    assert_eq!(
        cache.get(&id(&[1]), next - Duration::seconds(1)).as_deref(),
        Some(&b"r1"[..])
    );
    assert!(
        cache.get(&id(&[1]), next).is_none(),
        "expired at nextUpdate"
    );
    assert!(cache.get(&id(&[2]), t0()).is_none());
    // Replacing keeps one entry.
    cache.insert(&id(&[1]), bytes(b"r1'"), next + Duration::hours(1));
    assert_eq!(cache.len(), 1);
    assert_eq!(cache.get(&id(&[1]), next).as_deref(), Some(&b"r1'"[..]));
    assert_eq!(cache.purge_expired(next + Duration::hours(1)), 1);
    assert!(cache.is_empty());
}

#[test]
fn the_whole_cert_id_is_the_key() {
    let cache = ResponseCache::new(100);
    let next = t0() + Duration::hours(1);
    let sha256 = CertId::new(HashAlgorithm::Sha256, &issuer(b"\x30\x00"), &[1]).unwrap();
    let other_issuer = CertId::new(HashAlgorithm::Sha1, &issuer(b"\x30\x01"), &[1]).unwrap();
    cache.insert(&id(&[1]), bytes(b"sha1"), next);
    assert!(cache.get(&sha256, t0()).is_none());
    assert!(cache.get(&other_issuer, t0()).is_none());
    cache.insert(&sha256, bytes(b"sha256"), next);
    cache.insert(&other_issuer, bytes(b"other"), next);
    assert_eq!(cache.len(), 3);
    assert_eq!(cache.get(&sha256, t0()).as_deref(), Some(&b"sha256"[..]));
    assert_eq!(cache.get(&id(&[1]), t0()).as_deref(), Some(&b"sha1"[..]));
}

#[test]
fn invalidate_drops_every_variant_of_a_serial() {
    let cache = ResponseCache::new(100);
    let next = t0() + Duration::hours(1);
    let serial = [0x00, 0x9a, 0x01];
    let a = id(&serial);
    let b = CertId::new(HashAlgorithm::Sha256, &issuer(b"\x30\x00"), &serial).unwrap();
    cache.insert(&a, bytes(b"a"), next);
    cache.insert(&b, bytes(b"b"), next);
    cache.insert(&id(&[7]), bytes(b"other"), next);
    // Leading zeros do not matter.
    assert_eq!(cache.invalidate(&[0x00, 0x00, 0x9a, 0x01]), 2);
    assert!(cache.get(&a, t0()).is_none());
    assert!(cache.get(&b, t0()).is_none());
    assert!(cache.get(&id(&[7]), t0()).is_some());
    assert_eq!(cache.invalidate(&serial), 0);
    cache.clear();
    assert!(cache.is_empty());
    assert!(cache.get(&id(&[7]), t0()).is_none());
}

#[test]
fn the_size_is_bounded() {
    let cache = ResponseCache::new(32);
    let next = t0() + Duration::hours(1);
    for i in 0..1000u32 {
        cache.insert(&id(&i.to_be_bytes()), bytes(b"r"), next);
        assert!(cache.len() <= 32, "{} entries after {i}", cache.len());
    }
    assert!(cache.len() >= 16);
}

#[test]
fn readers_and_writers_on_many_threads() {
    fn shared<T: Send + Sync>() {}
    shared::<ResponseCache>();
    let cache = Arc::new(ResponseCache::default());
    let next = t0() + Duration::hours(1);
    std::thread::scope(|s| {
        for w in 0..4u32 {
            let cache = Arc::clone(&cache);
            s.spawn(move || {
                for i in 0..500u32 {
                    let serial = (w * 1000 + i + 1).to_be_bytes();
                    cache.insert(&id(&serial), bytes(&serial), next);
                    if i % 7 == 0 {
                        cache.invalidate(&serial);
                    }
                }
            });
        }
        for _ in 0..4 {
            let cache = Arc::clone(&cache);
            s.spawn(move || {
                for i in 0..2000u32 {
                    let serial = (i + 1).to_be_bytes();
                    if let Some(r) = cache.get(&id(&serial), t0()) {
                        assert_eq!(&*r, serial.as_slice());
                    }
                }
            });
        }
    });
    // 4 writers × 500, minus the invalidated 72 each.
    assert_eq!(cache.len(), 4 * (500 - 72));
}
