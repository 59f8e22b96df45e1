//! Running the contract on each backend, plus the checks that need a URL instead of a `Store`.

use std::time::Instant;

use vouch_model::ErrorKind;
use vouch_storage::{Backend, Store};

use crate::pg::Cluster;
use crate::{CASES, Case, contract};

/// Run one contract case on a fresh SQLite file.
pub async fn run_on_sqlite(case: Case) {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("vouch.db").display());
    let store = Store::connect(&url).await.unwrap();
    assert_eq!(store.backend(), Backend::Sqlite);
    case(&store).await;
    store.close().await;
}

/// Connecting again to a database that is already migrated keeps its schema and data.
async fn reconnect_keeps_schema_and_data(url: &str) {
    let store = Store::connect(url).await.unwrap();
    store
        .insert_certificate(&contract::cert(
            "1234",
            "again.example",
            time::macros::datetime!(2031-01-01 0:00 UTC),
        ))
        .await
        .unwrap();
    store.close().await;

    let store = Store::connect(url).await.unwrap();
    assert_eq!(
        store.schema_version().await.unwrap(),
        vouch_storage::SCHEMA_VERSION
    );
    assert_eq!(store.count_certificates().await.unwrap(), 1);
    assert!(store.get_certificate("1234").await.unwrap().is_some());
    store.close().await;
}

/// Two processes starting at once on an empty database both come up, and migrate once.
async fn simultaneous_first_connects(url: &str) {
    let (a, b, c) = tokio::join!(
        Store::connect(url),
        Store::connect(url),
        Store::connect(url)
    );
    let (a, b, c) = (a.unwrap(), b.unwrap(), c.unwrap());
    for store in [&a, &b, &c] {
        assert_eq!(
            store.schema_version().await.unwrap(),
            vouch_storage::SCHEMA_VERSION
        );
    }
    a.insert_certificate(&contract::cert(
        "99",
        "shared.example",
        time::macros::datetime!(2031-01-01 0:00 UTC),
    ))
    .await
    .unwrap();
    assert_eq!(c.count_certificates().await.unwrap(), 1);
    for store in [a, b, c] {
        store.close().await;
    }
}

