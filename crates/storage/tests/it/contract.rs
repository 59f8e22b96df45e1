//! The store contract: behaviour every backend must show. Each case is a plain async fn taking
//! a freshly migrated, empty `&Store`; `main.rs` runs every case against SQLite and PostgreSQL.

use std::sync::Arc;

use time::OffsetDateTime;
use time::macros::datetime;
use vouch_model::{ErrorKind, FixedClock};
use vouch_storage::{
    AcmeAccountStatus, AcmeAuthorizationStatus, AcmeChallengeStatus, AcmeChallengeType,
    AcmeIdentifier, AcmeOrderStatus, CertificateStatus, Error, NewAcmeAccount, NewAcmeOrder,
    NewAuthorization, NewCertificate, NewChallenge, Store,
};

const T0: OffsetDateTime = datetime!(2030-01-01 00:00:00 UTC);

fn at(days: i64) -> OffsetDateTime {
    T0 + time::Duration::days(days)
}

/// A certificate with every field set and DER bytes that would trip up text handling.
pub fn cert(serial: &str, cn: &str, not_after: OffsetDateTime) -> NewCertificate {
    NewCertificate {
        serial: serial.to_owned(),
        subject: format!("CN={cn}, O=Vouch Test"),
        sans: vec![cn.to_owned(), format!("www.{cn}"), "10.1.2.3".to_owned()],
        not_before: not_after - time::Duration::days(90),
        not_after,
        issuer: "CN=Vouch Test Intermediate CA".to_owned(),
        provisioner: Some("admin@example.com".to_owned()),
        der: [
            &[0x30, 0x82, 0x00, 0xff, 0x00][..],
            serial.as_bytes(),
            &[0x00, 0x7f, 0x80],
        ]
        .concat(),
    }
}

fn serials(records: &[vouch_storage::CertificateRecord]) -> Vec<&str> {
    records.iter().map(|r| r.serial.as_str()).collect()
}

pub async fn insert_and_get_round_trip(store: &Store) {
    let created = datetime!(2029-12-31 23:59:59 UTC);
    let store = store.clone().with_clock(Arc::new(FixedClock(created)));
    let new = NewCertificate {
        serial: "00deadbeef0123456789abcdef".to_owned(),
        subject: "CN=Round.Trip.example, O=Ünïcode \"quoted\", OU=a\\,b".to_owned(),
        sans: vec![
            "round.trip.example".to_owned(),
            "*.Round.Trip.example".to_owned(),
            "2001:db8::1".to_owned(),
            "mail@round.trip.example".to_owned(),
        ],
        not_before: datetime!(2029-12-31 23:59:58 UTC),
        not_after: datetime!(2030-03-31 12:34:56 UTC),
        issuer: "CN=Vouch Test Intermediate CA, O=Vouch".to_owned(),
        provisioner: Some("jwk: admin@example.com".to_owned()),
        der: (0..=255u8).chain((0..=255u8).rev()).collect(),
    };
    store.insert_certificate(&new).await.unwrap();

    let got = store
        .get_certificate(&new.serial)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(got.serial, new.serial);
    assert_eq!(got.subject, new.subject);
    assert_eq!(got.sans, new.sans);
    assert_eq!(got.not_before, new.not_before);
    assert_eq!(got.not_after, new.not_after);
    assert_eq!(
        got.not_after.unix_timestamp(),
        new.not_after.unix_timestamp()
    );
    assert_eq!(got.issuer, new.issuer);
    assert_eq!(got.provisioner, new.provisioner);
    assert_eq!(got.status, CertificateStatus::Issued);
    assert_eq!(got.der.as_deref(), Some(new.der.as_slice()));
    assert_eq!(got.created_at, created);

    // No provisioner, no SANs, a bare common name as subject.
    let bare = NewCertificate {
        serial: "1".to_owned(),
        subject: "host.internal".to_owned(),
        sans: Vec::new(),
        provisioner: None,
        ..new.clone()
    };
    store.insert_certificate(&bare).await.unwrap();
    let got = store.get_certificate("1").await.unwrap().unwrap();
    assert_eq!(got.provisioner, None);
    assert!(got.sans.is_empty());
    assert_eq!(
        serials(&store.find_by_name("HOST.internal", 10).await.unwrap()),
        ["1"]
    );

    // Sub-second parts are dropped, not rounded.
    let fractional = NewCertificate {
        serial: "2".to_owned(),
        not_before: datetime!(2030-01-01 00:00:00.999 UTC),
        not_after: datetime!(2030-01-02 00:00:00.5 UTC),
        ..bare.clone()
    };
    store.insert_certificate(&fractional).await.unwrap();
    let got = store.get_certificate("2").await.unwrap().unwrap();
    assert_eq!(got.not_before, datetime!(2030-01-01 00:00:00 UTC));
    assert_eq!(got.not_after, datetime!(2030-01-02 00:00:00 UTC));

    assert_eq!(store.get_certificate("ffff").await.unwrap(), None);
    assert_eq!(store.count_certificates().await.unwrap(), 3);
}

pub async fn duplicate_serial_is_rejected(store: &Store) {
    let original = cert("0a0b", "original.example", at(30));
    store.insert_certificate(&original).await.unwrap();

    let imposter = NewCertificate {
        subject: "CN=imposter.example".to_owned(),
        sans: vec!["imposter.example".to_owned()],
        der: vec![1, 2, 3],
        ..original.clone()
    };
    let err = store.insert_certificate(&imposter).await.unwrap_err();
    assert!(
        matches!(&err, Error::Duplicate { serial } if serial == "0a0b"),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Conflict);

    let err = store
        .record_intent("0a0b", "CN=x", &[], at(0), at(1), "CN=ca", None)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Duplicate { .. }), "{err:?}");

    // The original row and its names are untouched; nothing of the imposter was kept.
    let got = store.get_certificate("0a0b").await.unwrap().unwrap();
    assert_eq!(got.subject, original.subject);
    assert_eq!(got.sans, original.sans);
    assert_eq!(got.der, Some(original.der.clone()));
    assert_eq!(store.count_certificates().await.unwrap(), 1);
    assert!(
        store
            .find_by_name("imposter.example", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        serials(&store.find_by_name("original.example", 10).await.unwrap()),
        ["0a0b"]
    );
}

