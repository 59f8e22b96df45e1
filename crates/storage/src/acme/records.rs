//! The plain data of the ACME state.

use std::fmt;

use time::OffsetDateTime;

/// A string-valued status or type: its `as_str`, `parse` and `Display`.
macro_rules! text_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $text:literal),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// The value stored in the database (and used on the wire by RFC 8555).
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            /// The value for `s`, if it is one.
            pub fn parse(s: &str) -> Option<$name> {
                match s {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum!(
    /// RFC 8555 §7.1.6 account status.
    AcmeAccountStatus {
        /// In use.
        Valid = "valid",
        /// Deactivated by its holder.
        Deactivated = "deactivated",
        /// Revoked by the server.
        Revoked = "revoked",
    }
);

text_enum!(
    /// RFC 8555 §7.1.6 order status.
    AcmeOrderStatus {
        /// Waiting for its authorizations.
        Pending = "pending",
        /// Every authorization is valid: it may be finalized.
        Ready = "ready",
        /// Finalized; the certificate is being issued.
        Processing = "processing",
        /// The certificate is issued.
        Valid = "valid",
        /// An authorization failed, or issuance did.
        Invalid = "invalid",
    }
);

text_enum!(
    /// RFC 8555 §7.1.6 authorization status.
    AcmeAuthorizationStatus {
        /// Waiting for a challenge.
        Pending = "pending",
        /// A challenge succeeded.
        Valid = "valid",
        /// A challenge failed.
        Invalid = "invalid",
        /// Deactivated by the client.
        Deactivated = "deactivated",
        /// Expired.
        Expired = "expired",
        /// Revoked by the server.
        Revoked = "revoked",
    }
);

text_enum!(
    /// RFC 8555 §7.1.6 challenge status.
    AcmeChallengeStatus {
        /// Not started.
        Pending = "pending",
        /// Being validated.
        Processing = "processing",
        /// Validated.
        Valid = "valid",
        /// Validation failed.
        Invalid = "invalid",
    }
);

text_enum!(
    /// A challenge type.
    AcmeChallengeType {
        /// RFC 8555 §8.3.
        Http01 = "http-01",
        /// RFC 8555 §8.4.
        Dns01 = "dns-01",
        /// RFC 8737.
        TlsAlpn01 = "tls-alpn-01",
    }
);

/// An ACME account to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAcmeAccount {
    /// Random URL-safe id.
    pub id: String,
    /// The ACME provisioner it belongs to.
    pub provisioner: String,
    /// RFC 7638 thumbprint of its key (unique per provisioner).
    pub key_thumbprint: String,
    /// Its public key as JWK JSON.
    pub jwk: String,
    /// Contact URLs (`mailto:…`).
    pub contact: Vec<String>,
    /// The external account binding key id; when set, that EAB key is bound to the new
    /// account in the same transaction, which fails with [`Error::Conflict`](crate::Error)
    /// if it is bound already.
    pub eab_kid: Option<String>,
}

/// A stored ACME account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeAccount {
    /// Its id.
    pub id: String,
    /// Its provisioner.
    pub provisioner: String,
    /// Thumbprint of its current key.
    pub key_thumbprint: String,
    /// Its current key as JWK JSON.
    pub jwk: String,
    /// Its status.
    pub status: AcmeAccountStatus,
    /// Contact URLs.
    pub contact: Vec<String>,
    /// The EAB key id it was created with, if any.
    pub eab_kid: Option<String>,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// An external account binding key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EabKey {
    /// Its provisioner.
    pub provisioner: String,
    /// Its key id.
    pub kid: String,
    /// The HMAC key.
    pub hmac_key: Vec<u8>,
    /// The account it is bound to, once used.
    pub bound_account: Option<String>,
    /// When it was added.
    pub created_at: OffsetDateTime,
}

