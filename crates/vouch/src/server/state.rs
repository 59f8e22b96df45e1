//! What the server holds: the PKI (issuing certificate and key, roots; fixed for the life of
//! the process) and the authority (provisioners, claims, policy; reloaded on SIGHUP).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result, anyhow, bail};
use time::OffsetDateTime;
use vouch_issuing::{CaCertificate, Intent, IssuanceLog, LogError, OnlineIssuer, PrivateKey};
use vouch_model::{CaConfig, Clock, NamePolicy, Provisioner};
use vouch_registration::{DEFAULT_LEAF_TEMPLATE, check_x509_template};
use vouch_storage::Store;

use super::tls::CertResolver;
use crate::files;
use crate::home::{layout, resolve_db_url};

/// The issuing PKI.
#[derive(Debug)]
pub struct Pki {
    /// The intermediate and its key.
    pub issuer: OnlineIssuer,
    /// Trusted roots, DER.
    pub roots: Vec<Vec<u8>>,
}

impl Pki {
    /// Load the roots, the intermediate and its key (decrypted with `password`).
    pub fn load(home: &Path, config: &CaConfig, password: &[u8]) -> Result<Pki> {
        let root_path = home.join(&config.root);
        let roots = crate::cmd::read_certificates(&root_path)?;
        let crt_path = home.join(&config.crt);
        let cert = CaCertificate::from_bytes(&files::read(&crt_path)?)
            .map_err(|e| anyhow!("{}: {e}", crt_path.display()))?;
        let key_path = home.join(&config.key);
        let data = zeroize::Zeroizing::new(files::read(&key_path)?);
        let key = PrivateKey::from_bytes(&data, Some(password))
            .map_err(|e| anyhow!("{}: {e}", key_path.display()))?;
        let issuer = OnlineIssuer::new(cert, Arc::new(key))
            .map_err(|e| anyhow!("{}: {e}", key_path.display()))?;
        Ok(Pki { issuer, roots })
    }

    /// The chain above a leaf: the intermediate, DER.
    pub fn intermediates(&self) -> Vec<Vec<u8>> {
        self.issuer.chain()
    }
}

/// The reloadable part of the configuration.
#[derive(Debug)]
pub struct Authority {
    /// The parsed `ca.toml`.
    pub config: CaConfig,
    /// The authority-wide name policy, compiled.
    pub policy: Option<NamePolicy>,
    /// Each provisioner's own name policy, compiled, by provisioner name.
    pub provisioner_policies: HashMap<String, NamePolicy>,
    /// Each provisioner's X.509 template text (its own, from a file, or the default leaf
    /// template), read and syntax-checked at load, by provisioner name.
    pub templates: HashMap<String, String>,
}

impl Authority {
    /// Read and check `config/ca.toml`; every problem is reported at once.
    pub fn load(home: &Path) -> Result<Authority> {
        let path = home.join(layout::CA_CONFIG);
        let text = files::read_text(&path)?;
        let config: CaConfig = toml::from_str(&text)
            .map_err(|e| anyhow!("{}: {}", path.display(), e.message().trim()))?;
        let problems = config.validate();
        if !problems.is_empty() {
            let list: Vec<String> = problems.iter().map(ToString::to_string).collect();
            bail!("{}: {}", path.display(), list.join("; "));
        }
        let compile = |p: &Option<vouch_model::Policy>| -> Result<Option<NamePolicy>> {
            match p.as_ref().and_then(|p| p.x509.as_ref()) {
                None => Ok(None),
                Some(x) => NamePolicy::new(x).map(Some).map_err(|e| {
                    anyhow!(
                        "{}: policy: {}",
                        path.display(),
                        e.iter()
                            .map(ToString::to_string)
                            .collect::<Vec<_>>()
                            .join("; ")
                    )
                }),
            }
        };
        let policy = compile(&config.authority.policy)?;
        let mut provisioner_policies = HashMap::new();
        let mut templates = HashMap::new();
        for p in &config.authority.provisioners {
            if let Some(np) = compile(&p.policy().cloned())? {
                provisioner_policies.insert(p.name().to_owned(), np);
            }
            let x509 = p.x509_options();
            let text = match x509 {
                Some(o) => match (o.inline_template(), &o.template_file) {
                    (Some(t), _) => t,
                    (None, Some(f)) => files::read_text(&home.join(f))?,
                    (None, None) => DEFAULT_LEAF_TEMPLATE.to_owned(),
                },
                None => DEFAULT_LEAF_TEMPLATE.to_owned(),
            };
            check_x509_template(&text).map_err(|e| {
                anyhow!(
                    "{}: provisioner {}: template: {e}",
                    path.display(),
                    p.name()
                )
            })?;
            templates.insert(p.name().to_owned(), text);
        }
        Ok(Authority {
            config,
            policy,
            provisioner_policies,
            templates,
        })
    }