pub async fn intent_then_issued(store: &Store) {
    let sans = vec!["intent.example".to_owned()];
    store
        .record_intent(
            "abc123",
            "CN=intent.example",
            &sans,
            at(0),
            at(10),
            "CN=Vouch Test Intermediate CA",
            Some("acme"),
        )
        .await
        .unwrap();
    let got = store.get_certificate("abc123").await.unwrap().unwrap();
    assert_eq!(got.status, CertificateStatus::Intended);
    assert_eq!(got.der, None);
    assert_eq!(got.sans, sans);
    assert_eq!(got.provisioner.as_deref(), Some("acme"));
    // An intent is searchable but is not an issued certificate.
    assert_eq!(
        serials(&store.find_by_name("INTENT.example", 5).await.unwrap()),
        ["abc123"]
    );
    assert!(store.list_expiring(at(100), 10).await.unwrap().is_empty());

    let der = vec![0x30, 0x03, 0x02, 0x01, 0x00];
    store.record_issued("abc123", &der).await.unwrap();
    let got = store.get_certificate("abc123").await.unwrap().unwrap();
    assert_eq!(got.status, CertificateStatus::Issued);
    assert_eq!(got.der, Some(der.clone()));
    assert_eq!(
        serials(&store.list_expiring(at(100), 10).await.unwrap()),
        ["abc123"]
    );

    // A retry with the same DER is fine; different DER is a conflict and changes nothing.
    store.record_issued("abc123", &der).await.unwrap();
    let err = store
        .record_issued("abc123", &[0x30, 0x00])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            Error::WrongState {
                status: CertificateStatus::Issued,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::Conflict);
    assert_eq!(
        store.get_certificate("abc123").await.unwrap().unwrap().der,
        Some(der)
    );

    // A crash between intent and signature leaves a record that can still be revoked.
    store
        .record_intent(
            "abc124",
            "CN=lost.example",
            &[],
            at(0),
            at(10),
            "CN=ca",
            None,
        )
        .await
        .unwrap();
    store
        .revoke("abc124", at(1), 4, Some("never signed"), false)
        .await
        .unwrap();
    let got = store.get_certificate("abc124").await.unwrap().unwrap();
    assert_eq!((got.status, got.der), (CertificateStatus::Revoked, None));
    let err = store
        .record_issued("abc124", &[0x30, 0x00])
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WrongState { .. }), "{err:?}");
}

pub async fn issued_without_intent_is_not_found(store: &Store) {
    let err = store
        .record_issued("0123", &[0x30, 0x00])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::NotFound { serial } if serial == "0123"),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(store.count_certificates().await.unwrap(), 0);
    let err = store.record_issued("0123", &[]).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed);
}

pub async fn list_expiring_orders_and_limits(store: &Store) {
    // Inserted out of order; two share an expiry (ties are broken by serial).
    for (serial, days) in [
        ("05", 50),
        ("01", 10),
        ("04", 40),
        ("03", 20),
        ("02", 20),
        ("06", 60),
    ] {
        store
            .insert_certificate(&cert(serial, &format!("e{serial}.example"), at(days)))
            .await
            .unwrap();
    }
    store.revoke("04", at(1), 1, None, false).await.unwrap();
    store
        .record_intent("07", "CN=e07.example", &[], at(0), at(5), "CN=ca", None)
        .await
        .unwrap();

    let all = store.list_expiring(at(1000), 100).await.unwrap();
    assert_eq!(serials(&all), ["01", "02", "03", "05", "06"]);
    assert!(all.windows(2).all(|w| w[0].not_after <= w[1].not_after));
    assert!(all.iter().all(|r| r.status == CertificateStatus::Issued));

    assert_eq!(
        serials(&store.list_expiring(at(1000), 3).await.unwrap()),
        ["01", "02", "03"]
    );
    // `before` is exclusive.
    assert_eq!(
        serials(&store.list_expiring(at(50), 100).await.unwrap()),
        ["01", "02", "03"]
    );
    assert_eq!(
        serials(&store.list_expiring(at(51), 100).await.unwrap()),
        ["01", "02", "03", "05"]
    );
    assert!(store.list_expiring(at(10), 100).await.unwrap().is_empty());
    assert!(store.list_expiring(at(1000), 0).await.unwrap().is_empty());
}

pub async fn find_by_name_is_case_insensitive(store: &Store) {
    let mut first = cert("aa01", "Mixed.Example.COM", at(30));
    first.sans.push("API.Mixed.example.com".to_owned());
    store.insert_certificate(&first).await.unwrap();
    // A renewal with the same names.
    store
        .insert_certificate(&cert("aa02", "mixed.example.com", at(60)))
        .await
        .unwrap();
    store
        .insert_certificate(&cert("aa03", "other.example.com", at(60)))
        .await
        .unwrap();

    for query in [
        "mixed.example.com",
        "MIXED.EXAMPLE.COM",
        "Mixed.Example.Com",
        " mixed.example.com ",
    ] {
        let found = store.find_by_name(query, 10).await.unwrap();
        assert_eq!(serials(&found), ["aa02", "aa01"], "query {query:?}");
    }
    // Found by a SAN that is not the CN; the record keeps the SAN's original spelling.
    let found = store
        .find_by_name("api.mixed.EXAMPLE.com", 10)
        .await
        .unwrap();
    assert_eq!(serials(&found), ["aa01"]);
    assert!(found[0].sans.contains(&"API.Mixed.example.com".to_owned()));
    assert_eq!(
        serials(
            &store
                .find_by_name("www.OTHER.example.com", 10)
                .await
                .unwrap()
        ),
        ["aa03"]
    );
    // Exact match only: no substrings, no wildcards.
    assert!(
        store
            .find_by_name("example.com", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        store
            .find_by_name("mixed.example", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(store.find_by_name("%", 10).await.unwrap().is_empty());
    assert!(store.find_by_name("", 10).await.unwrap().is_empty());
    // The IP SAN shared by all three, with a limit.
    assert_eq!(store.find_by_name("10.1.2.3", 10).await.unwrap().len(), 3);
    assert_eq!(
        serials(&store.find_by_name("10.1.2.3", 2).await.unwrap()),
        ["aa03", "aa02"]
    );
}

pub async fn revoke_and_double_revoke(store: &Store) {
    for serial in ["0c", "0a", "0b"] {
        store
            .insert_certificate(&cert(serial, &format!("r{serial}.example"), at(30)))
            .await
            .unwrap();
    }
    let when = datetime!(2030-01-05 06:07:08 UTC);
    store
        .revoke("0c", when, 1, Some("key compromise"), false)
        .await
        .unwrap();
    store
        .revoke("0a", when + time::Duration::hours(1), 0, None, true)
        .await
        .unwrap();

    let revocation = store.get_revocation("0c").await.unwrap().unwrap();
    assert_eq!(revocation.serial, "0c");
    assert_eq!(revocation.revoked_at, when);
    assert_eq!(revocation.reason_code, 1);
    assert_eq!(revocation.reason.as_deref(), Some("key compromise"));
    assert!(!revocation.passive);
    let passive = store.get_revocation("0a").await.unwrap().unwrap();
    assert!(passive.passive);
    assert_eq!(passive.reason, None);
    assert_eq!(store.get_revocation("0b").await.unwrap(), None);

    let got = store.get_certificate("0c").await.unwrap().unwrap();
    assert_eq!(got.status, CertificateStatus::Revoked);
    assert!(got.der.is_some());

    let err = store.revoke("0c", when, 4, None, false).await.unwrap_err();
    assert!(
        matches!(&err, Error::AlreadyRevoked { serial } if serial == "0c"),
        "{err:?}"
    );
    assert_eq!(err.kind(), ErrorKind::AlreadyRevoked);
    // The first revocation stands.
    assert_eq!(
        store
            .get_revocation("0c")
            .await
            .unwrap()
            .unwrap()
            .reason_code,
        1
    );

    let err = store.revoke("0d", when, 0, None, false).await.unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
    assert_eq!(err.kind(), ErrorKind::NotFound);

    for bad_reason in [7, 11, 200] {
        let err = store
            .revoke("0b", when, bad_reason, None, false)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Invalid {
                    field: "reason_code",
                    ..
                }
            ),
            "{err:?}"
        );
    }
    assert_eq!(
        store.get_certificate("0b").await.unwrap().unwrap().status,
        CertificateStatus::Issued
    );
    store.revoke("0b", when, 10, None, false).await.unwrap();

    let list = store.list_revocations().await.unwrap();
    let listed: Vec<_> = list
        .iter()
        .map(|r| (r.serial.as_str(), r.reason_code))
        .collect();
    assert_eq!(listed, [("0a", 0), ("0b", 10), ("0c", 1)]);
}

pub async fn migrations_are_idempotent(store: &Store) {
    assert_eq!(
        store.schema_version().await.unwrap(),
        vouch_storage::SCHEMA_VERSION
    );
    store
        .insert_certificate(&cert("0f", "m.example", at(1)))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store.migrate().await.unwrap();
    assert_eq!(
        store.schema_version().await.unwrap(),
        vouch_storage::SCHEMA_VERSION
    );
    assert_eq!(store.count_certificates().await.unwrap(), 1);
}

pub async fn concurrent_inserts(store: &Store) {
    let tasks: Vec<_> = (0..50u32)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                let serial = format!("{:040x}", 0x00c0_ffee_0000_u64 + u64::from(i));
                store
                    .insert_certificate(&cert(&serial, &format!("n{i}.example"), at(i.into())))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.count_certificates().await.unwrap(), 50);
    assert_eq!(store.list_expiring(at(1000), 100).await.unwrap().len(), 50);
}

