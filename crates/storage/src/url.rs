//! Database URLs: which backend, what to hand to sqlx, and how to talk about the URL safely.
//!
//! A URL can carry a password (`postgres://user:secret@host/db` or `?password=secret`). The
//! password is kept only inside [`DbUrl`] so that [`DbUrl::redact`] can scrub it from any text
//! that leaves the crate (error messages, `Debug` output); nothing else stores the raw URL.

use std::fmt;

use crate::Error;

/// The database engine behind a [`Store`](crate::Store), chosen by the URL scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// An embedded SQLite file (`sqlite://PATH`), the default for a single node.
    Sqlite,
    /// A PostgreSQL server (`postgres://…`), shared by several nodes.
    Postgres,
}

impl Backend {
    /// A short lowercase name: `sqlite` or `postgres`.
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What redaction puts in place of a secret.
const REDACTED: &str = "***";

/// A parsed database URL.
pub(crate) struct DbUrl {
    pub(crate) backend: Backend,
    /// The URL handed to sqlx (for SQLite with `mode=rwc` added so the file is created).
    pub(crate) connect: String,
    /// The URL with any password replaced by `***`; safe to print.
    pub(crate) display: String,
    /// Every spelling of the password that might show up in text (raw and percent-decoded).
    secrets: Vec<String>,
}

impl fmt::Debug for DbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DbUrl")
            .field("backend", &self.backend)
            .field("url", &self.display)
            .finish()
    }
}

impl DbUrl {
    pub(crate) fn parse(url: &str) -> Result<DbUrl, Error> {
        let url = url.trim();
        let Some((scheme, _)) = url.split_once(':') else {
            return Err(bad_url("expected `sqlite://PATH` or `postgres://…`"));
        };
        match scheme.to_ascii_lowercase().as_str() {
            "sqlite" => Self::parse_sqlite(url),
            "postgres" | "postgresql" => Self::parse_postgres(url),
            _ => Err(bad_url(
                "unsupported scheme: expected `sqlite://PATH` or `postgres://…`",
            )),
        }
    }

    fn parse_sqlite(url: &str) -> Result<DbUrl, Error> {
        let rest = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .unwrap_or_default();
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        if path.is_empty() {
            return Err(bad_url("SQLite URL has no file path (`sqlite://PATH`)"));
        }
        let in_memory = path == ":memory:"
            || query
                .into_iter()
                .flat_map(|q| q.split('&'))
                .any(|pair| pair == "mode=memory");
        if in_memory {
            // Each pooled connection would get its own empty database.
            return Err(bad_url(
                "in-memory SQLite is not supported; use a file (`sqlite://PATH`)",
            ));
        }
        let has_mode = query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .any(|pair| pair.starts_with("mode="));
        let connect = match (query, has_mode) {
            (_, true) => url.to_owned(),
            (Some(_), false) => format!("{url}&mode=rwc"),
            (None, false) => format!("{url}?mode=rwc"),
        };
        Ok(DbUrl {
            backend: Backend::Sqlite,
            connect,
            display: url.to_owned(),
            secrets: Vec::new(),
        })
    }

