//! The [`Store`]: connection pools, per-connection setup, the certificate and revocation
//! queries, and where writes go (the group-commit writer on SQLite, the pool on PostgreSQL).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyConnection, AnyPool, Row, Transaction};
use time::OffsetDateTime;
use vouch_model::{Clock, SystemClock};

use crate::error::DbErrors;
use crate::url::DbUrl;
use crate::writer::GroupCommit;
use crate::writes::{Insert, Outcome, Write};
use crate::{
    Backend, CertificateRecord, CertificateStatus, Error, NewCertificate, RevocationRecord,
    validate,
};

/// How long SQLite waits for another process's lock before giving up (5 s, as sqlx's default).
const SQLITE_BUSY_TIMEOUT: &str = "PRAGMA busy_timeout = 5000";
/// Statement journals (the undo log of a savepoint) stay in memory. SQLite otherwise spills one
/// to a temporary file past 64 KiB, and each issuance's savepoint touches about 15 pages (the
/// row, its indexes, its names, the used token): that was half of the writer's `pwrite`s.
/// Crash recovery never reads them (the WAL does that), so durability is unchanged.
pub(crate) const SQLITE_TEMP_IN_MEMORY: &str = "PRAGMA temp_store = MEMORY";
/// Reader connections to an SQLite file (WAL lets them run beside the one writer).
const SQLITE_READERS: u32 = 4;
/// Connections to a PostgreSQL server, per process.
const POSTGRES_CONNECTIONS: u32 = 10;
/// How long an operation waits for a connection (or for the server to accept one).
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// The columns of `certificates` read into a [`CertificateRecord`] (a macro so that `concat!`
/// can build `&'static str` queries from it).
macro_rules! cert_columns {
    () => {
        "c.serial, c.subject, c.sans, c.not_before, c.not_after, c.issuer, c.provisioner, \
         c.status, c.der, c.created_at"
    };
}

/// A handle on the Vouch database; cheap to clone (all clones share the pools and the writer).
///
/// SQLite gets two pools on the same file: one writer connection (SQLite allows one writer at
/// a time anyway; queuing writers in the pool is fairer and cheaper than letting them spin on
/// the busy handler) and a few read-only connections that WAL lets run beside it. Writes go
/// through the group-commit writer task (`writer.rs`), which batches them onto that one
/// connection; only migrations use the writer pool directly.
/// PostgreSQL gets one pool used for both, and each write is its own transaction on it.
#[derive(Clone)]
pub struct Store {
    backend: Backend,
    writer: AnyPool,
    reader: AnyPool,
    url: Arc<DbUrl>,
    errors: DbErrors,
    /// The group-commit writer (SQLite only).
    group_commit: Option<GroupCommit>,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("url", &self.url.display)
            .finish_non_exhaustive()
    }
}

/// Which pool a SQLite connection belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Writer,
    Reader,
}