pub async fn invalid_input_is_rejected(store: &Store) {
    for bad in ["", "ABCDEF", "0x1f", "12:34", "xyz", "12 34", "dé"] {
        let err = store
            .insert_certificate(&cert(bad, "bad.example", at(1)))
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                Error::Invalid {
                    field: "serial",
                    ..
                }
            ),
            "{bad:?}: {err:?}"
        );
        assert_eq!(err.kind(), ErrorKind::Malformed);
        assert!(!err.to_string().is_empty());
        let err = store
            .record_intent(bad, "CN=x", &[], at(0), at(1), "CN=ca", None)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed, "{bad:?}");
        let err = store.record_issued(bad, &[1]).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed, "{bad:?}");
        let err = store.revoke(bad, at(0), 0, None, false).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed, "{bad:?}");
        assert_eq!(
            store.get_certificate(bad).await.unwrap_err().kind(),
            ErrorKind::Malformed
        );
        assert_eq!(
            store.get_revocation(bad).await.unwrap_err().kind(),
            ErrorKind::Malformed
        );
    }
    let mut inverted = cert("01", "inverted.example", at(1));
    inverted.not_before = at(2);
    let err = store.insert_certificate(&inverted).await.unwrap_err();
    assert!(
        matches!(
            err,
            Error::Invalid {
                field: "not_after",
                ..
            }
        ),
        "{err:?}"
    );
    let mut empty_der = cert("02", "empty.example", at(1));
    empty_der.der.clear();
    let err = store.insert_certificate(&empty_der).await.unwrap_err();
    assert!(
        matches!(err, Error::Invalid { field: "der", .. }),
        "{err:?}"
    );
    assert_eq!(store.count_certificates().await.unwrap(), 0);
}

pub async fn tokens_are_used_once(store: &Store) {
    assert!(store.use_token("p1", "jti-1", at(100)).await.unwrap());
    assert!(
        !store.use_token("p1", "jti-1", at(100)).await.unwrap(),
        "replay accepted"
    );
    // The same id under another provisioner is a different token.
    assert!(store.use_token("p2", "jti-1", at(100)).await.unwrap());
    assert!(store.use_token("p1", "", at(100)).await.is_err());
    // Of many concurrent uses of one token, exactly one wins.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.use_token("p1", "race", at(100)).await.unwrap() })
        })
        .collect();
    let mut wins = 0;
    for t in tasks {
        if t.await.unwrap() {
            wins += 1;
        }
    }
    assert_eq!(wins, 1);
    // Pruning forgets expired ids only.
    assert!(store.use_token("p1", "old", at(10)).await.unwrap());
    assert_eq!(store.prune_used_tokens(at(50)).await.unwrap(), 1);
    assert!(store.use_token("p1", "old", at(10)).await.unwrap());
    assert!(!store.use_token("p1", "jti-1", at(100)).await.unwrap());

    // A token burned with an intent: stored together; a replay stores neither.
    let sans = vec!["dns:t.example".to_owned()];
    assert!(
        store
            .record_intent_using_token(
                "7001",
                "CN=t",
                &sans,
                at(0),
                at(1),
                "CN=ca",
                Some("p1"),
                Some(("p1", "with-intent", at(100)))
            )
            .await
            .unwrap()
    );
    assert!(store.get_certificate("7001").await.unwrap().is_some());
    assert!(!store.use_token("p1", "with-intent", at(100)).await.unwrap());
    assert!(
        !store
            .record_intent_using_token(
                "7002",
                "CN=t",
                &sans,
                at(0),
                at(1),
                "CN=ca",
                Some("p1"),
                Some(("p1", "with-intent", at(100)))
            )
            .await
            .unwrap(),
        "replay accepted"
    );
    assert!(store.get_certificate("7002").await.unwrap().is_none());
    // A duplicate serial keeps the token unused (the write is undone as a whole).
    let err = store
        .record_intent_using_token(
            "7001",
            "CN=t",
            &sans,
            at(0),
            at(1),
            "CN=ca",
            Some("p1"),
            Some(("p1", "fresh", at(100))),
        )
        .await
        .unwrap_err();
    assert_eq!(err.kind(), vouch_model::ErrorKind::Conflict, "{err:?}");
    assert!(store.use_token("p1", "fresh", at(100)).await.unwrap());
}

