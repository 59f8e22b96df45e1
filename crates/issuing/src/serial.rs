//! Certificate serial numbers: 159 random bits, positive, never zero (RFC 5280 §4.1.2.2
//! allows 20 octets; CA/B Forum asks for at least 64 random bits, we use far more).

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

use crate::Error;

/// A fresh random serial: 20 bytes, the top bit clear (positive) and the first byte non-zero
/// (so the DER encoding is exactly 20 bytes and the value has ≥ 152 random bits).
pub fn random_serial() -> Result<[u8; 20], Error> {
    let mut bytes = [0u8; 20];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::internal("random number generator failed"))?;
    bytes[0] = (bytes[0] & 0x7f) | 0x01;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_are_positive_and_distinct() {
        let a = random_serial().unwrap();
        let b = random_serial().unwrap();
        assert_ne!(a, b);
        for s in [a, b] {
            assert!(s[0] & 0x80 == 0 && s[0] != 0);
        }
    }
}
