//! What the validation authority reads and writes: the active revocations a CRL lists, and
//! the CRL number that only ever increases.

use time::OffsetDateTime;

use crate::writes::Write;
use crate::{Error, Store};

/// One entry of a CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlEntryRecord {
    /// Serial, lowercase hex.
    pub serial: String,
    /// When it was revoked.
    pub revoked_at: OffsetDateTime,
    /// RFC 5280 reason code.
    pub reason_code: u8,
}

impl Store {
    /// Take the next CRL number of `issuer` (1, 2, 3, …): atomic, durable, shared by every
    /// node on the same database.
    pub async fn next_crl_number(&self, issuer: &str) -> Result<u64, Error> {
        if issuer.is_empty() {
            return Err(Error::invalid("issuer", "must not be empty"));
        }
        let n = self
            .write(Write::NextCrlNumber {
                issuer: issuer.to_owned(),
            })
            .await?
            .crl_number()?;
        u64::try_from(n).map_err(|_| Error::corrupt(format!("CRL number {n} of {issuer}")))
    }

    /// The actively revoked certificates that have not expired at `now`, by serial: what a CRL
    /// lists. Passive revocations only stop renewal and are not listed.
    pub async fn crl_entries(&self, now: OffsetDateTime) -> Result<Vec<CrlEntryRecord>, Error> {
        let rows = sqlx::query(
            "SELECT r.serial, r.revoked_at, r.reason_code FROM revocations r \
             JOIN certificates c ON c.serial = r.serial \
             WHERE r.passive = 0 AND c.not_after >= $1 ORDER BY r.serial",
        )
        .bind(now.unix_timestamp())
        .fetch_all(self.reader())
        .await
        .map_err(|e| self.db_error(&e))?;
        rows.iter()
            .map(|row| {
                use sqlx::Row;
                let serial: String = row.try_get("serial").map_err(|e| self.db_error(&e))?;
                let at: i64 = row.try_get("revoked_at").map_err(|e| self.db_error(&e))?;
                let code: i64 = row.try_get("reason_code").map_err(|e| self.db_error(&e))?;
                Ok(CrlEntryRecord {
                    revoked_at: OffsetDateTime::from_unix_timestamp(at)
                        .map_err(|_| Error::corrupt(format!("revoked_at of {serial}")))?,
                    reason_code: u8::try_from(code)
                        .map_err(|_| Error::corrupt(format!("reason code of {serial}")))?,
                    serial,
                })
            })
            .collect()
    }
}
