//! Client commands that talk to a running CA: bootstrap, token, certificate, roots, health.
//! They build requests exactly as the `step` CLI does (smallstep/cli `command/ca/token.go`,
//! `utils/cautils/token_generator.go`, `command/ca/certificate.go`), so a Vouch CA and a
//! step-ca answer them alike.

use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use serde::Deserialize;
use serde_json::json;
use time::{Duration, OffsetDateTime};
use vouch_issuing::{Dn, KeyType, PrivateKey, San, Subject, create_csr};
use vouch_model::{DefaultsConfig, Provisioner};
use vouch_registration::{ProvisionerKey, TokenRequest};

use super::cert::key_type_from_flags;
use super::sha256_hex;
use crate::cli::{CaTarget, CertificateArgs};
use crate::client::{self, Target};
use crate::files::{self, Output, PUBLIC_MODE, SECRET_MODE};
use crate::home::{layout, vouch_home};

/// Lifetime of the tokens the client mints (step's default is 5 minutes).
const TOKEN_LIFETIME: Duration = Duration::minutes(5);

/// Run an async client operation on a small runtime.
fn block_on<T>(fut: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?
        .block_on(fut)
}

pub(super) fn target(t: &CaTarget) -> Result<Target> {
    Target::resolve(t.ca_url.as_deref(), t.root.as_deref())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ProvisionersPage {
    provisioners: Vec<serde_json::Value>,
    #[serde(default)]
    next_cursor: String,
}

/// Every provisioner the CA publishes (following the pagination cursor).
async fn list_provisioners(
    target: &Target,
    http: &reqwest::Client,
) -> Result<Vec<serde_json::Value>> {
    let mut all = Vec::new();
    let mut cursor = String::new();
    for _ in 0..1000 {
        let url = target.url(&format!("/1.0/provisioners?limit=100&cursor={cursor}"));
        let page: ProvisionersPage =
            client::json(client::send(http.get(url), target).await?).await?;
        all.extend(page.provisioners);
        if page.next_cursor.is_empty() {
            return Ok(all);
        }
        cursor = page.next_cursor;
    }
    bail!("the CA's provisioner list does not end")
}

/// The SHA-256 fingerprint of the first certificate of the root file.
fn root_fingerprint(root: &Path) -> Result<String> {
    let certs = super::read_certificates(root)?;
    Ok(sha256_hex(&certs[0]))
}

/// Mints one-time tokens with a JWK provisioner whose encrypted key the CA publishes (the
/// key is decrypted once; `vouch bench` mints thousands).
pub(super) struct Minter {
    key: ProvisionerKey,
    issuer: String,
    audience: String,
    sha: String,
}

impl std::fmt::Debug for Minter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Minter")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish_non_exhaustive()
    }
}

