//! Checks applied to arguments before they reach the database, and the name index rules.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::Error;

/// Longest serial accepted, in hex digits (a 32-octet INTEGER; RFC 5280 allows 20 octets).
pub(crate) const MAX_SERIAL_HEX: usize = 64;

/// A serial must be non-empty lowercase hex without separators.
pub(crate) fn serial(serial: &str) -> Result<(), Error> {
    if serial.is_empty() {
        return Err(Error::invalid("serial", "must not be empty"));
    }
    if serial.len() > MAX_SERIAL_HEX {
        return Err(Error::invalid(
            "serial",
            format!("longer than {MAX_SERIAL_HEX} hex digits"),
        ));
    }
    if !serial
        .bytes()
        .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    {
        return Err(Error::invalid(
            "serial",
            "must be lowercase hexadecimal digits only (0-9, a-f)",
        ));
    }
    Ok(())
}

/// RFC 5280 CRLReason: 0..=10; 7 is unassigned.
pub(crate) fn reason_code(code: u8) -> Result<(), Error> {
    if code > 10 || code == 7 {
        return Err(Error::invalid(
            "reason_code",
            format!("{code} is not an RFC 5280 CRLReason (0-10, except 7)"),
        ));
    }
    Ok(())
}

pub(crate) fn validity(not_before: OffsetDateTime, not_after: OffsetDateTime) -> Result<(), Error> {
    if not_after < not_before {
        return Err(Error::invalid("not_after", "is before not_before"));
    }
    Ok(())
}

/// The lowercased names a certificate is found by: its common name(s) and its SANs.
pub(crate) fn index_names(subject: &str, sans: &[String]) -> BTreeSet<String> {
    common_names(subject)
        .into_iter()
        .chain(sans.iter().cloned())
        .map(|name| normalize_name(&name))
        .filter(|name| !name.is_empty())
        .collect()
}

/// How names are compared: trimmed and lowercased.
pub(crate) fn normalize_name(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The common name(s) in `subject`.
///
/// A subject without `=` is taken to be a bare common name. Otherwise it is read as an
/// RFC 4514-style distinguished name (`CN=a, O=b`, any order, `+` for multi-valued RDNs,
/// backslash escapes, either `CN`, `commonName` or `2.5.4.3` as the attribute type).
fn common_names(subject: &str) -> Vec<String> {
    if !subject.contains('=') {
        return vec![subject.to_owned()];
    }
    split_unescaped(subject, &[',', ';', '+'])
        .into_iter()
        .filter_map(|attribute| {
            let (kind, value) = attribute.split_once('=')?;
            let kind = kind.trim();
            let is_cn = kind.eq_ignore_ascii_case("cn")
                || kind.eq_ignore_ascii_case("commonname")
                || kind == "2.5.4.3";
            is_cn.then(|| unescape(value.trim()))
        })
        .collect()
}

/// Split on any of `separators` not preceded by a backslash (escapes are kept).
fn split_unescaped(s: &str, separators: &[char]) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut escaped = false;
    for c in s.chars() {
        if escaped {
            current.push(c);
            escaped = false;
        } else if c == '\\' {
            current.push(c);
            escaped = true;
        } else if separators.contains(&c) {
            parts.push(std::mem::take(&mut current));
        } else {
            current.push(c);
        }
    }
    parts.push(current);
    parts
}

/// Undo RFC 4514 escaping: `\,` → `,`, `\2C` → `,`; strips surrounding double quotes.
fn unescape(value: &str) -> String {
    let value = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let mut bytes = Vec::with_capacity(value.len());
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some(next) = chars.next() else { break };
        let hex_pair = next.to_digit(16).and_then(|hi| {
            chars
                .peek()
                .and_then(|lo| lo.to_digit(16))
                .map(|lo| hi * 16 + lo)
        });
        match hex_pair.and_then(|v| u8::try_from(v).ok()) {
            Some(byte) => {
                chars.next();
                bytes.push(byte);
            }
            None => {
                let mut buf = [0u8; 4];
                bytes.extend_from_slice(next.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials() {
        for ok in ["0", "00ff", "0123456789abcdef", &"a".repeat(MAX_SERIAL_HEX)] {
            assert!(serial(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "ABCD",
            "0x12",
            "12 34",
            "12:34",
            "g1",
            &"a".repeat(65),
            "é",
        ] {
            let err = serial(bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    Error::Invalid {
                        field: "serial",
                        ..
                    }
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn reason_codes() {
        for ok in [0, 1, 2, 3, 4, 5, 6, 8, 9, 10] {
            assert!(reason_code(ok).is_ok(), "{ok}");
        }
        for bad in [7, 11, 255] {
            assert!(reason_code(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names_from_subject_and_sans() {
        let sans = vec![
            "WWW.Example.com".to_owned(),
            "10.0.0.1".to_owned(),
            String::new(),
        ];
        let names: Vec<_> = index_names("CN=Example.COM, O=Acme\\, Inc.", &sans)
            .into_iter()
            .collect();
        assert_eq!(names, ["10.0.0.1", "example.com", "www.example.com"]);

        let names: Vec<_> = index_names("host.internal", &[]).into_iter().collect();
        assert_eq!(names, ["host.internal"]);
        let names: Vec<_> = index_names("O=Acme", &[]).into_iter().collect();
        assert!(names.is_empty());
        let names: Vec<_> = index_names("", &["a.test".to_owned()])
            .into_iter()
            .collect();
        assert_eq!(names, ["a.test"]);
        let names: Vec<_> = index_names("commonName=a+2.5.4.3=\"b\\2Cc\";cn=d", &[])
            .into_iter()
            .collect();
        assert_eq!(names, ["a", "b,c", "d"]);
    }
}
