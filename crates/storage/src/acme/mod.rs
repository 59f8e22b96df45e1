//! ACME (RFC 8555) state: accounts, EAB keys, orders, authorizations, challenges and used
//! nonces, shared by every node on the same database.
//!
//! # Design
//! - **Plain records, typed statuses.** What goes in ([`NewAcmeAccount`], [`NewAcmeOrder`]) and
//!   what comes out ([`AcmeAccount`], [`AcmeOrder`], …) are plain structs; ids are random
//!   URL-safe strings chosen by the caller, times are whole seconds.
//! - **Writes are data** ([`writes::AcmeWrite`]), applied by the same machinery as every
//!   other write: batched with a savepoint each on SQLite, a transaction each on PostgreSQL.
//!   Reads go to the reader pool; a method that answers a record (creating an account or an
//!   order) reads it back once its write is committed.
//! - **State changes are conditional updates** (`UPDATE … WHERE status = 'pending'`), so of
//!   two concurrent POSTs to one challenge exactly one starts it and the other learns that it
//!   was not pending: an answer, never a conflict error. On PostgreSQL (READ COMMITTED) the
//!   second update waits for the first's row lock and then re-checks its condition.
//! - **Cascades lock the orders first.** Finishing a challenge updates its authorization, then
//!   every order linked to it. Two challenges of two authorizations of one order finishing at
//!   once on PostgreSQL would otherwise each see the other authorization still pending and
//!   leave the order pending for ever; so the write first locks the linked orders
//!   (`SELECT … ORDER BY id FOR UPDATE`, in id order so that two cascades cannot deadlock),
//!   and its later statements see what the other committed. SQLite has one writer at a time.
//! - **Pruning** deletes expired used nonces, and orders and authorizations that expired more
//!   than a day ago and are not valid; challenges and order links go with them
//!   (`ON DELETE CASCADE`). An authorization still linked to a kept order is kept.

mod records;
mod store;
pub(crate) mod writes;

pub use records::{
    AcmeAccount, AcmeAccountStatus, AcmeAuthorization, AcmeAuthorizationStatus, AcmeChallenge,
    AcmeChallengeStatus, AcmeChallengeType, AcmeIdentifier, AcmeOrder, AcmeOrderStatus, EabKey,
    NewAcmeAccount, NewAcmeOrder, NewAuthorization, NewChallenge,
};
