//! Offline administration of a CA's configuration: `vouch ca check-config` and
//! `vouch ca provisioner list|add|remove`. Changes are written atomically to
//! `config/ca.toml`; a running server picks them up on SIGHUP.

use std::path::Path;

use anyhow::{Result, anyhow, bail};
use vouch_issuing::{CaCertificate, PrivateKey};
use vouch_model::{CaConfig, EffectiveClaims, Jwk, JwkProvisioner, NamePolicy, Provisioner};
use vouch_registration::{ProvisionerKey, thumbprint};

use crate::cli::ProvisionerCommand;
use crate::files::{self, Output, PUBLIC_MODE};
use crate::home::{layout, resolve_db_url, vouch_home};

fn load(home: &Path) -> Result<(CaConfig, String)> {
    let path = home.join(layout::CA_CONFIG);
    let text = files::read_text(&path)?;
    let config: CaConfig =
        toml::from_str(&text).map_err(|e| anyhow!("{}: {}", path.display(), e.message().trim()))?;
    Ok((config, text))
}

fn save(home: &Path, config: &CaConfig) -> Result<()> {
    let problems = config.validate();
    if !problems.is_empty() {
        let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
        bail!(
            "the change would make the configuration invalid: {}",
            list.join("; ")
        );
    }
    let text = format!(
        "# Vouch CA configuration. Relative paths are relative to $VOUCH_HOME.\n{}",
        toml::to_string_pretty(config)?
    );
    let path = home.join(layout::CA_CONFIG);
    files::write_all_or_nothing(
        &[Output {
            path: &path,
            data: text.as_bytes(),
            mode: PUBLIC_MODE,
        }],
        true,
    )
}

