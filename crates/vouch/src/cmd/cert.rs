//! `vouch cert create|sign|inspect|fingerprint|verify`.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use time::{Duration, OffsetDateTime};
use vouch_issuing::{
    CertificateSpec, Dn, KeyType, PrivateKey, San, Signer, Subject, check_ca_key_pair, create_csr,
    issue_certificate, verify_csr,
};
use vouch_model::{Profile, TimeSpec};
use vouch_validation::{Usage, VerifyOptions, verify_chain};
use zeroize::Zeroizing;

use super::{load_ca, load_private_key, read_certificates, sha256_hex};
use crate::cli::{
    CertCommand, CreateArgs, Curve, Digest, Format, KeyArgs, Kty, ProfileArg, SignArgs,
};
use crate::files::{self, Output, PUBLIC_MODE, SECRET_MODE};
use crate::{cfssl, inspect};

/// Default lifetime of CA certificates (10 years, as `step ca init`).
pub(crate) const CA_LIFETIME: Duration = Duration::days(3650);
/// Default lifetime of leaf certificates (24 hours, as step-ca's default claims).
pub(crate) const LEAF_LIFETIME: Duration = Duration::hours(24);
/// How far notBefore is backdated to tolerate clock skew.
pub(crate) const BACKDATE: Duration = Duration::minutes(1);

/// The default lifetime of a certificate of this profile.
pub(crate) fn default_lifetime(profile: Profile) -> Duration {
    if profile.is_ca() {
        CA_LIFETIME
    } else {
        LEAF_LIFETIME
    }
}

pub(super) fn run(cmd: CertCommand) -> Result<()> {
    match cmd {
        CertCommand::Create(args) => create(&args),
        CertCommand::Sign(args) => sign(&args),
        CertCommand::Inspect { file, format } => {
            let data = files::read(&file)?;
            let objects =
                inspect::inspect(&data).map_err(|e| anyhow!("{}: {e}", file.display()))?;
            match format {
                Format::Json => {
                    let v: Vec<serde_json::Value> = objects
                        .iter()
                        .map(|(kind, n)| serde_json::json!({"type": kind, "value": n.to_json()}))
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&v)?);
                }
                Format::Text => {
                    let mut out = String::new();
                    for (kind, node) in &objects {
                        out.push_str(kind);
                        out.push_str(":\n");
                        node.render(1, &mut out);
                    }
                    print!("{out}");
                }
            }
            Ok(())
        }
        CertCommand::Fingerprint { file, algorithm } => {
            for der in read_certificates(&file)? {
                match algorithm {
                    Digest::Sha256 => println!("{}", sha256_hex(&der)),
                    Digest::Sha1 => {
                        let d = aws_lc_rs::digest::digest(
                            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
                            &der,
                        );
                        println!(
                            "{}",
                            d.as_ref()
                                .iter()
                                .map(|b| format!("{b:02x}"))
                                .collect::<String>()
                        );
                    }
                }
            }
            Ok(())
        }
        CertCommand::Verify {
            crt,
            roots,
            intermediates,
            host,
            client,
            crls,
        } => {
            let mut chain = read_certificates(&crt)?;
            let leaf = chain.remove(0);
            if let Some(i) = &intermediates {
                chain.extend(read_certificates(i)?);
            }
            let roots = read_certificates(&roots)?;
            let crls = crls
                .iter()
                .map(|p| read_crl(p))
                .collect::<Result<Vec<_>>>()?;
            let opts = VerifyOptions {
                roots: &roots,
                intermediates: &chain,
                host: host.as_deref(),
                at: OffsetDateTime::now_utc(),
                crls: &crls,
                usage: if client {
                    Usage::ClientAuth
                } else {
                    Usage::ServerAuth
                },
            };
            let path = verify_chain(&leaf, &opts).map_err(|e| anyhow!("{}: {e}", crt.display()))?;
            println!(
                "{}: ok ({} certificates in the verified path below the root)",
                crt.display(),
                path.len()
            );
            Ok(())
        }
    }
}

fn profile(p: ProfileArg) -> Profile {
    match p {
        ProfileArg::Leaf => Profile::Leaf,
        ProfileArg::IntermediateCa => Profile::IntermediateCa,
        ProfileArg::RootCa => Profile::RootCa,
        ProfileArg::SelfSigned => Profile::SelfSigned,
    }
}