impl Minter {
    /// Fetch the provisioner list, choose the provisioner and decrypt its key; tokens are for
    /// `/1.0/{path}`.
    pub(super) async fn new(
        target: &Target,
        http: &reqwest::Client,
        provisioner: Option<&str>,
        password_file: Option<&Path>,
        path: &str,
    ) -> Result<Minter> {
        let all = list_provisioners(target, http).await?;
        let jwks: Vec<vouch_model::JwkProvisioner> = all
            .into_iter()
            .filter_map(|v| serde_json::from_value::<Provisioner>(v).ok())
            .filter_map(|p| match p {
                Provisioner::Jwk(j) => Some(j),
                Provisioner::Acme(_) => None,
            })
            .filter(|j| j.encrypted_key.is_some())
            .collect();
        let chosen = match provisioner {
            Some(name) => jwks.iter().find(|j| j.name == name).ok_or_else(|| {
                anyhow!("the CA has no JWK provisioner '{name}' with an encrypted key")
            })?,
            None => match jwks.as_slice() {
                [only] => only,
                [] => bail!("the CA has no JWK provisioner with an encrypted key"),
                many => bail!(
                    "the CA has several JWK provisioners ({}); choose one with --provisioner",
                    many.iter()
                        .map(|j| j.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
        };
        let jwe = chosen.encrypted_key.as_deref().unwrap_or_default();
        let password = files::password(
            password_file,
            &format!("the provisioner '{}'", chosen.name),
            "--password-file",
            false,
        )?;
        let key = ProvisionerKey::from_encrypted(jwe, password.as_bytes())
            .map_err(|e| anyhow!("provisioner '{}': {e}", chosen.name))?;
        if key.public_jwk().kid != chosen.key.kid {
            bail!(
                "provisioner '{}': its encrypted key does not match its public key",
                chosen.name
            );
        }
        Ok(Minter {
            key,
            issuer: chosen.name.clone(),
            audience: target.url(&format!("/1.0/{path}")),
            sha: root_fingerprint(&target.root)?,
        })
    }

    /// One token for `subject` and `sans`.
    pub(super) fn mint(&self, subject: &str, sans: &[String]) -> Result<String> {
        self.key
            .sign_token(&TokenRequest {
                issuer: &self.issuer,
                audience: &self.audience,
                subject,
                sans,
                not_before: OffsetDateTime::now_utc(),
                lifetime: TOKEN_LIFETIME,
                sha: Some(&self.sha),
                x5rt_s256: None,
            })
            .map_err(|e| anyhow!("signing the token: {e}"))
    }
}

/// Mint a token for `subject` with a JWK provisioner whose encrypted key the CA publishes.
async fn mint_token(
    target: &Target,
    http: &reqwest::Client,
    provisioner: Option<&str>,
    password_file: Option<&Path>,
    subject: &str,
    sans: &[String],
    path: &str,
) -> Result<String> {
    Minter::new(target, http, provisioner, password_file, path)
        .await?
        .mint(subject, sans)
}

pub(super) fn token(
    subject: &str,
    sans: &[String],
    provisioner: Option<&str>,
    password_file: Option<&Path>,
    revoke: bool,
    t: &CaTarget,
) -> Result<()> {
    let target = target(t)?;
    let http = target.client(None)?;
    let sans: Vec<String> = if sans.is_empty() && !revoke {
        vec![subject.to_owned()]
    } else {
        sans.to_vec()
    };
    let path = if revoke { "revoke" } else { "sign" };
    let token = block_on(mint_token(
        &target,
        &http,
        provisioner,
        password_file,
        subject,
        &sans,
        path,
    ))?;
    println!("{token}");
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SignResponse {
    crt: String,
    ca: String,
    #[serde(default)]
    cert_chain: Vec<String>,
}

pub(super) fn certificate(args: &CertificateArgs) -> Result<()> {
    if !args.force {
        for p in [&args.crt_file, &args.key_file] {
            if p.exists() {
                bail!("{}: already exists (use --force to overwrite)", p.display());
            }
        }
    }
    let target = target(&args.target)?;
    let http = target.client(None)?;
    let sans_text: Vec<String> = if args.sans.is_empty() {
        vec![args.subject.clone()]
    } else {
        args.sans.clone()
    };
    let sans = sans_text
        .iter()
        .map(|n| n.parse::<San>())
        .collect::<Result<Vec<_>, _>>()?;
    let key_type = key_type_from_flags(&args.key)?.unwrap_or(KeyType::EcP256);
    let key = PrivateKey::generate(key_type)?;
    let csr = create_csr(
        &Dn::try_from(&Subject::common_name(args.subject.clone()))?,
        &sans,
        &key,
    )?;
    let resp: SignResponse = block_on(async {
        let ott = match &args.token.token {
            Some(t) => t.clone(),
            None => {
                mint_token(
                    &target,
                    &http,
                    args.token.provisioner.as_deref(),
                    args.token.provisioner_password_file.as_deref(),
                    &args.subject,
                    &sans_text,
                    "sign",
                )
                .await?
            }
        };
        let body = json!({
            "csr": vouch_issuing::to_pem("CERTIFICATE REQUEST", &csr),
            "ott": ott,
            "notBefore": args.not_before.clone().unwrap_or_default(),
            "notAfter": args.not_after.clone().unwrap_or_default(),
        });
        client::json(client::send(http.post(target.url("/1.0/sign")).json(&body), &target).await?)
            .await
    })?;
    // The leaf and the chain above it, as step writes them.
    let bundle = chain_pem(&resp);
    let key_pem = key.to_pem(None)?;
    files::write_all_or_nothing(
        &[
            Output {
                path: &args.key_file,
                data: key_pem.as_bytes(),
                mode: SECRET_MODE,
            },
            Output {
                path: &args.crt_file,
                data: bundle.as_bytes(),
                mode: PUBLIC_MODE,
            },
        ],
        args.force,
    )?;
    eprintln!(
        "Your certificate has been saved in {}.\nYour private key has been saved in {}.",
        args.crt_file.display(),
        args.key_file.display()
    );
    Ok(())
}

#[derive(Debug, Deserialize)]
struct Crts {
    crts: Vec<String>,
}

pub(super) fn roots(t: &CaTarget) -> Result<()> {
    let target = target(t)?;
    let http = target.client(None)?;
    let crts: Crts = block_on(async {
        client::json(client::send(http.get(target.url("/1.0/roots")), &target).await?).await
    })?;
    print!("{}", crts.crts.concat());
    Ok(())
}

pub(super) fn health(t: &CaTarget) -> Result<()> {
    let target = target(t)?;
    let http = target.client(None)?;
    let v: serde_json::Value = block_on(async {
        client::json(client::send(http.get(target.url("/health")), &target).await?).await
    })?;
    println!(
        "{}",
        v.get("status")
            .and_then(|s| s.as_str())
            .unwrap_or("unknown")
    );
    Ok(())
}

#[derive(Debug, Deserialize)]
struct RootResponse {
    ca: String,
}

pub(super) fn bootstrap(ca_url: &str, fingerprint: &str, install: bool, force: bool) -> Result<()> {
    let ca_url = ca_url.trim_end_matches('/').to_owned();
    if !ca_url.starts_with("https://") {
        bail!("--ca-url '{ca_url}' must start with https://");
    }
    let want: String = fingerprint
        .chars()
        .filter(|c| *c != ':' && *c != '-')
        .collect::<String>()
        .to_ascii_lowercase();
    if want.len() != 64 || !want.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("--fingerprint must be 64 hex digits (a SHA-256 fingerprint)");
    }
    let home = vouch_home()?;
    let root_path = home.join(layout::ROOT_CRT);
    let defaults_path = home.join(layout::DEFAULTS);
    // Trust on first use, pinned by the fingerprint: fetch without verifying, then check the
    // root's hash before anything is trusted or written.
    let pem = block_on(async {
        let insecure = reqwest::Client::builder()
            .tls_danger_accept_invalid_certs(true)
            .https_only(true)
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .context("HTTPS client")?;
        let probe = Target {
            ca_url: ca_url.clone(),
            root: root_path.clone(),
        };
        let r: RootResponse = client::json(
            client::send(insecure.get(format!("{ca_url}/root/{want}")), &probe).await?,
        )
        .await?;
        Ok(r.ca)
    })?;
    let block = pem::parse(&pem).map_err(|e| anyhow!("the CA sent a root that is not PEM: {e}"))?;
    let got = sha256_hex(block.contents());
    if got != want {
        bail!("the CA's root has fingerprint {got}, not {want}: refusing to trust it");
    }
    // Now check that the CA really serves under this root.
    let tmp = tempfile_in(&home)?;
    std::fs::write(tmp.path(), &pem).context("temporary root file")?;
    let target = Target {
        ca_url: ca_url.clone(),
        root: tmp.path().to_owned(),
    };
    let http = target.client(None)?;
    block_on(async {
        client::json::<serde_json::Value>(
            client::send(http.get(target.url("/health")), &target).await?,
        )
        .await
    })
    .context("the CA's TLS certificate does not chain to the root")?;

    std::fs::create_dir_all(home.join("certs")).context("creating certs/")?;
    std::fs::create_dir_all(home.join("config")).context("creating config/")?;
    let defaults = DefaultsConfig {
        ca_url,
        ca_config: home.join(layout::CA_CONFIG).display().to_string(),
        fingerprint: want,
        root: root_path.display().to_string(),
    };
    let text = format!(
        "# Vouch client defaults, written by `vouch ca bootstrap`.\n{}",
        toml::to_string_pretty(&defaults)?
    );
    files::write_all_or_nothing(
        &[
            Output {
                path: &root_path,
                data: pem.as_bytes(),
                mode: PUBLIC_MODE,
            },
            Output {
                path: &defaults_path,
                data: text.as_bytes(),
                mode: PUBLIC_MODE,
            },
        ],
        force,
    )?;
    println!(
        "The root certificate has been saved in {}.",
        root_path.display()
    );
    println!(
        "The authority configuration has been saved in {}.",
        defaults_path.display()
    );
    if install {
        install_root(&pem, &defaults.fingerprint)?;
    }
    Ok(())
}

struct TempFile(std::path::PathBuf);
impl TempFile {
    fn path(&self) -> &Path {
        &self.0
    }
}
impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn tempfile_in(home: &Path) -> Result<TempFile> {
    let dir = std::env::temp_dir();
    let _ = home;
    Ok(TempFile(dir.join(format!(
        "vouch-bootstrap-{}.crt",
        std::process::id()
    ))))
}

/// Add the root to the Debian/Ubuntu system trust store.
fn install_root(pem: &str, fingerprint: &str) -> Result<()> {
    let dir = Path::new("/usr/local/share/ca-certificates");
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let path = dir.join(format!("vouch-{}.crt", &fingerprint[..16]));
    files::write_all_or_nothing(
        &[Output {
            path: &path,
            data: pem.as_bytes(),
            mode: PUBLIC_MODE,
        }],
        true,
    )?;
    let status = std::process::Command::new("update-ca-certificates")
        .status()
        .context("cannot run update-ca-certificates (Debian package ca-certificates)")?;
    if !status.success() {
        bail!("update-ca-certificates failed");
    }
    println!(
        "The root certificate has been installed in the system trust store ({}).",
        path.display()
    );
    Ok(())
}

/// The certificate chain (PEM) and key of a client identity, as reqwest wants it: the key
/// (decrypted in memory when needed) followed by the chain.
fn identity(
    crt: &Path,
    key: &Path,
    password_file: Option<&Path>,
) -> Result<(Vec<u8>, Vec<Vec<u8>>, PrivateKey)> {
    let chain = super::read_certificates(crt)?;
    let key = super::load_private_key(key, password_file, "--password-file")?;
    vouch_issuing::check_spki_pair(&leaf_spki(&chain[0])?, &key)
        .map_err(|e| anyhow!("{}: {e}", crt.display()))?;
    let mut pem = key.to_pem(None)?.as_bytes().to_vec();
    for c in &chain {
        pem.extend_from_slice(vouch_issuing::to_pem("CERTIFICATE", c).as_bytes());
    }
    Ok((pem, chain, key))
}

fn leaf_spki(der: &[u8]) -> Result<Vec<u8>> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| anyhow!("bad certificate: {e}"))?;
    Ok(cert.public_key().raw.to_vec())
}

pub(super) fn not_after(der: &[u8]) -> Result<OffsetDateTime> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| anyhow!("bad certificate: {e}"))?;
    Ok(cert.validity().not_after.to_datetime())
}

