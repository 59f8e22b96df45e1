//! The write operations as plain owned data, and the SQL each one runs.
//!
//! A [`Write`] is validated and built by the [`Store`](crate::Store) method that needs it
//! (including its `created_at` from that store's clock), so it can travel to the group-commit
//! writer ([`crate::writer`]) and be applied there. [`Write::apply`] runs on a connection that
//! is already inside a transaction: a savepoint of a batch on SQLite, a transaction of its own
//! on PostgreSQL.
//!
//! The contract with whoever calls `apply`:
//! - `Ok` means no statement failed and the changes may be kept (committed with the rest);
//! - `Err` means the changes must be rolled back (to the savepoint, or the whole transaction).
//!
//! So answers that are not errors are reached without a failing statement: a replayed token is
//! `INSERT … ON CONFLICT DO NOTHING` affecting no row, and a repeated `record_issued` finds the
//! same DER already stored. (On PostgreSQL a failed statement aborts the transaction; on both
//! engines it would leave the savepoint in need of a rollback.)

use std::fmt::Write as _;

use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::acme::writes::AcmeWrite;
use crate::error::{DbErrors, is_unique_violation};
use crate::{CertificateStatus, Error};

/// One write, with everything it needs owned (it may cross to the writer task).
#[derive(Debug)]
pub(crate) enum Write {
    /// A new certificate row (an intent, or a signed certificate) and its names.
    Insert(Box<Insert>),
    /// Phase two of issuance: attach the DER to an intent.
    Issued { serial: String, der: Vec<u8> },
    /// Mark a certificate revoked and record the revocation.
    Revoke {
        serial: String,
        revoked_at: i64,
        reason_code: u8,
        reason: Option<String>,
        passive: bool,
    },
    /// Record a one-time token's use.
    UseToken {
        provisioner: String,
        token_id: String,
        expires_at: i64,
    },
    /// Forget used tokens that expired before `before`.
    PruneTokens { before: i64 },
    /// Take the next CRL number of `issuer`.
    NextCrlNumber { issuer: String },
    /// A change to the ACME state (`acme/writes.rs`).
    Acme(Box<AcmeWrite>),
}

/// A row of `certificates`, encoded for the database, and its lowercased index names.
#[derive(Debug)]
pub(crate) struct Insert {
    pub(crate) serial: String,
    pub(crate) subject: String,
    /// The SANs as a JSON array.
    pub(crate) sans: String,
    pub(crate) names: Vec<String>,
    pub(crate) not_before: i64,
    pub(crate) not_after: i64,
    pub(crate) issuer: String,
    pub(crate) provisioner: Option<String>,
    pub(crate) status: CertificateStatus,
    pub(crate) der: Option<Vec<u8>>,
    pub(crate) created_at: i64,
    /// A one-time token to record as used in the same write, before the row: a replay
    /// inserts nothing and answers `TokenUsed(false)`.
    pub(crate) token: Option<TokenUse>,
}

/// A one-time token's use, as [`Write::UseToken`] records it.
#[derive(Debug)]
pub(crate) struct TokenUse {
    pub(crate) provisioner: String,
    pub(crate) token_id: String,
    pub(crate) expires_at: i64,
}

/// What a successful [`Write`] answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Inserted, issued or revoked.
    Done,
    /// Whether the token was new (`false`: a replay).
    TokenUsed(bool),
    /// How many used tokens were pruned.
    Pruned(u64),
    /// The CRL number taken.
    CrlNumber(i64),
    /// Whether a conditional change happened (`false`: the state did not allow it, or a
    /// replay).
    Changed(bool),
}

impl Outcome {
    /// The answer of a write that answers nothing but success.
    pub(crate) fn done(self) -> Result<(), Error> {
        match self {
            Outcome::Done => Ok(()),
            other => Err(mismatch("Done", other)),
        }
    }

    /// Whether a token was new; an insert without a token answers `Done`, which counts as new.
    pub(crate) fn token_used(self) -> Result<bool, Error> {
        match self {
            Outcome::TokenUsed(fresh) => Ok(fresh),
            Outcome::Done => Ok(true),
            other => Err(mismatch("TokenUsed", other)),
        }
    }

    pub(crate) fn crl_number(self) -> Result<i64, Error> {
        match self {
            Outcome::CrlNumber(n) => Ok(n),
            other => Err(mismatch("CrlNumber", other)),
        }
    }

    pub(crate) fn changed(self) -> Result<bool, Error> {
        match self {
            Outcome::Changed(changed) => Ok(changed),
            other => Err(mismatch("Changed", other)),
        }
    }

