//! `TestCa`: the real server, in-process, on 127.0.0.1 with an OS-assigned port (the harness
//! binds the listener and hands it over; nothing "reserves" a port). Clients are the real
//! `vouch` binary and curl; certificates are checked with openssl and pkilint.

use std::path::PathBuf;
use std::process::{Command, Stdio};

use crate::init::init_args;
use crate::support::*;

pub struct TestCa {
    pub env: Env,
    pub port: u16,
    pub insecure_port: u16,
    pub metrics_port: u16,
    /// Where the CA's ACME http-01 validation connects (`acme-target.test` resolves to
    /// 127.0.0.1); a test takes it to answer challenges.
    pub acme_http: Option<std::net::TcpListener>,
    /// Where tls-alpn-01 validation connects (same names).
    pub acme_tls: Option<std::net::TcpListener>,
    /// The DNS server the CA's ACME validation asks (dns-01 TXT records).
    pub dns: crate::dns::TestDns,
    rt: tokio::runtime::Runtime,
    server: Option<vouch::server::RunningServer>,
}

impl TestCa {
    pub fn start() -> Self {
        Self::start_with(|_| {})
    }

    /// Create a PKI, let `edit` change `ca.toml`'s text, and serve it.
    pub fn start_with(edit: impl FnOnce(&mut String)) -> Self {
        let env = Env::new();
        let pw = env.p("pw.txt");
        let mut args = init_args(&env, &pw, &[]);
        for a in args.iter_mut() {
            if *a == "ca.acme.test,127.0.0.1" {
                *a = "localhost,127.0.0.1";
            }
        }
        env.ok(&args);
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        // The plain-HTTP listener is bound first so that the configuration can name its port
        // (`INSECURE_PORT` in the edited text).
        let insecure = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let insecure_port = insecure.local_addr().unwrap().port();
        let config = env.home().join("config/ca.toml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        edit(&mut text);
        let text = text.replace("INSECURE_PORT", &insecure_port.to_string());
        std::fs::write(&config, text).unwrap();
        let home = env.home();
        // A port for ACME http-01 answers (tests take the listener and serve on it).
        let acme_http = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let acme_http_port = acme_http.local_addr().unwrap().port();
        let acme_tls = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let acme_tls_port = acme_tls.local_addr().unwrap().port();
        let dns = crate::dns::TestDns::start(env.p("dns-records").into());
        let resolver = dns.addr().parse().unwrap();
        let (server, metrics_port) = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let metrics = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let metrics_port = metrics.local_addr().unwrap().port();
            vouch::server::start(
                listener,
                vouch::server::ServerOptions {
                    home,
                    password: zeroize::Zeroizing::new("correct horse battery staple".to_owned()),
                    metrics: Some(metrics),
                    insecure: Some(insecure),
                    acme: vouch::server::acme_validate::ValidationOptions {
                        http_port: acme_http_port,
                        tls_port: acme_tls_port,
                        resolver: Some(resolver),
                        resolve: vec![
                            ("acme-target.test".to_owned(), [127, 0, 0, 1].into()),
                            ("*.acme-target.test".to_owned(), [127, 0, 0, 1].into()),
                        ],
                        ..Default::default()
                    },
                },
            )
            .await
            .map(|s| (s, metrics_port))
            .unwrap()
        });
        let port = server.local_addr.port();
        // Point the client defaults at the real port.
        let defaults = env.home().join("config/defaults.toml");
        let text = std::fs::read_to_string(&defaults).unwrap();
        let text = text.replace(
            "https://localhost:9443",
            &format!("https://localhost:{port}"),
        );
        std::fs::write(&defaults, text).unwrap();
        TestCa {
            acme_http: Some(acme_http),
            acme_tls: Some(acme_tls),
            dns,
            env,
            port,
            insecure_port,
            metrics_port,
            rt,
            server: Some(server),
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    pub fn root(&self) -> PathBuf {
        self.env.home().join("certs/root_ca.crt")
    }

    pub fn intermediate(&self) -> PathBuf {
        self.env.home().join("certs/intermediate_ca.crt")
    }

    pub fn fingerprint(&self) -> String {
        self.env
            .ok(&["cert", "fingerprint", self.root().to_str().unwrap()])
            .trim()
            .to_owned()
    }

    /// Run something against the server's store.
    pub fn store<T>(&self, f: impl AsyncFnOnce(&vouch_storage::Store) -> T) -> T {
        let store = self.server.as_ref().unwrap().state.store.clone();
        self.rt.block_on(async move { f(&store).await })
    }

    /// Certificates issued to clients (the CA's own OCSP responder certificate, which it
    /// records like any other, is not counted).
    pub fn count(&self) -> u64 {
        self.store(async |s| s.count_certificates().await.unwrap())
            - self.store(async |s| {
                s.find_by_name("Vouch OCSP Responder", 100)
                    .await
                    .unwrap()
                    .len() as u64
            })
    }

    pub fn reload(&self) -> anyhow::Result<()> {
        self.server.as_ref().unwrap().reload()
    }

    /// Stop the server (graceful), as SIGTERM does.
    pub fn shutdown(&mut self) {
        if let Some(s) = self.server.take() {
            self.rt.block_on(s.shutdown()).unwrap();
        }
    }

    /// The provisioner key, decrypted from ca.toml with the provisioner password.
    pub fn provisioner_key(&self) -> (String, vouch_registration::ProvisionerKey) {
        let cfg: vouch_model::CaConfig = toml::from_str(
            &std::fs::read_to_string(self.env.home().join("config/ca.toml")).unwrap(),
        )
        .unwrap();
        let vouch_model::Provisioner::Jwk(p) = &cfg.authority.provisioners[0] else {
            panic!("expected a JWK provisioner")
        };
        let key = vouch_registration::ProvisionerKey::from_encrypted(
            p.encrypted_key.as_deref().unwrap(),
            b"correct horse battery staple",
        )
        .unwrap();
        (p.name.clone(), key)
    }

    /// A token for `subject`/`sans` with audience `/1.0/{path}`.
    pub fn token(&self, subject: &str, sans: &[&str], path: &str) -> String {
        let (name, key) = self.provisioner_key();
        let sans: Vec<String> = sans.iter().map(|s| (*s).to_owned()).collect();
        key.sign_token(&vouch_registration::TokenRequest {
            issuer: &name,
            audience: &self.url(&format!("/1.0/{path}")),
            subject,
            sans: &sans,
            not_before: time::OffsetDateTime::now_utc(),
            lifetime: time::Duration::minutes(5),
            sha: None,
            x5rt_s256: None,
        })
        .unwrap()
    }

    /// curl with the root pinned; returns (status, body).
    pub fn curl(&self, args: &[&str]) -> (u16, String) {
        let root = self.root();
        let mut cmd = Command::new("curl");
        cmd.args([
            "-s",
            "-S",
            "-w",
            "\n%{http_code}",
            "--cacert",
            root.to_str().unwrap(),
        ])
        .args(args)
        .stdin(Stdio::null());
        let out = cmd.output().unwrap_or_else(|e| {
            panic!("cannot run curl ({e}): install it with 'apt-get install curl'")
        });
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", &text));
        (code.trim().parse().unwrap_or(0), body.to_owned())
    }

    /// POST JSON with curl.
    pub fn post(&self, path: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
        let file = self.env.write("body.json", body.to_string());
        let data = format!("@{}", file.display());
        let (code, text) = self.curl(&[
            "-X",
            "POST",
            "-H",
            "content-type: application/json",
            "--data-binary",
            &data,
            &self.url(path),
        ]);
        (
            code,
            serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
        )
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        self.shutdown();
    }
}