impl Store {
    /// Connect to `url` (`sqlite://PATH`, created if missing, or `postgres://…`) and bring the
    /// schema up to date. On SQLite this also spawns the group-commit writer task, so it must
    /// be called within a tokio runtime (as every sqlx call must), which then runs that task
    /// until [`Store::close`] or until every clone is dropped.
    ///
    /// Errors: [`Error::BadUrl`] for an unusable URL, [`Error::Unavailable`] when the database
    /// cannot be reached within 10 seconds. No error text contains the URL's password.
    pub async fn connect(url: &str) -> Result<Store, Error> {
        sqlx::any::install_default_drivers();
        let url = Arc::new(DbUrl::parse(url)?);
        let errors = DbErrors::new(Arc::clone(&url));
        let connect_error = |e: sqlx::Error| errors.of(&e);
        let (writer, reader) = match url.backend {
            Backend::Sqlite => {
                // The writer first: it switches a new file to WAL before any reader opens it.
                let writer = sqlite_pool(Role::Writer)
                    .connect(&url.connect)
                    .await
                    .map_err(connect_error)?;
                let reader = sqlite_pool(Role::Reader)
                    .connect(&url.connect)
                    .await
                    .map_err(connect_error)?;
                (writer, reader)
            }
            Backend::Postgres => {
                let pool = AnyPoolOptions::new()
                    .max_connections(POSTGRES_CONNECTIONS)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect(&url.connect)
                    .await
                    .map_err(connect_error)?;
                (pool.clone(), pool)
            }
        };
        let group_commit = match url.backend {
            Backend::Sqlite => {
                let fast = crate::fast::FastWriter::open(&url.connect)?;
                Some(GroupCommit::spawn(
                    writer.clone(),
                    errors.clone(),
                    Some(fast),
                ))
            }
            // PostgreSQL commits concurrent transactions from its pool of connections with one
            // WAL flush already, and a batch spanning unrelated rows could deadlock against
            // another node's batch; see `Store::write`.
            Backend::Postgres => None,
        };
        let store = Store {
            backend: url.backend,
            writer,
            reader,
            url,
            errors,
            group_commit,
            clock: Arc::new(SystemClock),
        };
        if let Err(err) = store.migrate().await {
            store.close().await;
            return Err(err);
        }
        Ok(store)
    }

