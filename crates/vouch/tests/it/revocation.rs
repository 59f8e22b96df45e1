//! The validation authority: the CRL, checked by openssl, rustls-webpki and pkilint.

use crate::support::*;
use crate::testca::TestCa;

fn serial_hex(env: &Env, file: &str) -> String {
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["cert", "inspect", file, "--format", "json"])).unwrap();
    v[0]["value"]["serial"].as_str().unwrap().replace(':', "")
}

/// GET a URL with curl; (status, headers, body bytes).
fn get(url: &str, extra: &[&str]) -> (u16, String, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body");
    let out = std::process::Command::new("curl")
        .args([
            "-s",
            "-D",
            "-",
            "-o",
            body.to_str().unwrap(),
            "-w",
            "\n%{http_code}",
        ])
        .args(extra)
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("cannot run curl ({e})"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (headers, code) = text.rsplit_once('\n').unwrap_or(("", "0"));
    (
        code.trim().parse().unwrap_or(0),
        headers.to_ascii_lowercase(),
        std::fs::read(&body).unwrap_or_default(),
    )
}

fn header<'a>(headers: &'a str, name: &str) -> Option<&'a str> {
    headers
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{name}: ")).map(str::trim))
}

#[test]
fn crl_publishes_active_revocations_quickly_and_verifies_everywhere() {
    let ca = TestCa::start_with(|cfg| {
        cfg.push_str("\n[crl]\ncacheDuration = \"12h\"\ndistributionPoint = \"http://127.0.0.1:INSECURE_PORT/crl\"\n");
    });
    let env = &ca.env;
    let pw = env.p("pw.txt");
    for name in ["a", "b", "c"] {
        env.ok(&[
            "ca",
            "certificate",
            &format!("{name}.localhost"),
            &format!("{name}.crt"),
            &format!("{name}.key"),
            "--provisioner-password-file",
            &pw,
        ]);
    }
    // Leaves name the CRL's plain-HTTP URL.
    let t = openssl_ok(&["x509", "-noout", "-text", "-in", env.p("a.crt").as_str()]);
    assert!(
        t.contains(&format!("URI:http://127.0.0.1:{}/crl", ca.insecure_port)),
        "{t}"
    );

    // The first CRL: empty, served over plain HTTP with caching headers, and over HTTPS.
    let crl_url = format!("http://127.0.0.1:{}/crl", ca.insecure_port);
    let (code, headers, first) = get(&crl_url, &[]);
    assert_eq!(code, 200, "{headers}");
    assert_eq!(
        header(&headers, "content-type"),
        Some("application/pkix-crl")
    );
    let etag = header(&headers, "etag").unwrap().to_owned();
    let max_age: i64 = header(&headers, "cache-control")
        .unwrap()
        .trim_start_matches("public, max-age=")
        .parse()
        .unwrap();
    assert!(max_age > 11 * 3600 && max_age <= 12 * 3600, "{headers}");
    assert!(
        header(&headers, "last-modified").is_some_and(|v| v.ends_with("gmt")),
        "{headers}"
    );
    let (code, _, _) = get(&crl_url, &["-H", &format!("If-None-Match: {etag}")]);
    assert_eq!(code, 304);
    let (code, pem) = ca.curl(&[&ca.url("/1.0/crl?pem")]);
    assert_eq!(code, 200);
    assert!(pem.starts_with("-----BEGIN X509 CRL-----"), "{pem}");
    env.write("first.crl", &first);
    let text = openssl_ok(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        env.p("first.crl").as_str(),
        "-noout",
        "-text",
    ]);
    assert!(text.contains("No Revoked Certificates"), "{text}");

    // Revoke a (active, keyCompromise) and c (passive): a appears in the CRL within the
    // documented rebuild delay; c never does.
    let a = serial_hex(env, "a.crt");
    let c = serial_hex(env, "c.crt");
    env.ok(&[
        "ca",
        "revoke",
        &format!("0x{a}"),
        "--reason",
        "keyCompromise",
        "--provisioner-password-file",
        &pw,
    ]);
    env.ok(&[
        "ca",
        "revoke",
        &format!("0x{c}"),
        "--passive",
        "--provisioner-password-file",
        &pw,
    ]);
    let mut crl = Vec::new();
    for _ in 0..100 {
        let (_, headers, body) = get(&crl_url, &[]);
        if header(&headers, "etag").is_some_and(|e| e != etag) {
            crl = body;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        !crl.is_empty(),
        "the CRL was not rebuilt after the revocation"
    );
    let crl_file = env.write("ca.crl", &crl);
    let text = openssl_ok(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        crl_file.to_str().unwrap(),
        "-noout",
        "-text",
    ]);
    assert!(
        text.to_ascii_lowercase()
            .contains(&format!("serial number: {a}")),
        "{text}"
    );
    assert!(
        !text
            .to_ascii_lowercase()
            .contains(&format!("serial number: {c}")),
        "{text}"
    );
    assert!(text.contains("Key Compromise"), "{text}");
    // The CRL number went up.
    let number = |t: &str| -> u64 {
        let l = t
            .lines()
            .skip_while(|l| !l.contains("X509v3 CRL Number"))
            .nth(1)
            .unwrap();
        l.trim().parse().unwrap()
    };
    let first_text = openssl_ok(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        env.p("first.crl").as_str(),
        "-noout",
        "-text",
    ]);
    assert!(number(&text) > number(&first_text));
    assert!(!text.contains("Issuing Distribution Point"), "{text}");

    // openssl: the signature verifies with the intermediate, and -crl_check rejects a, accepts b.
    let chain = env.write(
        "chain.pem",
        format!(
            "{}{}",
            std::fs::read_to_string(ca.intermediate()).unwrap(),
            std::fs::read_to_string(ca.root()).unwrap()
        ),
    );
    let v = openssl_ok(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        crl_file.to_str().unwrap(),
        "-CAfile",
        chain.to_str().unwrap(),
        "-noout",
        "-verify",
    ]);
    assert!(v.contains("verify OK"), "{v}");
    let crl_pem = env.write(
        "ca.crl.pem",
        openssl_ok(&["crl", "-inform", "DER", "-in", crl_file.to_str().unwrap()]),
    );
    let check = |crt: &str| {
        openssl(&[
            "verify",
            "-crl_check",
            "-CRLfile",
            crl_pem.to_str().unwrap(),
            "-CAfile",
            ca.root().to_str().unwrap(),
            "-untrusted",
            ca.intermediate().to_str().unwrap(),
            env.p(crt).as_str(),
        ])
    };
    let out = check("a.crt");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("certificate revoked")
            || String::from_utf8_lossy(&out.stderr).contains("certificate revoked")
    );
    assert!(check("b.crt").status.success());
    assert!(
        check("c.crt").status.success(),
        "a passive revocation is not in the CRL"
    );

    // rustls-webpki, through `vouch cert verify --crl`.
    let e = env.fails(&[
        "cert",
        "verify",
        "a.crt",
        "--roots",
        ca.root().to_str().unwrap(),
        "--crl",
        crl_file.to_str().unwrap(),
    ]);
    assert!(e.contains("revoked"), "{e}");
    env.ok(&[
        "cert",
        "verify",
        "b.crt",
        "--roots",
        ca.root().to_str().unwrap(),
        "--crl",
        crl_pem.to_str().unwrap(),
    ]);

    // pkilint: no ERROR or FATAL findings.
    pkilint_with("lint_crl", &["-t", "CRL", "-p", "PKIX"], &crl_file);
}

