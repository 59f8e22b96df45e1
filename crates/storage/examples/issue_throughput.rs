//! How many certificates per second the two-phase issuance writes sustain on a temp SQLite
//! file (WAL, `synchronous=FULL`), with one task and with many tasks at once.
//!
//! Each certificate is one `record_intent` followed by one `record_issued`, as the issuing
//! pipeline does (without the signature in between). Run it in release mode:
//!
//! ```text
//! cargo run -p vouch-storage --release --example issue_throughput [CERTS] [TASKS...]
//! ```
//!
//! Defaults: 2000 certificates, 1 and 64 tasks. The file lives in a temp dir under
//! `$TMPDIR` (or `/var/tmp`), so that the fsyncs reach a real disk rather than tmpfs.
//! A measurement, not a test: it asserts nothing about speed.

use std::error::Error;
use std::path::PathBuf;
use std::time::Instant;

use time::macros::datetime;
use vouch_storage::Store;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let certs: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(2000);
    let mut task_counts: Vec<u32> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    if task_counts.is_empty() {
        task_counts = vec![1, 64];
    }
    let base = std::env::var_os("TMPDIR").map_or_else(|| PathBuf::from("/var/tmp"), PathBuf::from);
    for tasks in task_counts {
        let dir = tempfile::Builder::new()
            .prefix("vouch-throughput-")
            .tempdir_in(&base)?;
        let url = format!("sqlite://{}", dir.path().join("vouch.db").display());
        let store = Store::connect(&url).await?;
        let rate = run(&store, certs, tasks.max(1)).await?;
        println!("{certs} certificates, {tasks:>3} tasks: {rate:>8.0} certificates/s");
        store.close().await;
    }
    Ok(())
}

/// Issue `certs` certificates from `tasks` tasks; returns certificates per second.
async fn run(store: &Store, certs: u32, tasks: u32) -> Result<f64, Box<dyn Error>> {
    let started = Instant::now();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let store = store.clone();
            tokio::spawn(async move {
                let mut i = t;
                while i < certs {
                    issue(&store, i).await?;
                    i += tasks;
                }
                Ok::<(), vouch_storage::Error>(())
            })
        })
        .collect();
    for handle in handles {
        handle.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let stored = store.count_certificates().await?;
    if stored != u64::from(certs) {
        return Err(format!("expected {certs} certificates, found {stored}").into());
    }
    Ok(f64::from(certs) / elapsed)
}

async fn issue(store: &Store, i: u32) -> Result<(), vouch_storage::Error> {
    let serial = format!("{:032x}", 0x7f00_0000_0000_u64 + u64::from(i));
    let name = format!("host{i}.bench.example");
    let sans = vec![name.clone(), format!("www.{name}")];
    store
        .record_intent(
            &serial,
            &format!("CN={name}"),
            &sans,
            datetime!(2030-01-01 0:00 UTC),
            datetime!(2030-04-01 0:00 UTC),
            "CN=Vouch Bench Intermediate CA",
            Some("bench"),
        )
        .await?;
    let der: Vec<u8> = (0..600u32).map(|b| (b ^ i).to_le_bytes()[0]).collect();
    store.record_issued(&serial, &der).await
}