/// 200 writes at once, duplicates among them: every caller gets its own answer, and what is
/// stored is exactly what was acknowledged. (On SQLite they go through the group-commit
/// writer, so duplicates often meet inside one batch.)
pub async fn concurrent_writes_with_duplicates(store: &Store) {
    enum Call {
        Insert(NewCertificate),
        Token(String),
    }
    let serial = |k: u32| format!("{:032x}", 0x0d00_0000_u64 + u64::from(k));
    // 100 serials, every 5th inserted twice with other contents right after the first; 60
    // token ids, every 3rd used twice. 120 + 80 calls.
    let mut calls = Vec::new();
    for k in 0..100u32 {
        calls.push(Call::Insert(cert(
            &serial(k),
            &format!("a{k}.example"),
            at(k.into()),
        )));
        if k % 5 == 0 {
            calls.push(Call::Insert(cert(
                &serial(k),
                &format!("b{k}.example"),
                at(1),
            )));
        }
        if k < 60 {
            calls.push(Call::Token(format!("jti-{k}")));
            if k % 3 == 0 {
                calls.push(Call::Token(format!("jti-{k}")));
            }
        }
    }
    assert_eq!(calls.len(), 200);

    let tasks: Vec<_> = calls
        .into_iter()
        .map(|call| {
            let store = store.clone();
            tokio::spawn(async move {
                match call {
                    Call::Insert(new) => {
                        let result = store.insert_certificate(&new).await.map(|()| true);
                        (new.serial, new.subject, result)
                    }
                    Call::Token(id) => {
                        let result = store.use_token("p", &id, at(100)).await;
                        (id, String::new(), result)
                    }
                }
            })
        })
        .collect();
    // Per serial: (subject, answer) of each insert.
    type Answers = Vec<(String, Result<bool, Error>)>;
    let mut inserts: std::collections::BTreeMap<String, Answers> = Default::default();
    let mut tokens: std::collections::BTreeMap<String, Vec<bool>> = Default::default();
    for task in tasks {
        let (key, subject, result) = task.await.unwrap();
        if subject.is_empty() {
            tokens.entry(key).or_default().push(result.unwrap());
        } else {
            inserts.entry(key).or_default().push((subject, result));
        }
    }

    assert_eq!(inserts.len(), 100);
    for (serial, answers) in &inserts {
        let winners: Vec<&String> = answers
            .iter()
            .filter(|(_, r)| r.is_ok())
            .map(|(subject, _)| subject)
            .collect();
        assert_eq!(winners.len(), 1, "{serial}: {answers:?}");
        for (_, result) in answers.iter().filter(|(_, r)| r.is_err()) {
            assert!(
                matches!(result, Err(Error::Duplicate { serial: s }) if s == serial),
                "{serial}: {result:?}"
            );
        }
        // The stored row, names included, is the winner's, and nothing of the loser's.
        let stored = store.get_certificate(serial).await.unwrap().unwrap();
        assert_eq!(&stored.subject, winners[0], "{serial}");
        for (subject, result) in answers {
            let name = subject.trim_start_matches("CN=").split(',').next().unwrap();
            let found = store.find_by_name(name, 10).await.unwrap();
            let expected: &[&str] = if result.is_ok() { &[serial] } else { &[] };
            assert_eq!(serials(&found), expected, "{name}");
        }
    }
    assert_eq!(store.count_certificates().await.unwrap(), 100);

    assert_eq!(tokens.len(), 60);
    for (id, answers) in &tokens {
        let wins = answers.iter().filter(|fresh| **fresh).count();
        assert_eq!(wins, 1, "{id}: {answers:?}");
    }
    // Exactly one row per token id was stored.
    assert_eq!(store.prune_used_tokens(at(101)).await.unwrap(), 60);
}

/// Writes of every kind at once, some bound to fail: each failure is the caller's alone and
/// every write that succeeded is stored (on SQLite, failures and successes share batches).
pub async fn failing_writes_leave_the_others(store: &Store) {
    let serial = |k: u32| format!("{:x}", 0xe000 + k);
    // Before: issued 0..10 (0 and 1 revoked), intents 10..15.
    for k in 0..10 {
        store
            .insert_certificate(&cert(&serial(k), &format!("old{k}.example"), at(30)))
            .await
            .unwrap();
    }
    for k in 10..15 {
        store
            .record_intent(&serial(k), "CN=intent", &[], at(0), at(30), "CN=ca", None)
            .await
            .unwrap();
    }
    for k in 0..2 {
        store
            .revoke(&serial(k), at(1), 1, None, false)
            .await
            .unwrap();
    }

    // What each call is, the answer it must get, and the call.
    let mut calls: Vec<(String, Result<(), ErrorKind>, WriteCall)> = Vec::new();
    for k in 0..20u32 {
        let s = store.clone();
        calls.push((
            format!("insert new {k}"),
            Ok(()),
            write_call(async move {
                s.insert_certificate(&cert(&serial(100 + k), &format!("new{k}.example"), at(9)))
                    .await
            }),
        ));
        let s = store.clone();
        calls.push(match k {
            0..5 => (
                format!("insert existing {k}"),
                Err(ErrorKind::Conflict),
                write_call(async move {
                    s.insert_certificate(&cert(&serial(2 + k), "again.example", at(9)))
                        .await
                }),
            ),
            5..10 => (
                format!("issue intent {k}"),
                Ok(()),
                write_call(async move { s.record_issued(&serial(k + 5), &[0x30, 0x00]).await }),
            ),
            10..13 => (
                format!("issue unknown {k}"),
                Err(ErrorKind::NotFound),
                write_call(async move { s.record_issued(&serial(200 + k), &[0x30]).await }),
            ),
            13..16 => (
                format!("reissue with other DER {k}"),
                Err(ErrorKind::Conflict),
                write_call(async move { s.record_issued(&serial(k - 11), &[0x30, 0x01]).await }),
            ),
            16..18 => (
                format!("revoke revoked {k}"),
                Err(ErrorKind::AlreadyRevoked),
                write_call(async move { s.revoke(&serial(k - 16), at(2), 0, None, false).await }),
            ),
            _ => (
                format!("revoke issued {k}"),
                Ok(()),
                write_call(async move { s.revoke(&serial(k - 13), at(2), 4, None, false).await }),
            ),
        });
        let s = store.clone();
        calls.push((
            format!("token {k}"),
            Ok(()),
            write_call(async move {
                match s.use_token("p", &format!("t{k}"), at(100)).await {
                    Ok(true) => Ok(()),
                    // A fresh token must not be taken for a replay.
                    Ok(false) => Err(Error::Duplicate {
                        serial: format!("token t{k}"),
                    }),
                    Err(e) => Err(e),
                }
            }),
        ));
    }
    let tasks: Vec<_> = calls
        .into_iter()
        .map(|(what, expected, call)| {
            let task = tokio::spawn(async move { call.await.map_err(|e| e.kind()) });
            (what, expected, task)
        })
        .collect();
    for (what, expected, task) in tasks {
        assert_eq!(task.await.unwrap(), expected, "{what}");
    }

    // 10 + 5 before, 20 new; intents 10..15 issued; revoked: 0, 1 before, 5, 6 now.
    assert_eq!(store.count_certificates().await.unwrap(), 35);
    for k in 0..20 {
        let got = store
            .get_certificate(&serial(100 + k))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.status, CertificateStatus::Issued);
    }
    for k in 10..15 {
        let got = store.get_certificate(&serial(k)).await.unwrap().unwrap();
        assert_eq!(got.der.as_deref(), Some(&[0x30, 0x00][..]), "{k}");
    }
    for k in 2..5 {
        let got = store.get_certificate(&serial(k)).await.unwrap().unwrap();
        assert_eq!(got.subject, format!("CN=old{k}.example, O=Vouch Test"));
    }
    let revoked: Vec<String> = store
        .list_revocations()
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.serial)
        .collect();
    let expected: Vec<String> = [0, 1, 5, 6].into_iter().map(serial).collect();
    assert_eq!(revoked, expected);
    assert_eq!(store.prune_used_tokens(at(101)).await.unwrap(), 20);
}