/// An identifier of an order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeIdentifier {
    /// `dns` or `ip`.
    pub kind: String,
    /// The name or address (a wildcard keeps its `*.`).
    pub value: String,
}

/// A challenge of a new authorization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewChallenge {
    /// Random URL-safe id.
    pub id: String,
    /// Its type.
    pub kind: AcmeChallengeType,
    /// Its token.
    pub token: String,
}

/// A new (pending) authorization of an order, with its challenges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuthorization {
    /// Random URL-safe id.
    pub id: String,
    /// `dns` or `ip`.
    pub identifier_type: String,
    /// The name (without `*.` for a wildcard) or address.
    pub identifier_value: String,
    /// Whether it authorizes a wildcard.
    pub wildcard: bool,
    /// When it expires.
    pub expires_at: OffsetDateTime,
    /// Its challenges.
    pub challenges: Vec<NewChallenge>,
}

/// An order to create, with its new authorizations and the valid ones it reuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAcmeOrder {
    /// Random URL-safe id.
    pub id: String,
    /// The account placing it.
    pub account_id: String,
    /// Its provisioner.
    pub provisioner: String,
    /// What it asks for.
    pub identifiers: Vec<AcmeIdentifier>,
    /// Requested start of validity.
    pub not_before: Option<OffsetDateTime>,
    /// Requested end of validity.
    pub not_after: Option<OffsetDateTime>,
    /// When it expires.
    pub expires_at: OffsetDateTime,
    /// ARI: the certificate id it replaces.
    pub replaces: Option<String>,
    /// New authorizations (status pending) created with it.
    pub authorizations: Vec<NewAuthorization>,
    /// Ids of valid authorizations of the same account it reuses (linked only). An order with
    /// no new authorization starts `ready`.
    pub reuse: Vec<String>,
}

/// A stored order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeOrder {
    /// Its id.
    pub id: String,
    /// The account that placed it.
    pub account_id: String,
    /// Its provisioner.
    pub provisioner: String,
    /// Its status.
    pub status: AcmeOrderStatus,
    /// What it asks for.
    pub identifiers: Vec<AcmeIdentifier>,
    /// Requested start of validity.
    pub not_before: Option<OffsetDateTime>,
    /// Requested end of validity.
    pub not_after: Option<OffsetDateTime>,
    /// When it expires.
    pub expires_at: OffsetDateTime,
    /// The issued certificate's serial (lowercase hex), once valid.
    pub certificate_serial: Option<String>,
    /// The error (an RFC 7807 problem as JSON, or text) that made it invalid.
    pub error: Option<String>,
    /// ARI: the certificate id it replaces.
    pub replaces: Option<String>,
    /// Its authorizations' ids, sorted.
    pub authorizations: Vec<String>,
    /// When it was created.
    pub created_at: OffsetDateTime,
}

/// A stored authorization, with its challenges.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeAuthorization {
    /// Its id.
    pub id: String,
    /// Its account.
    pub account_id: String,
    /// Its provisioner.
    pub provisioner: String,
    /// `dns` or `ip`.
    pub identifier_type: String,
    /// The name or address.
    pub identifier_value: String,
    /// Whether it authorizes a wildcard.
    pub wildcard: bool,
    /// Its status.
    pub status: AcmeAuthorizationStatus,
    /// When it expires.
    pub expires_at: OffsetDateTime,
    /// When it was created.
    pub created_at: OffsetDateTime,
    /// Its challenges, by id.
    pub challenges: Vec<AcmeChallenge>,
}

/// A stored challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeChallenge {
    /// Its id.
    pub id: String,
    /// Its authorization.
    pub authz_id: String,
    /// Its type.
    pub kind: AcmeChallengeType,
    /// Its token.
    pub token: String,
    /// Its status.
    pub status: AcmeChallengeStatus,
    /// When it was validated (or failed).
    pub validated_at: Option<OffsetDateTime>,
    /// Why it failed.
    pub error: Option<String>,
}