    pub(crate) fn pruned(self) -> Result<u64, Error> {
        match self {
            Outcome::Pruned(n) => Ok(n),
            other => Err(mismatch("Pruned", other)),
        }
    }
}

fn mismatch(expected: &str, got: Outcome) -> Error {
    Error::internal(format!(
        "write answered {got:?} where {expected} was expected"
    ))
}

impl Write {
    /// Run this write's statements on `conn`, which is inside a transaction (see the module
    /// doc for what `Ok` and `Err` promise).
    /// Whether the write needs its own savepoint in a batch: it may change rows and then
    /// fail. `Issued` and `UseToken` change at most one row with one statement (SQLite undoes
    /// a failed statement by itself) and answer a refusal after changing nothing, so they run
    /// without one: a round trip to the database fewer per write.
    pub(crate) fn needs_savepoint(&self) -> bool {
        !matches!(self, Write::Issued { .. } | Write::UseToken { .. })
    }

    pub(crate) async fn apply(
        &self,
        conn: &mut AnyConnection,
        errors: &DbErrors,
    ) -> Result<Outcome, Error> {
        match self {
            Write::Insert(row) => insert(conn, errors, row).await,
            Write::Issued { serial, der } => issued(conn, errors, serial, der).await,
            Write::Revoke {
                serial,
                revoked_at,
                reason_code,
                reason,
                passive,
            } => {
                revoke(
                    conn,
                    errors,
                    serial,
                    *revoked_at,
                    *reason_code,
                    reason.as_deref(),
                    *passive,
                )
                .await
            }
            Write::UseToken {
                provisioner,
                token_id,
                expires_at,
            } => use_token(conn, errors, provisioner, token_id, *expires_at).await,
            Write::PruneTokens { before } => prune_tokens(conn, errors, *before).await,
            Write::NextCrlNumber { issuer } => next_crl_number(conn, errors, issuer).await,
            Write::Acme(write) => write.apply(conn, errors).await,
        }
    }
}

async fn insert(
    conn: &mut AnyConnection,
    errors: &DbErrors,
    row: &Insert,
) -> Result<Outcome, Error> {
    // The token first: a replay changes nothing and stores no row.
    if let Some(t) = &row.token
        && use_token(conn, errors, &t.provisioner, &t.token_id, t.expires_at).await?
            == Outcome::TokenUsed(false)
    {
        return Ok(Outcome::TokenUsed(false));
    }
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO certificates (serial, subject, sans, not_before, not_after, issuer, \
         provisioner, status, der, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(&row.serial)
    .bind(&row.subject)
    .bind(&row.sans)
    .bind(row.not_before)
    .bind(row.not_after)
    .bind(&row.issuer)
    .bind(row.provisioner.as_deref())
    .bind(row.status.as_str())
    .bind(row.der.as_deref())
    .bind(row.created_at)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::Duplicate {
                serial: row.serial.clone(),
            }
        } else {
            errors.of(&e)
        }
    })?;
    // All names in one statement: in a batch, round trips to the database are the cost.
    for chunk in row.names.chunks(NAMES_PER_STATEMENT) {
        let mut insert = sqlx::query(AssertSqlSafe(insert_names_sql(chunk.len()))).bind(id);
        for name in chunk {
            insert = insert.bind(name);
        }
        insert
            .execute(&mut *conn)
            .await
            .map_err(|e| errors.of(&e))?;
    }
    Ok(if row.token.is_some() {
        Outcome::TokenUsed(true)
    } else {
        Outcome::Done
    })
}

/// Names inserted per statement (well below SQLite's limit of 32766 bound parameters).
pub(crate) const NAMES_PER_STATEMENT: usize = 500;

/// `INSERT INTO certificate_names … VALUES ($1, $2), ($1, $3), …` for `count` names, `$1`
/// being the certificate id. Built from a count only, never from data.
pub(crate) fn insert_names_sql(count: usize) -> String {
    let mut sql = String::from("INSERT INTO certificate_names (certificate_id, name) VALUES ");
    for i in 0..count {
        if i > 0 {
            sql.push_str(", ");
        }
        // Writing to a String cannot fail.
        let _ = write!(sql, "($1, ${})", i + 2);
    }
    sql
}

