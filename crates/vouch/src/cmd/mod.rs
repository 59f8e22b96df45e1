//! Command implementations, one module per command group, plus the loaders they share.

mod ca;
mod cert;
mod init;
mod key;

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use vouch_issuing::{CaCertificate, PrivateKey};
use zeroize::Zeroizing;

use crate::cli::{CaCommand, Cli, Command};
use crate::files;

/// Run one command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Init(args) => init::run(&args),
        Command::Cert(c) => cert::run(c),
        Command::Key(c) => key::run(c),
        Command::Ca(CaCommand::InstallIntermediate { signed_crt, force }) => {
            ca::install_intermediate(&signed_crt, force)
        }
    }
}

/// Load a private key, asking for its password only when it is encrypted.
pub(crate) fn load_private_key(
    path: &Path,
    password_file: Option<&Path>,
    flag: &str,
) -> Result<PrivateKey> {
    let data = Zeroizing::new(files::read(path)?);
    let password = if PrivateKey::is_encrypted(&data) {
        Some(files::password(
            password_file,
            &format!("the key {}", path.display()),
            flag,
            false,
        )?)
    } else {
        None
    };
    PrivateKey::from_bytes(&data, password.as_ref().map(|p| p.as_bytes()))
        .map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Load the first certificate of a file as an issuer.
pub(crate) fn load_ca(path: &Path) -> Result<CaCertificate> {
    let data = files::read(path)?;
    CaCertificate::from_bytes(&data).map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// Every certificate in a PEM bundle, or the one DER certificate.
pub(crate) fn read_certificates(path: &Path) -> Result<Vec<Vec<u8>>> {
    let data = files::read(path)?;
    let certs = match std::str::from_utf8(&data)
        .ok()
        .filter(|t| t.contains("-----BEGIN "))
    {
        Some(text) => pem::parse_many(text)
            .with_context(|| format!("{}: bad PEM", path.display()))?
            .into_iter()
            .filter(|p| p.tag() == "CERTIFICATE")
            .map(pem::Pem::into_contents)
            .collect(),
        None => vec![data],
    };
    for der in &certs {
        CaCertificate::from_der(der.clone()).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    }
    if certs.is_empty() {
        return Err(anyhow!("{}: no CERTIFICATE in the file", path.display()));
    }
    Ok(certs)
}

/// Lowercase hex SHA-256.
pub(crate) fn sha256_hex(data: &[u8]) -> String {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, data)
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
