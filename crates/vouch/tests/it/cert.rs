//! `vouch cert ...` and `vouch key ...`, checked by openssl, webpki and pkilint.

use crate::support::*;

/// Root, intermediate and leaf made with `vouch cert create`, one PKI per key type.
fn make_chain(env: &Env, kty: &[&str]) {
    let pw = env.p("pw.txt");
    let mut root = vec![
        "cert",
        "create",
        "Test Root CA",
        "root.crt",
        "root.key",
        "--profile",
        "root-ca",
        "--password-file",
        &pw,
    ];
    root.extend_from_slice(kty);
    env.ok(&root);
    let mut int = vec![
        "cert",
        "create",
        "Test Intermediate CA",
        "int.crt",
        "int.key",
        "--profile",
        "intermediate-ca",
        "--ca",
        "root.crt",
        "--ca-key",
        "root.key",
        "--ca-password-file",
        &pw,
        "--password-file",
        &pw,
    ];
    int.extend_from_slice(kty);
    env.ok(&int);
    let mut leaf = vec![
        "cert",
        "create",
        "web.internal",
        "leaf.crt",
        "leaf.key",
        "--ca",
        "int.crt",
        "--ca-key",
        "int.key",
        "--ca-password-file",
        &pw,
        "--san",
        "web.internal",
        "--san",
        "10.1.2.3",
        "--san",
        "ops@example.test",
        "--san",
        "https://web.example.test/id",
        "--not-after",
        "720h",
        "--no-password",
        "--insecure",
    ];
    leaf.extend_from_slice(kty);
    env.ok(&leaf);
}

