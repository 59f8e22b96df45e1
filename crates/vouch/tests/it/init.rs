//! `vouch init`, `vouch init --external-root` and `vouch ca install-intermediate`.

use crate::support::*;

pub fn init_args<'a>(env: &'a Env, pw: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let _ = env;
    let mut a = vec![
        "init",
        "--name",
        "Acme",
        "--dns",
        "ca.acme.test,127.0.0.1",
        "--address",
        "127.0.0.1:9443",
        "--provisioner",
        "admin@acme.test",
        "--password-file",
        pw,
    ];
    a.extend_from_slice(extra);
    a
}

#[test]
fn init_creates_a_complete_pki() {
    let env = Env::new();
    let pw = env.p("pw.txt");
    let pw2 = env.p("pw2.txt");
    let out = env.ok(&init_args(
        &env,
        &pw,
        &["--provisioner-password-file", &pw2],
    ));
    let home = env.home();
    for f in [
        "certs/root_ca.crt",
        "certs/intermediate_ca.crt",
        "secrets/root_ca_key",
        "secrets/intermediate_ca_key",
        "config/ca.toml",
        "config/defaults.toml",
        "db/vouch.db",
    ] {
        assert!(home.join(f).exists(), "{f} missing");
    }
    for k in ["secrets/root_ca_key", "secrets/intermediate_ca_key"] {
        assert_eq!(mode(&home.join(k)), 0o600, "{k}");
        let text = std::fs::read_to_string(home.join(k)).unwrap();
        assert!(
            text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{k}"
        );
    }
    assert_eq!(mode(&home.join("secrets")), 0o700);
    let (root, int) = (
        home.join("certs/root_ca.crt"),
        home.join("certs/intermediate_ca.crt"),
    );
    openssl_verify(&root, None, &int);
    pkilint("lint_pkix_cert", &root);
    pkilint("lint_pkix_cert", &int);
    let rt = openssl_text(&root);
    assert!(
        rt.contains("Subject: CN = Acme Root CA") && rt.contains("CA:TRUE, pathlen:1"),
        "{rt}"
    );
    let it = openssl_text(&int);
    assert!(
        it.contains("Subject: CN = Acme Intermediate CA") && it.contains("CA:TRUE, pathlen:0"),
        "{it}"
    );
    // 10 years.
    let days = openssl_ok(&[
        "x509",
        "-noout",
        "-checkend",
        &(9 * 365 * 86400).to_string(),
        "-in",
        root.to_str().unwrap(),
    ]);
    assert!(days.contains("will not expire"), "{days}");

    // The printed fingerprint, defaults.toml and openssl agree.
    let fp = openssl_ok(&[
        "x509",
        "-noout",
        "-fingerprint",
        "-sha256",
        "-in",
        root.to_str().unwrap(),
    ]);
    let fp = fp
        .trim()
        .split('=')
        .nth(1)
        .unwrap()
        .replace(':', "")
        .to_lowercase();
    assert!(out.contains(&fp), "{out}");
    let defaults: toml::Value =
        toml::from_str(&std::fs::read_to_string(home.join("config/defaults.toml")).unwrap())
            .unwrap();
    assert_eq!(defaults["fingerprint"].as_str(), Some(fp.as_str()));
    assert_eq!(
        defaults["ca-url"].as_str(),
        Some("https://ca.acme.test:9443")
    );

    // ca.toml parses into the model and validates; the provisioner's encryptedKey decrypts with
    // the provisioner password (not the CA password) to the key whose kid is configured.
    let cfg: vouch_model::CaConfig =
        toml::from_str(&std::fs::read_to_string(home.join("config/ca.toml")).unwrap()).unwrap();
    assert!(cfg.validate().is_empty());
    assert_eq!(cfg.dns_names, vec!["ca.acme.test", "127.0.0.1"]);
    assert_eq!(cfg.db.url, "sqlite://db/vouch.db");
    let vouch_model::Provisioner::Jwk(p) = &cfg.authority.provisioners[0] else {
        panic!("expected a JWK provisioner")
    };
    assert_eq!(p.name, "admin@acme.test");
    let jwe = p.encrypted_key.as_deref().unwrap();
    let header: serde_json::Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            jwe.split('.').next().unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(header["alg"], "PBES2-HS256+A128KW");
    assert_eq!(header["enc"], "A256GCM");
    assert!(header["p2c"].as_u64().unwrap() >= 600_000);
    let pw2_text = std::fs::read_to_string(&pw2).unwrap();
    let key = vouch_registration::ProvisionerKey::from_encrypted(jwe, pw2_text.trim().as_bytes())
        .unwrap();
    assert_eq!(key.public_jwk(), &p.key);
    assert!(
        vouch_registration::ProvisionerKey::from_encrypted(jwe, b"correct horse battery staple")
            .is_err()
    );
    // An independent JOSE implementation decrypts it to the same key.
    let payload: serde_json::Value =
        serde_json::from_str(&jwcrypto_decrypt(jwe, pw2_text.trim())).unwrap();
    assert_eq!(payload["kid"].as_str(), p.key.kid.as_deref());
    assert_eq!(payload["x"].as_str(), p.key.x.as_deref());
    assert_eq!(payload["y"].as_str(), p.key.y.as_deref());
    assert_eq!(payload["kty"], "EC");
    assert_eq!(payload["crv"], "P-256");
    assert!(payload["d"].as_str().is_some_and(|d| d.len() == 43));

    // The database exists, is migrated and empty.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let url = format!("sqlite://{}", home.join("db/vouch.db").display());
        let store = vouch_storage::Store::connect(&url).await.unwrap();
        assert_eq!(store.count_certificates().await.unwrap(), 0);
        store.close().await;
    });

    // The printed next command issues a first certificate that verifies.
    env.issue_with_home_intermediate("svc.internal", "svc");
    openssl_verify(&root, Some(&int), &env.path("svc.crt"));

    // No leftovers beside the home directory.
    let stray: Vec<String> = env
        .listing()
        .into_iter()
        .filter(|p| p.starts_with(".vouch"))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn init_refuses_to_overwrite_without_force_and_replaces_with_it() {
    let env = Env::new();
    let pw = env.p("pw.txt");
    env.ok(&init_args(&env, &pw, &[]));
    let root_before = env.read("home/certs/root_ca.crt");
    let e = env.fails(&init_args(&env, &pw, &[]));
    assert!(e.contains("already exists") && e.contains("--force"), "{e}");
    assert_eq!(env.read("home/certs/root_ca.crt"), root_before);
    env.ok(&init_args(&env, &pw, &["--force"]));
    assert_ne!(env.read("home/certs/root_ca.crt"), root_before);
    let stray: Vec<String> = env
        .listing()
        .into_iter()
        .filter(|p| p.starts_with("."))
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}