/// `close` while writers are busy: every write acknowledged before it is there after
/// reconnecting, nothing else is, and writes after it are refused as unavailable.
async fn close_drains_queued_writes(url: &str) {
    const WRITERS: usize = 40;
    let store = Store::connect(url).await.unwrap();
    // Each writer inserts until refused, and says so after its third acknowledged write, so
    // that `close` lands while writes are queued and in flight (without sleeping).
    let (started, mut started_rx) = tokio::sync::mpsc::channel(WRITERS);
    let writers: Vec<_> = (0..WRITERS as u64)
        .map(|w| {
            let store = store.clone();
            let started = started.clone();
            tokio::spawn(async move {
                let mut acknowledged = Vec::new();
                for i in 0..10_000u64 {
                    let serial = format!("{:x}", (w + 1) << 32 | i);
                    let new = contract::cert(
                        &serial,
                        "drain.example",
                        time::macros::datetime!(2031-01-01 0:00 UTC),
                    );
                    match store.insert_certificate(&new).await {
                        Ok(()) => acknowledged.push(serial),
                        Err(err) => {
                            // Refused because the store is closed, not dropped unanswered.
                            assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
                            assert!(err.to_string().contains("closed"), "{err}");
                            break;
                        }
                    }
                    if acknowledged.len() == 3 {
                        started.send(()).await.unwrap();
                    }
                }
                acknowledged
            })
        })
        .collect();
    drop(started);
    for _ in 0..WRITERS {
        started_rx.recv().await.unwrap();
    }
    store.close().await;
    let err = store
        .insert_certificate(&contract::cert(
            "ff",
            "late.example",
            time::macros::datetime!(2031-01-01 0:00 UTC),
        ))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");

    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }
    let store = Store::connect(url).await.unwrap();
    assert_eq!(
        store.count_certificates().await.unwrap(),
        acknowledged.len() as u64
    );
    for serial in &acknowledged {
        assert!(
            store.get_certificate(serial).await.unwrap().is_some(),
            "{serial} was acknowledged but is missing"
        );
    }
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_close_drains_queued_writes() {
    let dir = tempfile::tempdir().unwrap();
    close_drains_queued_writes(&format!("sqlite://{}", dir.path().join("db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_reconnect_keeps_schema_and_data() {
    let dir = tempfile::tempdir().unwrap();
    reconnect_keeps_schema_and_data(&format!("sqlite://{}", dir.path().join("db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_simultaneous_first_connects() {
    let dir = tempfile::tempdir().unwrap();
    simultaneous_first_connects(&format!("sqlite://{}", dir.path().join("db").display())).await;
}

#[tokio::test]
async fn bad_urls_are_malformed() {
    for url in [
        "",
        "mysql://u:topsecret@h/db",
        "sqlite://",
        "sqlite::memory:",
        "http://x",
    ] {
        let err = Store::connect(url).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Malformed, "{url}: {err}");
        assert!(!err.to_string().contains("topsecret"), "{err}");
    }
}

#[tokio::test]
async fn sqlite_unopenable_path_is_unavailable() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}",
        dir.path().join("missing-dir").join("db").display()
    );
    let err = Store::connect(&url).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

/// The whole contract on a real PostgreSQL: one cluster for the run, a fresh database per case.
/// Each case runs in its own task so that one failure does not hide the others.
#[test]
fn postgres_contract() {
    let started = Instant::now();
    let cluster = Cluster::start();
    eprintln!("postgres cluster up in {:?}", started.elapsed());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut failures = Vec::new();
    for (i, (name, case)) in CASES.iter().enumerate() {
        let database = format!("contract_{i}");
        let case_started = std::time::Instant::now();
        let result = runtime.block_on(async {
            cluster.create_database(&database).await;
            let store = Store::connect(&cluster.url(&database)).await.unwrap();
            assert_eq!(store.backend(), Backend::Postgres);
            let task = {
                let store = store.clone();
                let case = *case;
                tokio::spawn(async move { case(&store).await })
            };
            let result = task.await;
            store.close().await;
            result
        });
        match result {
            Ok(()) => eprintln!(
                "postgres contract {name} ... ok ({} ms)",
                case_started.elapsed().as_millis()
            ),
            Err(err) => {
                eprintln!("postgres contract {name} ... FAILED");
                failures.push(format!("{name}: {err}"));
            }
        }
    }

    runtime.block_on(async {
        cluster.create_database("reconnect").await;
        reconnect_keeps_schema_and_data(&cluster.url("reconnect")).await;
        cluster.create_database("simultaneous").await;
        simultaneous_first_connects(&cluster.url("simultaneous")).await;
        cluster.create_database("close").await;
        close_drains_queued_writes(&cluster.url("close")).await;
        secrets_stay_out_of_errors_and_debug(&cluster).await;
    });
    eprintln!("postgres contract finished in {:?}", started.elapsed());
    assert!(
        failures.is_empty(),
        "postgres contract failures:\n{}",
        failures.join("\n")
    );
}

async fn secrets_stay_out_of_errors_and_debug(cluster: &Cluster) {
    cluster.create_database("secrets").await;
    let store = Store::connect(&cluster.url("secrets")).await.unwrap();
    let debug = format!("{store:?}");
    assert!(!debug.contains(cluster.password()), "{debug}");
    assert!(debug.contains("postgres:***@127.0.0.1"), "{debug}");
    store.close().await;

    let wrong = "Wr0ngButSecret";
    let err = Store::connect(&cluster.url_with_password("secrets", wrong))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains(wrong), "{text}");
    assert!(text.contains("password authentication failed"), "{text}");

    let err = Store::connect(&cluster.url("no_such_database"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(
        !format!("{err} {err:?}").contains(cluster.password()),
        "{err}"
    );
}