#[test]
fn ocsp_answers_good_revoked_unknown_and_a_revocation_shows_at_once() {
    let ca = TestCa::start_with(|cfg| {
        cfg.push_str(
            "\n[ocsp]\nurl = \"http://127.0.0.1:INSECURE_PORT/ocsp\"\ncaIssuers = \"http://127.0.0.1:INSECURE_PORT/intermediate.crt\"\n",
        );
    });
    let env = &ca.env;
    let pw = env.p("pw.txt");
    for name in ["a", "b"] {
        env.ok(&[
            "ca",
            "certificate",
            &format!("{name}.localhost"),
            &format!("{name}.crt"),
            &format!("{name}.key"),
            "--provisioner-password-file",
            &pw,
        ]);
    }
    let port = ca.insecure_port;
    let t = openssl_ok(&["x509", "-noout", "-text", "-in", env.p("a.crt").as_str()]);
    assert!(
        t.contains(&format!("OCSP - URI:http://127.0.0.1:{port}/ocsp")),
        "{t}"
    );
    assert!(
        t.contains(&format!(
            "CA Issuers - URI:http://127.0.0.1:{port}/intermediate.crt"
        )),
        "{t}"
    );
    // The caIssuers URL serves the intermediate in DER.
    let (code, _, der) = get(&format!("http://127.0.0.1:{port}/intermediate.crt"), &[]);
    assert_eq!(code, 200);
    assert_eq!(der, pem_certs(&ca.intermediate())[0]);

    let int = ca.intermediate();
    let chain = env.write(
        "chain.pem",
        format!(
            "{}{}",
            std::fs::read_to_string(&int).unwrap(),
            std::fs::read_to_string(ca.root()).unwrap()
        ),
    );
    let url = format!("http://127.0.0.1:{port}/ocsp");
    let ask = |target: &[&str], extra: &[&str]| -> String {
        let mut args = vec!["ocsp", "-issuer", int.to_str().unwrap()];
        args.extend_from_slice(target);
        args.extend([
            "-url",
            url.as_str(),
            "-CAfile",
            chain.to_str().unwrap(),
            "-resp_text",
        ]);
        args.extend_from_slice(extra);
        openssl_ok(&args)
    };
    let a = env.p("a.crt");
    let b = env.p("b.crt");
    // Good, with a nonce and without, SHA-1 and SHA-256 CertIDs; the responder's signature
    // verifies ("Response verify OK") through the delegated responder certificate.
    for (digest, extra) in [
        (None, &[][..]),
        (None, &["-no_nonce"][..]),
        (Some("-sha256"), &[][..]),
    ] {
        let mut target: Vec<&str> = digest.into_iter().collect();
        target.extend(["-cert", a.as_str()]);
        let out = ask(&target, extra);
        assert!(out.contains("Response verify OK"), "{out}");
        assert!(out.contains(&format!("{a}: good")), "{out}");
        assert!(
            out.contains("OCSP Signing") || out.contains("Vouch OCSP Responder"),
            "{out}"
        );
    }
    // Unknown: a serial this CA never issued. Two certificates in one request.
    let out = ask(&["-serial", "0x0123456789", "-cert", b.as_str()], &[]);
    assert!(
        out.contains("0x0123456789: unknown") && out.contains(&format!("{b}: good")),
        "{out}"
    );

    // Active revocation shows in OCSP at once; passive does not.
    let serial = |f: &str| -> String {
        let v: serde_json::Value =
            serde_json::from_str(&env.ok(&["cert", "inspect", f, "--format", "json"])).unwrap();
        v[0]["value"]["serial"].as_str().unwrap().replace(':', "")
    };
    let (sa, sb) = (serial("a.crt"), serial("b.crt"));
    // Warm the cache with a nonce-less good answer first: revocation must still show at once.
    assert!(ask(&["-cert", a.as_str()], &["-no_nonce"]).contains(&format!("{a}: good")));
    env.ok(&[
        "ca",
        "revoke",
        &format!("0x{sa}"),
        "--reason",
        "keyCompromise",
        "--provisioner-password-file",
        &pw,
    ]);
    env.ok(&[
        "ca",
        "revoke",
        &format!("0x{sb}"),
        "--passive",
        "--provisioner-password-file",
        &pw,
    ]);
    for extra in [&[][..], &["-no_nonce"][..]] {
        let out = ask(&["-cert", a.as_str()], extra);
        assert!(
            out.contains(&format!("{a}: revoked")) && out.contains("Reason: keyCompromise"),
            "{out}"
        );
        assert!(out.contains("Response verify OK"), "{out}");
    }
    assert!(ask(&["-cert", b.as_str()], &[]).contains(&format!("{b}: good")));

    // GET with the base64 request in the path (RFC 5019), cacheable; checked with -respin.
    let req = env.path("req.der");
    openssl_ok(&[
        "ocsp",
        "-issuer",
        int.to_str().unwrap(),
        "-cert",
        a.as_str(),
        "-no_nonce",
        "-reqout",
        req.to_str().unwrap(),
    ]);
    let b64 = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        std::fs::read(&req).unwrap(),
    );
    let encoded = b64
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    let (code, headers, resp) = get(&format!("{url}/{encoded}"), &[]);
    assert_eq!(code, 200);
    assert!(
        header(&headers, "content-type") == Some("application/ocsp-response"),
        "{headers}"
    );
    assert!(
        header(&headers, "cache-control").is_some_and(|c| c.contains("max-age=")),
        "{headers}"
    );
    let resp_file = env.write("resp.der", &resp);
    let out = openssl_ok(&[
        "ocsp",
        "-respin",
        resp_file.to_str().unwrap(),
        "-issuer",
        int.to_str().unwrap(),
        "-cert",
        a.as_str(),
        "-CAfile",
        chain.to_str().unwrap(),
        "-resp_text",
    ]);
    assert!(
        out.contains("Response verify OK") && out.contains(&format!("{a}: revoked")),
        "{out}"
    );
    pkilint("lint_ocsp_response", &resp_file);

    // POST over HTTPS too (the nonce is echoed: -reqin checks it), and a good response for
    // pkilint.
    let req_b = env.path("req_b.der");
    openssl_ok(&[
        "ocsp",
        "-issuer",
        int.to_str().unwrap(),
        "-cert",
        b.as_str(),
        "-reqout",
        req_b.to_str().unwrap(),
    ]);
    let out_file = env.path("resp_b.der");
    let (code, _) = ca.curl(&[
        "-X",
        "POST",
        "-H",
        "content-type: application/ocsp-request",
        "--data-binary",
        &format!("@{}", req_b.display()),
        "-o",
        out_file.to_str().unwrap(),
        &ca.url("/ocsp"),
    ]);
    assert_eq!(code, 200);
    let out = openssl_ok(&[
        "ocsp",
        "-reqin",
        req_b.to_str().unwrap(),
        "-respin",
        out_file.to_str().unwrap(),
        "-CAfile",
        chain.to_str().unwrap(),
        "-resp_text",
    ]);
    // (With -cert as well, openssl would build a new request with a new nonce.)
    assert!(
        out.contains("Response verify OK") && out.contains("Cert Status: good"),
        "{out}"
    );
    pkilint("lint_ocsp_response", &out_file);

    // Garbage gets the RFC 6960 malformedRequest status, not an HTTP error page.
    let junk = env.write("junk.der", b"not an ocsp request");
    let (code, _, resp) = get(
        &url,
        &[
            "-X",
            "POST",
            "--data-binary",
            &format!("@{}", junk.display()),
        ],
    );
    assert_eq!(
        (code, resp.as_slice()),
        (200, &[0x30, 0x03, 0x0a, 0x01, 0x01][..])
    );
}

