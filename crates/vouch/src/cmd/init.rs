//! `vouch init`: a new PKI in `$VOUCH_HOME`.
//!
//! Everything is built in a temporary directory beside `$VOUCH_HOME` and renamed into place
//! at the end, so a failure at any step leaves nothing behind, and an existing PKI is only
//! replaced (with `--force`) once the new one is complete.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use time::OffsetDateTime;
use vouch_issuing::{
    CaCertificate, CertificateSpec, Dn, KeyType, PrivateKey, San, Signer, Subject,
    check_ca_key_pair, create_csr, issue_certificate,
};
use vouch_model::{
    Authority, CaConfig, Claims, DbConfig, DefaultsConfig, JwkProvisioner, Profile, Provisioner,
};
use vouch_registration::ProvisionerKey;
use zeroize::Zeroizing;

use super::cert::{BACKDATE, CA_LIFETIME};
use super::{load_ca, load_private_key, sha256_hex};
use crate::cli::{InitArgs, InitKeyType};
use crate::files::{self, Output, PUBLIC_MODE, SECRET_MODE};
use crate::home::{layout, resolve_db_url, vouch_home};

enum RootSource {
    Generate,
    Import {
        cert: CaCertificate,
        key: PrivateKey,
    },
    External {
        cert: CaCertificate,
    },
}

/// Removes the temporary directory unless disarmed.
struct TempDir(Option<PathBuf>);

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_dir_all(p);
        }
    }
}

fn key_type(k: InitKeyType) -> KeyType {
    match k {
        InitKeyType::EcP256 => KeyType::EcP256,
        InitKeyType::EcP384 => KeyType::EcP384,
        InitKeyType::Ed25519 => KeyType::Ed25519,
        InitKeyType::Rsa2048 => KeyType::Rsa(2048),
        InitKeyType::Rsa3072 => KeyType::Rsa(3072),
        InitKeyType::Rsa4096 => KeyType::Rsa(4096),
    }
}

fn check_address(address: &str) -> Result<u16> {
    let Some((_, port)) = address.rsplit_once(':') else {
        bail!(
            "--address '{address}' has no port (expected host:port, e.g. 127.0.0.1:9443 or :443)"
        );
    };
    port.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| anyhow!("--address '{address}': '{port}' is not a port number"))
}