fn chain_pem(resp: &SignResponse) -> String {
    if resp.cert_chain.is_empty() {
        format!("{}{}", resp.crt, resp.ca)
    } else {
        resp.cert_chain.concat()
    }
}

/// One renewal over mTLS: fetch the new chain and write it over `crt` atomically.
pub(super) async fn renew_once(
    target: &Target,
    crt: &Path,
    key: &Path,
    password_file: Option<&Path>,
) -> Result<()> {
    let (id, chain, key) = identity(crt, key, password_file)?;
    // mTLS needs a currently valid certificate; an expired one renews with a token it signs
    // (step's x5cInsecure flow), which the CA accepts when the provisioner allows it.
    let expired = not_after(&chain[0])? <= OffsetDateTime::now_utc();
    let req = if expired {
        let subject = leaf_common_name(&chain[0])?;
        let pkcs8 = key.pkcs8_der();
        let token = vouch_registration::sign_renew_token(
            vouch_registration::RenewKey {
                pkcs8: &pkcs8,
                alg: key.key_type().jose_alg(),
            },
            &chain,
            &subject,
            &target.url("/1.0/renew"),
            OffsetDateTime::now_utc(),
        )
        .map_err(|e| anyhow!("renew token: {e}"))?;
        target
            .client(None)?
            .post(target.url("/1.0/renew"))
            .bearer_auth(token)
    } else {
        target.client(Some(&id))?.post(target.url("/1.0/renew"))
    };
    let resp: SignResponse = client::json(client::send(req, target).await?).await?;
    files::write_all_or_nothing(
        &[Output {
            path: crt,
            data: chain_pem(&resp).as_bytes(),
            mode: PUBLIC_MODE,
        }],
        true,
    )
}

