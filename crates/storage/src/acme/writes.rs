//! The ACME writes as owned data, and their SQL. Applied like every [`Write`](crate::writes::Write)
//! (see `writes.rs` for the contract: `Ok` keeps the changes, `Err` rolls them back, and
//! answers that are not errors are reached without a failing statement).

use sqlx::AnyConnection;

use super::{AcmeAccountStatus, NewAcmeOrder};
use crate::error::{DbErrors, is_unique_violation};
use crate::writes::Outcome;
use crate::{Backend, Error};

/// How long an expired order or authorization is kept before pruning (one day).
pub(crate) const PRUNE_GRACE_SECONDS: i64 = 86_400;

/// One ACME write.
#[derive(Debug)]
pub(crate) enum AcmeWrite {
    /// Insert an account unless one with its key exists (`Changed(false)` then); bind its EAB
    /// key if it has one.
    CreateAccount {
        id: String,
        provisioner: String,
        thumbprint: String,
        jwk: String,
        /// JSON array.
        contact: String,
        eab_kid: Option<String>,
        created_at: i64,
    },
    UpdateContact {
        id: String,
        contact: String,
    },
    SetAccountStatus {
        id: String,
        status: AcmeAccountStatus,
    },
    ChangeKey {
        id: String,
        thumbprint: String,
        jwk: String,
    },
    AddEabKey {
        provisioner: String,
        kid: String,
        hmac_key: Vec<u8>,
        created_at: i64,
    },
    RemoveEabKey {
        provisioner: String,
        kid: String,
    },
    BindEabKey {
        provisioner: String,
        kid: String,
        account_id: String,
    },
    CreateOrder {
        order: Box<NewAcmeOrder>,
        /// JSON array of `{"type", "value"}`.
        identifiers: String,
        created_at: i64,
    },
    StartChallenge {
        id: String,
    },
    FinishChallenge {
        id: String,
        valid: bool,
        error: Option<String>,
        at: i64,
    },
    SetOrderProcessing {
        id: String,
    },
    FinishOrder {
        id: String,
        serial: Option<String>,
        error: Option<String>,
    },
    DeactivateAuthorization {
        id: String,
    },
    UseNonce {
        nonce_id: String,
        expires_at: i64,
    },
    Prune {
        now: i64,
    },
}

const ACCOUNT: &str = "ACME account";
const ORDER: &str = "ACME order";
const AUTHZ: &str = "ACME authorization";
const CHALLENGE: &str = "ACME challenge";
const EAB_KEY: &str = "EAB key";