    /// The same store, with `clock` stamping `created_at` and migration times.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Store {
        self.clock = clock;
        self
    }

    /// The URL the connections were opened with (tests open a second writer on it).
    #[cfg(test)]
    pub(crate) fn connect_url(&self) -> String {
        self.url.connect.clone()
    }

    /// Which database engine this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Close the store: stop taking writes, commit every write already queued (each of their
    /// callers gets its answer), then close every connection, waiting for those in use to be
    /// returned. Afterwards every operation fails with [`Error::Unavailable`]; this affects all
    /// clones.
    pub async fn close(&self) {
        if let Some(group_commit) = &self.group_commit {
            group_commit.close().await;
        }
        self.writer.close().await;
        self.reader.close().await;
    }

    /// Store a signed certificate (status `issued`) and index its names, in one transaction.
    ///
    /// Errors: [`Error::Invalid`] for a bad serial, an inverted validity or empty DER;
    /// [`Error::Duplicate`] if the serial is already stored (the stored row is left as it was).
    pub async fn insert_certificate(&self, cert: &NewCertificate) -> Result<(), Error> {
        if cert.der.is_empty() {
            return Err(Error::invalid("der", "must not be empty"));
        }
        self.insert_row(
            NewRow {
                serial: &cert.serial,
                subject: &cert.subject,
                sans: &cert.sans,
                not_before: cert.not_before,
                not_after: cert.not_after,
                issuer: &cert.issuer,
                provisioner: cert.provisioner.as_deref(),
            },
            CertificateStatus::Issued,
            Some(&cert.der),
        )
        .await
    }

    /// Phase one of issuance: record that a certificate with these contents is about to be
    /// signed (status `intended`, no DER), indexing its names.
    ///
    /// Errors as for [`Store::insert_certificate`].
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per column of the intent, as the issuing pipeline has them"
    )]
    pub async fn record_intent(
        &self,
        serial: &str,
        subject: &str,
        sans: &[String],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        issuer: &str,
        provisioner: Option<&str>,
    ) -> Result<(), Error> {
        self.record_intent_using_token(
            serial,
            subject,
            sans,
            not_before,
            not_after,
            issuer,
            provisioner,
            None,
        )
        .await
        .map(|_| ())
    }

    /// [`Store::record_intent`] and, with `token` (`(provisioner, token id, expiry)`),
    /// [`Store::use_token`] in one write (one savepoint of one group commit): the token is
    /// recorded as used and the intent stored together, or neither. Returns `false`, storing
    /// nothing, when the token was used before (a replay); `true` otherwise.
    #[allow(
        clippy::too_many_arguments,
        reason = "one argument per column of the intent, as the issuing pipeline has them"
    )]
    pub async fn record_intent_using_token(
        &self,
        serial: &str,
        subject: &str,
        sans: &[String],
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
        issuer: &str,
        provisioner: Option<&str>,
        token: Option<(&str, &str, OffsetDateTime)>,
    ) -> Result<bool, Error> {
        let token = match token {
            Some((token_provisioner, token_id, expires_at)) => {
                crate::tokens::check_token_id(token_provisioner, token_id)?;
                Some(crate::writes::TokenUse {
                    provisioner: token_provisioner.to_owned(),
                    token_id: token_id.to_owned(),
                    expires_at: expires_at.unix_timestamp(),
                })
            }
            None => None,
        };
        let insert = self.insert_for(
            NewRow {
                serial,
                subject,
                sans,
                not_before,
                not_after,
                issuer,
                provisioner,
            },
            CertificateStatus::Intended,
            None,
            token,
        )?;
        self.write(Write::Insert(Box::new(insert)))
            .await?
            .token_used()
    }

    /// Phase two of issuance: attach the signed DER to an intent and mark it `issued`.
    ///
    /// Repeating the call with the same DER succeeds (a retry after a lost reply is safe).
    /// Errors: [`Error::NotFound`] if no intent was recorded for `serial`;
    /// [`Error::WrongState`] if it was revoked meanwhile or was issued with different DER.
    pub async fn record_issued(&self, serial: &str, der: &[u8]) -> Result<(), Error> {
        validate::serial(serial)?;
        if der.is_empty() {
            return Err(Error::invalid("der", "must not be empty"));
        }
        self.write(Write::Issued {
            serial: serial.to_owned(),
            der: der.to_vec(),
        })
        .await?
        .done()
    }

    /// The certificate with this serial, in whatever state it is.
    pub async fn get_certificate(&self, serial: &str) -> Result<Option<CertificateRecord>, Error> {
        validate::serial(serial)?;
        let row = sqlx::query(concat!(
            "SELECT ",
            cert_columns!(),
            " FROM certificates c WHERE c.serial = $1"
        ))
        .bind(serial)
        .fetch_optional(&self.reader)
        .await
        .map_err(|e| self.db_error(&e))?;
        row.map(|row| self.record_from_row(&row)).transpose()
    }

    /// Issued (not intended, not revoked) certificates whose `not_after` is strictly before
    /// `before`, soonest first (ties by serial), at most `limit` of them. Already-expired
    /// certificates are included: pass a bound and filter if only future expiries matter.
    pub async fn list_expiring(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<CertificateRecord>, Error> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            cert_columns!(),
            " FROM certificates c WHERE c.status = 'issued' AND c.not_after < $1 \
             ORDER BY c.not_after ASC, c.serial ASC LIMIT $2"
        ))
        .bind(before.unix_timestamp())
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(|e| self.db_error(&e))?;
        rows.iter().map(|row| self.record_from_row(row)).collect()
    }

    /// Certificates (any status) with `name` as a common name or SAN, compared
    /// case-insensitively and exactly (no wildcard matching), newest record first, at most
    /// `limit` of them.
    pub async fn find_by_name(
        &self,
        name: &str,
        limit: u32,
    ) -> Result<Vec<CertificateRecord>, Error> {
        let name = validate::normalize_name(name);
        if name.is_empty() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(concat!(
            "SELECT ",
            cert_columns!(),
            " FROM certificate_names n JOIN certificates c ON c.id = n.certificate_id \
             WHERE n.name = $1 ORDER BY c.id DESC LIMIT $2"
        ))
        .bind(name)
        .bind(i64::from(limit))
        .fetch_all(&self.reader)
        .await
        .map_err(|e| self.db_error(&e))?;
        rows.iter().map(|row| self.record_from_row(row)).collect()
    }

    /// How many certificate records are stored (all statuses).
    pub async fn count_certificates(&self) -> Result<u64, Error> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM certificates")
            .fetch_one(&self.reader)
            .await
            .map_err(|e| self.db_error(&e))?;
        u64::try_from(count).map_err(|_| Error::corrupt("negative certificate count"))
    }

    /// Revoke a certificate: mark it `revoked` and record why, in one transaction.
    ///
    /// An intent that was never signed can be revoked too (so a crash between intent and
    /// signature never leaves an unrevocable serial).
    /// Errors: [`Error::Invalid`] for a bad serial or a reason code outside RFC 5280
    /// (0..=10, not 7); [`Error::NotFound`] for an unknown serial; [`Error::AlreadyRevoked`].
    pub async fn revoke(
        &self,
        serial: &str,
        revoked_at: OffsetDateTime,
        reason_code: u8,
        reason: Option<&str>,
        passive: bool,
    ) -> Result<(), Error> {
        validate::serial(serial)?;
        validate::reason_code(reason_code)?;
        self.write(Write::Revoke {
            serial: serial.to_owned(),
            revoked_at: revoked_at.unix_timestamp(),
            reason_code,
            reason: reason.map(str::to_owned),
            passive,
        })
        .await?
        .done()
    }

    /// The revocation of this serial, if it is revoked.
    pub async fn get_revocation(&self, serial: &str) -> Result<Option<RevocationRecord>, Error> {
        validate::serial(serial)?;
        let row = sqlx::query(
            "SELECT serial, revoked_at, reason_code, reason, passive FROM revocations \
             WHERE serial = $1",
        )
        .bind(serial)
        .fetch_optional(&self.reader)
        .await
        .map_err(|e| self.db_error(&e))?;
        row.map(|row| self.revocation_from_row(&row)).transpose()
    }

    /// Every revocation, ordered by serial.
    pub async fn list_revocations(&self) -> Result<Vec<RevocationRecord>, Error> {
        let rows = sqlx::query(
            "SELECT serial, revoked_at, reason_code, reason, passive FROM revocations \
             ORDER BY serial",
        )
        .fetch_all(&self.reader)
        .await
        .map_err(|e| self.db_error(&e))?;
        rows.iter()
            .map(|row| self.revocation_from_row(row))
            .collect()
    }

    // ---- internals ----

    pub(crate) fn reader(&self) -> &AnyPool {
        &self.reader
    }

    /// The SQLite writer pool (the group-commit writer's), for tests that drive it directly.
    #[cfg(test)]
    pub(crate) fn writer_pool(&self) -> &AnyPool {
        &self.writer
    }

    #[cfg(test)]
    pub(crate) fn errors(&self) -> DbErrors {
        self.errors.clone()
    }

    pub(crate) fn now(&self) -> OffsetDateTime {
        self.clock.now()
    }

    /// A sqlx error as a storage error, with the password scrubbed from its text.
    pub(crate) fn db_error(&self, err: &sqlx::Error) -> Error {
        self.errors.of(err)
    }

    /// Apply `write` and answer once it is committed.
    ///
    /// SQLite: through the group-commit writer, batched with other callers' writes.
    /// PostgreSQL: in a transaction of its own on the pool. Batching would be correct there
    /// too, but buys little (the server already flushes concurrent commits together) and
    /// would make unrelated writes wait on each other's row locks: two nodes batching the
    /// same two tokens in opposite orders would deadlock, turning a replay's `Ok(false)` into
    /// an error.
    pub(crate) async fn write(&self, write: Write) -> Result<Outcome, Error> {
        if let Some(group_commit) = &self.group_commit {
            return group_commit.submit(write).await;
        }
        let mut tx = self.begin_write().await?;
        // On error `tx` is dropped, which rolls it back.
        let outcome = write.apply(&mut tx, &self.errors).await?;
        tx.commit().await.map_err(|e| self.db_error(&e))?;
        Ok(outcome)
    }

    /// Begin a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so it waits on the busy timeout instead of failing half-way.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, sqlx::Any>, Error> {
        let tx = match self.backend {
            Backend::Sqlite => self.writer.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.writer.begin().await,
        };
        tx.map_err(|e| self.db_error(&e))
    }

    async fn insert_row(
        &self,
        row: NewRow<'_>,
        status: CertificateStatus,
        der: Option<&[u8]>,
    ) -> Result<(), Error> {
        let insert = self.insert_for(row, status, der, None)?;
        self.write(Write::Insert(Box::new(insert))).await?.done()
    }

    /// A checked, encoded row of `certificates`.
    fn insert_for(
        &self,
        row: NewRow<'_>,
        status: CertificateStatus,
        der: Option<&[u8]>,
        token: Option<crate::writes::TokenUse>,
    ) -> Result<Insert, Error> {
        validate::serial(row.serial)?;
        validate::validity(row.not_before, row.not_after)?;
        let sans = serde_json::to_string(row.sans)
            .map_err(|e| Error::internal(format!("encoding SANs: {e}")))?;
        let names = validate::index_names(row.subject, row.sans)
            .into_iter()
            .collect();
        Ok(Insert {
            serial: row.serial.to_owned(),
            subject: row.subject.to_owned(),
            sans,
            names,
            not_before: row.not_before.unix_timestamp(),
            not_after: row.not_after.unix_timestamp(),
            issuer: row.issuer.to_owned(),
            provisioner: row.provisioner.map(str::to_owned),
            status,
            der: der.map(<[u8]>::to_vec),
            created_at: self.now().unix_timestamp(),
            token,
        })
    }

    fn get<'r, T>(&self, row: &'r AnyRow, column: &str) -> Result<T, Error>
    where
        T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        row.try_get(column).map_err(|e| self.db_error(&e))
    }

    fn time(&self, row: &AnyRow, column: &str) -> Result<OffsetDateTime, Error> {
        let seconds: i64 = self.get(row, column)?;
        OffsetDateTime::from_unix_timestamp(seconds)
            .map_err(|_| Error::corrupt(format!("{column} {seconds} is out of range")))
    }

    fn record_from_row(&self, row: &AnyRow) -> Result<CertificateRecord, Error> {
        let serial: String = self.get(row, "serial")?;
        let sans: String = self.get(row, "sans")?;
        let sans: Vec<String> = serde_json::from_str(&sans)
            .map_err(|e| Error::corrupt(format!("SANs of {serial}: {e}")))?;
        Ok(CertificateRecord {
            subject: self.get(row, "subject")?,
            sans,
            not_before: self.time(row, "not_before")?,
            not_after: self.time(row, "not_after")?,
            issuer: self.get(row, "issuer")?,
            provisioner: self.get(row, "provisioner")?,
            status: status_from(&self.get::<String>(row, "status")?)?,
            der: self.get(row, "der")?,
            created_at: self.time(row, "created_at")?,
            serial,
        })
    }

    fn revocation_from_row(&self, row: &AnyRow) -> Result<RevocationRecord, Error> {
        let serial: String = self.get(row, "serial")?;
        let reason_code: i64 = self.get(row, "reason_code")?;
        let reason_code = u8::try_from(reason_code)
            .map_err(|_| Error::corrupt(format!("reason code {reason_code} of {serial}")))?;
        let passive: i64 = self.get(row, "passive")?;
        Ok(RevocationRecord {
            revoked_at: self.time(row, "revoked_at")?,
            reason_code,
            reason: self.get(row, "reason")?,
            passive: passive != 0,
            serial,
        })
    }
}

