//! Certificate serial numbers: 20 octets (the most RFC 5280 §4.1.2.2 allows), positive, with
//! 128 random bits (ARCHITECTURE §3; CA/B Forum asks for 64).
//!
//! Layout, most significant first:
//! - 1 bit 0 (positive), 1 bit 1 (so the first octet is never zero and the DER encoding is
//!   always exactly 20 octets);
//! - 30 bits: seconds since 2025-01-01 UTC, modulo 2^30 (34 years per lap);
//! - 128 bits from the system CSPRNG.
//!
//! Why the time prefix: the store keeps a unique index on the serial. Wholly random serials
//! land on a random leaf of that index, so once it outgrows the page cache every issuance
//! reads a cold page and every group commit writes one index page per certificate; serials
//! that grow with time append to the index's right edge instead, and issuance keeps its rate
//! however many certificates are stored (docs/performance.md). Uniqueness and
//! unpredictability rest on the 128 random bits alone; the prefix only orders, and when it
//! wraps (in 2059) nothing breaks but that locality, for a second.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use time::OffsetDateTime;

use crate::Error;

/// 2025-01-01T00:00:00Z, the origin of the time prefix.
const EPOCH: i64 = 1_735_689_600;

/// A fresh serial for a certificate signed at `now`.
pub fn random_serial_at(now: OffsetDateTime) -> Result<[u8; 20], Error> {
    let mut bytes = [0u8; 20];
    SystemRandom::new()
        .fill(&mut bytes[4..])
        .map_err(|_| Error::internal("random number generator failed"))?;
    // In range: `rem_euclid` keeps it within 0..2^30.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let seconds = (now.unix_timestamp() - EPOCH).rem_euclid(1 << 30) as u32;
    bytes[..4].copy_from_slice(&(seconds | 0x4000_0000).to_be_bytes());
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_positive_twenty_octets_and_distinct() {
        let now = OffsetDateTime::now_utc();
        let a = random_serial_at(now).unwrap();
        let b = random_serial_at(now).unwrap();
        assert_ne!(a, b);
        for s in [a, b] {
            assert_eq!(s[0] & 0xc0, 0x40, "positive, first octet non-zero");
        }
        // Same second: same prefix, different random part.
        assert_eq!(a[..4], b[..4]);
        assert_ne!(a[4..], b[4..]);
    }

    #[test]
    fn later_serials_sort_after_earlier_ones() {
        let t = OffsetDateTime::from_unix_timestamp(EPOCH + 86_400 * 700).unwrap();
        let earlier = random_serial_at(t).unwrap();
        let later = random_serial_at(t + time::Duration::seconds(1)).unwrap();
        assert!(
            later > earlier,
            "byte order is numeric order for 20-octet serials"
        );
        let hex = |s: &[u8; 20]| crate::key::hex(s);
        assert!(hex(&later) > hex(&earlier), "and so is the stored hex text");
    }

    #[test]
    fn the_prefix_wraps_without_losing_its_marker() {
        for secs in [EPOCH - 1, EPOCH, EPOCH + (1 << 30), EPOCH + (1 << 30) - 1] {
            let t = OffsetDateTime::from_unix_timestamp(secs).unwrap();
            let s = random_serial_at(t).unwrap();
            assert_eq!(s[0] & 0xc0, 0x40, "at {secs}");
        }
    }
}