pub(super) fn run(args: &InitArgs) -> Result<()> {
    let home = vouch_home()?;
    if home.exists() && !args.force {
        bail!(
            "{}: a PKI already exists here (use --force to replace it, or set VOUCH_HOME)",
            home.display()
        );
    }
    let name = files::value_or_prompt(
        args.name.clone(),
        "Name of the new PKI (e.g. Acme)",
        "--name",
    )?;
    let dns: Vec<String> = if args.dns.is_empty() {
        files::value_or_prompt(None, "DNS names or IPs of the CA, comma-separated", "--dns")?
            .split(',')
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect()
    } else {
        args.dns.clone()
    };
    if dns.is_empty() {
        bail!("--dns needs at least one DNS name or IP address");
    }
    for d in &dns {
        match d.parse::<San>() {
            Ok(San::Dns(_) | San::Ip(_)) => {}
            _ => bail!("--dns '{d}' is not a DNS name or IP address"),
        }
    }
    let address = files::value_or_prompt(
        args.address.clone(),
        "Address to listen on (e.g. 127.0.0.1:9443)",
        "--address",
    )?;
    let port = check_address(&address)?;
    let provisioner = files::value_or_prompt(
        args.provisioner.clone(),
        "Name of the first provisioner (e.g. admin@acme.test)",
        "--provisioner",
    )?;
    if provisioner.trim().is_empty() {
        bail!("--provisioner cannot be empty");
    }

    let source = if let (Some(root), Some(key)) = (&args.root, &args.key) {
        let cert = load_ca(root)?;
        let key_pk = load_private_key(
            key,
            args.root_password_file.as_deref(),
            "--root-password-file",
        )?;
        check_ca_key_pair(&cert, &key_pk)
            .map_err(|e| anyhow!("{}: {e} {}", key.display(), root.display()))?;
        cert.check_can_issue(OffsetDateTime::now_utc(), true)
            .map_err(|e| anyhow!("{}: {e}", root.display()))?;
        RootSource::Import { cert, key: key_pk }
    } else if let Some(root) = &args.external_root {
        let cert = load_ca(root)?;
        cert.check_can_issue(OffsetDateTime::now_utc(), true)
            .map_err(|e| anyhow!("{}: {e}", root.display()))?;
        RootSource::External { cert }
    } else {
        RootSource::Generate
    };

    let ca_password = files::password(
        args.password_file.as_deref(),
        "the CA keys",
        "--password-file",
        true,
    )?;
    let prov_password: Zeroizing<String> = match &args.provisioner_password_file {
        Some(f) => files::password(
            Some(f),
            "the provisioner key",
            "--provisioner-password-file",
            true,
        )?,
        None => ca_password.clone(),
    };

    let kt = key_type(args.key_type);
    let now = OffsetDateTime::now_utc();
    let not_before = now - BACKDATE;
    let not_after = now + CA_LIFETIME;
    let spec = |cn: String, profile| -> Result<CertificateSpec> {
        Ok(CertificateSpec {
            subject: Dn::try_from(&Subject::common_name(cn))?,
            sans: vec![],
            profile,
            not_before,
            not_after,
            extensions: vec![],
        })
    };

    // Keys and certificates, all in memory first.
    let mut outputs: Vec<(&str, Vec<u8>, u32)> = Vec::new();
    let intermediate_key = PrivateKey::generate(kt)?;
    let root_der: Vec<u8>;
    let mut intermediate_pem: Option<String> = None;
    match &source {
        RootSource::Generate => {
            let root_key = PrivateKey::generate(kt)?;
            let root = issue_certificate(
                &spec(format!("{name} Root CA"), Profile::RootCa)?,
                &root_key.public_key_der(),
                None,
                &root_key,
                now,
            )?;
            let root_ca = CaCertificate::from_der(root.der.clone())?;
            let int = issue_certificate(
                &spec(format!("{name} Intermediate CA"), Profile::IntermediateCa)?,
                &intermediate_key.public_key_der(),
                Some(&root_ca),
                &root_key,
                now,
            )?;
            outputs.push((
                layout::ROOT_KEY,
                root_key
                    .to_pem(Some(ca_password.as_bytes()))?
                    .as_bytes()
                    .to_vec(),
                SECRET_MODE,
            ));
            intermediate_pem = Some(int.pem());
            root_der = root.der;
        }
        RootSource::Import { cert, key } => {
            let int = issue_certificate(
                &spec(format!("{name} Intermediate CA"), Profile::IntermediateCa)?,
                &intermediate_key.public_key_der(),
                Some(cert),
                key,
                now,
            )?;
            intermediate_pem = Some(int.pem());
            root_der = cert.der().to_vec();
        }
        RootSource::External { cert } => {
            let dn = Dn::try_from(&Subject::common_name(format!("{name} Intermediate CA")))?;
            let csr = create_csr(&dn, &[], &intermediate_key)?;
            outputs.push((
                layout::INTERMEDIATE_CSR,
                vouch_issuing::to_pem("CERTIFICATE REQUEST", &csr).into_bytes(),
                PUBLIC_MODE,
            ));
            root_der = cert.der().to_vec();
        }
    }
    if let Some(pem) = &intermediate_pem {
        outputs.push((
            layout::INTERMEDIATE_CRT,
            pem.clone().into_bytes(),
            PUBLIC_MODE,
        ));
    }
    outputs.push((
        layout::ROOT_CRT,
        vouch_issuing::to_pem("CERTIFICATE", &root_der).into_bytes(),
        PUBLIC_MODE,
    ));
    outputs.push((
        layout::INTERMEDIATE_KEY,
        intermediate_key
            .to_pem(Some(ca_password.as_bytes()))?
            .as_bytes()
            .to_vec(),
        SECRET_MODE,
    ));

    let prov_key = ProvisionerKey::generate().map_err(|e| anyhow!("provisioner key: {e}"))?;
    let encrypted_key = prov_key
        .encrypt(prov_password.as_bytes())
        .map_err(|e| anyhow!("provisioner key: {e}"))?;
    let config = CaConfig {
        root: layout::ROOT_CRT.into(),
        crt: layout::INTERMEDIATE_CRT.into(),
        key: layout::INTERMEDIATE_KEY.into(),
        address: address.clone(),
        dns_names: dns.clone(),
        db: DbConfig {
            url: layout::DB_URL.into(),
        },
        insecure_address: None,
        crl: None,
        ocsp: None,
        acme: None,
        authority: Authority {
            claims: Claims::defaults(),
            policy: None,
            backdate: None,
            disable_issued_at_check: false,
            provisioners: std::iter::once(Provisioner::Jwk(JwkProvisioner {
                name: provisioner.clone(),
                key: prov_key.public_jwk().clone(),
                encrypted_key: Some(encrypted_key),
                claims: None,
                policy: None,
                options: None,
            }))
            .chain(args.acme.then(|| {
                Provisioner::Acme(vouch_model::AcmeProvisioner {
                    name: "acme".into(),
                    ..vouch_model::AcmeProvisioner::default()
                })
            }))
            .collect(),
        },
    };
    let problems = config.validate();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        bail!("invalid configuration: {}", list.join("; "));
    }
    let fingerprint = sha256_hex(&root_der);
    let host = dns[0]
        .parse::<std::net::Ipv6Addr>()
        .map_or_else(|_| dns[0].clone(), |_| format!("[{}]", dns[0]));
    let defaults = DefaultsConfig {
        ca_url: format!("https://{host}:{port}"),
        ca_config: home.join(layout::CA_CONFIG).display().to_string(),
        fingerprint: fingerprint.clone(),
        root: home.join(layout::ROOT_CRT).display().to_string(),
    };
    let ca_toml = format!(
        "# Vouch CA configuration, written by `vouch init`. Relative paths are relative to $VOUCH_HOME.\n{}",
        toml::to_string_pretty(&config)?
    );
    let defaults_toml = format!(
        "# Vouch client defaults, written by `vouch init`.\n{}",
        toml::to_string_pretty(&defaults)?
    );
    outputs.push((layout::CA_CONFIG, ca_toml.into_bytes(), PUBLIC_MODE));
    outputs.push((layout::DEFAULTS, defaults_toml.into_bytes(), PUBLIC_MODE));

    // Build the directory beside its destination, then move it into place.
    let parent = home
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).with_context(|| format!("{}: cannot create", parent.display()))?;
    let tmp = parent.join(format!(".vouch-init-{}", std::process::id()));
    let mut guard = TempDir(Some(tmp.clone()));
    for (dir, mode) in [
        ("", 0o755),
        ("certs", 0o755),
        ("secrets", 0o700),
        ("config", 0o755),
        (layout::DB_DIR, 0o700),
    ] {
        let d = tmp.join(dir);
        fs::create_dir_all(&d).with_context(|| format!("{}: cannot create", d.display()))?;
        fs::set_permissions(&d, fs::Permissions::from_mode(mode))
            .with_context(|| format!("{}: cannot set permissions", d.display()))?;
    }
    let paths: Vec<PathBuf> = outputs.iter().map(|(p, _, _)| tmp.join(p)).collect();
    let outs: Vec<Output<'_>> = outputs
        .iter()
        .zip(&paths)
        .map(|((_, data, mode), path)| Output {
            path,
            data,
            mode: *mode,
        })
        .collect();
    files::write_all_or_nothing(&outs, false)?;
    create_database(&resolve_db_url(&tmp, layout::DB_URL))?;
    install(&tmp, &home)?;
    guard.0 = None;

    print_summary(
        &home,
        &name,
        &fingerprint,
        &provisioner,
        prov_key.public_jwk().kid.as_deref(),
        &source,
    );
    Ok(())
}

