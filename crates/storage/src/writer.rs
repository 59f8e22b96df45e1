//! The group-commit writer: one task that commits many SQLite writes with one fsync.
//!
//! # Design
//! With `synchronous=FULL` every SQLite commit waits for the disk, so one transaction per
//! write caps throughput at the fsync rate however many callers there are. Instead:
//! - **One writer task per store**, spawned by [`Store::connect`](crate::Store::connect), takes
//!   [`Write`]s from a bounded queue. Each caller sends its write with a oneshot for the answer
//!   and waits; a call still returns only after its write is committed (or has failed).
//! - **Gather, then commit once.** The task takes the first queued write and everything
//!   already queued behind it (never more than [`MAX_BATCH`], 64), and commits them. It never
//!   waits for company: the writes that arrive while one batch commits (an fsync takes about
//!   half a millisecond) make up the next, so batches grow with the load by themselves and a
//!   lone caller is never delayed. (An earlier version kept gathering for up to 1 ms when a
//!   batch came out smaller than the one before; at 16 concurrent `/sign` callers that idled
//!   the CPU and cost about 10% of the throughput, docs/performance.md.)
//! - **One transaction per batch, one savepoint per write.** `BEGIN IMMEDIATE`, then for each
//!   write `SAVEPOINT`, its statements, and `ROLLBACK TO` that savepoint if it failed, so a
//!   failing write (a duplicate serial…) undoes only itself; `RELEASE` of one write's
//!   savepoint travels with the next one's `SAVEPOINT`, and `COMMIT` releases the last. (Inside
//!   a batch the cost is round trips to SQLite's worker thread, not the disk, so they are
//!   spared where it is easy: a batch of one needs no savepoint, its transaction is one.)
//!   Writes apply in queue order, so of two uses of one token in a batch the first wins,
//!   exactly as with separate transactions.
//! - **Answers after the commit.** Every waiter gets its own result once `COMMIT` has
//!   returned; if `COMMIT` fails (or the batch's transaction breaks: `BEGIN` fails, or a
//!   savepoint cannot be rolled back), every waiter in the batch gets that error, since an
//!   answer such as `Duplicate` may rest on a write of the same batch that was not kept.
//! - **Stopping.** [`GroupCommit::close`] queues a close message; the task then closes the
//!   queue (later submissions fail with [`Error::Unavailable`]: "the store is closed"), commits
//!   everything queued before that, and exits; `close` returns when it has. If every handle is
//!   dropped instead, the queue drains the same way. If the task dies (a panic, its runtime shut
//!   down), its queue and pending answers are dropped, so callers get [`Error::Unavailable`]
//!   rather than hang.
//!
//! Batches made only of issuance writes (`Insert`, `Issued`, `UseToken`) run on a rusqlite
//! connection owned by one thread (`fast.rs`), in one hand-off per batch and with the same
//! semantics; sqlx's SQLite driver costs a round trip between threads per statement, and
//! those round trips were the ceiling of `/1.0/sign` (docs/performance.md).
//!
//! The task owns a handle on the one-connection writer pool and takes the connection per batch,
//! so migrations (which use the pool directly) interleave with batches instead of deadlocking.
//! A caller that stops waiting (its future dropped) does not withdraw its write: it is
//! committed with its batch, as if the answer had been lost (`record_issued` and a revoke
//! retried see it done or revoked). PostgreSQL does not use this writer: see
//! [`Store`](crate::Store)'s `write`.

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyPool};
use tokio::sync::{mpsc, oneshot, watch};

use crate::Error;
use crate::error::DbErrors;
use crate::writes::{Outcome, Write};

