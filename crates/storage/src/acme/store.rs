//! The ACME methods of [`Store`]: validation, the writes they send, and the reads.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use sqlx::Row;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::writes::AcmeWrite;
use super::{
    AcmeAccount, AcmeAccountStatus, AcmeAuthorization, AcmeAuthorizationStatus, AcmeChallenge,
    AcmeChallengeStatus, AcmeChallengeType, AcmeIdentifier, AcmeOrder, AcmeOrderStatus, EabKey,
    NewAcmeAccount, NewAcmeOrder,
};
use crate::writes::{Outcome, Write};
use crate::{Error, Store, validate};

/// Longest id, thumbprint, kid or provisioner name accepted.
const MAX_ID: usize = 256;
/// Most new authorizations, reused authorizations or challenges per order.
const MAX_PER_ORDER: usize = 100;

const ACCOUNT_COLUMNS: &str =
    "id, provisioner, key_thumbprint, jwk, status, contact, eab_kid, created_at";
const ORDER_COLUMNS: &str = "id, account_id, provisioner, status, identifiers, not_before, \
     not_after, expires_at, certificate_serial, error, replaces, created_at";
const AUTHZ_COLUMNS: &str = "id, account_id, provisioner, identifier_type, identifier_value, \
     wildcard, status, expires_at, created_at";
const CHALLENGE_COLUMNS: &str = "id, authz_id, type, token, status, validated_at, error";

/// A caller-chosen id: 1 to 256 URL-safe characters (`A-Z a-z 0-9 - _`).
fn id(field: &'static str, value: &str) -> Result<(), Error> {
    if value.is_empty() || value.len() > MAX_ID {
        return Err(Error::invalid(
            field,
            format!("must be 1 to {MAX_ID} bytes"),
        ));
    }
    if !value
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(Error::invalid(field, "must be URL-safe (A-Z a-z 0-9 - _)"));
    }
    Ok(())
}

/// A non-empty name of at most 256 bytes.
fn name(field: &'static str, value: &str) -> Result<(), Error> {
    if value.is_empty() || value.len() > MAX_ID {
        return Err(Error::invalid(
            field,
            format!("must be 1 to {MAX_ID} bytes"),
        ));
    }
    Ok(())
}

fn contact_json(contact: &[String]) -> Result<String, Error> {
    if contact.iter().any(String::is_empty) {
        return Err(Error::invalid("contact", "must not hold an empty entry"));
    }
    serde_json::to_string(contact).map_err(|e| Error::internal(format!("encoding contact: {e}")))
}

impl Store {
    /// Create an account, or return the existing one if `new.key_thumbprint` is already an
    /// account of `new.provisioner` (RFC 8555 §7.3.1: newAccount with a known key). With
    /// `new.eab_kid` the EAB key is bound in the same transaction ([`Error::Conflict`] if it
    /// is bound already, [`Error::Missing`] if unknown; then no account is created).
    pub async fn create_acme_account(&self, new: &NewAcmeAccount) -> Result<AcmeAccount, Error> {
        id("id", &new.id)?;
        name("provisioner", &new.provisioner)?;
        name("key_thumbprint", &new.key_thumbprint)?;
        if new.jwk.is_empty() {
            return Err(Error::invalid("jwk", "must not be empty"));
        }
        if let Some(kid) = &new.eab_kid {
            name("eab_kid", kid)?;
        }
        self.acme_write(AcmeWrite::CreateAccount {
            id: new.id.clone(),
            provisioner: new.provisioner.clone(),
            thumbprint: new.key_thumbprint.clone(),
            jwk: new.jwk.clone(),
            contact: contact_json(&new.contact)?,
            eab_kid: new.eab_kid.clone(),
            created_at: self.now().unix_timestamp(),
        })
        .await?
        .changed()?;
        self.find_acme_account_by_key(&new.provisioner, &new.key_thumbprint)
            .await?
            .ok_or_else(|| Error::conflict("the account's key changed while it was created"))
    }