async fn issued(
    conn: &mut AnyConnection,
    errors: &DbErrors,
    serial: &str,
    der: &[u8],
) -> Result<Outcome, Error> {
    let updated = sqlx::query(
        "UPDATE certificates SET der = $2, status = 'issued' \
         WHERE serial = $1 AND status = 'intended'",
    )
    .bind(serial)
    .bind(der)
    .execute(&mut *conn)
    .await
    .map_err(|e| errors.of(&e))?
    .rows_affected();
    if updated == 1 {
        return Ok(Outcome::Done);
    }
    let row = sqlx::query("SELECT status, der FROM certificates WHERE serial = $1")
        .bind(serial)
        .fetch_optional(&mut *conn)
        .await
        .map_err(|e| errors.of(&e))?;
    let Some(row) = row else {
        return Err(Error::NotFound {
            serial: serial.to_owned(),
        });
    };
    let status = crate::store::status_from(&get::<String>(errors, &row, "status")?)?;
    let stored: Option<Vec<u8>> = get(errors, &row, "der")?;
    if status == CertificateStatus::Issued && stored.as_deref() == Some(der) {
        // A retry after a lost reply: already done, nothing changed.
        return Ok(Outcome::Done);
    }
    Err(Error::WrongState {
        serial: serial.to_owned(),
        status,
    })
}

async fn revoke(
    conn: &mut AnyConnection,
    errors: &DbErrors,
    serial: &str,
    revoked_at: i64,
    reason_code: u8,
    reason: Option<&str>,
    passive: bool,
) -> Result<Outcome, Error> {
    // Write first, read only on failure: on SQLite a read-then-write transaction could fail on
    // a stale snapshot; on PostgreSQL the UPDATE's row lock orders racing revokers.
    let updated = sqlx::query(
        "UPDATE certificates SET status = 'revoked' \
         WHERE serial = $1 AND status IN ('intended', 'issued')",
    )
    .bind(serial)
    .execute(&mut *conn)
    .await
    .map_err(|e| errors.of(&e))?
    .rows_affected();
    if updated == 0 {
        let exists: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM certificates WHERE serial = $1")
            .bind(serial)
            .fetch_one(&mut *conn)
            .await
            .map_err(|e| errors.of(&e))?;
        let serial = serial.to_owned();
        return Err(if exists == 0 {
            Error::NotFound { serial }
        } else {
            Error::AlreadyRevoked { serial }
        });
    }
    sqlx::query(
        "INSERT INTO revocations (serial, revoked_at, reason_code, reason, passive) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(serial)
    .bind(revoked_at)
    .bind(i32::from(reason_code))
    .bind(reason)
    .bind(i16::from(passive))
    .execute(&mut *conn)
    .await
    .map_err(|e| {
        if is_unique_violation(&e) {
            Error::AlreadyRevoked {
                serial: serial.to_owned(),
            }
        } else {
            errors.of(&e)
        }
    })?;
    Ok(Outcome::Done)
}

async fn use_token(
    conn: &mut AnyConnection,
    errors: &DbErrors,
    provisioner: &str,
    token_id: &str,
    expires_at: i64,
) -> Result<Outcome, Error> {
    // DO NOTHING rather than catching the unique violation: a replay is an answer, not a
    // failed statement (see the module doc). Of two racing inserts on PostgreSQL the second
    // waits for the first to commit and then inserts nothing, so exactly one wins.
    let inserted = sqlx::query(
        "INSERT INTO used_tokens (provisioner, token_id, expires_at) VALUES ($1, $2, $3) \
         ON CONFLICT (provisioner, token_id) DO NOTHING",
    )
    .bind(provisioner)
    .bind(token_id)
    .bind(expires_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| errors.of(&e))?
    .rows_affected();
    Ok(Outcome::TokenUsed(inserted == 1))
}

async fn prune_tokens(
    conn: &mut AnyConnection,
    errors: &DbErrors,
    before: i64,
) -> Result<Outcome, Error> {
    let pruned = sqlx::query("DELETE FROM used_tokens WHERE expires_at < $1")
        .bind(before)
        .execute(&mut *conn)
        .await
        .map_err(|e| errors.of(&e))?
        .rows_affected();
    Ok(Outcome::Pruned(pruned))
}

async fn next_crl_number(
    conn: &mut AnyConnection,
    errors: &DbErrors,
    issuer: &str,
) -> Result<Outcome, Error> {
    // One statement on both engines: insert 1, or add one to what is there.
    let n: i64 = sqlx::query_scalar(
        "INSERT INTO crl_numbers (issuer, number) VALUES ($1, 1) \
         ON CONFLICT (issuer) DO UPDATE SET number = crl_numbers.number + 1 RETURNING number",
    )
    .bind(issuer)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| errors.of(&e))?;
    Ok(Outcome::CrlNumber(n))
}

fn get<'r, T>(errors: &DbErrors, row: &'r AnyRow, column: &str) -> Result<T, Error>
where
    T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
{
    row.try_get(column).map_err(|e| errors.of(&e))
}