/// The most writes committed in one transaction.
const MAX_BATCH: usize = 64;
/// Writes queued beyond this make their callers wait to queue (backpressure).
const QUEUE_CAPACITY: usize = 1024;
/// A batch takes SQLite's write lock up front, so it waits on the busy timeout rather than
/// failing half-way.
const BEGIN: &str = "BEGIN IMMEDIATE";
const COMMIT: &str = "COMMIT";
const ROLLBACK: &str = "ROLLBACK";
/// The savepoint each write runs in (one at a time, so one name will do).
pub(crate) const SAVEPOINT: &str = "SAVEPOINT vouch_write";
/// Ends the previous write's savepoint and opens the next one, in one round trip.
pub(crate) const NEXT_SAVEPOINT: &str = "RELEASE SAVEPOINT vouch_write; SAVEPOINT vouch_write";
/// Undoes the current write (its savepoint stays open, and is released by the next one).
pub(crate) const ROLLBACK_TO: &str = "ROLLBACK TO SAVEPOINT vouch_write";

/// A handle on the writer task; cheap to clone (all clones feed the same task).
#[derive(Clone)]
pub(crate) struct GroupCommit {
    queue: mpsc::Sender<Message>,
    /// Never written: the task holds the sender and drops it when it ends.
    stopped: watch::Receiver<()>,
}

enum Message {
    Write(Job),
    Close,
}

/// A write and where its answer goes.
pub(crate) struct Job {
    pub(crate) write: Write,
    pub(crate) reply: oneshot::Sender<Result<Outcome, Error>>,
}

impl GroupCommit {
    /// Spawn the writer task on the current tokio runtime, committing through `pool`.
    pub(crate) fn spawn(
        pool: AnyPool,
        errors: DbErrors,
        fast: Option<crate::fast::FastWriter>,
    ) -> GroupCommit {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let (stopped_tx, stopped) = watch::channel(());
        tokio::spawn(async move {
            // Dropped when the task ends, however it ends: that is what `close` waits for.
            let _stopped = stopped_tx;
            run(pool, errors, fast, receiver).await;
        });
        GroupCommit { queue, stopped }
    }

    /// Queue `write` and wait until it is committed (or has failed).
    pub(crate) async fn submit(&self, write: Write) -> Result<Outcome, Error> {
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Message::Write(Job { write, reply }))
            .await
            .map_err(|_| Error::Unavailable {
                reason: "the store is closed (its writer has stopped)".to_owned(),
            })?;
        answer.await.map_err(|_| Error::Unavailable {
            reason: "the storage writer stopped before answering".to_owned(),
        })?
    }

    /// Stop taking writes, commit the ones already queued, and wait for the task to end.
    /// Calling it again (or from another clone) just waits for the same end.
    pub(crate) async fn close(&self) {
        // Fails only if the queue is closed already: then the task is ending anyway.
        let _ = self.queue.send(Message::Close).await;
        let mut stopped = self.stopped.clone();
        // `changed` fails once the task has dropped the sender, i.e. has ended.
        while stopped.changed().await.is_ok() {}
    }
}

/// The writer task: gather a batch, commit it, answer; until the queue is closed and empty.
async fn run(
    pool: AnyPool,
    errors: DbErrors,
    fast: Option<crate::fast::FastWriter>,
    mut queue: mpsc::Receiver<Message>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // `recv` returns `None` once the queue is closed (or every handle dropped) and drained.
    while let Some(first) = queue.recv().await {
        take(&mut queue, &mut batch, first);
        // Take everything already queued, and no more: writes that arrive while this batch
        // commits form the next one, so the batch grows with the load by itself.
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(message) => take(&mut queue, &mut batch, message),
                Err(_) => break,
            }
        }
        if batch.is_empty() {
            // Only a close message arrived.
            continue;
        }
        let jobs = std::mem::take(&mut batch);
        // Issuance batches run on the rusqlite thread in one hand-off (see `fast.rs`); a
        // batch with any other write, or a failed hand-off, takes the sqlx path.
        let jobs = match &fast {
            Some(f) if crate::fast::FastWriter::takes(&jobs) => match f.commit(jobs).await {
                Ok(()) => continue,
                Err(jobs) => jobs,
            },
            _ => jobs,
        };
        commit(&pool, &errors, jobs).await;
    }
}

