//! `$VOUCH_HOME` (default `~/.vouch`) and the layout of a PKI inside it.

use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

/// The PKI directory.
pub fn vouch_home() -> Result<PathBuf> {
    if let Some(h) = std::env::var_os("VOUCH_HOME").filter(|h| !h.is_empty()) {
        return Ok(PathBuf::from(h));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(home) => Ok(Path::new(&home).join(".vouch")),
        None => bail!("neither VOUCH_HOME nor HOME is set"),
    }
}

/// Paths inside a PKI directory, relative to it (as written into the configuration).
pub mod layout {
    /// Root certificate.
    pub const ROOT_CRT: &str = "certs/root_ca.crt";
    /// Intermediate certificate.
    pub const INTERMEDIATE_CRT: &str = "certs/intermediate_ca.crt";
    /// Intermediate CSR (external-root flow).
    pub const INTERMEDIATE_CSR: &str = "certs/intermediate_ca.csr";
    /// Root key (only when Vouch created the root).
    pub const ROOT_KEY: &str = "secrets/root_ca_key";
    /// Intermediate key.
    pub const INTERMEDIATE_KEY: &str = "secrets/intermediate_ca_key";
    /// Server configuration.
    pub const CA_CONFIG: &str = "config/ca.toml";
    /// Client defaults.
    pub const DEFAULTS: &str = "config/defaults.toml";
    /// Database directory.
    pub const DB_DIR: &str = "db";
    /// Default SQLite database URL, relative to the PKI directory.
    pub const DB_URL: &str = "sqlite://db/vouch.db";
}

/// Resolve a `sqlite://relative/path` URL against the PKI directory; other URLs unchanged.
pub fn resolve_db_url(home: &Path, url: &str) -> String {
    match url.strip_prefix("sqlite://") {
        Some(path) if !path.starts_with('/') => format!("sqlite://{}", home.join(path).display()),
        _ => url.to_owned(),
    }
}
