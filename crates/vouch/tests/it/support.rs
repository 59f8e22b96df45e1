//! The test harness: run `vouch` and the independent verifiers (openssl, pkilint, webpki).
//! A missing external tool fails the test loudly; nothing is skipped.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// A scratch directory with a `VOUCH_HOME` inside it and a password file.
pub struct Env {
    pub dir: tempfile::TempDir,
}

impl Env {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let env = Env { dir };
        env.write("pw.txt", "correct horse battery staple\n");
        env.write("pw2.txt", "another-password\n");
        env
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn p(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    pub fn home(&self) -> PathBuf {
        self.path("home")
    }

    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, contents).expect("write");
        p
    }

    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_else(|e| panic!("read {name}: {e}"))
    }

    /// `vouch ARGS` with stdin closed (never interactive), VOUCH_HOME set, cwd the scratch dir.
    pub fn vouch(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_vouch"))
            .args(args)
            .env("VOUCH_HOME", self.home())
            .current_dir(self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("run vouch")
    }

    /// Run vouch and require success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.vouch(args);
        assert!(
            out.status.success(),
            "vouch {args:?} failed:\nstdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Run vouch and require a clean failure: non-zero exit, one line on stderr starting with
    /// `error:`, no panic. Returns that line.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.vouch(args);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "vouch {args:?} unexpectedly succeeded: {stderr}"
        );
        assert_eq!(
            out.status.code(),
            Some(1),
            "vouch {args:?}: exit {:?}: {stderr}",
            out.status
        );
        assert!(
            !stderr.contains("panicked"),
            "vouch {args:?} panicked: {stderr}"
        );
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "vouch {args:?}: expected one error line, got: {stderr}"
        );
        assert!(lines[0].starts_with("error: "), "{stderr}");
        lines[0].to_owned()
    }

    /// Issue `NAME.crt`/`NAME.key` for `cn` with the intermediate of the PKI in `home`, whose
    /// key password is `pw.txt`.
    pub fn issue_with_home_intermediate(&self, cn: &str, name: &str) {
        let home = self.home();
        let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
        let int = home.join("certs/intermediate_ca.crt").display().to_string();
        let int_key = home
            .join("secrets/intermediate_ca_key")
            .display()
            .to_string();
        let pw = self.p("pw.txt");
        self.ok(&[
            "cert",
            "create",
            cn,
            &crt,
            &key,
            "--ca",
            &int,
            "--ca-key",
            &int_key,
            "--ca-password-file",
            &pw,
            "--no-password",
            "--insecure",
        ]);
    }

    /// Every file below the scratch dir (relative paths), to prove nothing was written.
    pub fn listing(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(self.dir.path(), self.dir.path(), &mut out);
        out.sort();
        out
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            out.push(p.strip_prefix(root).unwrap_or(&p).display().to_string());
            if p.is_dir() {
                walk(root, &p, out);
            }
        }
    }
}

/// Unix mode bits of a file.
pub fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o777
}

/// Run openssl; a missing binary fails the test with the package to install.
pub fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run openssl ({e}): install it with 'apt-get install openssl'")
        })
}

/// Run openssl and require success; returns stdout+stderr.
pub fn openssl_ok(args: &[&str]) -> String {
    let out = openssl(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "openssl {args:?} failed: {text}");
    text
}

/// `openssl verify` of `cert` against `root`, with optional untrusted intermediates.
pub fn openssl_verify(root: &Path, intermediate: Option<&Path>, cert: &Path) {
    let mut args = vec![
        "verify",
        "-x509_strict",
        "-CAfile",
        root.to_str().expect("utf8"),
    ];
    if let Some(i) = intermediate {
        args.extend(["-untrusted", i.to_str().expect("utf8")]);
    }
    args.push(cert.to_str().expect("utf8"));
    let text = openssl_ok(&args);
    assert!(text.contains(": OK"), "openssl verify: {text}");
}

/// `openssl x509 -text` of a certificate.
pub fn openssl_text(cert: &Path) -> String {
    openssl_ok(&[
        "x509",
        "-noout",
        "-text",
        "-in",
        cert.to_str().expect("utf8"),
    ])
}

