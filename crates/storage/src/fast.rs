//! The SQLite fast path of the group commit: the issuance writes (`Insert`, `Issued`,
//! `UseToken`) of a batch run on one thread that owns a rusqlite connection, with cached
//! prepared statements, so a whole batch is one hand-off between threads instead of a round
//! trip to sqlx's worker thread per statement (about a hundred for 16 issuances).
//!
//! The semantics are exactly those of the sqlx path in `writer.rs`: one `BEGIN IMMEDIATE`
//! transaction per batch, a savepoint per write that may fail half-way, a refusal that
//! changes nothing left as it is, any other failure abandoning the batch, and every answer
//! sent only after `COMMIT` returned (so after the fsync of `synchronous=FULL`). Batches with
//! any other write still take the sqlx path; both connections write the same file, one
//! batch at a time (the writer task waits for each batch before it gathers the next).

use std::sync::mpsc;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};
use tokio::sync::oneshot;

use crate::Error;
use crate::records::CertificateStatus;
use crate::writer::{Job, NEXT_SAVEPOINT, ROLLBACK_TO, SAVEPOINT, fail_all, is_refusal};
use crate::writes::{Insert, NAMES_PER_STATEMENT, Outcome, Write, insert_names_sql};

/// The same busy timeout as the sqlx connections.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A batch for the thread, and how it says it is done.
struct Batch {
    jobs: Vec<Job>,
    done: oneshot::Sender<()>,
}

/// A handle on the writer thread; the thread ends when the handle is dropped.
pub(crate) struct FastWriter {
    queue: mpsc::Sender<Batch>,
}

impl std::fmt::Debug for FastWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FastWriter")
    }
}

impl FastWriter {
    /// Open a second writer connection on the database of sqlx URL `connect` (already
    /// created and switched to WAL by the sqlx writer) and start its thread.
    pub(crate) fn open(connect: &str) -> Result<FastWriter, Error> {
        let rest = connect
            .strip_prefix("sqlite://")
            .or_else(|| connect.strip_prefix("sqlite:"))
            .ok_or_else(|| Error::internal("not an SQLite URL"))?;
        let uri = format!("file:{rest}");
        let conn = Connection::open_with_flags(
            &uri,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_URI
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| map(&e))?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(|e| map(&e))?;
        conn.execute_batch("PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL;")
            .map_err(|e| map(&e))?;
        conn.execute_batch(crate::store::SQLITE_TEMP_IN_MEMORY)
            .map_err(|e| map(&e))?;
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .map_err(|e| map(&e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::internal(format!(
                "the database is not in WAL mode (got {mode:?})"
            )));
        }
        let (queue, batches) = mpsc::channel::<Batch>();
        std::thread::Builder::new()
            .name("vouch-sqlite-writer".into())
            .spawn(move || {
                for batch in batches {
                    commit(&conn, batch.jobs);
                    let _ = batch.done.send(());
                }
            })
            .map_err(|e| Error::internal(format!("cannot start the SQLite writer: {e}")))?;
        Ok(FastWriter { queue })
    }

    /// Whether every write of a batch can take this path.
    pub(crate) fn takes(batch: &[Job]) -> bool {
        batch.iter().all(|j| {
            matches!(
                j.write,
                Write::Insert(_) | Write::Issued { .. } | Write::UseToken { .. }
            )
        })
    }

    /// Commit `jobs` on the thread and wait until every job is answered. If the thread is
    /// gone, the jobs come back for the sqlx path.
    pub(crate) async fn commit(&self, jobs: Vec<Job>) -> Result<(), Vec<Job>> {
        let (done, finished) = oneshot::channel();
        self.queue
            .send(Batch { jobs, done })
            .map_err(|mpsc::SendError(batch)| batch.jobs)?;
        // The thread answered every job before it says it is done; a dropped sender (the
        // thread died mid-batch) drops the batch's replies too, so callers see Unavailable.
        let _ = finished.await;
        Ok(())
    }
}

/// A rusqlite error as a storage error (SQLite's extended codes, as for sqlx).
fn map(e: &rusqlite::Error) -> Error {
    let reason = e.to_string();
    match e {
        rusqlite::Error::SqliteFailure(f, _) => {
            crate::error::from_sqlite_code(f.extended_code, reason)
        }
        _ => Error::Internal { reason },
    }
}

fn is_unique_violation(e: &rusqlite::Error) -> bool {
    // SQLITE_CONSTRAINT_UNIQUE (2067) and SQLITE_CONSTRAINT_PRIMARYKEY (1555).
    matches!(e, rusqlite::Error::SqliteFailure(f, _) if f.extended_code == 2067 || f.extended_code == 1555)
}

