//! Self-validating anti-replay nonces (RFC 8555 §6.5) that every node accepts.
//!
//! Design: behind a load balancer a client's next request may land on another node, so a
//! nonce must not live in one node's memory (step-ca's #1855). A nonce is
//! `base64url(issued_at || random || tag)`: `issued_at` is the issue time in Unix seconds
//! (8 bytes, big-endian), `random` 16 bytes from the system RNG, and `tag` the first 16 bytes of
//! HMAC-SHA256 under a 32-byte secret all nodes share ([`NonceKey`]) over a domain label,
//! `issued_at` and `random`. Any node can check the tag (in constant time) and the age without
//! a lookup; what remains is "each nonce once", which the caller enforces by inserting the
//! returned [`NonceId`] into the shared used-nonce table (a unique key), keeping it until
//! [`NonceId::expires_at`]. Every failure is `badNonce`, and the client retries with the fresh
//! nonce the error response carries.

use std::fmt;

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::hmac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use time::{Duration, OffsetDateTime};

use super::AcmeError;

/// How long a nonce is accepted by default.
pub const DEFAULT_NONCE_MAX_AGE: Duration = Duration::hours(1);

/// Clock difference between nodes tolerated for a nonce "issued in the future".
pub const NONCE_CLOCK_SKEW: Duration = Duration::seconds(60);

/// Separates nonce MACs from any other use of the same secret.
const DOMAIN: &[u8] = b"vouch acme nonce v1\0";
const TIME_LEN: usize = 8;
const RANDOM_LEN: usize = 16;
const TAG_LEN: usize = 16;
const NONCE_LEN: usize = TIME_LEN + RANDOM_LEN + TAG_LEN;

/// The secret shared by all nodes that authenticates nonces.
pub struct NonceKey {
    key: hmac::Key,
}

impl fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NonceKey").finish_non_exhaustive()
    }
}

/// The identity of an authentic nonce: record it once in the used-nonce table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct NonceId {
    id: String,
    expires_at: OffsetDateTime,
}

impl NonceId {
    /// The random part, lower-case hex (32 characters): the used-nonce table's key.
    pub fn as_str(&self) -> &str {
        &self.id
    }

    /// When the nonce stops being accepted on age alone; the used record can go after that.
    pub fn expires_at(&self) -> OffsetDateTime {
        self.expires_at
    }
}

impl fmt::Display for NonceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.id)
    }
}

impl NonceKey {
    /// The key from the shared 32-byte secret.
    pub fn from_bytes(secret: &[u8; 32]) -> Self {
        NonceKey {
            key: hmac::Key::new(hmac::HMAC_SHA256, secret),
        }
    }

    /// A fresh random secret (a single node, or to create the shared one), with its bytes so
    /// the caller can store and distribute it.
    pub fn generate() -> Result<(Self, zeroize::Zeroizing<[u8; 32]>), AcmeError> {
        let mut secret = zeroize::Zeroizing::new([0u8; 32]);
        aws_lc_rs::rand::fill(secret.as_mut_slice()).map_err(|_| internal())?;
        Ok((Self::from_bytes(&secret), secret))
    }

    fn tag(&self, body: &[u8]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.key);
        ctx.update(DOMAIN);
        ctx.update(body);
        ctx.sign()
    }

    /// A new nonce issued at `now` (54 base64url characters).
    ///
    /// Fails (`serverInternal`) only if the system RNG does.
    pub fn issue(&self, now: OffsetDateTime) -> Result<String, AcmeError> {
        let mut nonce = [0u8; NONCE_LEN];
        nonce[..TIME_LEN].copy_from_slice(&now.unix_timestamp().to_be_bytes());
        aws_lc_rs::rand::fill(&mut nonce[TIME_LEN..TIME_LEN + RANDOM_LEN])
            .map_err(|_| internal())?;
        let tag = self.tag(&nonce[..TIME_LEN + RANDOM_LEN]);
        nonce[TIME_LEN + RANDOM_LEN..].copy_from_slice(&tag.as_ref()[..TAG_LEN]);
        Ok(B64.encode(nonce))
    }

    /// Check that `nonce` was issued by a node sharing this key, at most `max_age` before
    /// `now` (and not more than [`NONCE_CLOCK_SKEW`] after it). Does NOT check that it is
    /// unused: the caller records the returned [`NonceId`] and refuses a duplicate.
    pub fn check(
        &self,
        nonce: &str,
        now: OffsetDateTime,
        max_age: Duration,
    ) -> Result<NonceId, AcmeError> {
        let bytes = B64
            .decode(nonce)
            .map_err(|_| AcmeError::bad_nonce("nonce is not one this server issued"))?;
        let bytes: [u8; NONCE_LEN] = bytes
            .try_into()
            .map_err(|_| AcmeError::bad_nonce("nonce is not one this server issued"))?;
        let (body, tag) = bytes.split_at(TIME_LEN + RANDOM_LEN);
        let expected = self.tag(body);
        verify_slices_are_equal(&expected.as_ref()[..TAG_LEN], tag)
            .map_err(|_| AcmeError::bad_nonce("nonce is not one this server issued"))?;
        let mut seconds = [0u8; TIME_LEN];
        seconds.copy_from_slice(&body[..TIME_LEN]);
        let issued_at = OffsetDateTime::from_unix_timestamp(i64::from_be_bytes(seconds))
            .map_err(|_| AcmeError::bad_nonce("nonce is not one this server issued"))?;
        if issued_at > now + NONCE_CLOCK_SKEW {
            return Err(AcmeError::bad_nonce("nonce issued in the future"));
        }
        let expires_at = issued_at + max_age;
        if now > expires_at {
            return Err(AcmeError::bad_nonce("nonce expired"));
        }
        let id = body[TIME_LEN..]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        Ok(NonceId { id, expires_at })
    }
}

fn internal() -> AcmeError {
    AcmeError::new(
        super::ProblemType::ServerInternal,
        "random number generator failed",
    )
}