impl AcmeWrite {
    pub(crate) async fn apply(
        &self,
        conn: &mut AnyConnection,
        errors: &DbErrors,
    ) -> Result<Outcome, Error> {
        let db = |e: sqlx::Error| errors.of(&e);
        match self {
            AcmeWrite::CreateAccount {
                id,
                provisioner,
                thumbprint,
                jwk,
                contact,
                eab_kid,
                created_at,
            } => {
                // DO NOTHING on the key: a known key is an answer (the existing account), not a
                // failed statement. On PostgreSQL a racing insert of the same key waits for
                // the first to commit and then inserts nothing.
                let inserted = sqlx::query(
                    "INSERT INTO acme_accounts (id, provisioner, key_thumbprint, jwk, status, \
                     contact, eab_kid, created_at) VALUES ($1, $2, $3, $4, 'valid', $5, $6, $7) \
                     ON CONFLICT (provisioner, key_thumbprint) DO NOTHING",
                )
                .bind(id)
                .bind(provisioner)
                .bind(thumbprint)
                .bind(jwk)
                .bind(contact)
                .bind(eab_kid.as_deref())
                .bind(*created_at)
                .execute(&mut *conn)
                .await
                .map_err(|e| unique_as_conflict(errors, &e, ACCOUNT, id))?
                .rows_affected();
                if inserted == 1
                    && let Some(kid) = eab_kid
                {
                    bind_eab(conn, errors, provisioner, kid, id).await?;
                }
                Ok(Outcome::Changed(inserted == 1))
            }
            AcmeWrite::UpdateContact { id, contact } => {
                let n = sqlx::query("UPDATE acme_accounts SET contact = $2 WHERE id = $1")
                    .bind(id)
                    .bind(contact)
                    .execute(&mut *conn)
                    .await
                    .map_err(db)?
                    .rows_affected();
                found(n, ACCOUNT, id)
            }
            AcmeWrite::SetAccountStatus { id, status } => {
                let n = sqlx::query("UPDATE acme_accounts SET status = $2 WHERE id = $1")
                    .bind(id)
                    .bind(status.as_str())
                    .execute(&mut *conn)
                    .await
                    .map_err(db)?
                    .rows_affected();
                found(n, ACCOUNT, id)
            }
            AcmeWrite::ChangeKey {
                id,
                thumbprint,
                jwk,
            } => {
                let n = sqlx::query(
                    "UPDATE acme_accounts SET key_thumbprint = $2, jwk = $3 WHERE id = $1",
                )
                .bind(id)
                .bind(thumbprint)
                .bind(jwk)
                .execute(&mut *conn)
                .await
                .map_err(|e| {
                    if is_unique_violation(&e) {
                        Error::conflict("another account of this provisioner has the new key")
                    } else {
                        errors.of(&e)
                    }
                })?
                .rows_affected();
                found(n, ACCOUNT, id)
            }
            AcmeWrite::AddEabKey {
                provisioner,
                kid,
                hmac_key,
                created_at,
            } => {
                sqlx::query(
                    "INSERT INTO acme_eab_keys (provisioner, kid, hmac_key, created_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(provisioner)
                .bind(kid)
                .bind(hmac_key.as_slice())
                .bind(*created_at)
                .execute(&mut *conn)
                .await
                .map_err(|e| unique_as_conflict(errors, &e, EAB_KEY, kid))?;
                Ok(Outcome::Done)
            }
            AcmeWrite::RemoveEabKey { provisioner, kid } => {
                let n =
                    sqlx::query("DELETE FROM acme_eab_keys WHERE provisioner = $1 AND kid = $2")
                        .bind(provisioner)
                        .bind(kid)
                        .execute(&mut *conn)
                        .await
                        .map_err(db)?
                        .rows_affected();
                Ok(Outcome::Changed(n > 0))
            }
            AcmeWrite::BindEabKey {
                provisioner,
                kid,
                account_id,
            } => {
                bind_eab(conn, errors, provisioner, kid, account_id).await?;
                Ok(Outcome::Done)
            }
            AcmeWrite::CreateOrder {
                order,
                identifiers,
                created_at,
            } => create_order(conn, errors, order, identifiers, *created_at).await,
            AcmeWrite::StartChallenge { id } => {
                let n = sqlx::query(
                    "UPDATE acme_challenges SET status = 'processing' \
                     WHERE id = $1 AND status = 'pending'",
                )
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
                if n == 0 {
                    exists(
                        conn,
                        errors,
                        "SELECT COUNT(*) FROM acme_challenges WHERE id = $1",
                        id,
                        CHALLENGE,
                    )
                    .await?;
                }
                Ok(Outcome::Changed(n == 1))
            }
            AcmeWrite::FinishChallenge {
                id,
                valid,
                error,
                at,
            } => finish_challenge(conn, errors, id, *valid, error.as_deref(), *at).await,
            AcmeWrite::SetOrderProcessing { id } => {
                let n = sqlx::query(
                    "UPDATE acme_orders SET status = 'processing' WHERE id = $1 AND status = 'ready'",
                )
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
                if n == 0 {
                    exists(
                        conn,
                        errors,
                        "SELECT COUNT(*) FROM acme_orders WHERE id = $1",
                        id,
                        ORDER,
                    )
                    .await?;
                }
                Ok(Outcome::Changed(n == 1))
            }
            AcmeWrite::FinishOrder { id, serial, error } => {
                let status = if serial.is_some() { "valid" } else { "invalid" };
                let n = sqlx::query(
                    "UPDATE acme_orders SET status = $2, certificate_serial = $3, error = $4 \
                     WHERE id = $1 AND status = 'processing'",
                )
                .bind(id)
                .bind(status)
                .bind(serial.as_deref())
                .bind(error.as_deref())
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
                if n == 0 {
                    exists(
                        conn,
                        errors,
                        "SELECT COUNT(*) FROM acme_orders WHERE id = $1",
                        id,
                        ORDER,
                    )
                    .await?;
                    return Err(Error::conflict(format!("order {id} is not processing")));
                }
                Ok(Outcome::Done)
            }
            AcmeWrite::DeactivateAuthorization { id } => {
                lock_orders_of(conn, errors, id).await?;
                let n = sqlx::query(
                    "UPDATE acme_authorizations SET status = 'deactivated' \
                     WHERE id = $1 AND status IN ('pending', 'valid')",
                )
                .bind(id)
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
                if n == 0 {
                    exists(
                        conn,
                        errors,
                        "SELECT COUNT(*) FROM acme_authorizations WHERE id = $1",
                        id,
                        AUTHZ,
                    )
                    .await?;
                    return Ok(Outcome::Changed(false));
                }
                invalidate_orders_of(conn, errors, id, None).await?;
                Ok(Outcome::Changed(true))
            }
            AcmeWrite::UseNonce {
                nonce_id,
                expires_at,
            } => {
                let n = sqlx::query(
                    "INSERT INTO acme_used_nonces (nonce_id, expires_at) VALUES ($1, $2) \
                     ON CONFLICT (nonce_id) DO NOTHING",
                )
                .bind(nonce_id)
                .bind(*expires_at)
                .execute(&mut *conn)
                .await
                .map_err(db)?
                .rows_affected();
                Ok(Outcome::Changed(n == 1))
            }
            AcmeWrite::Prune { now } => prune(conn, errors, *now).await,
        }
    }
}

/// `Ok(Done)` if one row was updated, else the object is missing.
fn found(updated: u64, what: &'static str, id: &str) -> Result<Outcome, Error> {
    if updated == 0 {
        return Err(Error::missing(what, id));
    }
    Ok(Outcome::Done)
}

fn unique_as_conflict(errors: &DbErrors, e: &sqlx::Error, what: &str, id: &str) -> Error {
    if is_unique_violation(e) {
        Error::conflict(format!("{what} {id} already exists"))
    } else {
        errors.of(e)
    }
}

/// `Err(Missing)` unless `count_sql` (a `SELECT COUNT(*) … WHERE id = $1`) finds `id`.
async fn exists(
    conn: &mut AnyConnection,
    errors: &DbErrors,
    count_sql: &'static str,
    id: &str,
    what: &'static str,
) -> Result<(), Error> {
    let n: i64 = sqlx::query_scalar(count_sql)
        .bind(id)
        .fetch_one(&mut *conn)
        .await
        .map_err(|e| errors.of(&e))?;
    if n == 0 {
        return Err(Error::missing(what, id));
    }
    Ok(())
}

/// Bind an unbound EAB key to `account_id`: of two racing binds exactly one updates the row
/// (on PostgreSQL the second waits for the first's row lock, then re-checks `IS NULL`).
async fn bind_eab(
    conn: &mut AnyConnection,
    errors: &DbErrors,
    provisioner: &str,
    kid: &str,
    account_id: &str,
) -> Result<(), Error> {
    let n = sqlx::query(
        "UPDATE acme_eab_keys SET bound_account = $3 \
         WHERE provisioner = $1 AND kid = $2 AND bound_account IS NULL",
    )
    .bind(provisioner)
    .bind(kid)
    .bind(account_id)
    .execute(&mut *conn)
    .await
    .map_err(|e| errors.of(&e))?
    .rows_affected();
    if n == 1 {
        return Ok(());
    }
    let known: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM acme_eab_keys WHERE provisioner = $1 AND kid = $2",
    )
    .bind(provisioner)
    .bind(kid)
    .fetch_one(&mut *conn)
    .await
    .map_err(|e| errors.of(&e))?;
    Err(if known == 0 {
        Error::missing(EAB_KEY, kid)
    } else {
        Error::conflict(format!("EAB key {kid} is already bound to an account"))
    })
}