pub(super) fn renew(
    crt: &Path,
    key: &Path,
    password_file: Option<&Path>,
    expires_in: Option<&str>,
    t: &CaTarget,
) -> Result<()> {
    let target = target(t)?;
    let chain = super::read_certificates(crt)?;
    if let Some(window) = expires_in {
        let window =
            vouch_model::parse_duration(window).map_err(|e| anyhow!("--expires-in: {e}"))?;
        let end = not_after(&chain[0])?;
        if end - OffsetDateTime::now_utc() > window {
            eprintln!(
                "{}: not renewed, it expires at {end} (more than {window} from now)",
                crt.display()
            );
            return Ok(());
        }
    }
    block_on(renew_once(&target, crt, key, password_file))?;
    eprintln!("Your certificate has been saved in {}.", crt.display());
    Ok(())
}

pub(super) fn rekey(
    crt: &Path,
    key_path: &Path,
    password_file: Option<&Path>,
    key_args: &crate::cli::KeyArgs,
    t: &CaTarget,
) -> Result<()> {
    let target = target(t)?;
    let (id, _, old_key) = identity(crt, key_path, password_file)?;
    let key_type = key_type_from_flags(key_args)?.unwrap_or(old_key.key_type());
    let new_key = PrivateKey::generate(key_type)?;
    // The CA keeps the old names; the CSR only carries the new key.
    let csr = create_csr(&Dn::try_from(&Subject::default())?, &[], &new_key)?;
    let http = target.client(Some(&id))?;
    let body = json!({"csr": vouch_issuing::to_pem("CERTIFICATE REQUEST", &csr)});
    let resp: SignResponse = block_on(async {
        client::json(client::send(http.post(target.url("/1.0/rekey")).json(&body), &target).await?)
            .await
    })?;
    let key_pem = new_key.to_pem(None)?;
    files::write_all_or_nothing(
        &[
            Output {
                path: key_path,
                data: key_pem.as_bytes(),
                mode: SECRET_MODE,
            },
            Output {
                path: crt,
                data: chain_pem(&resp).as_bytes(),
                mode: PUBLIC_MODE,
            },
        ],
        true,
    )?;
    eprintln!(
        "Your certificate has been saved in {}.\nYour private key has been saved in {}.",
        crt.display(),
        key_path.display()
    );
    Ok(())
}

