//! The durable record of one issuance through the group-commit writer
//! (`cargo bench -p vouch-storage --bench write`): `record_intent_using_token` then
//! `record_issued`, as `/1.0/sign` does, on a SQLite file in WAL mode with
//! `synchronous=FULL` (so every commit waits for the disk). "1 task" is the latency of a lone
//! caller; "16 tasks" is the cost per certificate when 16 callers share commits.

#![allow(
    clippy::expect_used,
    reason = "benchmark setup: a failure should stop the benchmark loudly"
)]

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use time::macros::datetime;
use vouch_storage::Store;

static NEXT: AtomicU64 = AtomicU64::new(1);

async fn issue(store: &Store) {
    let i = NEXT.fetch_add(1, Ordering::Relaxed);
    let serial = format!("{:032x}", 0x7f00_0000_0000_u64 + i);
    let name = format!("host{i}.bench.example");
    let sans = vec![format!("dns:{name}")];
    let fresh = store
        .record_intent_using_token(
            &serial,
            &format!("CN={name}"),
            &sans,
            datetime!(2030-01-01 0:00 UTC),
            datetime!(2030-04-01 0:00 UTC),
            "CN=Vouch Bench Intermediate CA",
            Some("bench"),
            Some(("bench", &format!("jti-{i}"), datetime!(2030-01-01 0:00 UTC))),
        )
        .await
        .expect("intent");
    assert!(fresh, "token reused");
    let der: Vec<u8> = (0..600u64).map(|b| (b ^ i).to_le_bytes()[0]).collect();
    store.record_issued(&serial, &der).await.expect("issued");
}

fn write(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let base = std::env::var_os("TMPDIR").map_or_else(|| PathBuf::from("/var/tmp"), PathBuf::from);
    let dir = tempfile::Builder::new()
        .prefix("vouch-bench-write-")
        .tempdir_in(base)
        .expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("vouch.db").display());
    let store = rt.block_on(Store::connect(&url)).expect("store");
    let mut group = c.benchmark_group("issuance_record");
    group.throughput(Throughput::Elements(1));
    group.bench_function("1_task", |b| b.iter(|| rt.block_on(issue(&store))));
    group.throughput(Throughput::Elements(16));
    group.bench_function("16_tasks", |b| {
        b.iter(|| {
            rt.block_on(async {
                let tasks: Vec<_> = (0..16)
                    .map(|_| {
                        let store = store.clone();
                        tokio::spawn(async move { issue(&store).await })
                    })
                    .collect();
                for t in tasks {
                    t.await.expect("task");
                }
            });
        });
    });
    group.finish();
    rt.block_on(store.close());
}

criterion_group!(benches, write);
criterion_main!(benches);
