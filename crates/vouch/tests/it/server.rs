//! The online CA end to end: the real server (in-process, loopback, OS-assigned port), the
//! real `vouch` client, curl and openssl.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::json;

use crate::support::*;
use crate::testca::TestCa;

/// The leaf of a PEM chain file written to `name.leaf.pem`.
fn leaf_of(env: &Env, chain: &str, name: &str) -> std::path::PathBuf {
    let certs = pem_certs(&env.path(chain));
    assert!(certs.len() >= 2, "{chain}: expected leaf and intermediate");
    env.write(
        &format!("{name}.leaf.pem"),
        vouch_issuing::to_pem("CERTIFICATE", &certs[0]),
    )
}

fn serial_of(env: &Env, file: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["cert", "inspect", file, "--format", "json"])).unwrap();
    v[0]["value"]["serial"].as_str().unwrap().replace(':', "")
}

#[test]
fn public_routes_answer_as_step_ca_does() {
    let ca = TestCa::start();
    let (code, body) = ca.curl(&[&ca.url("/health")]);
    assert_eq!((code, body.as_str()), (200, r#"{"status":"ok"}"#));
    // TLS 1.2 and 1.3 both work; the server certificate is for the configured names.
    for v in [
        ["--tlsv1.2", "--tls-max", "1.2"],
        ["--tlsv1.3", "--tls-max", "1.3"],
    ] {
        let (code, _) = ca.curl(&[v[0], v[1], v[2], &ca.url("/health")]);
        assert_eq!(code, 200, "{v:?}");
    }
    let (code, _) = ca.curl(&[&format!("https://127.0.0.1:{}/health", ca.port)]);
    assert_eq!(code, 200);
    let (code, body) = ca.curl(&[&ca.url("/1.0/version")]);
    assert_eq!(code, 200);
    assert!(body.contains("\"version\""), "{body}");
    // The JSON forms of roots/intermediates/federation answer 201, as step-ca's.
    for path in ["/roots", "/1.0/roots", "/federation"] {
        let (code, body) = ca.curl(&[&ca.url(path)]);
        assert_eq!(code, 201, "{path}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            v["crts"][0].as_str().unwrap(),
            std::fs::read_to_string(ca.root()).unwrap()
        );
    }
    let (code, body) = ca.curl(&[&ca.url("/intermediates")]);
    assert_eq!(code, 201);
    assert!(body.contains("BEGIN CERTIFICATE"));
    let (code, body) = ca.curl(&[&ca.url("/roots.pem")]);
    assert_eq!(
        (code, body.clone()),
        (200, std::fs::read_to_string(ca.root()).unwrap())
    );
    let (code, body) = ca.curl(&[&ca.url("/intermediates.pem")]);
    assert_eq!(
        (code, body),
        (200, std::fs::read_to_string(ca.intermediate()).unwrap())
    );
    // Root by fingerprint, with dashes allowed; unknown → 404 JSON.
    let fp = ca.fingerprint();
    let (code, body) = ca.curl(&[&ca.url(&format!("/root/{}", &fp))]);
    assert_eq!(code, 200);
    assert!(body.contains("\"ca\""));
    let dashed: String = fp
        .chars()
        .enumerate()
        .flat_map(|(i, c)| {
            if i > 0 && i % 8 == 0 {
                vec!['-', c]
            } else {
                vec![c]
            }
        })
        .collect();
    assert_eq!(ca.curl(&[&ca.url(&format!("/1.0/root/{dashed}"))]).0, 200);
    let (code, body) = ca.curl(&[&ca.url(&format!("/root/{}", "0".repeat(64)))]);
    assert_eq!(code, 404);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        (v["status"].as_u64(), v["type"].as_str()),
        (Some(404), Some("notFound"))
    );
    // Provisioners: public, with the encrypted key; and the encrypted-key route.
    let (code, body) = ca.curl(&[&ca.url("/provisioners?limit=10")]);
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    let p = &v["provisioners"][0];
    assert_eq!(
        (p["type"].as_str(), p["name"].as_str()),
        (Some("JWK"), Some("admin@acme.test"))
    );
    assert_eq!(v["nextCursor"], "");
    let kid = p["key"]["kid"].as_str().unwrap();
    let (code, body) = ca.curl(&[&ca.url(&format!("/provisioners/{kid}/encrypted-key"))]);
    assert_eq!(code, 200);
    let k: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(k["key"], p["encryptedKey"]);
    assert_eq!(
        ca.curl(&[&ca.url("/provisioners/nope/encrypted-key")]).0,
        404
    );
    assert_eq!(ca.curl(&[&ca.url("/provisioners?cursor=x")]).0, 400);
    // A request id on every response, the client's own when it sends a sane one.
    let (_, headers) = ca.curl(&[
        "-D",
        "-",
        "-o",
        "/dev/null",
        "-H",
        "X-Request-Id: abc-123",
        &ca.url("/health"),
    ]);
    assert!(
        headers
            .to_ascii_lowercase()
            .contains("x-request-id: abc-123"),
        "{headers}"
    );
}

#[test]
fn bootstrap_token_certificate_renew_rekey_revoke() {
    let ca = TestCa::start();
    // A separate client machine: bootstrap from URL and fingerprint only.
    let client = Env::new();
    let url = ca.url("");
    let e = client.fails(&[
        "ca",
        "bootstrap",
        "--ca-url",
        &url,
        "--fingerprint",
        &"ab".repeat(32),
    ]);
    assert!(e.contains("404") || e.contains("fingerprint"), "{e}");
    client.ok(&[
        "ca",
        "bootstrap",
        "--ca-url",
        &url,
        "--fingerprint",
        &ca.fingerprint(),
    ]);
    assert_eq!(
        client.read("home/certs/root_ca.crt"),
        std::fs::read_to_string(ca.root()).unwrap()
    );
    assert_eq!(client.ok(&["ca", "health"]).trim(), "ok");
    assert_eq!(
        client.ok(&["ca", "roots"]),
        std::fs::read_to_string(ca.root()).unwrap()
    );

    // Token with the provisioner password, then a certificate with it.
    let token = client.ok(&[
        "ca",
        "token",
        "svc.localhost",
        "--san",
        "svc.localhost",
        "--san",
        "127.0.0.1",
        "--password-file",
        &ca.env.p("pw.txt"),
    ]);
    let token = token.trim();
    assert_eq!(token.split('.').count(), 3);
    client.ok(&[
        "ca",
        "certificate",
        "svc.localhost",
        "svc.crt",
        "svc.key",
        "--token",
        token,
        "--san",
        "svc.localhost",
        "--san",
        "127.0.0.1",
    ]);
    assert_eq!(mode(&client.path("svc.key")), 0o600);
    let leaf = leaf_of(&client, "svc.crt", "svc");
    openssl_verify(&ca.root(), Some(&client.path("svc.crt")), &leaf);
    webpki_verify(&ca.root(), &[&ca.intermediate()], &leaf, Some("127.0.0.1"));
    pkilint("lint_pkix_cert", &leaf);
    let t = openssl_text(&leaf);
    assert!(
        t.contains("Subject: CN = svc.localhost")
            && t.contains("DNS:svc.localhost")
            && t.contains("IP Address:127.0.0.1"),
        "{t}"
    );
    assert!(
        t.contains("1.3.6.1.4.1.37476.9000.64.1"),
        "step provisioner extension missing: {t}"
    );
    // Durably stored before it was returned.
    let serial = serial_of(&client, "svc.crt");
    let rec = ca
        .store(async |s| s.get_certificate(&serial).await.unwrap())
        .expect("stored");
    assert_eq!(rec.status, vouch_storage::CertificateStatus::Issued);
    assert_eq!(rec.provisioner.as_deref(), Some("admin@acme.test"));
    assert_eq!(rec.der.as_deref(), Some(pem_certs(&leaf)[0].as_slice()));
    // The same token again is refused.
    let e = client.fails(&[
        "ca",
        "certificate",
        "svc.localhost",
        "again.crt",
        "again.key",
        "--token",
        token,
    ]);
    assert!(e.contains("401") && e.contains("already used"), "{e}");

    // Renew over mTLS with the CLI (same key) and with curl.
    let key_before = client.read("svc.key");
    client.ok(&["ca", "renew", "svc.crt", "svc.key"]);
    let renewed = serial_of(&client, "svc.crt");
    assert_ne!(renewed, serial);
    assert_eq!(client.read("svc.key"), key_before);
    let leaf = leaf_of(&client, "svc.crt", "svc2");
    openssl_verify(&ca.root(), Some(&ca.intermediate()), &leaf);
    pkilint("lint_pkix_cert", &leaf);
    let (code, body) = ca.curl(&[
        "--cert",
        &client.p("svc.crt"),
        "--key",
        &client.p("svc.key"),
        "-X",
        "POST",
        &ca.url("/1.0/renew"),
    ]);
    assert_eq!(code, 201, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(
        v["crt"].as_str().unwrap().contains("BEGIN CERTIFICATE")
            && v["certChain"].as_array().unwrap().len() == 2
    );
    // --expires-in: not due yet, nothing changes.
    let before = client.read("svc.crt");
    client.ok(&["ca", "renew", "svc.crt", "svc.key", "--expires-in", "1h"]);
    assert_eq!(client.read("svc.crt"), before);

    // Rekey: a new key, the same names.
    client.ok(&["ca", "rekey", "svc.crt", "svc.key"]);
    assert_ne!(client.read("svc.key"), key_before);
    let leaf = leaf_of(&client, "svc.crt", "svc3");
    openssl_verify(&ca.root(), Some(&ca.intermediate()), &leaf);
    let t = openssl_text(&leaf);
    assert!(
        t.contains("DNS:svc.localhost") && t.contains("IP Address:127.0.0.1"),
        "{t}"
    );

    // Revoke it with mTLS; renewal is then refused; a second revocation is a conflict.
    let serial = serial_of(&client, "svc.crt");
    client.ok(&[
        "ca",
        "revoke",
        "--cert",
        "svc.crt",
        "--key",
        "svc.key",
        "--reason",
        "superseded",
    ]);
    let rev = ca
        .store(async |s| s.get_revocation(&serial).await.unwrap())
        .expect("recorded");
    assert_eq!((rev.reason_code, rev.passive), (4, false));
    let e = client.fails(&["ca", "renew", "svc.crt", "svc.key"]);
    assert!(e.contains("401") && e.contains("revoked"), "{e}");
    let e = client.fails(&["ca", "revoke", "--cert", "svc.crt", "--key", "svc.key"]);
    assert!(e.contains("409"), "{e}");

    // Revoke by token (passive), and an unknown serial → 404.
    client.ok(&[
        "ca",
        "certificate",
        "two.localhost",
        "two.crt",
        "two.key",
        "--provisioner-password-file",
        &ca.env.p("pw.txt"),
    ]);
    let two = serial_of(&client, "two.crt");
    client.ok(&[
        "ca",
        "revoke",
        &format!("0x{two}"),
        "--passive",
        "--provisioner-password-file",
        &ca.env.p("pw.txt"),
    ]);
    assert!(
        ca.store(async |s| s.get_revocation(&two).await.unwrap())
            .unwrap()
            .passive
    );
    let e = client.fails(&[
        "ca",
        "revoke",
        "0x0123",
        "--provisioner-password-file",
        &ca.env.p("pw.txt"),
    ]);
    assert!(e.contains("404"), "{e}");
    // A revoke token must name the serial it revokes.
    let token = ca.token(&format!("0x{renewed}"), &[], "revoke");
    let (code, _) = ca.post(
        "/revoke",
        &json!({"serial": format!("0x{two}"), "ott": token, "reasonCode": 1}),
    );
    assert_eq!(code, 401);
}

/// A CSR for `cn` with `sans`, PEM.
fn csr(env: &Env, name: &str, cn: &str, sans: &[&str]) -> String {
    let mut args = vec!["cert", "create", cn];
    let (c, k) = (format!("{name}.csr"), format!("{name}.key"));
    args.extend([
        c.as_str(),
        k.as_str(),
        "--csr",
        "--no-password",
        "--insecure",
        "--force",
    ]);
    for s in sans {
        args.extend(["--san", s]);
    }
    env.ok(&args);
    env.read(&c)
}

fn hand_token(
    header: serde_json::Value,
    claims: serde_json::Value,
    sign: impl Fn(&[u8]) -> Vec<u8>,
) -> String {
    let h = B64.encode(header.to_string());
    let c = B64.encode(claims.to_string());
    let input = format!("{h}.{c}");
    let sig = B64.encode(sign(input.as_bytes()));
    format!("{input}.{sig}")
}

#[test]
fn bad_requests_are_refused_with_the_right_status_and_store_nothing() {
    let ca = TestCa::start();
    let env = &ca.env;
    let good_csr = csr(env, "a", "a.localhost", &["a.localhost"]);
    let (name, key) = ca.provisioner_key();
    let kid = key.public_jwk().kid.clone().unwrap();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = |aud: &str| json!({"iss": name, "aud": aud, "sub": "a.localhost", "sans": ["a.localhost"], "nbf": now, "iat": now, "exp": now + 300, "jti": format!("{}", now)});
    let mint = |aud: &str, nb: time::OffsetDateTime| {
        key.sign_token(&vouch_registration::TokenRequest {
            issuer: &name,
            audience: aud,
            subject: "a.localhost",
            sans: &["a.localhost".to_owned()],
            not_before: nb,
            lifetime: time::Duration::minutes(5),
            sha: None,
            x5rt_s256: None,
        })
        .unwrap()
    };
    let sign_url = ca.url("/1.0/sign");
    let now_t = time::OffsetDateTime::now_utc();
    let jwk_json = serde_json::to_string(key.public_jwk()).unwrap();
    let mut cases: Vec<(&str, String, String, u16)> = vec![
        (
            "wrong audience",
            good_csr.clone(),
            mint("https://elsewhere.example/1.0/sign", now_t),
            401,
        ),
        (
            "revoke audience used for sign",
            good_csr.clone(),
            mint(&ca.url("/1.0/revoke"), now_t),
            401,
        ),
        (
            "expired token",
            good_csr.clone(),
            mint(&sign_url, now_t - time::Duration::minutes(30)),
            401,
        ),
        (
            "not yet valid",
            good_csr.clone(),
            mint(&sign_url, now_t + time::Duration::minutes(30)),
            401,
        ),
        (
            "alg none",
            good_csr.clone(),
            hand_token(
                json!({"alg": "none", "kid": kid}),
                claims(&sign_url),
                |_| vec![],
            ),
            401,
        ),
        (
            "HMAC with the public key as secret",
            good_csr.clone(),
            hand_token(
                json!({"alg": "HS256", "kid": kid, "typ": "JWT"}),
                claims(&sign_url),
                |m| {
                    let k = aws_lc_rs::hmac::Key::new(
                        aws_lc_rs::hmac::HMAC_SHA256,
                        jwk_json.as_bytes(),
                    );
                    aws_lc_rs::hmac::sign(&k, m).as_ref().to_vec()
                },
            ),
            401,
        ),
        (
            "garbage token",
            good_csr.clone(),
            "not.a.token".to_owned(),
            401,
        ),
        (
            "CSR names a SAN the token does not",
            csr(env, "b", "a.localhost", &["a.localhost", "evil.localhost"]),
            mint(&sign_url, now_t),
            403,
        ),
        (
            "CSR common name not in the token",
            csr(env, "c", "other.localhost", &["a.localhost"]),
            mint(&sign_url, now_t),
            403,
        ),
        (
            "CSR is not a CSR",
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n"
                .to_owned(),
            mint(&sign_url, now_t),
            400,
        ),
    ];
    // A token from a key the CA does not know.
    let stranger = vouch_registration::ProvisionerKey::generate().unwrap();
    cases.push((
        "unknown key",
        good_csr.clone(),
        stranger
            .sign_token(&vouch_registration::TokenRequest {
                issuer: &name,
                audience: &sign_url,
                subject: "a.localhost",
                sans: &["a.localhost".to_owned()],
                not_before: now_t,
                lifetime: time::Duration::minutes(5),
                sha: None,
                x5rt_s256: None,
            })
            .unwrap(),
        401,
    ));
    for (what, csr_pem, ott, status) in &cases {
        let (code, body) = ca.post("/1.0/sign", &json!({"csr": csr_pem, "ott": ott}));
        assert_eq!(code, *status, "{what}: {body}");
        assert_eq!(
            body["status"].as_u64(),
            Some(u64::from(*status)),
            "{what}: {body}"
        );
        assert!(
            body["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{what}: {body}"
        );
    }
    // Garbage JSON, wrong shape, oversized body.
    let (code, body) = ca.curl(&["-X", "POST", "--data-binary", "{nope", &ca.url("/sign")]);
    assert_eq!(code, 400, "{body}");
    let (code, _) = ca.post("/sign", &json!({"csr": 5}));
    assert_eq!(code, 400);
    let big = env.write(
        "big.json",
        format!("{{\"csr\":\"{}\"}}", "A".repeat(400 * 1024)),
    );
    // With Expect: 100-continue the client waits for the verdict before uploading, so the
    // 413 is read even when the server refuses from Content-Length alone.
    let (code, body) = ca.curl(&[
        "-X",
        "POST",
        "-H",
        "Expect: 100-continue",
        "--data-binary",
        &format!("@{}", big.display()),
        &ca.url("/sign"),
    ]);
    assert_eq!(code, 413, "{body}");
    assert!(body.contains("\"status\":413"), "{body}");
    // Lifetime outside the claims.
    let (code, body) = ca.post(
        "/sign",
        &json!({"csr": good_csr, "ott": mint(&sign_url, now_t), "notAfter": "72h"}),
    );
    assert_eq!(code, 403, "{body}");
    assert_eq!(ca.count(), 0, "a refused request stored a certificate");
    // And a good one works.
    let (code, body) = ca.post(
        "/sign",
        &json!({"csr": good_csr, "ott": mint(&sign_url, now_t), "notAfter": "1h"}),
    );
    assert_eq!(code, 201, "{body}");
    assert_eq!(ca.count(), 1);
}

#[test]
fn claims_and_policies_from_the_configuration() {
    let ca = TestCa::start_with(|cfg| {
        let policy = "\n[authority.policy.x509.allow]\ndns = [\"*.localhost\"]\n";
        let insert_at = cfg.find("[[authority.provisioners]]").unwrap();
        cfg.insert_str(insert_at, policy);
        *cfg = cfg.replace("disableRenewal = false", "disableRenewal = true");
    });
    let env = &ca.env;
    let sign_url = "/1.0/sign";
    let ok_csr = csr(env, "ok", "ok.localhost", &["ok.localhost"]);
    let (code, body) = ca.post(
        sign_url,
        &json!({"csr": ok_csr, "ott": ca.token("ok.localhost", &["ok.localhost"], "sign")}),
    );
    assert_eq!(code, 201, "{body}");
    let denied = csr(env, "no", "db.internal", &["db.internal"]);
    let (code, body) = ca.post(
        sign_url,
        &json!({"csr": denied, "ott": ca.token("db.internal", &["db.internal"], "sign")}),
    );
    assert_eq!(code, 403, "{body}");
    assert!(
        body["message"].as_str().unwrap().contains("db.internal"),
        "{body}"
    );
    assert_eq!(ca.count(), 1);
    // Renewal disabled by the claims.
    let v: serde_json::Value = {
        let (_, b) = ca.post(
            sign_url,
            &json!({"csr": ok_csr, "ott": ca.token("ok.localhost", &["ok.localhost"], "sign")}),
        );
        b
    };
    env.write(
        "ok.crt",
        format!(
            "{}{}",
            v["crt"].as_str().unwrap(),
            v["ca"].as_str().unwrap()
        ),
    );
    let (code, body) = ca.curl(&[
        "--cert",
        &env.p("ok.crt"),
        "--key",
        &env.p("ok.key"),
        "-X",
        "POST",
        &ca.url("/renew"),
    ]);
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("renewal is disabled"), "{body}");
}

#[test]
fn reload_applies_a_new_configuration_and_keeps_the_old_on_error() {
    let ca = TestCa::start();
    let config = ca.env.home().join("config/ca.toml");
    let original = std::fs::read_to_string(&config).unwrap();
    // Broken file: reload fails, the server keeps serving the old configuration.
    let token = ca.token("r.localhost", &["r.localhost"], "sign");
    std::fs::write(&config, "this is = not [valid").unwrap();
    assert!(ca.reload().is_err());
    let (code, _) = ca.post(
        "/sign",
        &json!({"csr": csr(&ca.env, "r", "r.localhost", &["r.localhost"]), "ott": token}),
    );
    assert_eq!(code, 201);
    // A file that parses but is invalid (an unknown provisioner type) is refused too.
    std::fs::write(
        &config,
        original.replace("type = \"JWK\"", "type = \"NOPE\""),
    )
    .unwrap();
    let err = ca.reload().unwrap_err().to_string();
    assert!(err.contains("ca.toml"), "{err}");
    // A valid change takes effect: a shorter maximum lifetime.
    std::fs::write(
        &config,
        original
            .replace(
                "maxTLSCertDuration = \"24h\"",
                "maxTLSCertDuration = \"2h\"",
            )
            .replace(
                "defaultTLSCertDuration = \"24h\"",
                "defaultTLSCertDuration = \"1h\"",
            ),
    )
    .unwrap();
    ca.reload().unwrap();
    let (code, body) = ca.post("/sign", &json!({"csr": csr(&ca.env, "s", "s.localhost", &["s.localhost"]), "ott": ca.token("s.localhost", &["s.localhost"], "sign"), "notAfter": "3h"}));
    assert_eq!(code, 403, "{body}");
    let (code, _) = ca.post("/sign", &json!({"csr": csr(&ca.env, "t", "t.localhost", &["t.localhost"]), "ott": ca.token("t.localhost", &["t.localhost"], "sign"), "notAfter": "90m"}));
    assert_eq!(code, 201);
}

#[test]
fn graceful_shutdown_finishes_a_request_in_flight() {
    let mut ca = TestCa::start();
    // A slow upload: curl sends a 60 KB body at 20 KB/s, so it is still in flight when the
    // server is told to stop; it must still get its answer.
    let body = ca.env.write(
        "slow.json",
        format!("{{\"csr\":\"{}\"}}", "A".repeat(60 * 1024)),
    );
    let root = ca.root();
    let url = ca.url("/sign");
    let slow = std::thread::spawn(move || {
        std::process::Command::new("curl")
            .args([
                "-s",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                "--cacert",
                root.to_str().unwrap(),
                "--limit-rate",
                "20K",
                "-X",
                "POST",
                "--data-binary",
            ])
            .arg(format!("@{}", body.display()))
            .arg(url)
            .output()
            .unwrap()
    });
    std::thread::sleep(std::time::Duration::from_millis(800));
    ca.shutdown();
    let out = slow.join().unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "400",
        "the in-flight request did not get its answer"
    );
    // New connections are refused now.
    let (code, _) = ca.curl(&["--max-time", "3", &ca.url("/health")]);
    assert_eq!(code, 0);
}

#[test]
fn renewal_daemon_renews_on_sighup_runs_exec_and_stops_on_sigterm() {
    use std::io::BufRead;
    let ca = TestCa::start();
    let env = &ca.env;
    env.ok(&[
        "ca",
        "certificate",
        "d.localhost",
        "d.crt",
        "d.key",
        "--provisioner-password-file",
        &env.p("pw.txt"),
    ]);
    let first = serial_of(env, "d.crt");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args([
            "ca",
            "renew",
            "d.crt",
            "d.key",
            "--daemon",
            "--exec",
            "echo done >> renewed.flag",
        ])
        .env("VOUCH_HOME", env.home())
        .current_dir(env.dir.path())
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    // The first line is printed once the signal handlers are in place.
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    assert!(
        line.contains("renewing") && line.contains("d.crt"),
        "{line}"
    );
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    line.clear();
    stderr.read_line(&mut line).unwrap();
    assert!(line.contains("SIGHUP"), "{line}");
    line.clear();
    stderr.read_line(&mut line).unwrap();
    assert!(
        line.contains("renewed") && line.contains("next renewal"),
        "{line}"
    );
    // The renewal wrote a new chain atomically and ran --exec once.
    let mut flag = String::new();
    for _ in 0..100 {
        flag = std::fs::read_to_string(env.path("renewed.flag")).unwrap_or_default();
        if !flag.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(flag, "done\n");
    assert_ne!(serial_of(env, "d.crt"), first);
    let leaf = leaf_of(env, "d.crt", "d");
    openssl_verify(&ca.root(), Some(&ca.intermediate()), &leaf);
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn prometheus_metrics_on_their_own_plain_http_listener() {
    let ca = TestCa::start();
    let env = &ca.env;
    env.ok(&[
        "ca",
        "certificate",
        "m.localhost",
        "m.crt",
        "m.key",
        "--provisioner-password-file",
        &env.p("pw.txt"),
    ]);
    let _ = ca.curl(&[&ca.url("/root/00")]);
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            &format!("http://127.0.0.1:{}/metrics", ca.metrics_port),
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    // Counters are process-wide (several test servers share one recorder), so check presence
    // and the label shapes rather than exact totals.
    assert!(
        text.contains("vouch_certificates_issued_total{provisioner=\"admin@acme.test\"}"),
        "{text}"
    );
    assert!(
        text.contains("vouch_http_requests_total{route=\"/1.0/sign\",status=\"201\"}"),
        "{text}"
    );
    assert!(
        text.contains("vouch_requests_rejected_total{reason=\"notFound\"}"),
        "{text}"
    );
    assert!(
        text.contains("vouch_http_request_duration_seconds_bucket{route=\"/root/{sha}\""),
        "{text}"
    );
}

#[test]
fn expired_certificates_renew_with_a_token_only_when_the_provisioner_allows_it() {
    for allowed in [false, true] {
        let ca = TestCa::start_with(|cfg| {
            if allowed {
                *cfg = cfg.replace(
                    "allowRenewalAfterExpiry = false",
                    "allowRenewalAfterExpiry = true",
                );
            }
        });
        let env = &ca.env;
        // Issued already expired: valid from 10 to 5 minutes ago.
        env.ok(&[
            "ca",
            "certificate",
            "old.localhost",
            "old.crt",
            "old.key",
            "--not-before",
            "-10m",
            "--not-after",
            "-5m",
            "--provisioner-password-file",
            &env.p("pw.txt"),
        ]);
        // mTLS is impossible with an expired certificate: the TLS layer refuses it.
        let (code, _) = ca.curl(&[
            "--cert",
            &env.p("old.crt"),
            "--key",
            &env.p("old.key"),
            "-X",
            "POST",
            &ca.url("/renew"),
        ]);
        assert_ne!(code, 201);
        let out = env.vouch(&["ca", "renew", "old.crt", "old.key"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if allowed {
            assert!(out.status.success(), "{stderr}");
            let leaf = leaf_of(env, "old.crt", "old");
            openssl_verify(&ca.root(), Some(&ca.intermediate()), &leaf);
            // The renewed certificate is valid now, with the old lifetime.
            let t = openssl_ok(&[
                "x509",
                "-noout",
                "-checkend",
                "60",
                "-in",
                leaf.to_str().unwrap(),
            ]);
            assert!(t.contains("will not expire"), "{t}");
        } else {
            assert!(!out.status.success());
            assert!(
                stderr.contains("401") && stderr.contains("renewal after expiry"),
                "{stderr}"
            );
        }
    }
}

#[test]
fn vouch_serve_process_reloads_on_sighup_and_exits_0_on_sigterm() {
    use std::io::BufRead;
    // A PKI from `vouch init`, served by the real binary with the password from the
    // environment, on an OS-assigned loopback port.
    let env = Env::new();
    env.ok(&[
        "init",
        "--name",
        "Proc",
        "--dns",
        "localhost",
        "--address",
        "127.0.0.1:9443",
        "--provisioner",
        "admin",
        "--password-file",
        &env.p("pw.txt"),
    ]);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(["serve", "--address", "127.0.0.1:0"])
        .env("VOUCH_HOME", env.home())
        .env("VOUCH_PASSWORD_FILE", env.path("pw.txt"))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut port = None;
    let mut seen = String::new();
    for _ in 0..20 {
        let mut line = String::new();
        if stderr.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
        if let Some(rest) = line
            .trim()
            .strip_prefix("Vouch is serving on https://127.0.0.1:")
        {
            port = rest.parse::<u16>().ok();
            break;
        }
    }
    let port = port.unwrap_or_else(|| panic!("no serving line in: {seen}"));
    // Drain the log in the background so the server never blocks on a full pipe.
    let log = std::thread::spawn(move || {
        let mut all = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut all);
        all
    });
    let root = env.home().join("certs/root_ca.crt");
    let curl = |path: &str| -> String {
        let out = std::process::Command::new("curl")
            .args([
                "-s",
                "--cacert",
                root.to_str().unwrap(),
                &format!("https://localhost:{port}{path}"),
            ])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert_eq!(curl("/health"), r#"{"status":"ok"}"#);
    // Add a provisioner and SIGHUP: it is listed without a restart.
    env.ok(&[
        "ca",
        "provisioner",
        "add",
        "second",
        "--password-file",
        &env.p("pw2.txt"),
    ]);
    let pid = child.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-HUP", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut listed = String::new();
    for _ in 0..100 {
        listed = curl("/provisioners");
        if listed.contains("\"second\"") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(listed.contains("\"second\""), "{listed}");
    // SIGTERM: a clean exit with status 0.
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
    let log = log.join().unwrap();
    assert!(
        log.contains("configuration reloaded") && log.contains("shutting down"),
        "{log}"
    );
    // No secret in the log: neither the password nor a token.
    assert!(
        !log.contains("correct horse") && !log.contains("eyJ"),
        "{log}"
    );
}

#[test]
fn provisioner_templates_shape_the_certificate_and_can_refuse() {
    // A custom template: organisation from the provisioner's templateData, a team OU from the
    // request's templateData, AIA URLs, a private extension by OID, clientAuth only; and a
    // request that asks for it is refused by the template itself.
    let template = r#"{
  "subject": {"commonName": {{ toJson(Subject.CommonName) }}, "organization": {{ toJson(org) }},
              "organizationalUnit": {{ toJson(Insecure.User.team | default("none")) }}},
  "sans": {{ toJson(SANs) }},
  "keyUsage": ["digitalSignature"],
  "extKeyUsage": ["clientAuth"],
  "ocspServer": ["http://ocsp.acme.test/"],
  "issuingCertificateURL": ["http://ca.acme.test/intermediate.crt"],
  "extensions": [{"id": "1.3.6.1.4.1.55555.1", "critical": false, "value": "DAVoZWxsbw=="}]
  {%- if Insecure.User.forbidden %}{{ fail("this provisioner does not issue forbidden certificates") }}{% endif %}
}"#;
    let ca = TestCa::start_with(|cfg| {
        let opts = format!(
            "\n[authority.provisioners.options.x509]\ntemplate = '''{template}'''\n[authority.provisioners.options.x509.templateData]\norg = \"Acme Corp\"\n"
        );
        cfg.push_str(&opts);
    });
    let env = &ca.env;
    let c = csr(env, "t", "t.localhost", &["t.localhost"]);
    let (code, body) = ca.post(
        "/sign",
        &json!({"csr": c, "ott": ca.token("t.localhost", &["t.localhost"], "sign"), "templateData": {"team": "payments"}}),
    );
    assert_eq!(code, 201, "{body}");
    let crt = env.write("t.crt", body["crt"].as_str().unwrap());
    openssl_verify(&ca.root(), Some(&ca.intermediate()), &crt);
    pkilint("lint_pkix_cert", &crt);
    let t = openssl_text(&crt);
    assert!(
        t.contains("O = Acme Corp, OU = payments, CN = t.localhost"),
        "{t}"
    );
    assert!(t.contains("OCSP - URI:http://ocsp.acme.test/"), "{t}");
    assert!(
        t.contains("CA Issuers - URI:http://ca.acme.test/intermediate.crt"),
        "{t}"
    );
    assert!(t.contains("1.3.6.1.4.1.55555.1"), "{t}");
    assert!(
        t.contains("TLS Web Client Authentication") && !t.contains("TLS Web Server Authentication"),
        "{t}"
    );
    let stored = ca.count();
    let (code, body) = ca.post(
        "/sign",
        &json!({"csr": c, "ott": ca.token("t.localhost", &["t.localhost"], "sign"), "templateData": {"forbidden": true}}),
    );
    assert_eq!(code, 400, "{body}");
    assert_eq!(
        body["message"],
        "this provisioner does not issue forbidden certificates"
    );
    assert_eq!(ca.count(), stored);
}