fn check_chain(env: &Env, rsa: bool) {
    let (root, int, leaf) = (
        env.path("root.crt"),
        env.path("int.crt"),
        env.path("leaf.crt"),
    );
    openssl_verify(&root, None, &int);
    openssl_verify(&root, Some(&int), &leaf);
    webpki_verify(&root, &[&int], &leaf, Some("web.internal"));
    webpki_verify(&root, &[&int], &leaf, Some("10.1.2.3"));
    for c in [&root, &int, &leaf] {
        pkilint("lint_pkix_cert", c);
    }
    let rt = openssl_text(&root);
    assert!(rt.contains("CA:TRUE, pathlen:1"), "{rt}");
    assert!(rt.contains("Certificate Sign, CRL Sign"), "{rt}");
    assert!(rt.contains("X509v3 Subject Key Identifier"), "{rt}");
    let it = openssl_text(&int);
    assert!(it.contains("CA:TRUE, pathlen:0"), "{it}");
    assert!(it.contains("X509v3 Authority Key Identifier"), "{it}");
    let lt = openssl_text(&leaf);
    assert!(lt.contains("CA:FALSE"), "{lt}");
    assert!(
        lt.contains("TLS Web Server Authentication, TLS Web Client Authentication"),
        "{lt}"
    );
    assert!(lt.contains("DNS:web.internal"), "{lt}");
    assert!(lt.contains("IP Address:10.1.2.3"), "{lt}");
    assert!(lt.contains("email:ops@example.test"), "{lt}");
    assert!(lt.contains("URI:https://web.example.test/id"), "{lt}");
    assert_eq!(
        lt.contains("Key Encipherment"),
        rsa,
        "keyEncipherment only for RSA: {lt}"
    );
    assert!(lt.contains("Digital Signature"), "{lt}");
    // ≥128-bit positive serials.
    let serial = openssl_ok(&["x509", "-noout", "-serial", "-in", leaf.to_str().unwrap()]);
    let hex = serial.trim().trim_start_matches("serial=");
    assert!(hex.len() >= 32, "serial {hex}");
    assert!(u8::from_str_radix(&hex[..2], 16).unwrap() < 0x80);
    // Keys: CA keys encrypted PKCS#8 that openssl reads with the password; 0600 everywhere.
    for k in ["root.key", "int.key", "leaf.key"] {
        assert_eq!(mode(&env.path(k)), 0o600, "{k}");
    }
    assert!(
        env.read("root.key")
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    assert!(
        env.read("leaf.key")
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    let passin = format!("file:{}", env.p("pw.txt"));
    openssl_ok(&[
        "pkey",
        "-in",
        env.p("int.key").as_str(),
        "-passin",
        passin.as_str(),
        "-noout",
    ]);
    assert!(
        !openssl(&[
            "pkey",
            "-in",
            env.p("int.key").as_str(),
            "-passin",
            "pass:wrong",
            "-noout"
        ])
        .status
        .success()
    );
}

#[test]
fn chain_ec_p256_default() {
    let env = Env::new();
    make_chain(&env, &[]);
    check_chain(&env, false);
    assert!(openssl_text(&env.path("leaf.crt")).contains("ecdsa-with-SHA256"));
}

#[test]
fn chain_ec_p384() {
    let env = Env::new();
    make_chain(&env, &["--kty", "EC", "--curve", "P-384"]);
    check_chain(&env, false);
    assert!(openssl_text(&env.path("leaf.crt")).contains("ecdsa-with-SHA384"));
}

#[test]
fn chain_ed25519() {
    let env = Env::new();
    make_chain(&env, &["--kty", "OKP", "--curve", "Ed25519"]);
    check_chain(&env, false);
    assert!(openssl_text(&env.path("leaf.crt")).contains("ED25519"));
}

#[test]
fn chain_rsa_2048() {
    let env = Env::new();
    make_chain(&env, &["--kty", "RSA", "--size", "2048"]);
    check_chain(&env, true);
    assert!(openssl_text(&env.path("leaf.crt")).contains("sha256WithRSAEncryption"));
}

#[test]
fn leaf_without_san_uses_subject_and_self_signed() {
    let env = Env::new();
    env.ok(&[
        "cert",
        "create",
        "solo.internal",
        "solo.crt",
        "solo.key",
        "--profile",
        "self-signed",
        "--no-password",
        "--insecure",
    ]);
    let t = openssl_text(&env.path("solo.crt"));
    assert!(t.contains("DNS:solo.internal"), "{t}");
    assert!(t.contains("CA:FALSE"), "{t}");
    pkilint("lint_pkix_cert", &env.path("solo.crt"));
    // SPIFFE IDs and URNs are URIs (RFC 3986). pkilint's URI check (python `validators.url`)
    // accepts only web schemes, so this one is checked by openssl and webpki, not pkilint.
    env.ok(&[
        "cert",
        "create",
        "spiffe",
        "sp.crt",
        "sp.key",
        "--profile",
        "self-signed",
        "--san",
        "spiffe://example.test/ns/web",
        "--san",
        "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66",
        "--no-password",
        "--insecure",
    ]);
    let t = openssl_text(&env.path("sp.crt"));
    assert!(
        t.contains("URI:spiffe://example.test/ns/web") && t.contains("URI:urn:uuid:6e8bc430"),
        "{t}"
    );
    // A SAN extension in a certificate whose subject is not empty is not critical.
    assert!(!t.contains("Subject Alternative Name: critical"), "{t}");
    // A leaf needs an issuer unless it is self-signed.
    let e = env.fails(&[
        "cert",
        "create",
        "x.internal",
        "x.crt",
        "x.key",
        "--no-password",
        "--insecure",
    ]);
    assert!(e.contains("--ca"), "{e}");
}

#[test]
fn csr_create_sign_and_openssl_interop() {
    let env = Env::new();
    make_chain(&env, &[]);
    let pw = env.p("pw.txt");
    env.ok(&[
        "cert",
        "create",
        "api.internal",
        "api.csr",
        "api.key",
        "--csr",
        "--san",
        "api.internal",
        "--san",
        "::1",
        "--no-password",
        "--insecure",
    ]);
    assert!(
        env.read("api.csr")
            .starts_with("-----BEGIN CERTIFICATE REQUEST-----")
    );
    let v = openssl_ok(&["req", "-verify", "-noout", "-in", env.p("api.csr").as_str()]);
    assert!(
        v.contains("verify OK") || v.contains("Certificate request self-signature verify OK"),
        "{v}"
    );
    let crt = env.ok(&[
        "cert",
        "sign",
        "api.csr",
        "int.crt",
        "int.key",
        "--ca-password-file",
        &pw,
        "--not-after",
        "48h",
    ]);
    env.write("api.crt", &crt);
    openssl_verify(
        &env.path("root.crt"),
        Some(&env.path("int.crt")),
        &env.path("api.crt"),
    );
    webpki_verify(
        &env.path("root.crt"),
        &[&env.path("int.crt")],
        &env.path("api.crt"),
        Some("::1"),
    );
    pkilint("lint_pkix_cert", &env.path("api.crt"));

    // A CSR made by openssl req, with an RSA key.
    openssl_ok(&[
        "req",
        "-new",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        env.p("o.key").as_str(),
        "-out",
        env.p("o.csr").as_str(),
        "-subj",
        "/C=US/O=Example/CN=o.internal",
        "-addext",
        "subjectAltName=DNS:o.internal,IP:192.0.2.7",
    ]);
    let crt = env.ok(&[
        "cert",
        "sign",
        "o.csr",
        "int.crt",
        "int.key",
        "--ca-password-file",
        &pw,
    ]);
    env.write("o.crt", &crt);
    openssl_verify(
        &env.path("root.crt"),
        Some(&env.path("int.crt")),
        &env.path("o.crt"),
    );
    let t = openssl_text(&env.path("o.crt"));
    assert!(
        t.contains("Subject: C = US, O = Example, CN = o.internal"),
        "{t}"
    );
    assert!(t.contains("Key Encipherment"), "{t}");
    assert!(t.contains("IP Address:192.0.2.7"), "{t}");
    pkilint("lint_pkix_cert", &env.path("o.crt"));

    // Signing an intermediate from a CSR.
    env.ok(&[
        "cert",
        "create",
        "Sub CA",
        "sub.csr",
        "sub.key",
        "--csr",
        "--no-password",
        "--insecure",
    ]);
    let sub = env.ok(&[
        "cert",
        "sign",
        "sub.csr",
        "root.crt",
        "root.key",
        "--profile",
        "intermediate-ca",
        "--ca-password-file",
        &pw,
    ]);
    env.write("sub.crt", &sub);
    openssl_verify(&env.path("root.crt"), None, &env.path("sub.crt"));
    assert!(openssl_text(&env.path("sub.crt")).contains("CA:TRUE, pathlen:0"));
    // The intermediate has pathlen 0: it cannot issue another CA.
    let e = env.fails(&[
        "cert",
        "sign",
        "sub.csr",
        "int.crt",
        "int.key",
        "--profile",
        "intermediate-ca",
        "--ca-password-file",
        &pw,
    ]);
    assert!(e.contains("pathLenConstraint"), "{e}");
}

#[test]
fn sign_refuses_a_csr_whose_signature_does_not_verify() {
    let env = Env::new();
    make_chain(&env, &[]);
    env.ok(&[
        "cert",
        "create",
        "bad.internal",
        "good.csr",
        "bad.key",
        "--csr",
        "--no-password",
        "--insecure",
    ]);
    let out = openssl_ok(&[
        "req",
        "-in",
        env.p("good.csr").as_str(),
        "-outform",
        "DER",
        "-out",
        env.p("good.der").as_str(),
    ]);
    let _ = out;
    let mut der = std::fs::read(env.path("good.der")).unwrap();
    let n = der.len();
    der[n - 5] ^= 0x01; // inside the signature value
    env.write("bad.csr.der", &der);
    let before = env.listing();
    let e = env.fails(&[
        "cert",
        "sign",
        "bad.csr.der",
        "int.crt",
        "int.key",
        "--ca-password-file",
        env.p("pw.txt").as_str(),
    ]);
    assert!(e.contains("signature does not verify"), "{e}");
    assert!(e.contains("bad.csr.der"), "{e}");
    assert_eq!(env.listing(), before);
}

#[test]
fn cfssl_json_kubernetes_the_hard_way() {
    let env = Env::new();
    let pw = env.p("pw.txt");
    env.write(
        "ca-csr.json",
        r#"{"CN":"Kubernetes","key":{"algo":"rsa","size":2048},
            "names":[{"C":"US","L":"Portland","O":"Kubernetes","OU":"CA","ST":"Oregon"}]}"#,
    );
    env.write(
        "kubernetes-csr.json",
        r#"{"CN":"kubernetes","hosts":["10.32.0.1","10.240.0.10","127.0.0.1","kubernetes","kubernetes.default","kubernetes.default.svc.cluster.local"],
            "key":{"algo":"ecdsa","size":256},
            "names":[{"C":"US","L":"Portland","O":"Kubernetes","OU":"Kubernetes The Hard Way","ST":"Oregon"}]}"#,
    );
    env.write(
        "admin-csr.json",
        r#"{"CN":"admin","key":{"algo":"rsa","size":2048},"names":[{"C":"US","L":"Portland","O":"system:masters","OU":"Kubernetes The Hard Way","ST":"Oregon"}]}"#,
    );
    env.ok(&[
        "cert",
        "create",
        "--from-json",
        "ca-csr.json",
        "ca.crt",
        "ca.key",
        "--profile",
        "root-ca",
        "--password-file",
        &pw,
    ]);
    env.ok(&[
        "cert",
        "create",
        "--from-json",
        "kubernetes-csr.json",
        "kubernetes.crt",
        "kubernetes.key",
        "--ca",
        "ca.crt",
        "--ca-key",
        "ca.key",
        "--ca-password-file",
        &pw,
        "--no-password",
        "--insecure",
    ]);
    env.ok(&[
        "cert",
        "create",
        "--from-json",
        "admin-csr.json",
        "admin.crt",
        "admin.key",
        "--ca",
        "ca.crt",
        "--ca-key",
        "ca.key",
        "--ca-password-file",
        &pw,
        "--no-password",
        "--insecure",
    ]);
    let subj = openssl_ok(&[
        "x509",
        "-noout",
        "-subject",
        "-in",
        env.p("ca.crt").as_str(),
    ]);
    assert!(
        subj.contains(
            "C = US, ST = Oregon, L = Portland, O = Kubernetes, OU = CA, CN = Kubernetes"
        ),
        "{subj}"
    );
    assert!(openssl_text(&env.path("ca.crt")).contains("Public-Key: (2048 bit)"));
    let t = openssl_text(&env.path("kubernetes.crt"));
    assert!(t.contains("IP Address:10.32.0.1"), "{t}");
    assert!(
        t.contains("DNS:kubernetes.default.svc.cluster.local"),
        "{t}"
    );
    assert!(t.contains("ASN1 OID: prime256v1"), "{t}");
    let subj = openssl_ok(&[
        "x509",
        "-noout",
        "-subject",
        "-in",
        env.p("admin.crt").as_str(),
    ]);
    assert!(subj.contains("O = system:masters"), "{subj}");
    for c in ["kubernetes.crt", "admin.crt"] {
        openssl_verify(&env.path("ca.crt"), None, &env.path(c));
    }
    // The guide's API server certificate carries the single-label name "kubernetes", which
    // pkilint reports as not the preferred name syntax; the admin certificate has no such name.
    pkilint("lint_pkix_cert", &env.path("admin.crt"));
    pkilint("lint_pkix_cert", &env.path("ca.crt"));
    webpki_verify(
        &env.path("ca.crt"),
        &[],
        &env.path("kubernetes.crt"),
        Some("10.32.0.1"),
    );
}