/// A store call running on its own, as a boxed future.
type WriteCall = std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), Error>> + Send>>;

fn write_call(
    call: impl std::future::Future<Output = Result<(), Error>> + Send + 'static,
) -> WriteCall {
    Box::pin(call)
}

pub async fn crl_numbers_and_entries(store: &Store) {
    assert_eq!(store.next_crl_number("CN=A").await.unwrap(), 1);
    assert_eq!(store.next_crl_number("CN=A").await.unwrap(), 2);
    assert_eq!(store.next_crl_number("CN=B").await.unwrap(), 1);
    // Concurrent takers never get the same number.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.next_crl_number("CN=A").await.unwrap() })
        })
        .collect();
    let mut got = Vec::new();
    for t in tasks {
        got.push(t.await.unwrap());
    }
    got.sort_unstable();
    assert_eq!(got, (3..23).collect::<Vec<u64>>());
    // Entries: active revocations of unexpired certificates only.
    store
        .insert_certificate(&cert("a1", "a.example", at(10)))
        .await
        .unwrap();
    store
        .insert_certificate(&cert("a2", "b.example", at(10)))
        .await
        .unwrap();
    store
        .insert_certificate(&cert("a3", "c.example", at(1)))
        .await
        .unwrap();
    store
        .insert_certificate(&cert("a4", "d.example", at(10)))
        .await
        .unwrap();
    store.revoke("a1", at(0), 1, None, false).await.unwrap();
    store.revoke("a2", at(0), 4, None, true).await.unwrap();
    store.revoke("a3", at(0), 0, None, false).await.unwrap();
    let entries = store.crl_entries(at(5)).await.unwrap();
    let serials: Vec<(&str, u8)> = entries
        .iter()
        .map(|e| (e.serial.as_str(), e.reason_code))
        .collect();
    assert_eq!(serials, [("a1", 1)]);
}

// ---- ACME ----

fn acme_account(id: &str, key: &str) -> NewAcmeAccount {
    NewAcmeAccount {
        id: id.to_owned(),
        provisioner: "acme".to_owned(),
        key_thumbprint: key.to_owned(),
        jwk: format!(r#"{{"kty":"OKP","crv":"Ed25519","x":"{key}"}}"#),
        contact: vec!["mailto:ops@example.com".to_owned()],
        eab_kid: None,
    }
}

/// A new authorization `id` for `name`, expiring at `expires`, with an http-01 challenge
/// `{id}-h` and a dns-01 challenge `{id}-d`.
fn new_authz(id: &str, name: &str, expires: OffsetDateTime) -> NewAuthorization {
    NewAuthorization {
        id: id.to_owned(),
        identifier_type: "dns".to_owned(),
        identifier_value: name.to_owned(),
        wildcard: false,
        expires_at: expires,
        challenges: vec![
            NewChallenge {
                id: format!("{id}-h"),
                kind: AcmeChallengeType::Http01,
                token: format!("tok-{id}-h"),
            },
            NewChallenge {
                id: format!("{id}-d"),
                kind: AcmeChallengeType::Dns01,
                token: format!("tok-{id}-d"),
            },
        ],
    }
}

/// Order `id` of `account` with new authorizations `(id, name)` and reused ones.
fn new_order(
    id: &str,
    account: &str,
    authzs: &[(&str, &str)],
    reuse: &[&str],
    expires: OffsetDateTime,
) -> NewAcmeOrder {
    NewAcmeOrder {
        id: id.to_owned(),
        account_id: account.to_owned(),
        provisioner: "acme".to_owned(),
        identifiers: authzs
            .iter()
            .map(|(_, name)| AcmeIdentifier {
                kind: "dns".to_owned(),
                value: (*name).to_owned(),
            })
            .chain(std::iter::once(AcmeIdentifier {
                kind: "dns".to_owned(),
                value: "reused.example".to_owned(),
            }))
            .take(authzs.len() + usize::from(!reuse.is_empty()))
            .collect(),
        not_before: None,
        not_after: Some(expires + time::Duration::days(90)),
        expires_at: expires,
        replaces: None,
        authorizations: authzs
            .iter()
            .map(|(authz, name)| new_authz(authz, name, expires))
            .collect(),
        reuse: reuse.iter().map(|r| (*r).to_owned()).collect(),
    }
}

async fn order_status(store: &Store, id: &str) -> AcmeOrderStatus {
    store.get_acme_order(id).await.unwrap().unwrap().status
}

async fn authz_status(store: &Store, id: &str) -> AcmeAuthorizationStatus {
    store
        .get_acme_authorization(id)
        .await
        .unwrap()
        .unwrap()
        .status
}

pub async fn acme_accounts_by_key(store: &Store) {
    let created = datetime!(2030-01-01 12:00:00 UTC);
    let store = store.clone().with_clock(Arc::new(FixedClock(created)));
    let first = store
        .create_acme_account(&acme_account("acct1", "key1"))
        .await
        .unwrap();
    assert_eq!(first.id, "acct1");
    assert_eq!(first.status, AcmeAccountStatus::Valid);
    assert_eq!(first.contact, ["mailto:ops@example.com"]);
    assert_eq!(first.created_at, created);
    // newAccount with a known key returns the existing account, whatever id was offered.
    let again = store
        .create_acme_account(&acme_account("acct-other", "key1"))
        .await
        .unwrap();
    assert_eq!(again, first);
    assert_eq!(store.get_acme_account("acct-other").await.unwrap(), None);
    // The same key under another provisioner is another account.
    let mut elsewhere = acme_account("acct2", "key1");
    elsewhere.provisioner = "acme-2".to_owned();
    assert_eq!(
        store.create_acme_account(&elsewhere).await.unwrap().id,
        "acct2"
    );
    // Concurrent creations with one key all get the same account.
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_acme_account(&acme_account(&format!("race{i}"), "key-race"))
                    .await
                    .unwrap()
                    .id
            })
        })
        .collect();
    let mut ids = std::collections::BTreeSet::new();
    for task in tasks {
        ids.insert(task.await.unwrap());
    }
    assert_eq!(ids.len(), 1, "{ids:?}");

    store
        .update_acme_account_contact("acct1", &["mailto:new@example.com".to_owned()])
        .await
        .unwrap();
    store
        .set_acme_account_status("acct1", AcmeAccountStatus::Deactivated)
        .await
        .unwrap();
    let got = store.get_acme_account("acct1").await.unwrap().unwrap();
    assert_eq!(got.contact, ["mailto:new@example.com"]);
    assert_eq!(got.status, AcmeAccountStatus::Deactivated);

    // Key rollover, and its conflict with another account's key.
    store
        .create_acme_account(&acme_account("acct3", "key3"))
        .await
        .unwrap();
    store
        .change_acme_account_key("acct1", "key1b", "{\"new\":1}")
        .await
        .unwrap();
    let got = store
        .find_acme_account_by_key("acme", "key1b")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (got.id.as_str(), got.jwk.as_str()),
        ("acct1", "{\"new\":1}")
    );
    assert_eq!(
        store
            .find_acme_account_by_key("acme", "key1")
            .await
            .unwrap(),
        None
    );
    let err = store
        .change_acme_account_key("acct1", "key3", "{}")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err:?}");
    assert_eq!(
        store
            .get_acme_account("acct1")
            .await
            .unwrap()
            .unwrap()
            .key_thumbprint,
        "key1b"
    );

    let err = store
        .set_acme_account_status("nobody", AcmeAccountStatus::Revoked)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err:?}");
    for bad in ["", "has space", "slash/", "dot."] {
        let err = store
            .create_acme_account(&acme_account(bad, "k"))
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed, "{bad:?}");
    }
}