async fn create_order(
    conn: &mut AnyConnection,
    errors: &DbErrors,
    order: &NewAcmeOrder,
    identifiers: &str,
    created_at: i64,
) -> Result<Outcome, Error> {
    let db = |e: sqlx::Error| errors.of(&e);
    exists(
        conn,
        errors,
        "SELECT COUNT(*) FROM acme_accounts WHERE id = $1",
        &order.account_id,
        ACCOUNT,
    )
    .await?;
    let status = if order.authorizations.is_empty() {
        "ready"
    } else {
        "pending"
    };
    sqlx::query(
        "INSERT INTO acme_orders (id, account_id, provisioner, status, identifiers, not_before, \
         not_after, expires_at, replaces, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&order.id)
    .bind(&order.account_id)
    .bind(&order.provisioner)
    .bind(status)
    .bind(identifiers)
    .bind(order.not_before.map(|t| t.unix_timestamp()))
    .bind(order.not_after.map(|t| t.unix_timestamp()))
    .bind(order.expires_at.unix_timestamp())
    .bind(order.replaces.as_deref())
    .bind(created_at)
    .execute(&mut *conn)
    .await
    .map_err(|e| unique_as_conflict(errors, &e, ORDER, &order.id))?;
    for authz in &order.authorizations {
        sqlx::query(
            "INSERT INTO acme_authorizations (id, account_id, provisioner, identifier_type, \
             identifier_value, wildcard, status, expires_at, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7, $8)",
        )
        .bind(&authz.id)
        .bind(&order.account_id)
        .bind(&order.provisioner)
        .bind(&authz.identifier_type)
        .bind(&authz.identifier_value)
        .bind(i16::from(authz.wildcard))
        .bind(authz.expires_at.unix_timestamp())
        .bind(created_at)
        .execute(&mut *conn)
        .await
        .map_err(|e| unique_as_conflict(errors, &e, AUTHZ, &authz.id))?;
        for challenge in &authz.challenges {
            sqlx::query(
                "INSERT INTO acme_challenges (id, authz_id, type, token, status) \
                 VALUES ($1, $2, $3, $4, 'pending')",
            )
            .bind(&challenge.id)
            .bind(&authz.id)
            .bind(challenge.kind.as_str())
            .bind(&challenge.token)
            .execute(&mut *conn)
            .await
            .map_err(|e| unique_as_conflict(errors, &e, CHALLENGE, &challenge.id))?;
        }
        sqlx::query("INSERT INTO acme_order_authorizations (order_id, authz_id) VALUES ($1, $2)")
            .bind(&order.id)
            .bind(&authz.id)
            .execute(&mut *conn)
            .await
            .map_err(db)?;
    }
    for authz_id in &order.reuse {
        // Only a valid authorization of the same account may be reused.
        let n = sqlx::query(
            "INSERT INTO acme_order_authorizations (order_id, authz_id) \
             SELECT $1, id FROM acme_authorizations \
             WHERE id = $2 AND account_id = $3 AND status = 'valid'",
        )
        .bind(&order.id)
        .bind(authz_id)
        .bind(&order.account_id)
        .execute(&mut *conn)
        .await
        .map_err(db)?
        .rows_affected();
        if n == 0 {
            return Err(Error::conflict(format!(
                "authorization {authz_id} is not a valid authorization of account {}",
                order.account_id
            )));
        }
    }
    Ok(Outcome::Done)
}

/// On PostgreSQL, lock every order linked to `authz_id`, in id order, before a cascade
/// reads the state of their other authorizations (see the module doc of `acme`). SQLite
/// writes one transaction at a time and has no `FOR UPDATE`.
async fn lock_orders_of(
    conn: &mut AnyConnection,
    errors: &DbErrors,
    authz_id: &str,
) -> Result<(), Error> {
    if errors.backend() == Backend::Postgres {
        sqlx::query(
            "SELECT o.id FROM acme_orders o \
             JOIN acme_order_authorizations l ON l.order_id = o.id \
             WHERE l.authz_id = $1 ORDER BY o.id FOR UPDATE OF o",
        )
        .bind(authz_id)
        .fetch_all(&mut *conn)
        .await
        .map_err(|e| errors.of(&e))?;
    }
    Ok(())
}

/// Orders of `authz_id` still pending or ready become invalid.
async fn invalidate_orders_of(
    conn: &mut AnyConnection,
    errors: &DbErrors,
    authz_id: &str,
    error: Option<&str>,
) -> Result<(), Error> {
    sqlx::query(
        "UPDATE acme_orders SET status = 'invalid', error = $2 \
         WHERE status IN ('pending', 'ready') AND id IN \
         (SELECT order_id FROM acme_order_authorizations WHERE authz_id = $1)",
    )
    .bind(authz_id)
    .bind(error)
    .execute(&mut *conn)
    .await
    .map_err(|e| errors.of(&e))?;
    Ok(())
}

async fn finish_challenge(
    conn: &mut AnyConnection,
    errors: &DbErrors,
    id: &str,
    valid: bool,
    error: Option<&str>,
    at: i64,
) -> Result<Outcome, Error> {
    let db = |e: sqlx::Error| errors.of(&e);
    let authz_id: Option<String> =
        sqlx::query_scalar("SELECT authz_id FROM acme_challenges WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *conn)
            .await
            .map_err(db)?;
    let Some(authz_id) = authz_id else {
        return Err(Error::missing(CHALLENGE, id));
    };
    lock_orders_of(conn, errors, &authz_id).await?;
    let status = if valid { "valid" } else { "invalid" };
    let n = sqlx::query(
        "UPDATE acme_challenges SET status = $2, validated_at = $3, error = $4 \
         WHERE id = $1 AND status IN ('pending', 'processing')",
    )
    .bind(id)
    .bind(status)
    .bind(at)
    .bind(error)
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected();
    if n == 0 {
        // Finished already (a racing or repeated finish): the first answer stands.
        return Ok(Outcome::Changed(false));
    }
    let n = sqlx::query(
        "UPDATE acme_authorizations SET status = $2 WHERE id = $1 AND status = 'pending'",
    )
    .bind(&authz_id)
    .bind(status)
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected();
    if n == 0 {
        // The authorization was settled by another challenge (or deactivated) meanwhile.
        return Ok(Outcome::Changed(true));
    }
    if valid {
        sqlx::query(
            "UPDATE acme_orders SET status = 'ready' \
             WHERE status = 'pending' \
             AND id IN (SELECT order_id FROM acme_order_authorizations WHERE authz_id = $1) \
             AND NOT EXISTS (SELECT 1 FROM acme_order_authorizations l \
                 JOIN acme_authorizations a ON a.id = l.authz_id \
                 WHERE l.order_id = acme_orders.id AND a.status <> 'valid')",
        )
        .bind(&authz_id)
        .execute(&mut *conn)
        .await
        .map_err(db)?;
    } else {
        invalidate_orders_of(conn, errors, &authz_id, error).await?;
    }
    Ok(Outcome::Changed(true))
}

async fn prune(conn: &mut AnyConnection, errors: &DbErrors, now: i64) -> Result<Outcome, Error> {
    let db = |e: sqlx::Error| errors.of(&e);
    let cutoff = now.saturating_sub(PRUNE_GRACE_SECONDS);
    let nonces = sqlx::query("DELETE FROM acme_used_nonces WHERE expires_at < $1")
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(db)?
        .rows_affected();
    // Their links go with them (ON DELETE CASCADE).
    let orders = sqlx::query("DELETE FROM acme_orders WHERE expires_at < $1 AND status <> 'valid'")
        .bind(cutoff)
        .execute(&mut *conn)
        .await
        .map_err(db)?
        .rows_affected();
    // Their challenges go with them; one still linked to a kept order stays.
    let authzs = sqlx::query(
        "DELETE FROM acme_authorizations WHERE expires_at < $1 AND status <> 'valid' \
         AND NOT EXISTS (SELECT 1 FROM acme_order_authorizations l \
             WHERE l.authz_id = acme_authorizations.id)",
    )
    .bind(cutoff)
    .execute(&mut *conn)
    .await
    .map_err(db)?
    .rows_affected();
    Ok(Outcome::Pruned(nonces + orders + authzs))
}
