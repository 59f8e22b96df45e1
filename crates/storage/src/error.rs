//! The storage error type and the mapping from sqlx errors onto it.
//!
//! sqlx errors are never passed through: they are classified (unavailable, corrupt, internal)
//! and rendered to text with the database password scrubbed, so an error can be logged or
//! shown without leaking the URL's secret. Constraint violations that callers must act on
//! (a duplicate serial) are recognised where the statement is run and become their own variant.

use std::sync::Arc;

use vouch_model::ErrorKind;

use crate::url::DbUrl;
use crate::{Backend, CertificateStatus};

/// Everything that can go wrong in `vouch-storage`.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// The database URL cannot be used (unknown scheme, no path, in-memory SQLite…).
    #[error("bad database URL: {reason}")]
    BadUrl {
        /// What is wrong with it.
        reason: String,
    },
    /// An argument failed validation before reaching the database.
    #[error("invalid {field}: {reason}")]
    Invalid {
        /// Which argument.
        field: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A certificate with this serial is already stored.
    #[error("a certificate with serial {serial} already exists")]
    Duplicate {
        /// The serial (lowercase hex).
        serial: String,
    },
    /// No certificate with this serial is stored.
    #[error("certificate {serial} not found")]
    NotFound {
        /// The serial (lowercase hex).
        serial: String,
    },
    /// The certificate is already revoked.
    #[error("certificate {serial} is already revoked")]
    AlreadyRevoked {
        /// The serial (lowercase hex).
        serial: String,
    },
    /// The certificate exists but is in the wrong state for the operation (for example
    /// `record_issued` on a certificate that was already issued with different DER).
    #[error("certificate {serial} is {status}, which does not allow this operation")]
    WrongState {
        /// The serial (lowercase hex).
        serial: String,
        /// Its current status.
        status: CertificateStatus,
    },
    /// An ACME object (account, order, authorization, challenge, EAB key) does not exist.
    #[error("{what} {id} not found")]
    Missing {
        /// What kind of object (`"ACME account"`, `"ACME order"`, …).
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The operation conflicts with the stored state: a key already used by another account,
    /// an EAB key already bound, an order or authorization not in a state that allows it.
    #[error("conflict: {reason}")]
    Conflict {
        /// What conflicts.
        reason: String,
    },
    /// The database cannot be reached or is refusing work right now (connection refused,
    /// pool timeout, busy, authentication failure, server shutting down).
    #[error("database unavailable: {reason}")]
    Unavailable {
        /// What happened (password scrubbed).
        reason: String,
    },
    /// Stored data could not be decoded (a bad timestamp, malformed JSON, unknown status).
    #[error("stored data is corrupt: {reason}")]
    Corrupt {
        /// What could not be decoded.
        reason: String,
    },
    /// A bug or an unexpected database error.
    #[error("internal storage error: {reason}")]
    Internal {
        /// What happened (password scrubbed).
        reason: String,
    },
}

impl Error {
    /// The client-facing category of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::BadUrl { .. } | Error::Invalid { .. } => ErrorKind::Malformed,
            Error::Duplicate { .. } | Error::WrongState { .. } | Error::Conflict { .. } => {
                ErrorKind::Conflict
            }
            Error::NotFound { .. } | Error::Missing { .. } => ErrorKind::NotFound,
            Error::AlreadyRevoked { .. } => ErrorKind::AlreadyRevoked,
            Error::Unavailable { .. } => ErrorKind::Unavailable,
            Error::Corrupt { .. } | Error::Internal { .. } => ErrorKind::Internal,
        }
    }

    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Error {
        Error::Invalid {
            field,
            reason: reason.into(),
        }
    }

    pub(crate) fn missing(what: &'static str, id: impl Into<String>) -> Error {
        Error::Missing {
            what,
            id: id.into(),
        }
    }

    pub(crate) fn conflict(reason: impl Into<String>) -> Error {
        Error::Conflict {
            reason: reason.into(),
        }
    }

    pub(crate) fn corrupt(reason: impl Into<String>) -> Error {
        Error::Corrupt {
            reason: reason.into(),
        }
    }

    pub(crate) fn internal(reason: impl Into<String>) -> Error {
        Error::Internal {
            reason: reason.into(),
        }
    }
}

/// How a sqlx error should be reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    BadUrl,
    Unavailable,
    Corrupt,
    Internal,
}

/// Whether `err` is a unique-constraint (or primary-key) violation.
pub(crate) fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Turns sqlx errors from one database into storage errors: classified by its backend and
/// scrubbed of its URL's password. Cheap to clone; the group-commit writer holds one.
#[derive(Clone)]
pub(crate) struct DbErrors {
    url: Arc<DbUrl>,
}

impl DbErrors {
    pub(crate) fn new(url: Arc<DbUrl>) -> DbErrors {
        DbErrors { url }
    }

    /// The database engine these errors come from.
    pub(crate) fn backend(&self) -> Backend {
        self.url.backend
    }

    /// `err` as a storage error, with the password scrubbed from its text.
    pub(crate) fn of(&self, err: &sqlx::Error) -> Error {
        from_sqlx(self.url.backend, err, |t| self.url.redact(t))
    }
}

/// Convert a sqlx error, scrubbing secrets from its text with `redact`.
pub(crate) fn from_sqlx(
    backend: Backend,
    err: &sqlx::Error,
    redact: impl Fn(&str) -> String,
) -> Error {
    let reason = redact(&err.to_string());
    match classify(backend, err) {
        Class::BadUrl => Error::BadUrl { reason },
        Class::Unavailable => Error::Unavailable { reason },
        Class::Corrupt => Error::Corrupt { reason },
        Class::Internal => Error::Internal { reason },
    }
}