/// One batch in one transaction; see the module documentation.
fn commit(conn: &Connection, batch: Vec<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        return fail_all(batch, &map(&e));
    }
    let batched = batch.len() > 1;
    let mut opened = false;
    let mut results = Vec::with_capacity(batch.len());
    for job in &batch {
        let savepoint = batched && job.write.needs_savepoint();
        if savepoint {
            let open = if opened { NEXT_SAVEPOINT } else { SAVEPOINT };
            if let Err(e) = conn.execute_batch(open) {
                return abandon(conn, batch, &map(&e));
            }
            opened = true;
        }
        let result = apply(conn, &job.write);
        if let Err(failed) = &result {
            let undone = if savepoint {
                conn.execute_batch(ROLLBACK_TO).is_ok()
            } else {
                batched && is_refusal(failed)
            };
            if !undone {
                let failed = failed.clone();
                return abandon(conn, batch, &failed);
            }
        }
        results.push(result);
    }
    match conn.execute_batch("COMMIT") {
        Ok(()) => {
            for (job, result) in batch.into_iter().zip(results) {
                let _ = job.reply.send(result);
            }
        }
        Err(e) => abandon(conn, batch, &map(&e)),
    }
}

fn abandon(conn: &Connection, batch: Vec<Job>, err: &Error) {
    // Nothing to roll back if SQLite already ended the transaction itself.
    let _ = conn.execute_batch("ROLLBACK");
    fail_all(batch, err);
}

fn apply(conn: &Connection, write: &Write) -> Result<Outcome, Error> {
    match write {
        Write::Insert(row) => insert(conn, row),
        Write::Issued { serial, der } => issued(conn, serial, der),
        Write::UseToken {
            provisioner,
            token_id,
            expires_at,
        } => use_token(conn, provisioner, token_id, *expires_at).map(Outcome::TokenUsed),
        _ => Err(Error::internal("not a write of the SQLite fast path")),
    }
}

fn use_token(
    conn: &Connection,
    provisioner: &str,
    token_id: &str,
    expires_at: i64,
) -> Result<bool, Error> {
    let inserted = conn
        .prepare_cached(
            "INSERT INTO used_tokens (provisioner, token_id, expires_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (provisioner, token_id) DO NOTHING",
        )
        .and_then(|mut s| s.execute(params![provisioner, token_id, expires_at]))
        .map_err(|e| map(&e))?;
    Ok(inserted == 1)
}

fn insert(conn: &Connection, row: &Insert) -> Result<Outcome, Error> {
    if let Some(t) = &row.token
        && !use_token(conn, &t.provisioner, &t.token_id, t.expires_at)?
    {
        return Ok(Outcome::TokenUsed(false));
    }
    let id: i64 = conn
        .prepare_cached(
            "INSERT INTO certificates (serial, subject, sans, not_before, not_after, issuer, \
             provisioner, status, der, created_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) RETURNING id",
        )
        .and_then(|mut s| {
            s.query_row(
                params![
                    row.serial,
                    row.subject,
                    row.sans,
                    row.not_before,
                    row.not_after,
                    row.issuer,
                    row.provisioner,
                    row.status.as_str(),
                    row.der,
                    row.created_at
                ],
                |r| r.get(0),
            )
        })
        .map_err(|e| {
            if is_unique_violation(&e) {
                Error::Duplicate {
                    serial: row.serial.clone(),
                }
            } else {
                map(&e)
            }
        })?;
    for chunk in row.names.chunks(NAMES_PER_STATEMENT) {
        // `$1`, `$2`… are numbered by first appearance, so they bind by position here too.
        let sql = insert_names_sql(chunk.len());
        let mut stmt = conn.prepare_cached(&sql).map_err(|e| map(&e))?;
        stmt.raw_bind_parameter(1, id).map_err(|e| map(&e))?;
        for (i, name) in chunk.iter().enumerate() {
            stmt.raw_bind_parameter(i + 2, name).map_err(|e| map(&e))?;
        }
        stmt.raw_execute().map_err(|e| map(&e))?;
    }
    Ok(if row.token.is_some() {
        Outcome::TokenUsed(true)
    } else {
        Outcome::Done
    })
}

fn issued(conn: &Connection, serial: &str, der: &[u8]) -> Result<Outcome, Error> {
    let updated = conn
        .prepare_cached(
            "UPDATE certificates SET der = ?2, status = 'issued' \
             WHERE serial = ?1 AND status = 'intended'",
        )
        .and_then(|mut s| s.execute(params![serial, der]))
        .map_err(|e| map(&e))?;
    if updated == 1 {
        return Ok(Outcome::Done);
    }
    let found: Option<(String, Option<Vec<u8>>)> = conn
        .prepare_cached("SELECT status, der FROM certificates WHERE serial = ?1")
        .and_then(|mut s| {
            s.query_row(params![serial], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(|e| map(&e))?;
    let Some((status, stored)) = found else {
        return Err(Error::NotFound {
            serial: serial.to_owned(),
        });
    };
    let status = crate::store::status_from(&status)?;
    if status == CertificateStatus::Issued && stored.as_deref() == Some(der) {
        return Ok(Outcome::Done);
    }
    Err(Error::WrongState {
        serial: serial.to_owned(),
        status,
    })
}