pub async fn acme_eab_keys_bind_once(store: &Store) {
    store
        .add_eab_key("acme", "kid1", b"secret-1")
        .await
        .unwrap();
    store
        .add_eab_key("acme", "kid2", &[0, 255, 0])
        .await
        .unwrap();
    let err = store.add_eab_key("acme", "kid1", b"x").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err:?}");
    let keys = store.list_eab_keys("acme").await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[1].hmac_key, [0, 255, 0]);
    assert_eq!(keys[0].bound_account, None);

    // Two concurrent binds of one key: exactly one succeeds, the other is a conflict.
    let binds: Vec<_> = ["a1", "a2"]
        .into_iter()
        .map(|account| {
            let store = store.clone();
            tokio::spawn(async move { store.bind_eab_key("acme", "kid1", account).await })
        })
        .collect();
    let mut ok = 0;
    for bind in binds {
        match bind.await.unwrap() {
            Ok(()) => ok += 1,
            Err(err) => assert_eq!(err.kind(), ErrorKind::Conflict, "{err:?}"),
        }
    }
    assert_eq!(ok, 1);
    let err = store.bind_eab_key("acme", "nokid", "a1").await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err:?}");

    // An account created with an EAB key binds it in the same transaction; a second account
    // with the same key is refused and not created.
    let mut with_eab = acme_account("acct-eab", "key-eab");
    with_eab.eab_kid = Some("kid2".to_owned());
    let account = store.create_acme_account(&with_eab).await.unwrap();
    assert_eq!(account.eab_kid.as_deref(), Some("kid2"));
    let mut second = acme_account("acct-eab2", "key-eab2");
    second.eab_kid = Some("kid2".to_owned());
    let err = store.create_acme_account(&second).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err:?}");
    assert_eq!(store.get_acme_account("acct-eab2").await.unwrap(), None);
    let keys = store.list_eab_keys("acme").await.unwrap();
    assert_eq!(keys[1].bound_account.as_deref(), Some("acct-eab"));

    assert!(store.remove_eab_key("acme", "kid1").await.unwrap());
    assert!(!store.remove_eab_key("acme", "kid1").await.unwrap());
    assert_eq!(store.list_eab_keys("acme").await.unwrap().len(), 1);
}