/// An error from SQLite itself (through rusqlite), by its extended result code.
pub(crate) fn from_sqlite_code(extended: i32, reason: String) -> Error {
    match classify_code(Backend::Sqlite, &extended.to_string()) {
        Class::BadUrl => Error::BadUrl { reason },
        Class::Unavailable => Error::Unavailable { reason },
        Class::Corrupt => Error::Corrupt { reason },
        Class::Internal => Error::Internal { reason },
    }
}

fn classify(backend: Backend, err: &sqlx::Error) -> Class {
    match err {
        sqlx::Error::Configuration(_) => Class::BadUrl,
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::BeginFailed => Class::Unavailable,
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => Class::Corrupt,
        sqlx::Error::Database(db) => match db.code() {
            Some(code) => classify_code(backend, &code),
            None => Class::Internal,
        },
        _ => Class::Internal,
    }
}

/// Classify a database error code: an SQLite (extended) result code or a PostgreSQL SQLSTATE.
fn classify_code(backend: Backend, code: &str) -> Class {
    match backend {
        Backend::Sqlite => {
            let Ok(extended) = code.parse::<u32>() else {
                return Class::Internal;
            };
            // The primary result code is the low byte of the extended one.
            match extended & 0xff {
                // BUSY, LOCKED, NOMEM, READONLY, IOERR, FULL, CANTOPEN, PROTOCOL, AUTH
                5 | 6 | 7 | 8 | 10 | 13 | 14 | 15 | 23 => Class::Unavailable,
                // CORRUPT, NOTADB
                11 | 26 => Class::Corrupt,
                _ => Class::Internal,
            }
        }
        Backend::Postgres => {
            let class = code.get(..2).unwrap_or_default();
            match class {
                // connection exception, invalid authorization, insufficient resources,
                // operator intervention (shutdown, cannot connect now), system error
                "08" | "28" | "53" | "57" | "58" => Class::Unavailable,
                // serialization failure, deadlock: retrying later will work
                "40" => Class::Unavailable,
                // invalid catalog name: the database does not exist
                "3D" => Class::Unavailable,
                // data corrupted, index corrupted
                "XX" => Class::Corrupt,
                _ => Class::Internal,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        let s = || "00".to_owned();
        let cases = [
            (Error::BadUrl { reason: s() }, ErrorKind::Malformed),
            (Error::invalid("serial", "x"), ErrorKind::Malformed),
            (Error::Duplicate { serial: s() }, ErrorKind::Conflict),
            (
                Error::WrongState {
                    serial: s(),
                    status: CertificateStatus::Revoked,
                },
                ErrorKind::Conflict,
            ),
            (Error::NotFound { serial: s() }, ErrorKind::NotFound),
            (Error::missing("ACME order", "o1"), ErrorKind::NotFound),
            (Error::conflict("x"), ErrorKind::Conflict),
            (
                Error::AlreadyRevoked { serial: s() },
                ErrorKind::AlreadyRevoked,
            ),
            (Error::Unavailable { reason: s() }, ErrorKind::Unavailable),
            (Error::corrupt("x"), ErrorKind::Internal),
            (Error::internal("x"), ErrorKind::Internal),
        ];
        for (err, kind) in cases {
            assert_eq!(err.kind(), kind, "{err}");
        }
    }

    #[test]
    fn sqlx_errors_are_classified_and_scrubbed() {
        let io = sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "refused talking to u:hunter2@h",
        ));
        let err = from_sqlx(Backend::Postgres, &io, |t| t.replace("hunter2", "***"));
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(!err.to_string().contains("hunter2"), "{err}");

        let err = from_sqlx(Backend::Sqlite, &sqlx::Error::PoolTimedOut, str::to_owned);
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        let err = from_sqlx(Backend::Sqlite, &sqlx::Error::RowNotFound, str::to_owned);
        assert!(matches!(err, Error::Internal { .. }));
        let err = from_sqlx(
            Backend::Sqlite,
            &sqlx::Error::Configuration("bad".into()),
            str::to_owned,
        );
        assert!(matches!(err, Error::BadUrl { .. }));
    }

    #[test]
    fn database_codes() {
        assert_eq!(classify_code(Backend::Sqlite, "5"), Class::Unavailable);
        assert_eq!(classify_code(Backend::Sqlite, "517"), Class::Unavailable); // BUSY_SNAPSHOT
        assert_eq!(classify_code(Backend::Sqlite, "11"), Class::Corrupt);
        assert_eq!(classify_code(Backend::Sqlite, "2067"), Class::Internal); // CONSTRAINT_UNIQUE
        assert_eq!(
            classify_code(Backend::Postgres, "08006"),
            Class::Unavailable
        );
        assert_eq!(
            classify_code(Backend::Postgres, "28P01"),
            Class::Unavailable
        );
        assert_eq!(
            classify_code(Backend::Postgres, "57P01"),
            Class::Unavailable
        );
        assert_eq!(classify_code(Backend::Postgres, "XX001"), Class::Corrupt);
        assert_eq!(classify_code(Backend::Postgres, "23505"), Class::Internal);
        assert_eq!(classify_code(Backend::Postgres, "42P01"), Class::Internal);
    }
}