/// Add a message to the batch; a close message closes the queue (what is in it still drains).
fn take(queue: &mut mpsc::Receiver<Message>, batch: &mut Vec<Job>, message: Message) {
    match message {
        Message::Write(job) => batch.push(job),
        Message::Close => queue.close(),
    }
}

/// Commit `batch` in one transaction, each write in its own savepoint, and answer every job.
///
/// The transaction is driven with plain `BEGIN IMMEDIATE` / `COMMIT` / `ROLLBACK` statements
/// rather than sqlx's `Transaction`, so that a transaction SQLite has already rolled back by
/// itself (after a full disk, say) cannot leave sqlx believing one is still open on the
/// connection; after a failed batch the connection is rolled back or, failing that, closed.
async fn commit(pool: &AnyPool, errors: &DbErrors, batch: Vec<Job>) {
    let mut conn = match pool.acquire().await {
        Ok(conn) => conn,
        Err(e) => return fail_all(batch, &errors.of(&e)),
    };
    if let Err(e) = sqlx::raw_sql(BEGIN).execute(&mut *conn).await {
        return fail_all(batch, &errors.of(&e));
    }
    // A lone write needs no savepoint: its transaction is its savepoint. Neither does a
    // write that cannot fail half-way (`Write::needs_savepoint`); a savepoint left open by
    // the write before it simply stays open (nesting is harmless: `ROLLBACK TO` and
    // `RELEASE` act on the newest one, and `COMMIT` releases them all).
    let batched = batch.len() > 1;
    let mut opened = false;
    let mut results = Vec::with_capacity(batch.len());
    for job in &batch {
        let savepoint = batched && job.write.needs_savepoint();
        if savepoint {
            // One round trip to the database: end the previous write's savepoint (keeping its
            // changes, or nothing if it was rolled back) and open this write's.
            let open = if opened { NEXT_SAVEPOINT } else { SAVEPOINT };
            if let Err(e) = sqlx::raw_sql(open).execute(&mut *conn).await {
                return abandon(conn, batch, &errors.of(&e)).await;
            }
            opened = true;
        }
        let result = job.write.apply(&mut conn, errors).await;
        if let Err(failed) = &result {
            // Undo this write alone. Without a savepoint that means the whole transaction (the
            // lone write then gets its own error from `abandon`); and some errors (a full disk,
            // an I/O error) make SQLite roll back the whole transaction, savepoint and all,
            // and then every write of the batch gets the cause. A savepoint-free write in a
            // batch changed nothing when it answers a refusal (`Duplicate`, `NotFound`,
            // `WrongState`…); any other error may mean the transaction is gone, so the batch
            // is abandoned.
            let undone = if savepoint {
                sqlx::raw_sql(ROLLBACK_TO).execute(&mut *conn).await.is_ok()
            } else {
                batched && is_refusal(failed)
            };
            if !undone {
                let failed = failed.clone();
                return abandon(conn, batch, &failed).await;
            }
        }
        results.push(result);
    }
    // COMMIT also releases the last savepoint.
    match sqlx::raw_sql(COMMIT).execute(&mut *conn).await {
        Ok(_) => {
            for (job, result) in batch.into_iter().zip(results) {
                // The caller may have stopped waiting; its write is committed all the same.
                let _ = job.reply.send(result);
            }
        }
        Err(e) => abandon(conn, batch, &errors.of(&e)).await,
    }
}

/// An answer about the data (the write was refused and changed nothing), not a failure of
/// the database.
pub(crate) fn is_refusal(e: &Error) -> bool {
    matches!(
        e,
        Error::Invalid { .. }
            | Error::Duplicate { .. }
            | Error::NotFound { .. }
            | Error::AlreadyRevoked { .. }
            | Error::WrongState { .. }
            | Error::Missing { .. }
            | Error::Conflict { .. }
    )
}