    /// The policies that apply to certificates of `provisioner`: the authority's, then its own.
    pub fn policies(&self, provisioner: &str) -> Vec<&NamePolicy> {
        self.policy
            .iter()
            .chain(self.provisioner_policies.get(provisioner))
            .collect()
    }

    /// Token audiences accepted for `path` (e.g. `sign`): `https://NAME/1.0/PATH` and
    /// `https://NAME/PATH` for every configured name, without port (step strips ports).
    pub fn audiences(&self, path: &str) -> Vec<String> {
        self.config
            .dns_names
            .iter()
            .flat_map(|n| {
                let host = if n.contains(':') {
                    format!("[{n}]")
                } else {
                    n.clone()
                };
                [
                    format!("https://{host}/1.0/{path}"),
                    format!("https://{host}/{path}"),
                ]
            })
            .collect()
    }

    /// The provisioner with this name.
    pub fn provisioner(&self, name: &str) -> Option<&Provisioner> {
        self.config
            .authority
            .provisioners
            .iter()
            .find(|p| p.name() == name)
    }
}

/// Everything a request handler needs.
#[derive(Debug)]
pub struct AppState {
    /// `$VOUCH_HOME`.
    pub home: PathBuf,
    /// The PKI.
    pub pki: Pki,
    /// The database.
    pub store: Store,
    /// The reloadable configuration.
    pub authority: RwLock<Arc<Authority>>,
    /// The TLS certificate.
    pub tls: Arc<CertResolver>,
    /// Time.
    pub clock: Arc<dyn Clock>,
    /// When the server started (tokens issued before are refused).
    pub started: OffsetDateTime,
    /// The CRL being served.
    pub crl: RwLock<Option<Arc<super::crl::ServedCrl>>>,
    /// Signalled on every active revocation, so the CRL is rebuilt soon.
    pub crl_changed: tokio::sync::Notify,
    /// The delegated OCSP responder.
    pub ocsp: RwLock<Option<Arc<super::ocsp::Responder>>>,
    /// Pre-signed OCSP responses.
    pub ocsp_cache: vouch_validation::ResponseCache,
    /// Issues and checks ACME nonces (the secret is shared through `secrets/`).
    pub acme_nonces: vouch_registration::NonceKey,
    /// Validates ACME challenges, a bounded number at a time.
    pub acme_validator: super::acme_validate::Validator,
    /// Bumped on every active revocation: a response built from statuses read before the bump
    /// is not cached (it may say good for what is now revoked).
    pub ocsp_generation: std::sync::atomic::AtomicU64,
}

impl AppState {
    /// The current authority configuration.
    pub fn authority(&self) -> Arc<Authority> {
        self.authority
            .read()
            .map_or_else(|p| p.into_inner().clone(), |a| a.clone())
    }

    /// Re-read `ca.toml`; on error the old configuration stays in force.
    pub fn reload(&self) -> Result<()> {
        let new = Authority::load(&self.home)?;
        let mut guard = self
            .authority
            .write()
            .map_err(|_| anyhow!("configuration lock poisoned"))?;
        *guard = Arc::new(new);
        Ok(())
    }
}

/// Open the configured database (a relative SQLite path is relative to `$VOUCH_HOME`).
pub async fn open_store(home: &Path, config: &CaConfig) -> Result<Store> {
    let url = resolve_db_url(home, &config.db.url);
    Store::connect(&url).await.context("database")
}

/// The store as the issuing crate's issuance log.
#[derive(Debug, Clone)]
pub struct StoreLog<'a> {
    /// The store.
    pub store: &'a Store,
    /// A one-time token to burn together with the intent: `(provisioner, jti, expires_at)`.
    /// One write instead of two, and a replay stores nothing.
    pub token: Option<(&'a str, &'a str, time::OffsetDateTime)>,
}

fn log_error(e: vouch_storage::Error) -> LogError {
    LogError {
        kind: e.kind(),
        message: e.to_string(),
    }
}

impl IssuanceLog for StoreLog<'_> {
    async fn record_intent(&self, intent: &Intent<'_>) -> Result<(), LogError> {
        let fresh = self
            .store
            .record_intent_using_token(
                intent.serial,
                &intent.subject,
                &intent.sans,
                intent.not_before,
                intent.not_after,
                intent.issuer,
                intent.provisioner,
                self.token,
            )
            .await
            .map_err(log_error)?;
        if fresh {
            Ok(())
        } else {
            Err(LogError {
                kind: vouch_model::ErrorKind::Unauthorized,
                message: "token already used".into(),
            })
        }
    }

    async fn record_issued(&self, serial: &str, der: &[u8]) -> Result<(), LogError> {
        self.store
            .record_issued(serial, der)
            .await
            .map_err(log_error)
    }
}