pub async fn acme_orders_with_new_and_reused_authorizations(store: &Store) {
    store
        .create_acme_account(&acme_account("acct", "key"))
        .await
        .unwrap();
    // A first order whose authorization becomes valid.
    let first = store
        .create_acme_order(&new_order(
            "o1",
            "acct",
            &[("z1", "reused.example")],
            &[],
            at(7),
        ))
        .await
        .unwrap();
    assert_eq!(first.status, AcmeOrderStatus::Pending);
    assert_eq!(first.authorizations, ["z1"]);
    assert!(store.start_challenge("z1-h").await.unwrap());
    assert!(
        store
            .finish_challenge("z1-h", true, None, at(0))
            .await
            .unwrap()
    );
    assert_eq!(order_status(store, "o1").await, AcmeOrderStatus::Ready);
    let valid = store
        .find_valid_authorization("acct", "dns", "reused.example", false, at(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(valid.id, "z1");
    assert_eq!(valid.challenges.len(), 2);
    // Not for a wildcard, another account, or once expired.
    for (account, wildcard, now) in [
        ("acct", true, at(1)),
        ("other", false, at(1)),
        ("acct", false, at(8)),
    ] {
        assert_eq!(
            store
                .find_valid_authorization(account, "dns", "reused.example", wildcard, now)
                .await
                .unwrap(),
            None
        );
    }

    // Two new authorizations and one reused.
    let order = store
        .create_acme_order(&new_order(
            "o2",
            "acct",
            &[("z2", "a.example"), ("z3", "b.example")],
            &["z1"],
            at(7),
        ))
        .await
        .unwrap();
    assert_eq!(order.status, AcmeOrderStatus::Pending);
    assert_eq!(order.authorizations, ["z1", "z2", "z3"]);
    assert_eq!(order.identifiers.len(), 3);
    assert_eq!(order.identifiers[0].value, "a.example");
    assert_eq!(order.not_after, Some(at(97)));
    let authz = store.get_acme_authorization("z2").await.unwrap().unwrap();
    assert_eq!(authz.status, AcmeAuthorizationStatus::Pending);
    assert_eq!(authz.identifier_value, "a.example");
    let kinds: Vec<_> = authz
        .challenges
        .iter()
        .map(|c| (c.id.as_str(), c.kind))
        .collect();
    assert_eq!(
        kinds,
        [
            ("z2-d", AcmeChallengeType::Dns01),
            ("z2-h", AcmeChallengeType::Http01)
        ]
    );
    let challenge = store.get_acme_challenge("z2-h").await.unwrap().unwrap();
    assert_eq!(challenge.authz_id, "z2");
    assert_eq!(challenge.token, "tok-z2-h");
    assert_eq!(challenge.status, AcmeChallengeStatus::Pending);

    // Only reused authorizations: ready at once.
    let order = store
        .create_acme_order(&new_order("o3", "acct", &[], &["z1"], at(7)))
        .await
        .unwrap();
    assert_eq!(order.status, AcmeOrderStatus::Ready);

    // Reusing a pending authorization is refused, and nothing of that order is kept.
    let err = store
        .create_acme_order(&new_order(
            "o4",
            "acct",
            &[("z4", "c.example")],
            &["z2"],
            at(7),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err:?}");
    assert_eq!(store.get_acme_order("o4").await.unwrap(), None);
    assert_eq!(store.get_acme_authorization("z4").await.unwrap(), None);
    // An unknown account, a taken id, a repeated authorization id.
    let err = store
        .create_acme_order(&new_order(
            "o5",
            "nobody",
            &[("z5", "d.example")],
            &[],
            at(7),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::NotFound, "{err:?}");
    let err = store
        .create_acme_order(&new_order("o1", "acct", &[("z6", "d.example")], &[], at(7)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err:?}");
    let err = store
        .create_acme_order(&new_order(
            "o7",
            "acct",
            &[("z1", "d.example")],
            &["z1"],
            at(7),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Malformed, "{err:?}");

    let listed: Vec<_> = store
        .list_acme_orders("acct")
        .await
        .unwrap()
        .into_iter()
        .map(|o| (o.id, o.authorizations.len()))
        .collect();
    assert_eq!(
        listed,
        [
            ("o1".to_owned(), 1),
            ("o2".to_owned(), 3),
            ("o3".to_owned(), 1)
        ]
    );
}

pub async fn acme_concurrent_orders_and_challenges(store: &Store) {
    store
        .create_acme_account(&acme_account("acct", "key"))
        .await
        .unwrap();
    // 100 orders of one account at once: all succeed.
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_acme_order(&new_order(
                        &format!("o{i}"),
                        "acct",
                        &[(&format!("z{i}"), &format!("n{i}.example"))],
                        &[],
                        at(7),
                    ))
                    .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.list_acme_orders("acct").await.unwrap().len(), 100);

    // 20 POSTs to one challenge at once: exactly one starts it, none fails.
    let tasks: Vec<_> = (0..20)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.start_challenge("z0-h").await })
        })
        .collect();
    let mut started = 0;
    for task in tasks {
        if task.await.unwrap().unwrap() {
            started += 1;
        }
    }
    assert_eq!(started, 1);
    assert_eq!(
        store
            .get_acme_challenge("z0-h")
            .await
            .unwrap()
            .unwrap()
            .status,
        AcmeChallengeStatus::Processing
    );

    // The two authorizations of one order validated at once: the order still becomes ready
    // (neither cascade may miss the other's result). Repeated to give the race a chance.
    for round in 0..5 {
        let order = format!("pair{round}");
        let (a, b) = (format!("pa{round}"), format!("pb{round}"));
        store
            .create_acme_order(&new_order(
                &order,
                "acct",
                &[(&a, "pa.example"), (&b, "pb.example")],
                &[],
                at(7),
            ))
            .await
            .unwrap();
        let finishes: Vec<_> = [format!("{a}-h"), format!("{b}-d")]
            .into_iter()
            .map(|challenge| {
                let store = store.clone();
                tokio::spawn(
                    async move { store.finish_challenge(&challenge, true, None, at(0)).await },
                )
            })
            .collect();
        for finish in finishes {
            assert!(finish.await.unwrap().unwrap());
        }
        assert_eq!(
            order_status(store, &order).await,
            AcmeOrderStatus::Ready,
            "{order}"
        );
    }
}

pub async fn acme_challenge_and_order_lifecycle(store: &Store) {
    store
        .create_acme_account(&acme_account("acct", "key"))
        .await
        .unwrap();
    store
        .create_acme_order(&new_order(
            "ok",
            "acct",
            &[("a1", "one.example"), ("a2", "two.example")],
            &[],
            at(7),
        ))
        .await
        .unwrap();
    // Not ready yet: finalization is refused without error.
    assert!(!store.set_order_processing("ok").await.unwrap());

    assert!(store.start_challenge("a1-h").await.unwrap());
    assert!(
        store
            .finish_challenge("a1-h", true, None, at(1))
            .await
            .unwrap()
    );
    // Finished already: nothing changes.
    assert!(
        !store
            .finish_challenge("a1-h", false, Some("late"), at(2))
            .await
            .unwrap()
    );
    assert!(!store.start_challenge("a1-h").await.unwrap());
    let challenge = store.get_acme_challenge("a1-h").await.unwrap().unwrap();
    assert_eq!(challenge.status, AcmeChallengeStatus::Valid);
    assert_eq!(challenge.validated_at, Some(at(1)));
    assert_eq!(challenge.error, None);
    assert_eq!(
        authz_status(store, "a1").await,
        AcmeAuthorizationStatus::Valid
    );
    assert_eq!(order_status(store, "ok").await, AcmeOrderStatus::Pending);
    // The second authorization, through its other challenge type.
    assert!(
        store
            .finish_challenge("a2-d", true, None, at(1))
            .await
            .unwrap()
    );
    assert_eq!(order_status(store, "ok").await, AcmeOrderStatus::Ready);

    // Finalize: exactly once to processing, then valid with the serial.
    assert!(store.set_order_processing("ok").await.unwrap());
    assert!(!store.set_order_processing("ok").await.unwrap());
    store.finish_order("ok", Some("0abc"), None).await.unwrap();
    let order = store.get_acme_order("ok").await.unwrap().unwrap();
    assert_eq!(order.status, AcmeOrderStatus::Valid);
    assert_eq!(order.certificate_serial.as_deref(), Some("0abc"));
    let err = store
        .finish_order("ok", Some("0abd"), None)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Conflict, "{err:?}");
    // ARI: the certificate's account, and whether an order replaces it.
    assert_eq!(
        store.acme_account_of_certificate("0abc").await.unwrap(),
        Some("acct".to_owned())
    );
    assert_eq!(
        store.acme_account_of_certificate("0def").await.unwrap(),
        None
    );
    assert!(!store.acme_certificate_replaced("AAAA.CrwA").await.unwrap());
    let mut renewal = new_order("renew", "acct", &[("r1", "one.example")], &[], at(7));
    renewal.replaces = Some("AAAA.CrwA".to_owned());
    store.create_acme_order(&renewal).await.unwrap();
    assert!(store.acme_certificate_replaced("AAAA.CrwA").await.unwrap());

    // An invalid challenge makes its authorization and its order invalid.
    store
        .create_acme_order(&new_order(
            "bad",
            "acct",
            &[("b1", "three.example"), ("b2", "four.example")],
            &[],
            at(7),
        ))
        .await
        .unwrap();
    assert!(store.start_challenge("b1-h").await.unwrap());
    let problem = r#"{"type":"urn:ietf:params:acme:error:connection"}"#;
    assert!(
        store
            .finish_challenge("b1-h", false, Some(problem), at(3))
            .await
            .unwrap()
    );
    assert_eq!(
        authz_status(store, "b1").await,
        AcmeAuthorizationStatus::Invalid
    );
    let order = store.get_acme_order("bad").await.unwrap().unwrap();
    assert_eq!(order.status, AcmeOrderStatus::Invalid);
    assert_eq!(order.error.as_deref(), Some(problem));
    let challenge = store.get_acme_challenge("b1-h").await.unwrap().unwrap();
    assert_eq!(challenge.error.as_deref(), Some(problem));
    // The other authorization validating later does not revive the order.
    assert!(
        store
            .finish_challenge("b2-h", true, None, at(4))
            .await
            .unwrap()
    );
    assert_eq!(order_status(store, "bad").await, AcmeOrderStatus::Invalid);

    // Issuance failing ends an order invalid.
    store
        .create_acme_order(&new_order("fail", "acct", &[], &["a1"], at(7)))
        .await
        .unwrap();
    assert!(store.set_order_processing("fail").await.unwrap());
    store
        .finish_order("fail", None, Some("signer unavailable"))
        .await
        .unwrap();
    let order = store.get_acme_order("fail").await.unwrap().unwrap();
    assert_eq!(order.status, AcmeOrderStatus::Invalid);
    assert_eq!(order.error.as_deref(), Some("signer unavailable"));

    // Deactivating an authorization invalidates its pending orders.
    store
        .create_acme_order(&new_order(
            "deact",
            "acct",
            &[("d1", "five.example")],
            &[],
            at(7),
        ))
        .await
        .unwrap();
    assert!(store.deactivate_authorization("d1").await.unwrap());
    assert!(!store.deactivate_authorization("d1").await.unwrap());
    assert_eq!(
        authz_status(store, "d1").await,
        AcmeAuthorizationStatus::Deactivated
    );
    assert_eq!(order_status(store, "deact").await, AcmeOrderStatus::Invalid);

    for err in [
        store.start_challenge("nope").await.unwrap_err(),
        store
            .finish_challenge("nope", true, None, at(0))
            .await
            .unwrap_err(),
        store.set_order_processing("nope").await.unwrap_err(),
        store.deactivate_authorization("nope").await.unwrap_err(),
    ] {
        assert_eq!(err.kind(), ErrorKind::NotFound, "{err:?}");
    }
    assert_eq!(store.get_acme_order("nope").await.unwrap(), None);
    assert_eq!(store.get_acme_challenge("nope").await.unwrap(), None);
}

