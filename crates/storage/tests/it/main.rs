//! Integration tests for `vouch-storage`.
//!
//! The store contract (`contract.rs`) runs against both backends:
//! - SQLite: one `#[tokio::test]` per case, each on a fresh file in its own temp dir;
//! - PostgreSQL: one `#[test]` that starts a throwaway cluster (`pg.rs`), runs every case on a
//!   fresh database of that cluster, reports each case, and stops the cluster even on failure.
//!
//! Beside the contract, `backend.rs` holds checks that need the URL rather than a `Store`
//! (reconnecting, two processes migrating at once, secrets in error messages).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] fns: a failing test should fail loudly (clippy.toml \
              allows the same inside tests)"
)]

mod backend;
mod contract;
mod pg;

use std::future::Future;
use std::pin::Pin;

use vouch_storage::Store;

/// A contract case's future.
pub type CaseFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;
/// A contract case: `async fn case(store: &Store)`, boxed.
pub type Case = for<'a> fn(&'a Store) -> CaseFuture<'a>;

/// Lists the contract once and derives both the SQLite tests and the PostgreSQL case table.
macro_rules! contract_cases {
    ($($name:ident),* $(,)?) => {
        mod cases {
            use super::{CaseFuture, Store};
            $(
                pub fn $name(store: &Store) -> CaseFuture<'_> {
                    Box::pin(crate::contract::$name(store))
                }
            )*
        }

        /// Every contract case with its name.
        pub const CASES: &[(&str, Case)] = &[$((stringify!($name), cases::$name)),*];

        mod sqlite_contract {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    crate::backend::run_on_sqlite(crate::cases::$name).await;
                }
            )*
        }
    };
}

contract_cases!(
    insert_and_get_round_trip,
    duplicate_serial_is_rejected,
    intent_then_issued,
    issued_without_intent_is_not_found,
    list_expiring_orders_and_limits,
    find_by_name_is_case_insensitive,
    revoke_and_double_revoke,
    migrations_are_idempotent,
    concurrent_inserts,
    invalid_input_is_rejected,
    tokens_are_used_once,
    crl_numbers_and_entries,
    concurrent_writes_with_duplicates,
    failing_writes_leave_the_others,
    acme_accounts_by_key,
    acme_eab_keys_bind_once,
    acme_orders_with_new_and_reused_authorizations,
    acme_concurrent_orders_and_challenges,
    acme_challenge_and_order_lifecycle,
    acme_nonces_and_prune,
);
