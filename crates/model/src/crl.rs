//! What a CRL says, as plain data: the validation authority decides it, the issuing
//! authority's status signer encodes and signs it.

use time::OffsetDateTime;

/// One revoked certificate in a CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlEntry {
    /// The serial number, big-endian bytes without leading zeros.
    pub serial: Vec<u8>,
    /// When it was revoked.
    pub revoked_at: OffsetDateTime,
    /// RFC 5280 CRLReason (0 unspecified is written as no reason extension).
    pub reason_code: u8,
}

/// The contents of one CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlContent {
    /// The CRL number (it only ever increases).
    pub number: u64,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: OffsetDateTime,
    /// The revoked certificates, in any order.
    pub entries: Vec<CrlEntry>,
}