pub async fn acme_nonces_and_prune(store: &Store) {
    assert!(store.use_acme_nonce("n1", at(1)).await.unwrap());
    assert!(!store.use_acme_nonce("n1", at(1)).await.unwrap());
    assert!(store.use_acme_nonce("n2", at(10)).await.unwrap());
    assert!(store.use_acme_nonce("", at(1)).await.is_err());

    store
        .create_acme_account(&acme_account("acct", "key"))
        .await
        .unwrap();
    // Expired at day 1: a pending order (pruned on day 3), a valid one (kept) and the valid
    // authorization it uses (kept); expired at day 5: a pending order (kept on day 3).
    store
        .create_acme_order(&new_order(
            "old",
            "acct",
            &[("zo", "old.example")],
            &[],
            at(1),
        ))
        .await
        .unwrap();
    store
        .create_acme_order(&new_order(
            "done",
            "acct",
            &[("zd", "done.example")],
            &[],
            at(1),
        ))
        .await
        .unwrap();
    assert!(
        store
            .finish_challenge("zd-h", true, None, at(0))
            .await
            .unwrap()
    );
    assert!(store.set_order_processing("done").await.unwrap());
    store.finish_order("done", Some("01"), None).await.unwrap();
    store
        .create_acme_order(&new_order(
            "young",
            "acct",
            &[("zy", "young.example")],
            &[],
            at(5),
        ))
        .await
        .unwrap();

    // Day 1 + 12 h: nonce n1 is past, but nothing is a day past its expiry.
    assert_eq!(
        store
            .prune_acme(at(1) + time::Duration::hours(12))
            .await
            .unwrap(),
        1
    );
    assert!(store.get_acme_order("old").await.unwrap().is_some());
    // Day 3: the old order and its authorization (with challenges) go.
    assert_eq!(store.prune_acme(at(3)).await.unwrap(), 2);
    assert_eq!(store.get_acme_order("old").await.unwrap(), None);
    assert_eq!(store.get_acme_authorization("zo").await.unwrap(), None);
    assert_eq!(store.get_acme_challenge("zo-h").await.unwrap(), None);
    for kept in ["done", "young"] {
        assert!(
            store.get_acme_order(kept).await.unwrap().is_some(),
            "{kept}"
        );
    }
    assert!(store.get_acme_authorization("zd").await.unwrap().is_some());
    assert!(store.get_acme_challenge("zy-d").await.unwrap().is_some());
    // n2 is still remembered until it expires.
    assert!(!store.use_acme_nonce("n2", at(10)).await.unwrap());
    assert_eq!(store.prune_acme(at(3)).await.unwrap(), 0);
    // Day 11: n2 and the young order with its authorization.
    assert_eq!(store.prune_acme(at(11)).await.unwrap(), 3);
    assert!(store.use_acme_nonce("n1", at(20)).await.unwrap());
    let orders: Vec<_> = store
        .list_acme_orders("acct")
        .await
        .unwrap()
        .into_iter()
        .map(|o| o.id)
        .collect();
    assert_eq!(orders, ["done"]);
}
