//! Command implementations, one module per command group, plus the loaders they share.

mod bench;
mod bench_conn;
mod ca;
mod ca_admin;
mod ca_client;
mod cert;
mod init;
mod key;
mod ocsp_serve;
mod renew_daemon;
mod serve;

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use vouch_issuing::{CaCertificate, PrivateKey};
use zeroize::Zeroizing;

use crate::cli::{CaCommand, Cli, Command};
use crate::files;

/// Run one command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Init(args) => init::run(&args),
        Command::Ocsp(crate::cli::OcspCommand::Serve(args)) => ocsp_serve::run(&args),
        Command::Cert(c) => cert::run(c),
        Command::Key(c) => key::run(c),
        Command::Ca(CaCommand::InstallIntermediate { signed_crt, force }) => {
            ca::install_intermediate(&signed_crt, force)
        }
        Command::Ca(CaCommand::Bootstrap {
            ca_url,
            fingerprint,
            install,
            force,
        }) => ca_client::bootstrap(&ca_url, &fingerprint, install, force),
        Command::Ca(CaCommand::Token {
            subject,
            sans,
            provisioner,
            password_file,
            revoke,
            target,
        }) => ca_client::token(
            &subject,
            &sans,
            provisioner.as_deref(),
            password_file.as_deref(),
            revoke,
            &target,
        ),
        Command::Ca(CaCommand::Certificate(args)) => ca_client::certificate(&args),
        Command::Ca(CaCommand::Roots { target }) => ca_client::roots(&target),
        Command::Ca(CaCommand::Renew {
            crt_file,
            key_file,
            password_file,
            daemon: true,
            exec,
            pid,
            signal,
            target,
            ..
        }) => renew_daemon::run(&renew_daemon::Options {
            crt: crt_file,
            key: key_file,
            password_file,
            exec,
            pid,
            signal,
            target,
        }),
        Command::Ca(CaCommand::Renew {
            crt_file,
            key_file,
            password_file,
            expires_in,
            target,
            ..
        }) => ca_client::renew(
            &crt_file,
            &key_file,
            password_file.as_deref(),
            expires_in.as_deref(),
            &target,
        ),
        Command::Ca(CaCommand::Rekey {
            crt_file,
            key_file,
            password_file,
            key,
            target,
        }) => ca_client::rekey(
            &crt_file,
            &key_file,
            password_file.as_deref(),
            &key,
            &target,
        ),
        Command::Ca(CaCommand::Revoke(args)) => ca_client::revoke(&args),
        Command::Ca(CaCommand::CheckConfig) => ca_admin::check_config(),
        Command::Ca(CaCommand::Provisioner(p)) => ca_admin::provisioner(p),
        Command::Ca(CaCommand::Acme(crate::cli::AcmeCommand::Eab(e))) => ca_admin::eab(e),
        Command::Ca(CaCommand::Health { target }) => ca_client::health(&target),
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
