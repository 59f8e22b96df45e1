//! `vouch serve`: run the online CA until SIGTERM or ctrl-c; SIGHUP reloads the configuration.

use anyhow::{Context, Result};
use tokio::net::TcpListener;
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::{LogFormat, ServeArgs};
use crate::files;
use crate::home::{layout, vouch_home};
use crate::server::{self, Authority, ServerOptions};

/// Normalise `:443` to `0.0.0.0:443` (step-ca's address form).
fn bind_address(address: &str) -> String {
    if address.starts_with(':') {
        format!("0.0.0.0{address}")
    } else {
        address.to_owned()
    }
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("VOUCH_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

pub(super) fn run(args: &ServeArgs) -> Result<()> {
    let home = vouch_home()?;
    // Fail early, before asking for a password, when there is no PKI.
    let authority = Authority::load(&home).with_context(|| {
        format!(
            "no usable PKI in {} (run vouch init first, or set VOUCH_HOME)",
            home.display()
        )
    })?;
    let password = files::password(
        args.password_file.as_deref(),
        &format!(
            "the intermediate key {}",
            home.join(layout::INTERMEDIATE_KEY).display()
        ),
        "--password-file (or VOUCH_PASSWORD_FILE)",
        false,
    )?;
    init_logging(args.log_format);
    let address = bind_address(args.address.as_deref().unwrap_or(&authority.config.address));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let acme = acme_options(args, authority.config.acme.clone().unwrap_or_default())?;
    rt.block_on(async move {
        let listener = TcpListener::bind(&address)
            .await
            .with_context(|| format!("cannot listen on {address}"))?;
        let metrics = match &args.metrics_address {
            Some(a) => {
                let a = bind_address(a);
                Some(TcpListener::bind(&a).await.with_context(|| format!("cannot listen on {a}"))?)
            }
            None => None,
        };
        let insecure = match args.insecure_address.as_deref().or(authority.config.insecure_address.as_deref()) {
            Some(a) => {
                let a = bind_address(a);
                Some(TcpListener::bind(&a).await.with_context(|| format!("cannot listen on {a}"))?)
            }
            None => None,
        };
        let server = server::start(listener, ServerOptions { home, password, metrics, insecure, acme }).await?;
        eprintln!("Vouch is serving on https://{}", server.local_addr);
        let mut term = signal(SignalKind::terminate()).context("SIGTERM handler")?;
        let mut hup = signal(SignalKind::hangup()).context("SIGHUP handler")?;
        loop {
            tokio::select! {
                _ = term.recv() => break,
                _ = tokio::signal::ctrl_c() => break,
                _ = hup.recv() => match server.reload() {
                    Ok(()) => tracing::info!("configuration reloaded"),
                    Err(e) => tracing::error!(error = %e, "reload failed; the previous configuration stays in force"),
                },
            }
        }
        tracing::info!("shutting down");
        server.shutdown().await
    })
}

/// ACME validation settings: ca.toml's `[acme]`, overridden by the `--acme-*` flags (and
/// `--acme-resolve` entries added after the file's, so a flag wins for the same name).
fn acme_options(
    args: &ServeArgs,
    file: vouch_model::AcmeValidationConfig,
) -> anyhow::Result<server::acme_validate::ValidationOptions> {
    let defaults = server::acme_validate::ValidationOptions::default();
    let mut resolve = file
        .resolve_entries()
        .map_err(|e| anyhow::anyhow!("ca.toml: {e}"))?;
    for (name, ip) in &args.acme_resolve {
        resolve.retain(|(n, _)| n != name);
        resolve.push((name.clone(), *ip));
    }
    Ok(server::acme_validate::ValidationOptions {
        http_port: args
            .acme_http_port
            .or(file.http_port)
            .unwrap_or(defaults.http_port),
        tls_port: args
            .acme_tls_port
            .or(file.tls_port)
            .unwrap_or(defaults.tls_port),
        resolver: match args.acme_resolver {
            Some(a) => Some(a),
            None => file
                .resolver_addr()
                .map_err(|e| anyhow::anyhow!("ca.toml: {e}"))?,
        },
        resolve,
        ..defaults
    })
}
