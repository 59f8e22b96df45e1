//! CRL assembly: what the CRL says and when the next one is due. Signing is a capability the
//! caller hands in ([`CrlSigner`], implemented by the composition root with the issuing
//! crate's status signer), so this crate never holds a key.
//!
//! Schedule: a CRL is valid for `lifetime` (24 h by default, as step-ca's `cacheDuration`) and
//! rebuilt at two thirds of it, and after every revocation (the caller debounces bursts). A
//! failed rebuild leaves the last good CRL in place.

use std::fmt;

use time::{Duration, OffsetDateTime};
use vouch_model::{CrlContent, CrlEntry};

/// Signs an assembled CRL.
pub trait CrlSigner: Send + Sync {
    /// Encode and sign `content`; returns the DER CRL.
    fn sign_crl(&self, content: &CrlContent) -> Result<Vec<u8>, String>;
}

/// A signed CRL ready to serve.
#[derive(Clone, PartialEq, Eq)]
pub struct CrlSnapshot {
    /// DER.
    pub der: Vec<u8>,
    /// Its CRL number.
    pub number: u64,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: OffsetDateTime,
    /// A strong HTTP entity tag (SHA-256 of the DER, quoted).
    pub etag: String,
    /// How many certificates it lists.
    pub entries: usize,
}

impl fmt::Debug for CrlSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CrlSnapshot")
            .field("number", &self.number)
            .field("entries", &self.entries)
            .field("next_update", &self.next_update)
            .finish_non_exhaustive()
    }
}

impl CrlSnapshot {
    /// When to rebuild at the latest: two thirds into its validity.
    pub fn refresh_at(&self) -> OffsetDateTime {
        self.this_update + (self.next_update - self.this_update) * 2 / 3
    }
}

/// A revoked serial from hex, as the store keeps it.
pub fn serial_from_hex(hex: &str) -> Option<Vec<u8>> {
    if hex.is_empty() || hex.len() % 2 == 1 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex.get(i..i + 2)?, 16).ok())
        .collect();
    bytes.map(|b| b.into_iter().skip_while(|x| *x == 0).collect())
}

/// Assemble and sign a CRL numbered `number` listing `entries`, valid from `now` (backdated a
/// minute for clock skew) for `lifetime`.
pub fn build_crl(
    entries: Vec<CrlEntry>,
    number: u64,
    now: OffsetDateTime,
    lifetime: Duration,
    signer: &dyn CrlSigner,
) -> Result<CrlSnapshot, String> {
    let this_update = (now - Duration::minutes(1))
        .replace_nanosecond(0)
        .map_err(|e| e.to_string())?;
    let next_update = this_update + lifetime;
    let count = entries.len();
    let content = CrlContent {
        number,
        this_update,
        next_update,
        entries,
    };
    let der = signer.sign_crl(&content)?;
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &der);
    let etag = format!(
        "\"{}\"",
        digest
            .as_ref()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    Ok(CrlSnapshot {
        der,
        number,
        this_update,
        next_update,
        etag,
        entries: count,
    })
}
