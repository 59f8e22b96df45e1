//! The replay table: each one-time token id may be used once per provisioner, on every node
//! that shares the database.

use time::OffsetDateTime;

use crate::error::is_unique_violation;
use crate::{Error, Store};

impl Store {
    /// Record the use of token `token_id` of `provisioner`, valid until `expires_at`.
    /// Returns `false` when it was used before (a replay); the insert is atomic, so of two
    /// concurrent uses exactly one gets `true`.
    pub async fn use_token(
        &self,
        provisioner: &str,
        token_id: &str,
        expires_at: OffsetDateTime,
    ) -> Result<bool, Error> {
        if provisioner.is_empty() || token_id.is_empty() || token_id.len() > 512 {
            return Err(Error::invalid(
                "token_id",
                "must be 1 to 512 bytes, with a provisioner",
            ));
        }
        let mut tx = self.begin_write().await?;
        let inserted = sqlx::query(
            "INSERT INTO used_tokens (provisioner, token_id, expires_at) VALUES ($1, $2, $3)",
        )
        .bind(provisioner)
        .bind(token_id)
        .bind(expires_at.unix_timestamp())
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {
                tx.commit().await.map_err(|e| self.db_error(&e))?;
                Ok(true)
            }
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(self.db_error(&e)),
        }
    }

    /// Forget used tokens that expired before `now`; returns how many rows went.
    pub async fn prune_used_tokens(&self, now: OffsetDateTime) -> Result<u64, Error> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM used_tokens WHERE expires_at < $1")
            .bind(now.unix_timestamp())
            .execute(&mut *tx)
            .await
            .map_err(|e| self.db_error(&e))?
            .rows_affected();
        tx.commit().await.map_err(|e| self.db_error(&e))?;
        Ok(n)
    }
}
