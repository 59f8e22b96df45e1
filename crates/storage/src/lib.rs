//! Vouch storage: SQLite (embedded default) and PostgreSQL behind one sqlx code path, with a
//! rusqlite fast path for SQLite's issuance writes.
//!
//! # Design
//! - **One code path, two engines.** Every query goes through `sqlx::Any` with runtime SQL and
//!   `$1` placeholders, so SQLite and PostgreSQL run the same statements; the engine is chosen
//!   by the database URL (`sqlite://PATH` or `postgres://…`), never by `cfg`. The only
//!   per-engine code is connection setup, the transaction opener and the migration lock.
//! - **Portable column types.** Times are unix seconds in `BIGINT`, booleans are 0/1 integers,
//!   SAN lists are JSON text, DER is `BLOB`/`BYTEA`: all read back identically through `Any`.
//! - **Durable SQLite.** WAL journal, `synchronous=FULL` (a CA must not lose an issued serial on
//!   power loss), foreign keys on, a busy timeout: applied to every new connection, because
//!   the `Any` connect options cannot carry pragmas. One writer connection and a few
//!   `query_only` readers beside it.
//! - **Group commit (SQLite).** Writes do not each pay for an fsync: one writer task per store
//!   takes the pending writes (at most 64, never waiting for more), commits them in
//!   one transaction with a savepoint per write (so one failure undoes only itself), then
//!   answers every caller; a call still returns only after its write is committed. See
//!   `writer.rs` (the batching) and `writes.rs` (the operations as data and their SQL).
//!   PostgreSQL writes go straight to the pool, one transaction each.
//! - **The SQLite fast path.** Batches made only of issuance writes (the token and intent,
//!   the issued DER, a token use) run on a thread that owns a rusqlite connection on the same
//!   file, with cached statements, in one hand-off per batch instead of a round trip to sqlx's
//!   worker thread per statement (`fast.rs`; the same SQL and the same answers, tested on
//!   both paths). This is the one exception to the single sqlx code path, kept to these three
//!   writes. rusqlite links the same `libsqlite3-sys` as sqlx, so there is one SQLite.
//! - **Migrations** live in `migrations/{sqlite,postgres}/NNNN_name.sql`, are embedded with
//!   `include_str!`, and are applied at [`Store::connect`], each in its own transaction with its
//!   `vouch_schema_migrations` row; concurrent starts are serialised by a PostgreSQL advisory
//!   lock or SQLite's write lock.
//! - **Two-phase issuance.** [`Store::record_intent`] before signing and
//!   [`Store::record_issued`] after, so a crash in between leaves a revocable record
//!   (ARCHITECTURE.md §3). [`Store::insert_certificate`] does both at once for imports.
//! - **Names are indexed.** Each certificate's common name(s) and SANs are stored lowercased
//!   in `certificate_names`, so search by name is an index lookup, not a scan.
//! - **Errors are typed and safe to show.** [`Error::kind`] maps onto
//!   [`vouch_model::ErrorKind`]; sqlx errors are classified (unavailable / corrupt / internal)
//!   and their text scrubbed of the database password. A duplicate serial is
//!   [`Error::Duplicate`], never a panic or a generic failure.
//! - **ACME state** (RFC 8555: accounts, EAB keys, orders, authorizations, challenges, used
//!   nonces) lives in the same database, written through the same writer; state changes are
//!   conditional updates, so concurrent requests get answers, not conflicts. See `acme/`.
//! - **Time is a value.** Callers pass validity and revocation times; `created_at` comes from a
//!   [`vouch_model::Clock`] ([`Store::with_clock`]), the system clock by default.

#![forbid(unsafe_code)]

mod acme;
mod crl;
mod error;
mod fast;
mod migrate;
mod records;
mod store;
mod tokens;
mod url;
mod validate;
mod writer;
mod writes;

pub use acme::{
    AcmeAccount, AcmeAccountStatus, AcmeAuthorization, AcmeAuthorizationStatus, AcmeChallenge,
    AcmeChallengeStatus, AcmeChallengeType, AcmeIdentifier, AcmeOrder, AcmeOrderStatus, EabKey,
    NewAcmeAccount, NewAcmeOrder, NewAuthorization, NewChallenge,
};
pub use crl::CrlEntryRecord;
pub use error::Error;
pub use migrate::SCHEMA_VERSION;
pub use records::{CertificateRecord, CertificateStatus, NewCertificate, RevocationRecord};
pub use store::Store;
pub use url::Backend;
