//! Schema migrations: one folder per dialect, embedded in the binary, applied in order.
//!
//! Each migration runs in its own transaction together with the row that records it in
//! `vouch_schema_migrations`, so a migration is either fully applied and recorded or not at
//! all. Several processes may start at once against one database:
//! - PostgreSQL: every migration transaction first takes a transaction-level advisory lock
//!   (`pg_advisory_xact_lock`), so the second process waits, then sees the version recorded
//!   and skips it. The lock is released by commit or rollback, never leaked.
//! - SQLite: the transaction is `BEGIN IMMEDIATE`, which takes the database write lock up front
//!   (waiting up to the busy timeout), with the same effect.

use sqlx::AnyConnection;

use crate::{Backend, Error, Store};

/// One schema version, in both dialects.
struct Migration {
    version: i64,
    sqlite: &'static str,
    postgres: &'static str,
}

impl Migration {
    fn sql(&self, backend: Backend) -> &'static str {
        match backend {
            Backend::Sqlite => self.sqlite,
            Backend::Postgres => self.postgres,
        }
    }
}

/// Every migration, in the order it is applied. Never edit an applied migration; add one.
const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sqlite: include_str!("../migrations/sqlite/0001_init.sql"),
        postgres: include_str!("../migrations/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        sqlite: include_str!("../migrations/sqlite/0002_used_tokens.sql"),
        postgres: include_str!("../migrations/postgres/0002_used_tokens.sql"),
    },
    Migration {
        version: 3,
        sqlite: include_str!("../migrations/sqlite/0003_crl.sql"),
        postgres: include_str!("../migrations/postgres/0003_crl.sql"),
    },
    Migration {
        version: 4,
        sqlite: include_str!("../migrations/sqlite/0004_acme.sql"),
        postgres: include_str!("../migrations/postgres/0004_acme.sql"),
    },
    Migration {
        version: 5,
        sqlite: include_str!("../migrations/sqlite/0005_acme_ari.sql"),
        postgres: include_str!("../migrations/postgres/0005_acme_ari.sql"),
    },
];

/// The schema version this build migrates a database to.
pub const SCHEMA_VERSION: i64 = MIGRATIONS[MIGRATIONS.len() - 1].version;

/// Advisory-lock key shared by every Vouch process migrating one PostgreSQL database
/// (the ASCII bytes of "vouchmig").
const PG_LOCK_KEY: i64 = 0x766f_7563_686d_6967;

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS vouch_schema_migrations (\
    version BIGINT PRIMARY KEY, \
    applied_at BIGINT NOT NULL)";

impl Store {
    /// Apply every migration this build knows and the database has not recorded yet.
    ///
    /// [`Store::connect`] already calls this; calling it again is harmless (and cheap: one
    /// short transaction per known migration).
    pub async fn migrate(&self) -> Result<(), Error> {
        for migration in MIGRATIONS {
            self.apply(migration).await?;
        }
        Ok(())
    }

    /// The highest migration version recorded in the database (0 for an empty database).
    pub async fn schema_version(&self) -> Result<i64, Error> {
        let exists: i64 = match self.backend() {
            Backend::Sqlite => sqlx::query_scalar(
                "SELECT COUNT(*) FROM sqlite_master \
                 WHERE type = 'table' AND name = 'vouch_schema_migrations'",
            ),
            Backend::Postgres => sqlx::query_scalar(
                "SELECT COUNT(*) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name = 'vouch_schema_migrations'",
            ),
        }
        .fetch_one(self.reader())
        .await
        .map_err(|e| self.db_error(&e))?;
        if exists == 0 {
            return Ok(0);
        }
        let version: Option<i64> =
            sqlx::query_scalar("SELECT MAX(version) FROM vouch_schema_migrations")
                .fetch_one(self.reader())
                .await
                .map_err(|e| self.db_error(&e))?;
        Ok(version.unwrap_or(0))
    }

    async fn apply(&self, migration: &Migration) -> Result<(), Error> {
        let mut tx = self.begin_write().await?;
        let conn: &mut AnyConnection = &mut tx;
        if self.backend() == Backend::Postgres {
            // `pg_advisory_xact_lock` returns `void`, which sqlx::Any cannot decode; wrap it.
            sqlx::query("SELECT 1 FROM (SELECT pg_advisory_xact_lock($1)) AS migration_lock")
                .bind(PG_LOCK_KEY)
                .execute(&mut *conn)
                .await
                .map_err(|e| self.db_error(&e))?;
        }
        sqlx::query(CREATE_TABLE)
            .execute(&mut *conn)
            .await
            .map_err(|e| self.db_error(&e))?;
        let applied: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM vouch_schema_migrations WHERE version = $1")
                .bind(migration.version)
                .fetch_one(&mut *conn)
                .await
                .map_err(|e| self.db_error(&e))?;
        if applied > 0 {
            // Nothing to do; end the transaction (and release the lock) now.
            tx.rollback().await.map_err(|e| self.db_error(&e))?;
            return Ok(());
        }
        sqlx::raw_sql(migration.sql(self.backend()))
            .execute(&mut *conn)
            .await
            .map_err(|e| self.migration_error(migration.version, &e))?;
        sqlx::query("INSERT INTO vouch_schema_migrations (version, applied_at) VALUES ($1, $2)")
            .bind(migration.version)
            .bind(self.now().unix_timestamp())
            .execute(&mut *conn)
            .await
            .map_err(|e| self.db_error(&e))?;
        tx.commit().await.map_err(|e| self.db_error(&e))
    }

    fn migration_error(&self, version: i64, err: &sqlx::Error) -> Error {
        match self.db_error(err) {
            // A failing DDL statement is a bug in the migration, not in the caller's input.
            Error::Internal { reason } => {
                Error::internal(format!("migration {version} failed: {reason}"))
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_ordered_and_paired() {
        let mut previous = 0;
        for m in MIGRATIONS {
            assert!(m.version > previous, "versions must increase");
            previous = m.version;
            assert!(!m.sqlite.trim().is_empty() && !m.postgres.trim().is_empty());
        }
        assert!(previous >= 1);
    }

    /// The two dialects must define the same tables and indexes.
    #[test]
    fn dialects_define_the_same_objects() {
        fn objects(sql: &str) -> Vec<String> {
            sql.lines()
                .map(str::trim)
                .filter(|l| l.starts_with("CREATE"))
                .map(|l| l.split('(').next().unwrap_or_default().trim().to_owned())
                .collect()
        }
        for m in MIGRATIONS {
            assert_eq!(
                objects(m.sqlite),
                objects(m.postgres),
                "migration {}",
                m.version
            );
        }
    }
}