#[test]
fn standalone_responder_follows_the_cas_crl() {
    use std::io::BufRead;
    let ca = TestCa::start_with(|_| {});
    let env = &ca.env;
    let pw = env.p("pw.txt");
    for name in ["s", "t"] {
        env.ok(&[
            "ca",
            "certificate",
            &format!("{name}.localhost"),
            &format!("{name}.crt"),
            &format!("{name}.key"),
            "--provisioner-password-file",
            &pw,
        ]);
    }
    // The issuer signs the responses itself here (RFC 6960 allows it), with its own key.
    let int = ca.intermediate();
    let int_key = env.home().join("secrets/intermediate_ca_key");
    let crl_url = format!("http://127.0.0.1:{}/crl", ca.insecure_port);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args([
            "ocsp",
            "serve",
            "--crl",
            &crl_url,
            "--issuer",
            int.to_str().unwrap(),
            "--signer",
            int.to_str().unwrap(),
        ])
        .args([
            "--signer-key",
            int_key.to_str().unwrap(),
            "--signer-password-file",
            &pw,
            "--address",
            "127.0.0.1:0",
            "--interval",
            "1s",
        ])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = std::io::BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let addr = line
        .trim()
        .strip_prefix("Vouch OCSP responder is serving on ")
        .unwrap_or_else(|| panic!("{line}"))
        .to_owned();
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    });
    let chain = env.write(
        "chain.pem",
        format!(
            "{}{}",
            std::fs::read_to_string(&int).unwrap(),
            std::fs::read_to_string(ca.root()).unwrap()
        ),
    );
    let status_of = |crt: &str| -> String {
        let out = openssl(&[
            "ocsp",
            "-issuer",
            int.to_str().unwrap(),
            "-cert",
            env.p(crt).as_str(),
            "-url",
            &format!("{addr}/ocsp"),
            "-CAfile",
            chain.to_str().unwrap(),
            "-no_nonce",
        ]);
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr)
    };
    // Wait (bounded) for the first CRL, then both are good.
    let mut out = String::new();
    for _ in 0..100 {
        out = status_of("s.crt");
        if out.contains(": good") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        out.contains("Response verify OK") && out.contains(": good"),
        "{out}"
    );
    let (_, health, body) = get(&format!("{addr}/health"), &[]);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_else(|_| panic!("{health}"));
    assert_eq!(v["status"], "ok", "{v}");
    // Revoke s on the CA: after the CA's CRL rebuild and the responder's next fetch, it flips.
    let v: serde_json::Value =
        serde_json::from_str(&env.ok(&["cert", "inspect", "s.crt", "--format", "json"])).unwrap();
    let serial = v[0]["value"]["serial"].as_str().unwrap().replace(':', "");
    env.ok(&[
        "ca",
        "revoke",
        &format!("0x{serial}"),
        "--reason",
        "superseded",
        "--provisioner-password-file",
        &pw,
    ]);
    for _ in 0..100 {
        out = status_of("s.crt");
        if out.contains(": revoked") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert!(
        out.contains(": revoked")
            && out.contains("Reason: superseded")
            && out.contains("Response verify OK"),
        "{out}"
    );
    assert!(status_of("t.crt").contains(": good"));
    // When the CA goes away, the responder keeps answering from the last good CRL and says so.
    drop(ca);
    let mut health = serde_json::Value::Null;
    for _ in 0..100 {
        let (_, _, body) = get(&format!("{addr}/health"), &[]);
        health = serde_json::from_slice(&body).unwrap_or_default();
        if health["status"] == "degraded" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(health["status"], "degraded", "{health}");
    assert!(
        health["lastError"].as_str().is_some_and(|e| !e.is_empty()),
        "{health}"
    );
    let (_, _, metrics) = get(&format!("{addr}/metrics"), &[]);
    assert!(String::from_utf8_lossy(&metrics).contains("vouch_ocsp_crl_fetch_failures_total"));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let status = child.wait().unwrap();
    assert!(status.success(), "{status}");
}