fn create_database(url: &str) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async {
        let store = vouch_storage::Store::connect(url)
            .await
            .map_err(|e| anyhow!("database: {e}"))?;
        store.close().await;
        Ok(())
    })
}

/// Move the finished directory to `home`, replacing an old PKI only now that the new one is whole.
fn install(tmp: &Path, home: &Path) -> Result<()> {
    if !home.exists() {
        return fs::rename(tmp, home).with_context(|| format!("{}: cannot create", home.display()));
    }
    let old = home.with_file_name(format!(
        ".{}-replaced-{}",
        home.file_name()
            .map_or_else(|| "vouch".into(), |n| n.to_string_lossy().into_owned()),
        std::process::id()
    ));
    fs::rename(home, &old)
        .with_context(|| format!("{}: cannot move the old PKI aside", home.display()))?;
    if let Err(e) = fs::rename(tmp, home) {
        let _ = fs::rename(&old, home);
        return Err(e).with_context(|| format!("{}: cannot install the new PKI", home.display()));
    }
    fs::remove_dir_all(&old)
        .with_context(|| format!("{}: cannot remove the old PKI", old.display()))
}

fn print_summary(
    home: &Path,
    name: &str,
    fingerprint: &str,
    provisioner: &str,
    kid: Option<&str>,
    source: &RootSource,
) {
    let p = |rel: &str| home.join(rel).display().to_string();
    println!("Created the {name} PKI in {}", home.display());
    println!("  Root certificate:          {}", p(layout::ROOT_CRT));
    println!("  Root fingerprint (SHA-256): {fingerprint}");
    match source {
        RootSource::Generate => println!(
            "  Root key:                  {} (encrypted; move it offline)",
            p(layout::ROOT_KEY)
        ),
        RootSource::Import { .. } => {
            println!("  Root key:                  not kept (imported root)")
        }
        RootSource::External { .. } => {
            println!("  Root key:                  held by the outside CA")
        }
    }
    println!(
        "  Intermediate key:          {} (encrypted)",
        p(layout::INTERMEDIATE_KEY)
    );
    println!(
        "  Provisioner:               {provisioner} (JWK, kid {})",
        kid.unwrap_or("?")
    );
    println!("  Configuration:             {}", p(layout::CA_CONFIG));
    println!();
    println!("Next:");
    if let RootSource::External { .. } = source {
        println!(
            "  1. Have the outside CA sign {} as a CA certificate (see docs/own-root.md).",
            p(layout::INTERMEDIATE_CSR)
        );
        println!("  2. vouch ca install-intermediate SIGNED_CRT");
    } else {
        println!("  vouch cert inspect {}", p(layout::INTERMEDIATE_CRT));
        println!(
            "  vouch cert create svc.internal svc.crt svc.key --ca {} --ca-key {} --ca-password-file PASSWORD_FILE --no-password --insecure",
            p(layout::INTERMEDIATE_CRT),
            p(layout::INTERMEDIATE_KEY)
        );
        println!(
            "  vouch cert verify svc.crt --roots {} --intermediates {}",
            p(layout::ROOT_CRT),
            p(layout::INTERMEDIATE_CRT)
        );
    }
}
