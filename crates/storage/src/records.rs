//! The plain data that goes into and comes out of the store.

use std::fmt;

use time::OffsetDateTime;

/// A signed certificate to store in one step (status `issued`).
///
/// The issuing pipeline normally uses the two-phase path instead
/// ([`Store::record_intent`](crate::Store::record_intent) then
/// [`Store::record_issued`](crate::Store::record_issued)); this is for imports and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCertificate {
    /// Serial number as lowercase hex without separators (for example `"3f0a…"`).
    pub serial: String,
    /// The subject, either a distinguished name (`"CN=example.com, O=Acme"`) or a bare common
    /// name. The common name(s) are indexed for [`Store::find_by_name`](crate::Store::find_by_name).
    pub subject: String,
    /// Subject alternative names as strings (DNS names, IP addresses, e-mail addresses, URIs).
    pub sans: Vec<String>,
    /// Start of validity; stored to the second.
    pub not_before: OffsetDateTime,
    /// End of validity; stored to the second.
    pub not_after: OffsetDateTime,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// The provisioner that authorised the certificate, if any.
    pub provisioner: Option<String>,
    /// The certificate, DER-encoded.
    pub der: Vec<u8>,
}

/// Where a certificate is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CertificateStatus {
    /// Recorded before signing; no DER yet. A crash after this point leaves a revocable record.
    Intended,
    /// Signed and stored.
    Issued,
    /// Revoked (see [`RevocationRecord`]).
    Revoked,
}

impl CertificateStatus {
    /// The value stored in the `status` column.
    pub fn as_str(self) -> &'static str {
        match self {
            CertificateStatus::Intended => "intended",
            CertificateStatus::Issued => "issued",
            CertificateStatus::Revoked => "revoked",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<CertificateStatus> {
        match s {
            "intended" => Some(CertificateStatus::Intended),
            "issued" => Some(CertificateStatus::Issued),
            "revoked" => Some(CertificateStatus::Revoked),
            _ => None,
        }
    }
}

impl fmt::Display for CertificateStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRecord {
    /// Serial number, lowercase hex.
    pub serial: String,
    /// The subject as it was stored.
    pub subject: String,
    /// Subject alternative names, in the order they were stored.
    pub sans: Vec<String>,
    /// Start of validity (UTC, whole seconds).
    pub not_before: OffsetDateTime,
    /// End of validity (UTC, whole seconds).
    pub not_after: OffsetDateTime,
    /// The issuer's distinguished name.
    pub issuer: String,
    /// The provisioner that authorised the certificate, if any.
    pub provisioner: Option<String>,
    /// Where the certificate is in its life.
    pub status: CertificateStatus,
    /// The DER encoding; `None` while only an intent is recorded (or if an intent was revoked
    /// before it was ever signed).
    pub der: Option<Vec<u8>>,
    /// When the record was first written (UTC, whole seconds, from the store's clock).
    pub created_at: OffsetDateTime,
}

/// A stored revocation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevocationRecord {
    /// Serial number of the revoked certificate, lowercase hex.
    pub serial: String,
    /// When it was revoked (UTC, whole seconds).
    pub revoked_at: OffsetDateTime,
    /// RFC 5280 CRLReason code (0..=10, never 7).
    pub reason_code: u8,
    /// Free-text reason given by the revoker, if any.
    pub reason: Option<String>,
    /// Passive revocation: the CA refuses to renew the certificate, but does not publish it
    /// in the CRL or OCSP (active revocation does both).
    pub passive: bool,
}
