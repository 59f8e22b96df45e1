//! The replay table: each one-time token id may be used once per provisioner, on every node
//! that shares the database.

use time::OffsetDateTime;

use crate::writes::Write;
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
        check_token_id(provisioner, token_id)?;
        self.write(Write::UseToken {
            provisioner: provisioner.to_owned(),
            token_id: token_id.to_owned(),
            expires_at: expires_at.unix_timestamp(),
        })
        .await?
        .token_used()
    }

    /// Forget used tokens that expired before `now`; returns how many rows went.
    pub async fn prune_used_tokens(&self, now: OffsetDateTime) -> Result<u64, Error> {
        self.write(Write::PruneTokens {
            before: now.unix_timestamp(),
        })
        .await?
        .pruned()
    }
}

/// A token id is 1 to 512 bytes and belongs to a named provisioner.
pub(crate) fn check_token_id(provisioner: &str, token_id: &str) -> Result<(), Error> {
    if provisioner.is_empty() || token_id.is_empty() || token_id.len() > 512 {
        return Err(Error::invalid(
            "token_id",
            "must be 1 to 512 bytes, with a provisioner",
        ));
    }
    Ok(())
}