/// The columns shared by [`Store::insert_certificate`] and [`Store::record_intent`].
struct NewRow<'a> {
    serial: &'a str,
    subject: &'a str,
    sans: &'a [String],
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    issuer: &'a str,
    provisioner: Option<&'a str>,
}

pub(crate) fn status_from(s: &str) -> Result<CertificateStatus, Error> {
    CertificateStatus::parse(s).ok_or_else(|| Error::corrupt(format!("unknown status {s:?}")))
}

/// Pool options for one role on an SQLite file, with the pragmas every connection needs.
fn sqlite_pool(role: Role) -> AnyPoolOptions {
    let max = match role {
        Role::Writer => 1,
        Role::Reader => SQLITE_READERS,
    };
    AnyPoolOptions::new()
        .max_connections(max)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .after_connect(move |conn, _meta| Box::pin(sqlite_setup(conn, role)))
}

/// Per-connection SQLite settings (the `sqlx::Any` connect options cannot carry pragmas).
///
/// `synchronous=FULL`: a CA must not lose an issued serial on power loss. WAL is a property
/// of the file and is switched on by the first writer connection; readers only check it.
async fn sqlite_setup(conn: &mut AnyConnection, role: Role) -> Result<(), sqlx::Error> {
    sqlx::query(SQLITE_BUSY_TIMEOUT).execute(&mut *conn).await?;
    sqlx::query("PRAGMA foreign_keys = ON")
        .execute(&mut *conn)
        .await?;
    sqlx::query("PRAGMA synchronous = FULL")
        .execute(&mut *conn)
        .await?;
    sqlx::query(SQLITE_TEMP_IN_MEMORY)
        .execute(&mut *conn)
        .await?;
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(&mut *conn)
        .await?;
    if !mode.eq_ignore_ascii_case("wal") {
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode = WAL")
            .fetch_one(&mut *conn)
            .await?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(sqlx::Error::Configuration(
                format!("SQLite refused WAL journal mode (got {mode:?})").into(),
            ));
        }
    }
    if role == Role::Reader {
        sqlx::query("PRAGMA query_only = ON")
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn pragma(conn: &mut AnyConnection, name: &'static str) -> String {
        let row = sqlx::query(name).fetch_one(&mut *conn).await.unwrap();
        match row.try_get::<i64, _>(0) {
            Ok(n) => n.to_string(),
            Err(_) => row.try_get::<String, _>(0).unwrap(),
        }
    }

    /// Every connection, in both pools, has the durability settings in effect.
    #[tokio::test]
    async fn sqlite_pragmas_on_every_connection() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("vouch.db").display());
        let store = Store::connect(&url).await.unwrap();
        assert_eq!(store.backend(), Backend::Sqlite);

        let mut conns = vec![store.writer.acquire().await.unwrap()];
        for _ in 0..SQLITE_READERS {
            conns.push(store.reader.acquire().await.unwrap());
        }
        for (i, conn) in conns.iter_mut().enumerate() {
            assert_eq!(
                pragma(conn, "PRAGMA synchronous").await,
                "2",
                "connection {i}"
            );
            assert_eq!(
                pragma(conn, "PRAGMA journal_mode").await,
                "wal",
                "connection {i}"
            );
            assert_eq!(
                pragma(conn, "PRAGMA foreign_keys").await,
                "1",
                "connection {i}"
            );
            assert_eq!(
                pragma(conn, "PRAGMA busy_timeout").await,
                "5000",
                "connection {i}"
            );
            assert_eq!(
                pragma(conn, "PRAGMA temp_store").await,
                "2",
                "connection {i}: statement journals in memory"
            );
            let query_only = if i == 0 { "0" } else { "1" };
            assert_eq!(
                pragma(conn, "PRAGMA query_only").await,
                query_only,
                "connection {i}"
            );
        }
        drop(conns);
        store.close().await;
    }

    /// Readers cannot write, even by mistake.
    #[tokio::test]
    async fn sqlite_readers_are_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("vouch.db").display());
        let store = Store::connect(&url).await.unwrap();
        let err = sqlx::query("DELETE FROM certificates")
            .execute(store.reader())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("readonly"), "{err}");
        store.close().await;
    }

    #[tokio::test]
    async fn sqlite_file_is_created_and_debug_is_tidy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        assert!(!path.exists());
        let store = Store::connect(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        assert!(path.exists());
        let debug = format!("{store:?}");
        assert!(
            debug.starts_with("Store { backend: Sqlite, url: \"sqlite://"),
            "{debug}"
        );
        store.close().await;
        let err = store.count_certificates().await.unwrap_err();
        assert_eq!(err.kind(), vouch_model::ErrorKind::Unavailable, "{err}");
    }
}