/// Every problem of the configuration and the files it names, then what applies per provisioner.
pub(super) fn check_config() -> Result<()> {
    let home = vouch_home()?;
    let (config, _) = load(&home)?;
    let mut problems: Vec<String> = config.validate().iter().map(ToString::to_string).collect();
    let mut check_file = |field: &str, rel: &str, f: &dyn Fn(&[u8]) -> Result<(), String>| {
        let p = home.join(rel);
        match std::fs::read(&p) {
            Ok(data) => {
                if let Err(e) = f(&data) {
                    problems.push(format!("{field}: {}: {e}", p.display()));
                }
            }
            Err(e) => problems.push(format!("{field}: {}: {e}", p.display())),
        }
    };
    check_file("root", &config.root, &|d| {
        CaCertificate::from_bytes(d)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    check_file("crt", &config.crt, &|d| {
        CaCertificate::from_bytes(d)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    check_file("key", &config.key, &|d| {
        if PrivateKey::is_encrypted(d) {
            Ok(())
        } else {
            Err("the key is not encrypted".into())
        }
    });
    // CaConfig::validate has reported any policy error; here the policy is only described.
    let policy_of = |p: &Option<vouch_model::Policy>| -> String {
        match p.as_ref().and_then(|p| p.x509.as_ref()) {
            None => "none".into(),
            Some(x) if NamePolicy::new(x).is_ok() => describe_policy(x),
            Some(_) => "invalid (see the problems below)".into(),
        }
    };
    println!(
        "CA: {} (names: {})",
        config.address,
        config.dns_names.join(", ")
    );
    println!(
        "Database: {}",
        resolve_db_url(&home, &config.db.url)
            .split('@')
            .next_back()
            .unwrap_or_default()
    );
    println!("Authority policy: {}", policy_of(&config.authority.policy));
    for p in &config.authority.provisioners {
        let c = EffectiveClaims::resolve(&config.authority.claims, p.claims());
        match p {
            Provisioner::Jwk(j) => println!(
                "Provisioner {} (JWK, kid {})",
                j.name,
                j.key.kid.as_deref().unwrap_or("?")
            ),
            Provisioner::Acme(a) => println!(
                "Provisioner {} (ACME, directory /acme/{}/directory{})",
                a.name,
                a.name,
                if a.require_eab {
                    ", external account binding required"
                } else {
                    ""
                }
            ),
        }
        println!(
            "  certificate lifetime: default {}, min {}, max {}",
            c.default_tls_cert_duration, c.min_tls_cert_duration, c.max_tls_cert_duration
        );
        println!(
            "  renewal: {}{}",
            if c.disable_renewal {
                "disabled"
            } else {
                "allowed"
            },
            if c.allow_renewal_after_expiry {
                ", also after expiry"
            } else {
                ""
            }
        );
        if let Some(j) = p.as_jwk() {
            println!(
                "  encrypted key: {}",
                if j.encrypted_key.is_some() {
                    "published"
                } else {
                    "none"
                }
            );
        }
        println!("  policy: {}", policy_of(&p.policy().cloned()));
        let x509 = p.x509_options();
        let template = match x509 {
            Some(o) => match (o.inline_template(), &o.template_file) {
                (Some(t), _) => Ok(("inline".to_owned(), t)),
                (None, Some(f)) => std::fs::read_to_string(home.join(f))
                    .map(|t| (f.clone(), t))
                    .map_err(|e| format!("{f}: {e}")),
                (None, None) => Ok((
                    "default leaf".to_owned(),
                    vouch_registration::DEFAULT_LEAF_TEMPLATE.to_owned(),
                )),
            },
            None => Ok((
                "default leaf".to_owned(),
                vouch_registration::DEFAULT_LEAF_TEMPLATE.to_owned(),
            )),
        };
        match template {
            Ok((what, text)) => match vouch_registration::check_x509_template(&text) {
                Ok(()) => println!("  template: {what}"),
                Err(e) => problems.push(format!("provisioner {} template ({what}): {e}", p.name())),
            },
            Err(e) => problems.push(format!("provisioner {} templateFile: {e}", p.name())),
        }
    }
    if problems.is_empty() {
        println!("The configuration is valid.");
        Ok(())
    } else {
        for p in &problems {
            eprintln!("problem: {p}");
        }
        bail!(
            "{} problem(s) in {}",
            problems.len(),
            home.join(layout::CA_CONFIG).display()
        )
    }
}

fn describe_policy(x: &vouch_model::X509Policy) -> String {
    let rules = |r: &Option<vouch_model::NameRules>| -> String {
        let Some(r) = r else { return "-".into() };
        let mut parts = Vec::new();
        for (k, v) in [
            ("cn", &r.cn),
            ("dns", &r.dns),
            ("ip", &r.ip),
            ("email", &r.email),
            ("uri", &r.uri),
        ] {
            if !v.is_empty() {
                parts.push(format!("{k} [{}]", v.join(", ")));
            }
        }
        if parts.is_empty() {
            "-".into()
        } else {
            parts.join("; ")
        }
    };
    format!(
        "allow {} | deny {} | wildcard names {}",
        rules(&x.allow),
        rules(&x.deny),
        if x.allow_wildcard_names {
            "allowed"
        } else {
            "refused"
        }
    )
}

pub(super) fn provisioner(cmd: ProvisionerCommand) -> Result<()> {
    let home = vouch_home()?;
    let (mut config, _) = load(&home)?;
    match cmd {
        ProvisionerCommand::List => {
            for p in &config.authority.provisioners {
                let id = p.as_jwk().and_then(|j| j.key.kid.as_deref()).unwrap_or("-");
                println!("{}\t{}\t{id}", p.name(), p.type_name());
            }
            Ok(())
        }
        ProvisionerCommand::Remove { name } => {
            let before = config.authority.provisioners.len();
            config.authority.provisioners.retain(|p| p.name() != name);
            if config.authority.provisioners.len() == before {
                bail!("no provisioner '{name}'");
            }
            save(&home, &config)?;
            println!("Removed provisioner '{name}'. Send SIGHUP to a running server to apply it.");
            Ok(())
        }
        ProvisionerCommand::Add {
            name,
            kind,
            public_key,
            private_key,
            password_file,
            require_eab,
        } => {
            if config
                .authority
                .provisioners
                .iter()
                .any(|p| p.name() == name)
            {
                bail!("a provisioner named '{name}' already exists");
            }
            if kind.eq_ignore_ascii_case("ACME") {
                config.authority.provisioners.push(Provisioner::Acme(
                    vouch_model::AcmeProvisioner {
                        name: name.clone(),
                        require_eab,
                        ..vouch_model::AcmeProvisioner::default()
                    },
                ));
                save(&home, &config)?;
                println!(
                    "Added ACME provisioner '{name}' (directory /acme/{name}/directory). Send SIGHUP to a running server to apply it."
                );
                return Ok(());
            }
            if !kind.eq_ignore_ascii_case("JWK") {
                bail!("--type {kind}: JWK and ACME provisioners can be added so far");
            }
            let (key, encrypted_key) = match public_key {
                Some(path) => {
                    let mut jwk: Jwk = serde_json::from_str(&files::read_text(&path)?)
                        .map_err(|e| anyhow!("{}: not a public JWK: {e}", path.display()))?;
                    let kid = thumbprint(&jwk).map_err(|e| anyhow!("{}: {e}", path.display()))?;
                    if jwk.kid.as_deref().is_some_and(|k| k != kid) {
                        bail!(
                            "{}: its kid is not the key's RFC 7638 thumbprint",
                            path.display()
                        );
                    }
                    jwk.kid = Some(kid);
                    let encrypted = match private_key {
                        None => None,
                        Some(p) => {
                            let jwe = files::read_text(&p)?;
                            let compact = vouch_registration::compact_jwe(&jwe)
                                .map_err(|e| anyhow!("{}: {e}", p.display()))?;
                            if let Some(pw_file) = &password_file {
                                let pw = files::password(
                                    Some(pw_file),
                                    "the provisioner key",
                                    "--password-file",
                                    false,
                                )?;
                                let k = ProvisionerKey::from_encrypted(&compact, pw.as_bytes())
                                    .map_err(|e| anyhow!("{}: {e}", p.display()))?;
                                if k.public_jwk().kid != jwk.kid {
                                    bail!(
                                        "{}: the private key does not belong to the public key",
                                        p.display()
                                    );
                                }
                            }
                            Some(compact)
                        }
                    };
                    (jwk, encrypted)
                }
                None => {
                    let pw = files::password(
                        password_file.as_deref(),
                        &format!("the provisioner '{name}'"),
                        "--password-file",
                        true,
                    )?;
                    let k = ProvisionerKey::generate().map_err(|e| anyhow!("{e}"))?;
                    let enc = k.encrypt(pw.as_bytes()).map_err(|e| anyhow!("{e}"))?;
                    (k.public_jwk().clone(), Some(enc))
                }
            };
            let kid = key.kid.clone().unwrap_or_default();
            config
                .authority
                .provisioners
                .push(Provisioner::Jwk(JwkProvisioner {
                    name: name.clone(),
                    key,
                    encrypted_key,
                    claims: None,
                    policy: None,
                    options: None,
                }));
            save(&home, &config)?;
            println!(
                "Added JWK provisioner '{name}' (kid {kid}). Send SIGHUP to a running server to apply it."
            );
            Ok(())
        }
    }
}

/// `vouch ca acme eab add|list|remove`, on the CA's database directly.
pub(super) fn eab(cmd: crate::cli::EabCommand) -> Result<()> {
    use crate::cli::EabCommand;
    use base64::Engine;
    let home = vouch_home()?;
    let (config, _) = load(&home)?;
    let provisioner = match &cmd {
        EabCommand::Add { provisioner, .. }
        | EabCommand::List { provisioner }
        | EabCommand::Remove { provisioner, .. } => provisioner.clone(),
    };
    match config
        .authority
        .provisioners
        .iter()
        .find(|p| p.name() == provisioner)
    {
        Some(Provisioner::Acme(_)) => {}
        Some(_) => bail!("provisioner '{provisioner}' is not an ACME provisioner"),
        None => bail!("no provisioner '{provisioner}' in config/ca.toml"),
    }
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store = crate::server::open_store(&home, &config).await?;
        let result = match cmd {
            EabCommand::Add { kid, .. } => {
                let random = |n: usize| -> Result<Vec<u8>> {
                    use aws_lc_rs::rand::SecureRandom;
                    let mut b = vec![0u8; n];
                    aws_lc_rs::rand::SystemRandom::new()
                        .fill(&mut b)
                        .map_err(|_| anyhow!("the random number generator failed"))?;
                    Ok(b)
                };
                let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
                let kid = match kid {
                    Some(k) => k,
                    None => b64.encode(random(12)?),
                };
                let key = random(32)?;
                store
                    .add_eab_key(&provisioner, &kid, &key)
                    .await
                    .map_err(|e| match e.kind() {
                        vouch_model::ErrorKind::Conflict => {
                            anyhow!("EAB key '{kid}' exists already for '{provisioner}'")
                        }
                        _ => anyhow!("{e}"),
                    })?;
                println!("kid\t{kid}\nhmac-key\t{}", b64.encode(&key));
                Ok(())
            }
            EabCommand::List { .. } => {
                let keys = store.list_eab_keys(&provisioner).await?;
                for k in keys {
                    println!(
                        "{}\t{}",
                        k.kid,
                        k.bound_account.as_deref().unwrap_or("(unbound)")
                    );
                }
                Ok(())
            }
            EabCommand::Remove { kid, .. } => {
                if store.remove_eab_key(&provisioner, &kid).await? {
                    Ok(())
                } else {
                    Err(anyhow!("no EAB key '{kid}' for '{provisioner}'"))
                }
            }
        };
        store.close().await;
        result
    })
}