/// RFC 5280 reason names and codes.
fn reason_code(reason: &str) -> Result<u8> {
    const NAMES: [(&str, u8); 10] = [
        ("unspecified", 0),
        ("keyCompromise", 1),
        ("cACompromise", 2),
        ("affiliationChanged", 3),
        ("superseded", 4),
        ("cessationOfOperation", 5),
        ("certificateHold", 6),
        ("removeFromCRL", 8),
        ("privilegeWithdrawn", 9),
        ("aACompromise", 10),
    ];
    if let Ok(n) = reason.parse::<u8>()
        && NAMES.iter().any(|(_, c)| *c == n)
    {
        return Ok(n);
    }
    NAMES
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(reason))
        .map(|(_, c)| *c)
        .ok_or_else(|| anyhow!("--reason '{reason}' is not a RFC 5280 reason (e.g. keyCompromise, superseded, cessationOfOperation)"))
}

pub(super) fn revoke(args: &crate::cli::RevokeArgs) -> Result<()> {
    let target = target(&args.target)?;
    let code = reason_code(&args.reason)?;
    let (http, serial, ott) = match (&args.cert, &args.key) {
        (Some(crt), Some(key)) => {
            let (id, chain, _) = identity(crt, key, None)?;
            let own = format!("0x{}", hex_serial(&chain[0])?);
            if let Some(s) = &args.serial
                && crate::server::normalize_serial(s).ok()
                    != crate::server::normalize_serial(&own).ok()
            {
                bail!("--cert {} has serial {own}, not {s}", crt.display());
            }
            (target.client(Some(&id))?, own, String::new())
        }
        _ => {
            let serial = args
                .serial
                .clone()
                .ok_or_else(|| anyhow!("give the SERIAL to revoke (or --cert and --key)"))?;
            let http = target.client(None)?;
            let ott = match &args.token.token {
                Some(t) => t.clone(),
                None => block_on(mint_token(
                    &target,
                    &http,
                    args.token.provisioner.as_deref(),
                    args.token.provisioner_password_file.as_deref(),
                    &serial,
                    &[],
                    "revoke",
                ))?,
            };
            (http, serial, ott)
        }
    };
    let body = json!({
        "serial": serial,
        "ott": ott,
        "reasonCode": code,
        "reason": args.reason,
        "passive": args.passive,
    });
    let _: serde_json::Value = block_on(async {
        client::json(client::send(http.post(target.url("/1.0/revoke")).json(&body), &target).await?)
            .await
    })?;
    println!(
        "Certificate with serial {serial} has been {}revoked.",
        if args.passive { "passively " } else { "" }
    );
    Ok(())
}

fn leaf_common_name(der: &[u8]) -> Result<String> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| anyhow!("bad certificate: {e}"))?;
    Ok(cert
        .subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_owned())
}

fn hex_serial(der: &[u8]) -> Result<String> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(der).map_err(|e| anyhow!("bad certificate: {e}"))?;
    Ok(vouch_issuing::serial_hex(cert.raw_serial()))
}
