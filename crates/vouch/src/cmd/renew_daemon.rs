//! `vouch ca renew --daemon`: keep a certificate fresh for a service.
//!
//! The daemon renews at two thirds of the certificate's lifetime, minus a random jitter of up
//! to 5% of the lifetime (so a fleet started together does not renew together), writes the
//! new chain atomically, then runs `--exec` and/or signals `--pid`. A failed renewal is
//! retried with exponential backoff (1 s doubling to 5 minutes) while the certificate is still
//! valid. SIGHUP renews at once; SIGTERM and ctrl-c stop it.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use aws_lc_rs::rand::SecureRandom;
use time::OffsetDateTime;
use tokio::signal::unix::{SignalKind, signal};

use super::ca_client::{not_after, renew_once, target};
use crate::cli::CaTarget;

/// Daemon settings.
#[derive(Debug)]
pub(super) struct Options {
    pub crt: PathBuf,
    pub key: PathBuf,
    pub password_file: Option<PathBuf>,
    pub exec: Option<String>,
    pub pid: Option<u32>,
    pub signal: String,
    pub target: CaTarget,
}

const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// When to renew a certificate valid from `nb` to `na`: at 2/3 of its lifetime minus up to 5%.
fn renew_at(nb: OffsetDateTime, na: OffsetDateTime) -> OffsetDateTime {
    let lifetime = na - nb;
    let mut b = [0u8; 2];
    let _ = aws_lc_rs::rand::SystemRandom::new().fill(&mut b);
    let fraction = f64::from(u16::from_be_bytes(b)) / f64::from(u16::MAX);
    nb + lifetime * 2 / 3 - lifetime * (0.05 * fraction)
}

fn validity(crt: &std::path::Path) -> Result<(OffsetDateTime, OffsetDateTime)> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let chain = super::read_certificates(crt)?;
    let (_, c) =
        X509Certificate::from_der(&chain[0]).map_err(|e| anyhow!("{}: {e}", crt.display()))?;
    Ok((c.validity().not_before.to_datetime(), not_after(&chain[0])?))
}

/// Run the post-renewal actions; their failures are reported, not fatal.
fn after_renewal(opts: &Options) {
    if let Some(cmd) = &opts.exec {
        match std::process::Command::new("sh").args(["-c", cmd]).status() {
            Ok(s) if s.success() => {}
            Ok(s) => eprintln!("vouch: --exec '{cmd}' exited with {s}"),
            Err(e) => eprintln!("vouch: --exec '{cmd}' could not run: {e}"),
        }
    }
    if let Some(pid) = opts.pid {
        let sig = format!("-{}", opts.signal.trim_start_matches("SIG"));
        match std::process::Command::new("kill")
            .args([sig.as_str(), &pid.to_string()])
            .status()
        {
            Ok(s) if s.success() => {}
            Ok(_) | Err(_) => eprintln!(
                "vouch: could not send SIG{} to process {pid}",
                opts.signal.trim_start_matches("SIG")
            ),
        }
    }
}

pub(super) fn run(opts: &Options) -> Result<()> {
    let target = target(&opts.target)?;
    // Fail at once on a certificate or key that cannot be used, before going to the background.
    validity(&opts.crt)?;
    super::load_private_key(&opts.key, opts.password_file.as_deref(), "--password-file")?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
        let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
        let mut backoff = Duration::from_secs(1);
        let mut next = {
            let (nb, na) = validity(&opts.crt)?;
            renew_at(nb, na)
        };
        eprintln!("vouch: renewing {} at {next}", opts.crt.display());
        loop {
            let wait = (next - OffsetDateTime::now_utc()).max(time::Duration::ZERO);
            let wait = Duration::from_millis(u64::try_from(wait.whole_milliseconds()).unwrap_or(0));
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = hup.recv() => eprintln!("vouch: SIGHUP, renewing now"),
                _ = term.recv() => return Ok(()),
                _ = tokio::signal::ctrl_c() => return Ok(()),
            }
            match renew_once(&target, &opts.crt, &opts.key, opts.password_file.as_deref()).await {
                Ok(()) => {
                    backoff = Duration::from_secs(1);
                    let (nb, na) = validity(&opts.crt)?;
                    next = renew_at(nb, na);
                    eprintln!(
                        "vouch: renewed {}; next renewal at {next}",
                        opts.crt.display()
                    );
                    after_renewal(opts);
                }
                Err(e) => {
                    eprintln!(
                        "vouch: renewal failed ({e:#}); retrying in {}s",
                        backoff.as_secs()
                    );
                    next = OffsetDateTime::now_utc() + backoff;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renews_between_62_and_67_percent_of_the_lifetime() {
        let nb = time::macros::datetime!(2030-01-01 00:00 UTC);
        let na = nb + time::Duration::hours(24);
        for _ in 0..100 {
            let at = renew_at(nb, na);
            assert!(at <= nb + time::Duration::hours(16), "{at}");
            assert!(
                at >= nb + time::Duration::hours(16) - time::Duration::minutes(73),
                "{at}"
            );
        }
    }
}