/// The key type the `--kty/--curve/--size` flags ask for, if any.
pub(crate) fn key_type_from_flags(args: &KeyArgs) -> Result<Option<KeyType>> {
    let size = args.size.as_deref().map(str::parse::<u32>).transpose()?;
    Ok(match (args.kty, args.curve, size) {
        (None, None, None) => None,
        (Some(Kty::Ec) | None, Some(Curve::P256), None) | (Some(Kty::Ec), None, None) => {
            Some(KeyType::EcP256)
        }
        (Some(Kty::Ec) | None, Some(Curve::P384), None) => Some(KeyType::EcP384),
        (Some(Kty::Okp) | None, Some(Curve::Ed25519) | None, None)
            if args.kty.is_some() || args.curve.is_some() =>
        {
            Some(KeyType::Ed25519)
        }
        (Some(Kty::Rsa) | None, None, Some(bits)) => Some(KeyType::Rsa(bits)),
        (Some(Kty::Rsa), None, None) => Some(KeyType::Rsa(2048)),
        (kty, curve, size) => bail!(
            "inconsistent key flags: --kty {kty:?} --curve {curve:?} --size {size:?} (use --kty EC --curve P-256|P-384, --kty OKP --curve Ed25519, or --kty RSA --size 2048|3072|4096)"
        ),
    })
}

fn parse_time(
    flag: &str,
    v: Option<&str>,
    now: OffsetDateTime,
    default: OffsetDateTime,
) -> Result<OffsetDateTime> {
    match v {
        None => Ok(default),
        Some(s) => Ok(s
            .parse::<TimeSpec>()
            .map_err(|e| anyhow!("{flag}: {e}"))?
            .resolve(now)),
    }
}

/// The password for a new key, or `None` with `--no-password --insecure`.
fn new_key_password(
    file: Option<&Path>,
    no_password: bool,
    what: &str,
) -> Result<Option<Zeroizing<String>>> {
    if no_password {
        return Ok(None);
    }
    files::password(
        file,
        what,
        "--password-file (or --no-password --insecure)",
        true,
    )
    .map(Some)
}

fn create(args: &CreateArgs) -> Result<()> {
    let (subject, crt_path, key_path, json) = match (&args.from_json, args.args.as_slice()) {
        (Some(json_path), [crt, key]) => {
            let req = cfssl::parse(&files::read_text(json_path)?)
                .map_err(|e| anyhow!("{}: {e}", json_path.display()))?;
            (
                req.subject.clone(),
                PathBuf::from(crt),
                PathBuf::from(key),
                Some(req),
            )
        }
        (Some(_), _) => bail!("with --from-json give exactly CRT_FILE KEY_FILE"),
        (None, [subject, crt, key]) => (
            Subject::common_name(subject.clone()),
            PathBuf::from(crt),
            PathBuf::from(key),
            None,
        ),
        (None, _) => bail!("give SUBJECT CRT_FILE KEY_FILE"),
    };
    let profile = profile(args.profile);
    let key_type = key_type_from_flags(&args.key)?
        .or_else(|| json.as_ref().and_then(|j| j.key_type))
        .unwrap_or(KeyType::EcP256);

    let mut names: Vec<String> = args.sans.clone();
    if let Some(j) = &json {
        names.extend(j.hosts.iter().cloned());
    }
    let mut sans = names
        .iter()
        .map(|n| n.parse::<San>())
        .collect::<Result<Vec<_>, _>>()?;
    let end_entity = args.csr || matches!(profile, Profile::Leaf | Profile::SelfSigned);
    if sans.is_empty() && end_entity && json.is_none() {
        // As step does: a leaf without --san is valid for its subject when that is a name.
        // (A cfssl JSON request says exactly which names it wants in `hosts`.)
        if let Some(san) = subject
            .common_name
            .as_deref()
            .and_then(|cn| cn.parse::<San>().ok())
        {
            sans.push(san);
        }
    }
    let dn = Dn::try_from(&subject)?;

    // Everything that can fail without writing is checked before the key is generated.
    if !args.force {
        for p in [&crt_path, &key_path] {
            if p.exists() {
                bail!("{}: already exists (use --force to overwrite)", p.display());
            }
        }
    }
    let issuer = if args.csr {
        None
    } else if profile.is_self_signed() {
        if args.ca.is_some() {
            bail!("--profile {} is self-signed and takes no --ca", profile);
        }
        None
    } else {
        let (Some(ca_path), Some(ca_key_path)) = (&args.ca, &args.ca_key) else {
            bail!(
                "--profile {profile} needs --ca and --ca-key (or use --profile self-signed / root-ca, or --csr)"
            );
        };
        let ca = load_ca(ca_path)?;
        let ca_key = load_private_key(
            ca_key_path,
            args.ca_password_file.as_deref(),
            "--ca-password-file",
        )?;
        check_ca_key_pair(&ca, &ca_key).map_err(|e| anyhow!("{}: {e}", ca_key_path.display()))?;
        ca.check_can_issue(OffsetDateTime::now_utc(), profile.is_ca())
            .map_err(|e| anyhow!("{}: {e}", ca_path.display()))?;
        Some((ca, ca_key))
    };
    let password = new_key_password(
        args.password_file.as_deref(),
        args.no_password,
        &format!("the new key {}", key_path.display()),
    )?;

    let now = OffsetDateTime::now_utc();
    let lifetime = if args.csr {
        LEAF_LIFETIME
    } else {
        default_lifetime(profile)
    };
    let not_before = parse_time(
        "--not-before",
        args.not_before.as_deref(),
        now,
        now - BACKDATE,
    )?;
    let not_after = parse_time(
        "--not-after",
        args.not_after.as_deref(),
        now,
        now + lifetime,
    )?;

    let key = PrivateKey::generate(key_type)?;
    let body = if args.csr {
        vouch_issuing::to_pem("CERTIFICATE REQUEST", &create_csr(&dn, &sans, &key)?)
    } else {
        let spec = CertificateSpec {
            subject: dn,
            sans,
            profile,
            not_before,
            not_after,
            extensions: vec![],
        };
        let cert = match &issuer {
            Some((ca, ca_key)) => {
                issue_certificate(&spec, &key.public_key_der(), Some(ca), ca_key, now)?
            }
            None => issue_certificate(&spec, &key.public_key_der(), None, &key, now)?,
        };
        if cert.not_after < not_after {
            eprintln!(
                "note: notAfter shortened to {} (the issuer's end of validity)",
                cert.not_after
            );
        }
        cert.pem()
    };
    let key_pem = key.to_pem(password.as_ref().map(|p| p.as_bytes()))?;
    files::write_all_or_nothing(
        &[
            Output {
                path: &key_path,
                data: key_pem.as_bytes(),
                mode: SECRET_MODE,
            },
            Output {
                path: &crt_path,
                data: body.as_bytes(),
                mode: PUBLIC_MODE,
            },
        ],
        args.force,
    )?;
    eprintln!(
        "Your {} has been saved in {}.\nYour private key ({key_type}{}) has been saved in {}.",
        if args.csr {
            "certificate request"
        } else {
            "certificate"
        },
        crt_path.display(),
        if password.is_some() {
            ", encrypted"
        } else {
            ", UNENCRYPTED"
        },
        key_path.display()
    );
    Ok(())
}