#[test]
fn init_every_key_type() {
    for kt in ["ec-p384", "ed25519", "rsa-3072"] {
        let env = Env::new();
        let pw = env.p("pw.txt");
        env.ok(&init_args(&env, &pw, &["--key-type", kt]));
        let home = env.home();
        openssl_verify(
            &home.join("certs/root_ca.crt"),
            None,
            &home.join("certs/intermediate_ca.crt"),
        );
        pkilint("lint_pkix_cert", &home.join("certs/intermediate_ca.crt"));
    }
}

#[test]
fn init_without_a_terminal_names_the_missing_flag() {
    let env = Env::new();
    let pw = env.p("pw.txt");
    let e = env.fails(&[
        "init",
        "--dns",
        "ca.test",
        "--address",
        ":443",
        "--provisioner",
        "p",
        "--password-file",
        &pw,
    ]);
    assert!(e.contains("--name"), "{e}");
    let e = env.fails(&[
        "init",
        "--name",
        "X",
        "--dns",
        "ca.test",
        "--address",
        ":443",
        "--provisioner",
        "p",
    ]);
    assert!(e.contains("--password-file"), "{e}");
    let e = env.fails(
        &init_args(&env, &pw, &[])
            .iter()
            .map(|s| {
                if *s == "127.0.0.1:9443" {
                    "127.0.0.1"
                } else {
                    s
                }
            })
            .collect::<Vec<_>>(),
    );
    assert!(e.contains("port"), "{e}");
    assert!(!env.home().exists());
}