#[test]
fn inspect_fingerprint_and_verify_commands() {
    let env = Env::new();
    make_chain(&env, &[]);
    let chain = format!("{}{}", env.read("leaf.crt"), env.read("int.crt"));
    env.write("chain.pem", &chain);
    let text = env.ok(&["cert", "inspect", "chain.pem"]);
    assert_eq!(text.matches("Certificate:").count(), 2, "{text}");
    assert!(
        text.contains("CN=web.internal") && text.contains("CN=Test Intermediate CA"),
        "{text}"
    );
    assert!(
        text.contains("basicConstraints (critical): CA:FALSE"),
        "{text}"
    );
    assert!(
        text.contains("DNS:web.internal") && text.contains("IP:10.1.2.3"),
        "{text}"
    );
    assert!(
        text.contains("keyUsage (critical): Digital Signature"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["cert", "inspect", "chain.pem", "--format", "json"]))
            .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 2);
    assert_eq!(json[1]["value"]["subject"], "CN=Test Intermediate CA");
    // DER certificate, and CSR.
    openssl_ok(&[
        "x509",
        "-in",
        env.p("root.crt").as_str(),
        "-outform",
        "DER",
        "-out",
        env.p("root.der").as_str(),
    ]);
    let t = env.ok(&["cert", "inspect", "root.der"]);
    assert!(t.contains("CA:TRUE, pathlen:1"), "{t}");
    env.ok(&[
        "cert",
        "create",
        "q.internal",
        "q.csr",
        "q.key",
        "--csr",
        "--no-password",
        "--insecure",
    ]);
    let t = env.ok(&["cert", "inspect", "q.csr"]);
    assert!(
        t.contains("Certificate Request:")
            && t.contains("signatureValid: yes")
            && t.contains("DNS:q.internal"),
        "{t}"
    );
    // A CRL made by openssl ca.
    make_openssl_crl(&env);
    let t = env.ok(&["cert", "inspect", "crl.pem"]);
    assert!(
        t.contains("Certificate Revocation List:") && t.contains("crlNumber"),
        "{t}"
    );
    assert!(t.contains("revoked:") && t.contains("serial:"), "{t}");

    // Fingerprints match openssl's.
    let fp = env.ok(&["cert", "fingerprint", "root.crt"]);
    let o = openssl_ok(&[
        "x509",
        "-noout",
        "-fingerprint",
        "-sha256",
        "-in",
        env.p("root.crt").as_str(),
    ]);
    let o = o
        .trim()
        .split('=')
        .nth(1)
        .unwrap()
        .replace(':', "")
        .to_lowercase();
    assert_eq!(fp.trim(), o);
    assert_eq!(
        env.ok(&["cert", "fingerprint", "chain.pem"])
            .lines()
            .count(),
        2
    );

    // verify: good, wrong host, wrong root, missing intermediate.
    env.ok(&[
        "cert",
        "verify",
        "leaf.crt",
        "--roots",
        "root.crt",
        "--intermediates",
        "int.crt",
        "--host",
        "web.internal",
    ]);
    env.ok(&["cert", "verify", "chain.pem", "--roots", "root.crt"]);
    let e = env.fails(&[
        "cert",
        "verify",
        "leaf.crt",
        "--roots",
        "root.crt",
        "--intermediates",
        "int.crt",
        "--host",
        "other.internal",
    ]);
    assert!(e.contains("not valid for the requested host name"), "{e}");
    let e = env.fails(&["cert", "verify", "leaf.crt", "--roots", "root.crt"]);
    assert!(e.contains("issuer is unknown"), "{e}");
}