fn sign(args: &SignArgs) -> Result<()> {
    let profile = profile(args.profile);
    if profile.is_self_signed() {
        bail!(
            "--profile {profile} is self-signed; cert sign issues leaf or intermediate-ca certificates"
        );
    }
    let csr = verify_csr(&files::read(&args.csr_file)?)
        .map_err(|e| anyhow!("{}: {e}", args.csr_file.display()))?;
    let ca = load_ca(&args.ca_crt)?;
    let ca_key = load_private_key(
        &args.ca_key,
        args.ca_password_file.as_deref(),
        "--ca-password-file",
    )?;
    check_ca_key_pair(&ca, &ca_key).map_err(|e| anyhow!("{}: {e}", args.ca_key.display()))?;
    let now = OffsetDateTime::now_utc();
    let not_after = parse_time(
        "--not-after",
        args.not_after.as_deref(),
        now,
        now + default_lifetime(profile),
    )?;
    let spec = CertificateSpec {
        subject: csr.subject.clone(),
        sans: csr.sans.clone(),
        profile,
        not_before: now - BACKDATE,
        not_after,
        extensions: vec![],
    };
    let cert = issue_certificate(&spec, &csr.spki_der, Some(&ca), &ca_key, now)
        .map_err(|e| anyhow!("{}: {e}", args.ca_crt.display()))?;
    print!("{}", cert.pem());
    Ok(())
}

/// A CRL file, PEM (`X509 CRL`) or DER.
fn read_crl(path: &Path) -> Result<Vec<u8>> {
    let data = files::read(path)?;
    match std::str::from_utf8(&data)
        .ok()
        .filter(|t| t.contains("-----BEGIN "))
    {
        Some(text) => pem::parse_many(text)
            .map_err(|e| anyhow!("{}: bad PEM ({e})", path.display()))?
            .into_iter()
            .find(|p| p.tag() == "X509 CRL")
            .map(pem::Pem::into_contents)
            .ok_or_else(|| anyhow!("{}: no X509 CRL in the PEM", path.display())),
        None => Ok(data),
    }
}