#[test]
fn external_root_with_openssl_as_the_outside_ca() {
    let env = Env::new();
    let pw = env.p("pw.txt");
    // The outside CA: a root made by openssl.
    openssl_ok(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-384",
        "-nodes",
        "-keyout",
        env.p("ext.key").as_str(),
        "-out",
        env.p("ext.crt").as_str(),
        "-days",
        "3650",
        "-subj",
        "/O=Outside/CN=Outside Root",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ]);
    let out = env.ok(&init_args(
        &env,
        &pw,
        &["--external-root", env.p("ext.crt").as_str()],
    ));
    assert!(out.contains("install-intermediate"), "{out}");
    let home = env.home();
    assert!(home.join("certs/intermediate_ca.csr").exists());
    assert!(home.join("secrets/intermediate_ca_key").exists());
    assert!(!home.join("certs/intermediate_ca.crt").exists());
    assert!(!home.join("secrets/root_ca_key").exists());
    let csr = home.join("certs/intermediate_ca.csr");
    openssl_ok(&["req", "-verify", "-noout", "-in", csr.to_str().unwrap()]);

    // The outside CA signs with openssl x509 -req.
    env.write(
        "ext.cnf",
        "[v3_int]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid:always\n",
    );
    openssl_ok(&[
        "x509",
        "-req",
        "-in",
        csr.to_str().unwrap(),
        "-CA",
        env.p("ext.crt").as_str(),
        "-CAkey",
        env.p("ext.key").as_str(),
        "-CAcreateserial",
        "-days",
        "1825",
        "-sha384",
        "-extfile",
        env.p("ext.cnf").as_str(),
        "-extensions",
        "v3_int",
        "-out",
        env.p("signed.crt").as_str(),
    ]);

    // Wrong certificates are refused: a leaf for another key, a non-CA for the right key.
    openssl_ok(&[
        "x509",
        "-req",
        "-in",
        csr.to_str().unwrap(),
        "-CA",
        env.p("ext.crt").as_str(),
        "-CAkey",
        env.p("ext.key").as_str(),
        "-CAcreateserial",
        "-days",
        "30",
        "-out",
        env.p("notca.crt").as_str(),
    ]);
    let e = env.fails(&["ca", "install-intermediate", "notca.crt"]);
    assert!(e.contains("not a CA"), "{e}");
    env.ok(&[
        "cert",
        "create",
        "Other",
        "other.crt",
        "other.key",
        "--profile",
        "root-ca",
        "--no-password",
        "--insecure",
    ]);
    let e = env.fails(&["ca", "install-intermediate", "other.crt"]);
    assert!(e.contains("not the intermediate key"), "{e}");
    assert!(!home.join("certs/intermediate_ca.crt").exists());

    env.ok(&["ca", "install-intermediate", "signed.crt"]);
    let int = home.join("certs/intermediate_ca.crt");
    openssl_verify(&home.join("certs/root_ca.crt"), None, &int);
    pkilint("lint_pkix_cert", &int);
    // The installed intermediate issues leaves that verify to the outside root.
    env.issue_with_home_intermediate("svc.internal", "svc");
    openssl_verify(&env.path("ext.crt"), Some(&int), &env.path("svc.crt"));
    webpki_verify(
        &env.path("ext.crt"),
        &[&int],
        &env.path("svc.crt"),
        Some("svc.internal"),
    );
    // Installing twice needs --force.
    let e = env.fails(&["ca", "install-intermediate", "signed.crt"]);
    assert!(e.contains("--force"), "{e}");
}