/// A CRL signed by the test intermediate, revoking the leaf, made with `openssl ca`.
fn make_openssl_crl(env: &Env) {
    let serial = openssl_ok(&[
        "x509",
        "-noout",
        "-serial",
        "-in",
        env.p("leaf.crt").as_str(),
    ]);
    let serial = serial.trim().trim_start_matches("serial=").to_owned();
    let end = openssl_ok(&[
        "x509",
        "-noout",
        "-enddate",
        "-in",
        env.p("leaf.crt").as_str(),
    ]);
    let _ = end;
    // index.txt: R <expiry> <revocation> <serial> unknown <subject>
    env.write(
        "index.txt",
        format!(
            "R\t301231235959Z\t240101000000Z,keyCompromise\t{serial}\tunknown\t/CN=web.internal\n"
        ),
    );
    env.write("crlnumber", "1000\n");
    let cfg = format!(
        "[ca]\ndefault_ca=d\n[d]\ndatabase={}\ncrlnumber={}\ndefault_md=sha256\ndefault_crl_days=1\n",
        env.p("index.txt"),
        env.p("crlnumber")
    );
    env.write("ca.cnf", cfg);
    openssl_ok(&[
        "ca",
        "-gencrl",
        "-config",
        env.p("ca.cnf").as_str(),
        "-cert",
        env.p("int.crt").as_str(),
        "-keyfile",
        env.p("int.key").as_str(),
        "-passin",
        format!("file:{}", env.p("pw.txt")).as_str(),
        "-out",
        env.p("crl.pem").as_str(),
    ]);
}