    /// The account with this id.
    pub async fn get_acme_account(&self, account_id: &str) -> Result<Option<AcmeAccount>, Error> {
        id("account_id", account_id)?;
        let sql = format!("SELECT {ACCOUNT_COLUMNS} FROM acme_accounts WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_optional(self.reader())
            .await
            .map_err(|e| self.db_error(&e))?;
        row.map(|row| self.account_from_row(&row)).transpose()
    }

    /// The account of `provisioner` whose key has this thumbprint.
    pub async fn find_acme_account_by_key(
        &self,
        provisioner: &str,
        key_thumbprint: &str,
    ) -> Result<Option<AcmeAccount>, Error> {
        name("provisioner", provisioner)?;
        name("key_thumbprint", key_thumbprint)?;
        let sql = format!(
            "SELECT {ACCOUNT_COLUMNS} FROM acme_accounts \
             WHERE provisioner = $1 AND key_thumbprint = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(provisioner)
            .bind(key_thumbprint)
            .fetch_optional(self.reader())
            .await
            .map_err(|e| self.db_error(&e))?;
        row.map(|row| self.account_from_row(&row)).transpose()
    }

    /// Replace an account's contact URLs.
    pub async fn update_acme_account_contact(
        &self,
        account_id: &str,
        contact: &[String],
    ) -> Result<(), Error> {
        id("account_id", account_id)?;
        self.acme_write(AcmeWrite::UpdateContact {
            id: account_id.to_owned(),
            contact: contact_json(contact)?,
        })
        .await?
        .done()
    }

    /// Set an account's status (deactivation by its holder, revocation by the server).
    pub async fn set_acme_account_status(
        &self,
        account_id: &str,
        status: AcmeAccountStatus,
    ) -> Result<(), Error> {
        id("account_id", account_id)?;
        self.acme_write(AcmeWrite::SetAccountStatus {
            id: account_id.to_owned(),
            status,
        })
        .await?
        .done()
    }

    /// Key rollover (RFC 8555 §7.3.5). [`Error::Conflict`] if another account of the same
    /// provisioner has the new key.
    pub async fn change_acme_account_key(
        &self,
        account_id: &str,
        new_thumbprint: &str,
        new_jwk: &str,
    ) -> Result<(), Error> {
        id("account_id", account_id)?;
        name("key_thumbprint", new_thumbprint)?;
        if new_jwk.is_empty() {
            return Err(Error::invalid("jwk", "must not be empty"));
        }
        self.acme_write(AcmeWrite::ChangeKey {
            id: account_id.to_owned(),
            thumbprint: new_thumbprint.to_owned(),
            jwk: new_jwk.to_owned(),
        })
        .await?
        .done()
    }

    /// Add an EAB key ([`Error::Conflict`] if `kid` exists for `provisioner`).
    pub async fn add_eab_key(
        &self,
        provisioner: &str,
        kid: &str,
        hmac_key: &[u8],
    ) -> Result<(), Error> {
        name("provisioner", provisioner)?;
        name("kid", kid)?;
        if hmac_key.is_empty() {
            return Err(Error::invalid("hmac_key", "must not be empty"));
        }
        self.acme_write(AcmeWrite::AddEabKey {
            provisioner: provisioner.to_owned(),
            kid: kid.to_owned(),
            hmac_key: hmac_key.to_vec(),
            created_at: self.now().unix_timestamp(),
        })
        .await?
        .done()
    }

    /// The EAB keys of `provisioner`, by kid.
    pub async fn list_eab_keys(&self, provisioner: &str) -> Result<Vec<EabKey>, Error> {
        name("provisioner", provisioner)?;
        let rows = sqlx::query(
            "SELECT provisioner, kid, hmac_key, bound_account, created_at FROM acme_eab_keys \
             WHERE provisioner = $1 ORDER BY kid",
        )
        .bind(provisioner)
        .fetch_all(self.reader())
        .await
        .map_err(|e| self.db_error(&e))?;
        rows.iter()
            .map(|row| {
                Ok(EabKey {
                    provisioner: self.col(row, "provisioner")?,
                    kid: self.col(row, "kid")?,
                    hmac_key: self.col(row, "hmac_key")?,
                    bound_account: self.col(row, "bound_account")?,
                    created_at: self.secs(row, "created_at")?,
                })
            })
            .collect()
    }

    /// Remove an EAB key; `false` if there was none.
    pub async fn remove_eab_key(&self, provisioner: &str, kid: &str) -> Result<bool, Error> {
        name("provisioner", provisioner)?;
        name("kid", kid)?;
        self.acme_write(AcmeWrite::RemoveEabKey {
            provisioner: provisioner.to_owned(),
            kid: kid.to_owned(),
        })
        .await?
        .changed()
    }

    /// Bind an unbound EAB key to `account_id`, atomically: of two binds exactly one succeeds,
    /// the other gets [`Error::Conflict`] ([`Error::Missing`] for an unknown key).
    pub async fn bind_eab_key(
        &self,
        provisioner: &str,
        kid: &str,
        account_id: &str,
    ) -> Result<(), Error> {
        name("provisioner", provisioner)?;
        name("kid", kid)?;
        id("account_id", account_id)?;
        self.acme_write(AcmeWrite::BindEabKey {
            provisioner: provisioner.to_owned(),
            kid: kid.to_owned(),
            account_id: account_id.to_owned(),
        })
        .await?
        .done()
    }

    /// Create an order in one transaction: its row, its new authorizations and their
    /// challenges, and links to them and to the reused ones (which must be valid
    /// authorizations of the same account, else [`Error::Conflict`] and nothing is kept).
    /// An order without new authorizations starts `ready`, else `pending`.
    pub async fn create_acme_order(&self, new: &NewAcmeOrder) -> Result<AcmeOrder, Error> {
        id("id", &new.id)?;
        id("account_id", &new.account_id)?;
        name("provisioner", &new.provisioner)?;
        if new.identifiers.is_empty() || new.identifiers.len() > MAX_PER_ORDER {
            return Err(Error::invalid(
                "identifiers",
                format!("must hold 1 to {MAX_PER_ORDER}"),
            ));
        }
        for identifier in &new.identifiers {
            name("identifier type", &identifier.kind)?;
            name("identifier value", &identifier.value)?;
        }
        if let (Some(not_before), Some(not_after)) = (new.not_before, new.not_after) {
            validate::validity(not_before, not_after)?;
        }
        if new.authorizations.len() + new.reuse.len() > MAX_PER_ORDER {
            return Err(Error::invalid(
                "authorizations",
                format!("at most {MAX_PER_ORDER} per order"),
            ));
        }
        let mut authz_ids = BTreeSet::new();
        for authz in &new.authorizations {
            id("authorization id", &authz.id)?;
            name("identifier type", &authz.identifier_type)?;
            name("identifier value", &authz.identifier_value)?;
            if authz.challenges.is_empty() || authz.challenges.len() > MAX_PER_ORDER {
                return Err(Error::invalid(
                    "challenges",
                    format!("an authorization needs 1 to {MAX_PER_ORDER}"),
                ));
            }
            for challenge in &authz.challenges {
                id("challenge id", &challenge.id)?;
                name("challenge token", &challenge.token)?;
            }
            authz_ids.insert(authz.id.as_str());
        }
        for reused in &new.reuse {
            id("reused authorization id", reused)?;
            authz_ids.insert(reused.as_str());
        }
        if authz_ids.len() != new.authorizations.len() + new.reuse.len() {
            return Err(Error::invalid("authorizations", "an id appears twice"));
        }
        let identifiers: Vec<Value> = new
            .identifiers
            .iter()
            .map(|i| json!({"type": i.kind, "value": i.value}))
            .collect();
        let identifiers = Value::Array(identifiers).to_string();
        self.acme_write(AcmeWrite::CreateOrder {
            order: Box::new(new.clone()),
            identifiers,
            created_at: self.now().unix_timestamp(),
        })
        .await?
        .done()?;
        self.get_acme_order(&new.id)
            .await?
            .ok_or_else(|| Error::internal(format!("order {} vanished once created", new.id)))
    }

    /// The valid authorization of `account_id` for this identifier that expires last, if one
    /// is still valid at `now` (for reuse in a new order).
    pub async fn find_valid_authorization(
        &self,
        account_id: &str,
        identifier_type: &str,
        identifier_value: &str,
        wildcard: bool,
        now: OffsetDateTime,
    ) -> Result<Option<AcmeAuthorization>, Error> {
        id("account_id", account_id)?;
        let sql = format!(
            "SELECT {AUTHZ_COLUMNS} FROM acme_authorizations \
             WHERE account_id = $1 AND identifier_type = $2 AND identifier_value = $3 \
             AND status = 'valid' AND wildcard = $4 AND expires_at > $5 \
             ORDER BY expires_at DESC, id LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .bind(identifier_type)
            .bind(identifier_value)
            .bind(i16::from(wildcard))
            .bind(now.unix_timestamp())
            .fetch_optional(self.reader())
            .await
            .map_err(|e| self.db_error(&e))?;
        match row {
            Some(row) => self.authorization_with_challenges(&row).await.map(Some),
            None => Ok(None),
        }
    }

    /// The order with this id, with its authorizations' ids.
    pub async fn get_acme_order(&self, order_id: &str) -> Result<Option<AcmeOrder>, Error> {
        id("order_id", order_id)?;
        let sql = format!("SELECT {ORDER_COLUMNS} FROM acme_orders WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(order_id)
            .fetch_optional(self.reader())
            .await
            .map_err(|e| self.db_error(&e))?;
        let Some(row) = row else { return Ok(None) };
        let authorizations: Vec<String> = sqlx::query_scalar(
            "SELECT authz_id FROM acme_order_authorizations WHERE order_id = $1 ORDER BY authz_id",
        )
        .bind(order_id)
        .fetch_all(self.reader())
        .await
        .map_err(|e| self.db_error(&e))?;
        self.order_from_row(&row, authorizations).map(Some)
    }

    /// The account that ordered the certificate with this serial (lowercase hex), if it was
    /// issued through ACME.
    pub async fn acme_account_of_certificate(&self, serial: &str) -> Result<Option<String>, Error> {
        crate::validate::serial(serial)?;
        sqlx::query_scalar(
            "SELECT account_id FROM acme_orders WHERE certificate_serial = $1 LIMIT 1",
        )
        .bind(serial)
        .fetch_optional(self.reader())
        .await
        .map_err(|e| self.db_error(&e))
    }

    /// Whether an order that is not invalid already names `cert_id` (RFC 9773 `replaces`).
    pub async fn acme_certificate_replaced(&self, cert_id: &str) -> Result<bool, Error> {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT id FROM acme_orders WHERE replaces = $1 AND status <> 'invalid' LIMIT 1",
        )
        .bind(cert_id)
        .fetch_optional(self.reader())
        .await
        .map_err(|e| self.db_error(&e))?;
        Ok(found.is_some())
    }

    /// The orders of `account_id`, oldest first (ties by id).
    pub async fn list_acme_orders(&self, account_id: &str) -> Result<Vec<AcmeOrder>, Error> {
        id("account_id", account_id)?;
        let sql = format!(
            "SELECT {ORDER_COLUMNS} FROM acme_orders WHERE account_id = $1 \
             ORDER BY created_at, id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account_id)
            .fetch_all(self.reader())
            .await
            .map_err(|e| self.db_error(&e))?;
        let links = sqlx::query(
            "SELECT l.order_id, l.authz_id FROM acme_order_authorizations l \
             JOIN acme_orders o ON o.id = l.order_id WHERE o.account_id = $1 \
             ORDER BY l.order_id, l.authz_id",
        )
        .bind(account_id)
        .fetch_all(self.reader())
        .await
        .map_err(|e| self.db_error(&e))?;
        let mut by_order: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for link in &links {
            by_order
                .entry(self.col(link, "order_id")?)
                .or_default()
                .push(self.col(link, "authz_id")?);
        }
        rows.iter()
            .map(|row| {
                let order_id: String = self.col(row, "id")?;
                let authorizations = by_order.remove(&order_id).unwrap_or_default();
                self.order_from_row(row, authorizations)
            })
            .collect()
    }

    /// The authorization with this id, with its challenges.
    pub async fn get_acme_authorization(
        &self,
        authz_id: &str,
    ) -> Result<Option<AcmeAuthorization>, Error> {
        id("authz_id", authz_id)?;
        let sql = format!("SELECT {AUTHZ_COLUMNS} FROM acme_authorizations WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(authz_id)
            .fetch_optional(self.reader())
            .await
            .map_err(|e| self.db_error(&e))?;
        match row {
            Some(row) => self.authorization_with_challenges(&row).await.map(Some),
            None => Ok(None),
        }
    }

    /// The challenge with this id.
    pub async fn get_acme_challenge(
        &self,
        challenge_id: &str,
    ) -> Result<Option<AcmeChallenge>, Error> {
        id("challenge_id", challenge_id)?;
        let sql = format!("SELECT {CHALLENGE_COLUMNS} FROM acme_challenges WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(challenge_id)
            .fetch_optional(self.reader())
            .await
            .map_err(|e| self.db_error(&e))?;
        row.map(|row| self.challenge_from_row(&row)).transpose()
    }

    /// Move a challenge from pending to processing. `false` if it was not pending (another
    /// request started it, or it is finished): the caller then reports its current state. Of
    /// concurrent calls exactly one gets `true`; none gets an error for the race.
    pub async fn start_challenge(&self, challenge_id: &str) -> Result<bool, Error> {
        id("challenge_id", challenge_id)?;
        self.acme_write(AcmeWrite::StartChallenge {
            id: challenge_id.to_owned(),
        })
        .await?
        .changed()
    }

    /// Finish a challenge (pending or processing) as valid or invalid, and in the same
    /// transaction its authorization (if pending) and every order linked to that: all of an
    /// order's authorizations valid → `ready`; one invalid → `invalid` (with `error`).
    /// `false` if the challenge was finished already (nothing changes then).
    pub async fn finish_challenge(
        &self,
        challenge_id: &str,
        valid: bool,
        error: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<bool, Error> {
        id("challenge_id", challenge_id)?;
        self.acme_write(AcmeWrite::FinishChallenge {
            id: challenge_id.to_owned(),
            valid,
            error: error.map(str::to_owned),
            at: now.unix_timestamp(),
        })
        .await?
        .changed()
    }

    /// Finalization: move an order from ready to processing; `false` if it was not ready.
    pub async fn set_order_processing(&self, order_id: &str) -> Result<bool, Error> {
        id("order_id", order_id)?;
        self.acme_write(AcmeWrite::SetOrderProcessing {
            id: order_id.to_owned(),
        })
        .await?
        .changed()
    }

    /// End issuance of a processing order: `valid` with the certificate's serial, or (no
    /// serial) `invalid` with `error`. [`Error::Conflict`] if it is not processing.
    pub async fn finish_order(
        &self,
        order_id: &str,
        certificate_serial: Option<&str>,
        error: Option<&str>,
    ) -> Result<(), Error> {
        id("order_id", order_id)?;
        if let Some(serial) = certificate_serial {
            validate::serial(serial)?;
        }
        self.acme_write(AcmeWrite::FinishOrder {
            id: order_id.to_owned(),
            serial: certificate_serial.map(str::to_owned),
            error: error.map(str::to_owned),
        })
        .await?
        .done()
    }

    /// Deactivate a pending or valid authorization (RFC 8555 §7.5.2); its pending or ready
    /// orders become invalid. `false` if it was in another state already.
    pub async fn deactivate_authorization(&self, authz_id: &str) -> Result<bool, Error> {
        id("authz_id", authz_id)?;
        self.acme_write(AcmeWrite::DeactivateAuthorization {
            id: authz_id.to_owned(),
        })
        .await?
        .changed()
    }

    /// Record the use of a nonce, valid until `expires_at`; `false` if it was used before (a
    /// replay). Atomic across every node on the database.
    pub async fn use_acme_nonce(
        &self,
        nonce_id: &str,
        expires_at: OffsetDateTime,
    ) -> Result<bool, Error> {
        name("nonce_id", nonce_id)?;
        self.acme_write(AcmeWrite::UseNonce {
            nonce_id: nonce_id.to_owned(),
            expires_at: expires_at.unix_timestamp(),
        })
        .await?
        .changed()
    }

    /// Delete used nonces that expired before `now`, and orders and authorizations that
    /// expired more than a day before `now` and are not valid (with their challenges and
    /// links; an authorization still linked to a kept order is kept). Returns how many
    /// nonces, orders and authorizations went.
    pub async fn prune_acme(&self, now: OffsetDateTime) -> Result<u64, Error> {
        self.acme_write(AcmeWrite::Prune {
            now: now.unix_timestamp(),
        })
        .await?
        .pruned()
    }

    // ---- internals ----

    async fn acme_write(&self, write: AcmeWrite) -> Result<Outcome, Error> {
        self.write(Write::Acme(Box::new(write))).await
    }

    fn col<'r, T>(&self, row: &'r AnyRow, column: &str) -> Result<T, Error>
    where
        T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        row.try_get(column).map_err(|e| self.db_error(&e))
    }

    fn secs(&self, row: &AnyRow, column: &str) -> Result<OffsetDateTime, Error> {
        let seconds: i64 = self.col(row, column)?;
        at(column, seconds)
    }

    fn opt_secs(&self, row: &AnyRow, column: &str) -> Result<Option<OffsetDateTime>, Error> {
        let seconds: Option<i64> = self.col(row, column)?;
        seconds.map(|s| at(column, s)).transpose()
    }

    fn account_from_row(&self, row: &AnyRow) -> Result<AcmeAccount, Error> {
        let id: String = self.col(row, "id")?;
        let contact: String = self.col(row, "contact")?;
        let contact: Vec<String> = serde_json::from_str(&contact)
            .map_err(|e| Error::corrupt(format!("contact of account {id}: {e}")))?;
        let status: String = self.col(row, "status")?;
        Ok(AcmeAccount {
            provisioner: self.col(row, "provisioner")?,
            key_thumbprint: self.col(row, "key_thumbprint")?,
            jwk: self.col(row, "jwk")?,
            status: parse(AcmeAccountStatus::parse, &status)?,
            contact,
            eab_kid: self.col(row, "eab_kid")?,
            created_at: self.secs(row, "created_at")?,
            id,
        })
    }

    fn order_from_row(
        &self,
        row: &AnyRow,
        authorizations: Vec<String>,
    ) -> Result<AcmeOrder, Error> {
        let id: String = self.col(row, "id")?;
        let identifiers: String = self.col(row, "identifiers")?;
        let bad = |what: &str| Error::corrupt(format!("identifiers of order {id}: {what}"));
        let identifiers: Value =
            serde_json::from_str(&identifiers).map_err(|e| bad(&e.to_string()))?;
        let identifiers = identifiers
            .as_array()
            .ok_or_else(|| bad("not an array"))?
            .iter()
            .map(|i| {
                let field = |key: &str| {
                    i.get(key)
                        .and_then(Value::as_str)
                        .map(str::to_owned)
                        .ok_or_else(|| bad(&format!("no {key}")))
                };
                Ok(AcmeIdentifier {
                    kind: field("type")?,
                    value: field("value")?,
                })
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let status: String = self.col(row, "status")?;
        Ok(AcmeOrder {
            account_id: self.col(row, "account_id")?,
            provisioner: self.col(row, "provisioner")?,
            status: parse(AcmeOrderStatus::parse, &status)?,
            identifiers,
            not_before: self.opt_secs(row, "not_before")?,
            not_after: self.opt_secs(row, "not_after")?,
            expires_at: self.secs(row, "expires_at")?,
            certificate_serial: self.col(row, "certificate_serial")?,
            error: self.col(row, "error")?,
            replaces: self.col(row, "replaces")?,
            authorizations,
            created_at: self.secs(row, "created_at")?,
            id,
        })
    }

    async fn authorization_with_challenges(
        &self,
        row: &AnyRow,
    ) -> Result<AcmeAuthorization, Error> {
        let id: String = self.col(row, "id")?;
        let sql = format!(
            "SELECT {CHALLENGE_COLUMNS} FROM acme_challenges WHERE authz_id = $1 ORDER BY id"
        );
        let challenges = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&id)
            .fetch_all(self.reader())
            .await
            .map_err(|e| self.db_error(&e))?
            .iter()
            .map(|row| self.challenge_from_row(row))
            .collect::<Result<Vec<_>, Error>>()?;
        let status: String = self.col(row, "status")?;
        let wildcard: i64 = self.col(row, "wildcard")?;
        Ok(AcmeAuthorization {
            account_id: self.col(row, "account_id")?,
            provisioner: self.col(row, "provisioner")?,
            identifier_type: self.col(row, "identifier_type")?,
            identifier_value: self.col(row, "identifier_value")?,
            wildcard: wildcard != 0,
            status: parse(AcmeAuthorizationStatus::parse, &status)?,
            expires_at: self.secs(row, "expires_at")?,
            created_at: self.secs(row, "created_at")?,
            challenges,
            id,
        })
    }

    fn challenge_from_row(&self, row: &AnyRow) -> Result<AcmeChallenge, Error> {
        let kind: String = self.col(row, "type")?;
        let status: String = self.col(row, "status")?;
        Ok(AcmeChallenge {
            id: self.col(row, "id")?,
            authz_id: self.col(row, "authz_id")?,
            kind: parse(AcmeChallengeType::parse, &kind)?,
            token: self.col(row, "token")?,
            status: parse(AcmeChallengeStatus::parse, &status)?,
            validated_at: self.opt_secs(row, "validated_at")?,
            error: self.col(row, "error")?,
        })
    }
}

fn at(column: &str, seconds: i64) -> Result<OffsetDateTime, Error> {
    OffsetDateTime::from_unix_timestamp(seconds)
        .map_err(|_| Error::corrupt(format!("{column} {seconds} is out of range")))
}

fn parse<T>(parse: fn(&str) -> Option<T>, s: &str) -> Result<T, Error> {
    parse(s).ok_or_else(|| Error::corrupt(format!("unknown ACME status or type {s:?}")))
}