/// A terminal session under tmux, driven by waiting for each prompt before answering.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start(env: &Env, command: &str) -> Self {
        let socket = env.p("tmux.sock");
        let status = std::process::Command::new("tmux")
            .args([
                "-S",
                &socket,
                "new-session",
                "-d",
                "-x",
                "200",
                "-y",
                "50",
                command,
            ])
            .status()
            .unwrap_or_else(|e| {
                panic!("cannot run tmux ({e}): install it with 'apt-get install tmux'")
            });
        assert!(status.success(), "tmux new-session failed");
        Tmux { socket }
    }

    fn screen(&self) -> String {
        let out = std::process::Command::new("tmux")
            .args(["-S", &self.socket, "capture-pane", "-p", "-S", "-100"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Wait (bounded) until the screen shows `text` `count` times.
    fn wait_for(&self, text: &str, count: usize) -> String {
        for _ in 0..300 {
            let screen = self.screen();
            if screen.matches(text).count() >= count {
                return screen;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("timed out waiting for {text:?}; screen:\n{}", self.screen());
    }

    fn answer(&self, prompt: &str, count: usize, keys: &str) {
        self.wait_for(prompt, count);
        let status = std::process::Command::new("tmux")
            .args(["-S", &self.socket, "send-keys", "-t", "0", "-l", keys])
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
        let status = std::process::Command::new("tmux")
            .args(["-S", &self.socket, "send-keys", "-t", "0", "Enter"])
            .status()
            .expect("tmux send-keys");
        assert!(status.success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = std::process::Command::new("tmux")
            .args(["-S", &self.socket, "kill-server"])
            .status();
    }
}

#[test]
fn init_prompts_on_a_terminal_and_asks_for_the_password_twice() {
    let env = Env::new();
    let cmd = format!(
        "VOUCH_HOME={} {} init; echo EXIT=$?; sleep 60",
        env.home().display(),
        env!("CARGO_BIN_EXE_vouch")
    );
    let t = Tmux::start(&env, &cmd);
    t.answer("Name of the new PKI", 1, "Term");
    t.answer("DNS names or IPs of the CA", 1, "ca.term.test,127.0.0.1");
    t.answer("Address to listen on", 1, "127.0.0.1:9443");
    t.answer("Name of the first provisioner", 1, "admin@term.test");
    // A mismatch is caught and asked again; the password never shows on the screen.
    t.answer("Password for the CA keys", 1, "first-secret");
    t.answer("Repeat the password", 1, "second-secret");
    t.wait_for("the passwords do not match", 1);
    t.answer("Password for the CA keys", 2, "first-secret");
    t.answer("Repeat the password", 2, "first-secret");
    let screen = t.wait_for("EXIT=", 1);
    assert!(screen.contains("EXIT=0"), "{screen}");
    assert!(
        !screen.contains("first-secret") && !screen.contains("second-secret"),
        "{screen}"
    );
    // The CA keys are encrypted with the confirmed password.
    env.write("typed.txt", "first-secret\n");
    let home = env.home();
    env.ok(&[
        "key",
        "public",
        home.join("secrets/intermediate_ca_key").to_str().unwrap(),
        "--password-file",
        env.p("typed.txt").as_str(),
    ]);
}

#[test]
fn check_config_reports_every_problem_at_once() {
    let env = Env::new();
    let pw = env.p("pw.txt");
    env.ok(&init_args(&env, &pw, &[]));
    let out = env.ok(&["ca", "check-config"]);
    assert!(out.contains("Provisioner admin@acme.test (JWK"), "{out}");
    assert!(
        out.contains("certificate lifetime: default 1d, min 5m, max 1d"),
        "{out}"
    );
    assert!(
        out.contains("template: default leaf") && out.contains("The configuration is valid."),
        "{out}"
    );
    // Three unrelated mistakes: a bad duration, a bad CIDR in a policy, a missing template file.
    let config = env.home().join("config/ca.toml");
    let mut text = std::fs::read_to_string(&config).unwrap();
    text = text.replace(
        "minTLSCertDuration = \"5m\"",
        "minTLSCertDuration = \"5 minutes\"",
    );
    let at = text.find("[[authority.provisioners]]").unwrap();
    text.insert_str(
        at,
        "[authority.policy.x509.allow]\nip = [\"10.0.0.0/33\"]\n\n",
    );
    text.push_str(
        "\n[authority.provisioners.options.x509]\ntemplateFile = \"templates/missing.tpl\"\n",
    );
    std::fs::write(&config, text).unwrap();
    let out = env.vouch(&["ca", "check-config"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("minTLSCertDuration"), "{stderr}");
    assert!(stderr.contains("10.0.0.0/33"), "{stderr}");
    assert!(stderr.contains("missing.tpl"), "{stderr}");
    assert!(stderr.contains("3 problem(s)"), "{stderr}");
}