/// The batch cannot be committed: roll it back, and fail every job with `err`.
async fn abandon(mut conn: PoolConnection<Any>, batch: Vec<Job>, err: &Error) {
    if sqlx::raw_sql(ROLLBACK).execute(&mut *conn).await.is_err() {
        // No transaction left to roll back (SQLite ended it itself), or a broken connection:
        // either way a fresh connection is the safe place to go on from.
        let _ = conn.close().await;
    }
    fail_all(batch, err);
}

pub(crate) fn fail_all(batch: Vec<Job>, err: &Error) {
    for job in batch {
        let _ = job.reply.send(Err(err.clone()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::writes::Insert;
    use crate::{CertificateStatus, Store};

    async fn temp_store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("vouch.db").display());
        let store = Store::connect(&url).await.unwrap();
        (dir, store)
    }

    fn intent(serial: &str, names: &[&str]) -> Write {
        Write::Insert(Box::new(Insert {
            serial: serial.to_owned(),
            subject: format!("CN={serial}.example"),
            sans: "[]".to_owned(),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            not_before: 0,
            not_after: 1,
            issuer: "CN=ca".to_owned(),
            provisioner: None,
            status: CertificateStatus::Intended,
            der: None,
            created_at: 0,
            token: None,
        }))
    }

    /// An intent that also burns token `id` of provisioner `p` (as `/sign` records it).
    fn intent_using(serial: &str, names: &[&str], id: &str) -> Write {
        let Write::Insert(mut row) = intent(serial, names) else {
            unreachable!("intent() builds an Insert")
        };
        row.token = Some(crate::writes::TokenUse {
            provisioner: "p".to_owned(),
            token_id: id.to_owned(),
            expires_at: i64::MAX,
        });
        Write::Insert(row)
    }

    fn token(id: &str) -> Write {
        Write::UseToken {
            provisioner: "p".to_owned(),
            token_id: id.to_owned(),
            expires_at: i64::MAX,
        }
    }

    /// Commit `writes` as exactly one batch, straight through [`commit`], and collect the
    /// answers in order.
    async fn one_batch(store: &Store, writes: Vec<Write>) -> Vec<Result<Outcome, Error>> {
        batch_on(store, writes, false).await
    }

    /// One batch through the sqlx path, or (`fast`) through the rusqlite thread.
    async fn batch_on(
        store: &Store,
        writes: Vec<Write>,
        fast: bool,
    ) -> Vec<Result<Outcome, Error>> {
        let mut answers = Vec::new();
        let batch: Vec<Job> = writes
            .into_iter()
            .map(|write| {
                let (reply, answer) = oneshot::channel();
                answers.push(answer);
                Job { write, reply }
            })
            .collect();
        if fast {
            let writer = crate::fast::FastWriter::open(&store.connect_url()).unwrap();
            assert!(crate::fast::FastWriter::takes(&batch));
            assert!(writer.commit(batch).await.is_ok());
        } else {
            commit(store.writer_pool(), &store.errors(), batch).await;
        }
        let mut results = Vec::new();
        for answer in answers {
            results.push(answer.await.unwrap());
        }
        results
    }

    /// Failing writes in a batch undo only themselves, also when they fail half-way through
    /// (after their certificate row was inserted); the others are committed.
    #[tokio::test]
    async fn a_failing_write_undoes_only_itself() {
        failing_writes_undo_only_themselves(false).await;
    }

    /// The same batch on the rusqlite fast path: the same answers, the same stored state.
    #[tokio::test]
    async fn a_failing_write_undoes_only_itself_on_the_fast_path() {
        failing_writes_undo_only_themselves(true).await;
    }

    async fn failing_writes_undo_only_themselves(fast: bool) {
        let (_dir, store) = temp_store().await;
        store
            .write(intent("0a", &["taken.example"]))
            .await
            .unwrap()
            .done()
            .unwrap();

        let results = batch_on(
            &store,
            vec![
                intent("01", &["one.example"]),
                intent("0a", &["imposter.example"]), // duplicate serial: fails at once
                token("t1"),
                intent("02", &["same.example", "same.example"]), // fails on its names
                token("t1"),                                     // replay within the batch
                Write::Issued {
                    serial: "0f".to_owned(),
                    der: vec![1],
                }, // no intent: NotFound
                intent("03", &["three.example"]),
                intent_using("04", &["four.example"], "t2"),
                intent_using("05", &["five.example"], "t2"), // replayed token: stores nothing
                intent_using("0a", &["six.example"], "t3"),  // duplicate serial: t3 stays unused
                intent_using("06", &["seven.example"], "t1"), // token used by a UseToken above
            ],
            fast,
        )
        .await;

        assert_eq!(results[0], Ok(Outcome::Done));
        assert!(
            matches!(&results[1], Err(Error::Duplicate { serial }) if serial == "0a"),
            "{:?}",
            results[1]
        );
        assert_eq!(results[2], Ok(Outcome::TokenUsed(true)));
        assert!(
            matches!(&results[3], Err(Error::Internal { .. })),
            "{:?}",
            results[3]
        );
        assert_eq!(results[4], Ok(Outcome::TokenUsed(false)));
        assert!(
            matches!(&results[5], Err(Error::NotFound { .. })),
            "{:?}",
            results[5]
        );
        assert_eq!(results[6], Ok(Outcome::Done));
        assert_eq!(results[7], Ok(Outcome::TokenUsed(true)));
        assert_eq!(results[8], Ok(Outcome::TokenUsed(false)));
        assert!(
            matches!(&results[9], Err(Error::Duplicate { serial }) if serial == "0a"),
            "{:?}",
            results[9]
        );
        assert_eq!(results[10], Ok(Outcome::TokenUsed(false)));

        // Committed: 0a (before), 01, 03, 04, t1 and t2 once; nothing of 02, 05, 06 or the imposter.
        let mut serials = Vec::new();
        for serial in ["01", "02", "03", "04", "05", "06", "0a"] {
            if store.get_certificate(serial).await.unwrap().is_some() {
                serials.push(serial);
            }
        }
        assert_eq!(serials, ["01", "03", "04", "0a"]);
        for name in ["five.example", "six.example", "seven.example"] {
            assert!(
                store.find_by_name(name, 5).await.unwrap().is_empty(),
                "{name}"
            );
        }
        let now = time::OffsetDateTime::now_utc();
        assert!(
            !store.use_token("p", "t2", now).await.unwrap(),
            "t2 burned once"
        );
        assert!(
            store.use_token("p", "t3", now).await.unwrap(),
            "the refused insert did not burn t3"
        );
        assert!(
            store
                .find_by_name("same.example", 5)
                .await
                .unwrap()
                .is_empty()
        );
        assert!(
            store
                .find_by_name("imposter.example", 5)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(store.find_by_name("one.example", 5).await.unwrap().len(), 1);
        assert!(
            !store
                .use_token("p", "t1", time::OffsetDateTime::now_utc())
                .await
                .unwrap()
        );
        store.close().await;
    }

    /// A batch whose COMMIT fails answers every waiter with the error and keeps nothing, not
    /// even the writes whose own statements succeeded.
    #[tokio::test]
    async fn a_failed_commit_fails_every_waiter() {
        let (_dir, store) = temp_store().await;
        // A deferred foreign key is checked only at COMMIT: using the token "poison" makes
        // the COMMIT of its batch fail.
        sqlx::raw_sql(
            "CREATE TABLE poison (certificate_id BIGINT \
                 REFERENCES certificates (id) DEFERRABLE INITIALLY DEFERRED); \
             CREATE TRIGGER poison_token AFTER INSERT ON used_tokens WHEN NEW.token_id = 'poison' \
                 BEGIN INSERT INTO poison VALUES (999999); END;",
        )
        .execute(store.writer_pool())
        .await
        .unwrap();

        let results = one_batch(
            &store,
            vec![
                intent("01", &["one.example"]),
                token("poison"),
                intent("01", &[]), // its own answer would be Duplicate
                token("t1"),
            ],
        )
        .await;
        for result in &results {
            let err = result.as_ref().unwrap_err();
            assert!(err.to_string().contains("FOREIGN KEY"), "{err:?}");
        }
        assert_eq!(store.count_certificates().await.unwrap(), 0);
        assert!(
            store
                .use_token("p", "t1", time::OffsetDateTime::now_utc())
                .await
                .unwrap()
        );
        store.close().await;
    }

    /// Writes queued together are committed together, and in queue order.
    #[tokio::test]
    async fn concurrent_writes_share_a_batch_in_order() {
        let (_dir, store) = temp_store().await;
        // On this current-thread runtime all five are queued before the writer task runs.
        let (a, b, c, d, e) = tokio::join!(
            store.write(token("x")),
            store.write(token("x")),
            store.write(intent("01", &[])),
            store.write(intent("01", &[])),
            store.write(token("y")),
        );
        assert_eq!(a, Ok(Outcome::TokenUsed(true)));
        assert_eq!(b, Ok(Outcome::TokenUsed(false)));
        assert_eq!(c, Ok(Outcome::Done));
        assert!(matches!(d, Err(Error::Duplicate { .. })), "{d:?}");
        assert_eq!(e, Ok(Outcome::TokenUsed(true)));
        store.close().await;
    }

    /// If the writer task is gone (here: its runtime was shut down), callers get
    /// `Unavailable` at once instead of waiting forever.
    #[test]
    fn a_dead_writer_means_unavailable() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("vouch.db").display());
        let runtime = || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        };
        let first = runtime();
        let store = first.block_on(Store::connect(&url)).unwrap();
        drop(first);

        let err = runtime()
            .block_on(store.use_token("p", "t", time::OffsetDateTime::now_utc()))
            .unwrap_err();
        assert_eq!(err.kind(), vouch_model::ErrorKind::Unavailable, "{err}");
    }

    /// `close` commits and answers every write queued before it.
    #[tokio::test]
    async fn close_commits_what_was_queued_before_it() {
        let (dir, store) = temp_store().await;
        // On this current-thread runtime the writes are all queued before the close message,
        // and the writer task runs only once all of them wait.
        let (a, b, c, ()) = tokio::join!(
            store.write(token("a")),
            store.write(intent("01", &[])),
            store.write(token("b")),
            store.close(),
        );
        assert_eq!(a, Ok(Outcome::TokenUsed(true)));
        assert_eq!(b, Ok(Outcome::Done));
        assert_eq!(c, Ok(Outcome::TokenUsed(true)));

        let store = Store::connect(&format!(
            "sqlite://{}",
            dir.path().join("vouch.db").display()
        ))
        .await
        .unwrap();
        assert!(store.get_certificate("01").await.unwrap().is_some());
        assert_eq!(
            store
                .prune_used_tokens(time::OffsetDateTime::now_utc())
                .await,
            Ok(0)
        );
        assert!(
            !store
                .use_token("p", "a", time::OffsetDateTime::now_utc())
                .await
                .unwrap()
        );
        assert!(
            !store
                .use_token("p", "b", time::OffsetDateTime::now_utc())
                .await
                .unwrap()
        );
        store.close().await;
    }

    /// After `close`, writes are refused with a clear error; closing twice is fine.
    #[tokio::test]
    async fn writes_after_close_are_refused() {
        let (_dir, store) = temp_store().await;
        let clone = store.clone();
        store.close().await;
        clone.close().await;
        let err = clone.write(token("late")).await.unwrap_err();
        assert!(
            matches!(&err, Error::Unavailable { reason } if reason.contains("closed")),
            "{err:?}"
        );
    }
}