/// Decrypt a compact JWE with jwcrypto (PyPI), an independent JOSE implementation; returns
/// the payload.
pub fn jwcrypto_decrypt(jwe: &str, password: &str) -> String {
    let script = "import sys, jwcrypto.jwa as a\n\
        from jwcrypto import jwe, jwk\n\
        a.default_max_pbkdf2_iterations = 10_000_000\n\
        e = jwe.JWE()\n\
        e.deserialize(sys.argv[1])\n\
        e.allowed_algs = ['PBES2-HS256+A128KW', 'A256GCM']\n\
        e.decrypt(jwk.JWK.from_password(sys.argv[2]))\n\
        sys.stdout.write(e.payload.decode())\n";
    let out = Command::new(pkilint_bin("python"))
        .args(["-c", script, jwe, password])
        .output()
        .unwrap_or_else(|e| panic!("cannot run python for jwcrypto: {e}"));
    assert!(
        out.status.success(),
        "jwcrypto could not decrypt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf8 payload")
}

fn pkilint_bin(linter: &str) -> PathBuf {
    let dirs = [
        std::env::var("VOUCH_PKILINT_DIR").ok(),
        Some("/var/tmp/vouch-tools/venv/bin".into()),
    ];
    for d in dirs.into_iter().flatten() {
        let p = Path::new(&d).join(linter);
        if p.exists() {
            return p;
        }
    }
    if let Ok(path) = std::env::var("PATH") {
        for d in path.split(':') {
            let p = Path::new(d).join(linter);
            if p.exists() {
                return p;
            }
        }
    }
    panic!(
        "{linter} not found: run scripts/test-deps.sh (pkilint from PyPI in /var/tmp/vouch-tools/venv)"
    )
}

/// Lint with pkilint and fail on any ERROR or FATAL finding (its exit code counts INFO too).
pub fn pkilint(linter: &str, file: &Path) {
    pkilint_with(linter, &[], file);
}

/// [`pkilint`] with extra linter arguments (e.g. `-t CRL -p PKIX` for `lint_crl`).
pub fn pkilint_with(linter: &str, extra: &[&str], file: &Path) {
    pkilint_allowing(linter, extra, &[], file);
}

/// [`pkilint_with`], tolerating findings with the given codes. Only for findings where
/// pkilint's PKIX profile is stricter than the certificate's intended profile (for example
/// `pkix.invalid_domain_name_syntax` on a wildcard dNSName: RFC 5280's preferred name syntax
/// has no `*`, wildcards are RFC 6125's); every other ERROR or FATAL still fails.
pub fn pkilint_allowing(linter: &str, extra: &[&str], allowed: &[&str], file: &Path) {
    let out = Command::new(pkilint_bin(linter))
        .arg("lint")
        .args(extra)
        .args(["-f", "JSON", file.to_str().expect("utf8")])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {linter}: {e}"));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{linter} gave no JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let results = v["results"].as_array().expect("pkilint results array");
    let mut bad = Vec::new();
    for r in results {
        for f in r["finding_descriptions"].as_array().into_iter().flatten() {
            let sev = f["severity"].as_str().unwrap_or("");
            let code = f["code"].as_str().unwrap_or("");
            if (sev == "ERROR" || sev == "FATAL") && !allowed.contains(&code) {
                bad.push(format!("{sev} {} at {}", f["code"], r["node_path"]));
            }
        }
    }
    assert!(bad.is_empty(), "{linter} {}: {bad:?}", file.display());
}

/// Parse all certificates of a PEM file.
pub fn pem_certs(path: &Path) -> Vec<Vec<u8>> {
    pem_text_certs(&std::fs::read_to_string(path).expect("read pem"))
}

/// The DER of the first certificate in PEM text.
pub fn pem_bytes(text: &str) -> Vec<u8> {
    pem_text_certs(text).remove(0)
}

fn pem_text_certs(text: &str) -> Vec<Vec<u8>> {
    pem::parse_many(text)
        .expect("pem")
        .into_iter()
        .filter(|p| p.tag() == "CERTIFICATE")
        .map(pem::Pem::into_contents)
        .collect()
}

/// Verify with rustls-webpki (through the validation crate) as a TLS server certificate.
pub fn webpki_verify(root: &Path, intermediates: &[&Path], leaf: &Path, host: Option<&str>) {
    let roots = pem_certs(root);
    let ints: Vec<Vec<u8>> = intermediates.iter().flat_map(|p| pem_certs(p)).collect();
    let leaf = pem_certs(leaf).remove(0);
    let opts = vouch_validation::VerifyOptions {
        roots: &roots,
        intermediates: &ints,
        host,
        at: time::OffsetDateTime::now_utc(),
        usage: vouch_validation::Usage::ServerAuth,
        crls: &[],
    };
    vouch_validation::verify_chain(&leaf, &opts).unwrap_or_else(|e| panic!("webpki: {e}"));
}