#[test]
fn key_public_inspect_change_pass() {
    let env = Env::new();
    let pw = env.p("pw.txt");
    let pw2 = env.p("pw2.txt");
    env.ok(&[
        "cert",
        "create",
        "k.internal",
        "k.csr",
        "k.key",
        "--csr",
        "--password-file",
        &pw,
    ]);
    let public = env.ok(&["key", "public", "k.key", "--password-file", &pw]);
    let expected = openssl_ok(&[
        "pkey",
        "-in",
        env.p("k.key").as_str(),
        "-passin",
        format!("file:{pw}").as_str(),
        "-pubout",
    ]);
    assert_eq!(public.trim(), expected.trim());
    let t = env.ok(&["key", "inspect", "k.key", "--password-file", &pw]);
    assert!(
        t.contains("Algorithm: EC P-256") && t.contains("Encrypted: yes"),
        "{t}"
    );
    env.write("k.pub", &public);
    let j: serde_json::Value =
        serde_json::from_str(&env.ok(&["key", "inspect", "k.pub", "--format", "json"])).unwrap();
    assert_eq!(j["kind"], "public");
    // Wrong password: one line naming the file.
    let e = env.fails(&["key", "public", "k.key", "--password-file", &pw2]);
    assert!(e.contains("k.key") && e.contains("wrong password"), "{e}");
    // Change the password; the old one stops working, the new one works, mode stays 0600.
    env.ok(&[
        "key",
        "change-pass",
        "k.key",
        "--password-file",
        &pw,
        "--new-password-file",
        &pw2,
    ]);
    assert_eq!(mode(&env.path("k.key")), 0o600);
    env.fails(&["key", "public", "k.key", "--password-file", &pw]);
    assert_eq!(
        env.ok(&["key", "public", "k.key", "--password-file", &pw2])
            .trim(),
        expected.trim()
    );
    // Remove encryption only with --insecure.
    let out = env.vouch(&[
        "key",
        "change-pass",
        "k.key",
        "--password-file",
        &pw2,
        "--no-password",
    ]);
    assert!(!out.status.success());
    env.ok(&[
        "key",
        "change-pass",
        "k.key",
        "--password-file",
        &pw2,
        "--no-password",
        "--insecure",
    ]);
    assert!(env.read("k.key").starts_with("-----BEGIN PRIVATE KEY-----"));
}