    fn parse_postgres(url: &str) -> Result<DbUrl, Error> {
        let Some((scheme, rest)) = url.split_once("://") else {
            return Err(bad_url(
                "expected `postgres://[USER[:PASSWORD]@]HOST[:PORT]/DB`",
            ));
        };
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        let mut secrets = Vec::new();
        let mut display = format!("{scheme}://");
        match authority.rsplit_once('@') {
            Some((userinfo, host)) => {
                match userinfo.split_once(':') {
                    Some((user, password)) => {
                        secrets.push(password.to_owned());
                        display.push_str(user);
                        display.push(':');
                        display.push_str(REDACTED);
                    }
                    None => display.push_str(userinfo),
                }
                display.push('@');
                display.push_str(host);
            }
            None => display.push_str(authority),
        }
        // libpq-style `?password=…` in the query string.
        let (path, query) = match tail.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (tail, None),
        };
        display.push_str(path);
        if let Some(query) = query {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((key, value)) if key.eq_ignore_ascii_case("password") => {
                        secrets.push(value.to_owned());
                        format!("{key}={REDACTED}")
                    }
                    _ => pair.to_owned(),
                })
                .collect();
            display.push('?');
            display.push_str(&pairs.join("&"));
        }
        let decoded: Vec<String> = secrets.iter().map(|s| percent_decode(s)).collect();
        secrets.extend(decoded);
        secrets.retain(|s| !s.is_empty());
        // Longest first, so a secret that contains another is replaced whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
        secrets.dedup();
        Ok(DbUrl {
            backend: Backend::Postgres,
            connect: url.to_owned(),
            display,
            secrets,
        })
    }

    /// `text` with every occurrence of the password replaced by `***`.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), REDACTED);
            }
        }
        out
    }
}

fn bad_url(reason: &str) -> Error {
    Error::BadUrl {
        reason: reason.to_owned(),
    }
}

/// Decode `%XX` escapes (lossy on invalid UTF-8; used only to find a secret's other spelling).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let byte = bytes[i];
        if byte == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .filter(|h| h.iter().all(u8::is_ascii_hexdigit))
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(value) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(value);
                i += 3;
                continue;
            }
        }
        out.push(byte);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode() {
        let url = DbUrl::parse("sqlite:///var/lib/vouch/db.sqlite").unwrap();
        assert_eq!(url.backend, Backend::Sqlite);
        assert_eq!(url.connect, "sqlite:///var/lib/vouch/db.sqlite?mode=rwc");
        let url = DbUrl::parse("sqlite://rel.db?cache=private").unwrap();
        assert_eq!(url.connect, "sqlite://rel.db?cache=private&mode=rwc");
        let url = DbUrl::parse("sqlite://ro.db?mode=ro").unwrap();
        assert_eq!(url.connect, "sqlite://ro.db?mode=ro");
        let url = DbUrl::parse("sqlite:plain.db").unwrap();
        assert_eq!(url.connect, "sqlite:plain.db?mode=rwc");
    }

    #[test]
    fn rejected_urls() {
        for bad in [
            "",
            "nonsense",
            "mysql://u:p@h/db",
            "sqlite://",
            "sqlite::memory:",
            "sqlite://x.db?mode=memory",
            "postgres:nohost",
        ] {
            let err = DbUrl::parse(bad).unwrap_err();
            assert!(matches!(err, Error::BadUrl { .. }), "{bad}: {err:?}");
            assert_eq!(err.kind(), vouch_model::ErrorKind::Malformed);
        }
    }

    #[test]
    fn postgres_password_is_redacted() {
        let url = DbUrl::parse("postgres://vouch:s3cr%40t@db.example:5432/vouch?sslmode=disable")
            .unwrap();
        assert_eq!(url.backend, Backend::Postgres);
        assert_eq!(
            url.display,
            "postgres://vouch:***@db.example:5432/vouch?sslmode=disable"
        );
        assert_eq!(
            url.redact("auth failed for s3cr@t and s3cr%40t"),
            "auth failed for *** and ***"
        );
        assert!(!format!("{url:?}").contains("s3cr"));

        let url = DbUrl::parse("postgresql://h/db?user=u&password=hunter2").unwrap();
        assert_eq!(url.display, "postgresql://h/db?user=u&password=***");
        assert_eq!(url.redact("x hunter2 y"), "x *** y");

        let url = DbUrl::parse("postgres://u@h/db").unwrap();
        assert_eq!(url.display, "postgres://u@h/db");
        assert_eq!(url.redact("unchanged"), "unchanged");
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%40b%2"), "a@b%2");
        assert_eq!(percent_decode("%zz%41"), "%zzA");
        assert_eq!(percent_decode("plain"), "plain");
    }
}
