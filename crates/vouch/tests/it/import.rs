//! `vouch init --root --key` with roots and keys made by openssl, in every format.

use crate::init::init_args;
use crate::support::*;

/// An openssl root for `key`, in PEM.
fn openssl_root(env: &Env, key: &str, passin: Option<&str>) {
    let mut args = vec![
        "req",
        "-x509",
        "-new",
        "-key",
        key,
        "-out",
        "root.pem",
        "-days",
        "3650",
        "-subj",
        "/CN=Imported Root",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign,cRLSign",
    ];
    if let Some(p) = passin {
        args.extend(["-passin", p]);
    }
    let args: Vec<String> = args
        .iter()
        .map(|a| {
            if *a == "root.pem" {
                env.p("root.pem")
            } else {
                (*a).to_owned()
            }
        })
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    openssl_ok(&args);
    openssl_ok(&[
        "x509",
        "-in",
        env.p("root.pem").as_str(),
        "-outform",
        "DER",
        "-out",
        env.p("root.der").as_str(),
    ]);
}

fn import_and_check(env: &Env, root: &str, key: &str, root_pw: Option<&str>) {
    let pw = env.p("pw.txt");
    let mut extra = vec!["--root", root, "--key", key, "--force"];
    if let Some(p) = root_pw {
        extra.extend(["--root-password-file", p]);
    }
    env.ok(&init_args(env, &pw, &extra));
    let home = env.home();
    assert!(
        !home.join("secrets/root_ca_key").exists(),
        "the imported root key must not be kept"
    );
    let int = home.join("certs/intermediate_ca.crt");
    openssl_verify(&env.path("root.pem"), None, &int);
    openssl_verify(&home.join("certs/root_ca.crt"), None, &int);
    pkilint("lint_pkix_cert", &int);
    let t = openssl_text(&int);
    assert!(t.contains("Issuer: CN = Imported Root"), "{t}");
}

fn key_formats(env: &Env, generate: &[&str], name: &str, convert: &[&str]) -> (String, String) {
    let pem = env.p(&format!("{name}.pem"));
    let der = env.p(&format!("{name}.der"));
    // "{out}" in the generate command stands for the PEM output path.
    let g: Vec<&str> = generate
        .iter()
        .map(|a| if *a == "{out}" { pem.as_str() } else { a })
        .collect();
    openssl_ok(&g);
    let mut c: Vec<&str> = convert.to_vec();
    c.extend(["-in", pem.as_str(), "-outform", "DER", "-out", der.as_str()]);
    openssl_ok(&c);
    (pem, der)
}

#[test]
fn import_pkcs1_rsa_pem_and_der_with_pem_and_der_roots() {
    let env = Env::new();
    let (pem, der) = key_formats(
        &env,
        &["genrsa", "-traditional", "-out", "{out}", "2048"],
        "rsa1",
        &["rsa", "-traditional"],
    );
    assert!(
        env.read("rsa1.pem")
            .starts_with("-----BEGIN RSA PRIVATE KEY-----")
    );
    openssl_root(&env, &pem, None);
    import_and_check(&env, &env.p("root.pem"), &pem, None);
    import_and_check(&env, &env.p("root.der"), &der, None);
}

#[test]
fn import_pkcs8_plain_pem_and_der() {
    let env = Env::new();
    let (pem, der) = key_formats(
        &env,
        &[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-out",
            "{out}",
        ],
        "p8",
        &["pkey"],
    );
    assert!(
        env.read("p8.pem")
            .starts_with("-----BEGIN PRIVATE KEY-----")
    );
    openssl_root(&env, &pem, None);
    import_and_check(&env, &env.p("root.pem"), &pem, None);
    import_and_check(&env, &env.p("root.der"), &der, None);
}

#[test]
fn import_pkcs8_encrypted_pem_and_der() {
    let env = Env::new();
    let rootpw = env.write("rootpw.txt", "root-secret\n");
    let passfile = format!("file:{}", rootpw.display());
    let pem = env.p("enc.pem");
    openssl_ok(&[
        "genpkey",
        "-algorithm",
        "RSA",
        "-pkeyopt",
        "rsa_keygen_bits:2048",
        "-aes256",
        "-pass",
        passfile.as_str(),
        "-out",
        pem.as_str(),
    ]);
    assert!(
        env.read("enc.pem")
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----")
    );
    let der = env.p("enc.der");
    openssl_ok(&[
        "pkcs8",
        "-topk8",
        "-v2",
        "aes128",
        "-in",
        pem.as_str(),
        "-passin",
        passfile.as_str(),
        "-passout",
        "pass:root-secret",
        "-outform",
        "DER",
        "-out",
        der.as_str(),
    ]);
    openssl_root(&env, &pem, Some(&passfile));
    let rp = rootpw.display().to_string();
    import_and_check(&env, &env.p("root.pem"), &pem, Some(&rp));
    import_and_check(&env, &env.p("root.der"), &der, Some(&rp));
    // Without the password, or with a wrong one: one clear line, nothing written.
    let pw = env.p("pw.txt");
    std::fs::remove_dir_all(env.home()).unwrap();
    let e = env.fails(&init_args(
        &env,
        &pw,
        &["--root", &env.p("root.pem"), "--key", &pem],
    ));
    assert!(e.contains("--root-password-file"), "{e}");
    let e = env.fails(&init_args(
        &env,
        &pw,
        &[
            "--root",
            &env.p("root.pem"),
            "--key",
            &pem,
            "--root-password-file",
            &pw,
        ],
    ));
    assert!(e.contains("enc.pem") && e.contains("wrong password"), "{e}");
    assert!(!env.home().exists());
}

#[test]
fn import_sec1_ec_pem_and_der() {
    let env = Env::new();
    let (pem, der) = key_formats(
        &env,
        &["ecparam", "-name", "prime256v1", "-genkey", "-out", "{out}"],
        "sec1",
        &["ec"],
    );
    assert!(
        env.read("sec1.pem")
            .contains("-----BEGIN EC PRIVATE KEY-----")
    );
    assert!(
        env.read("sec1.pem")
            .contains("-----BEGIN EC PARAMETERS-----")
    );
    openssl_root(&env, &pem, None);
    import_and_check(&env, &env.p("root.pem"), &pem, None);
    import_and_check(&env, &env.p("root.der"), &der, None);
    // P-384 too.
    let (pem384, _) = key_formats(
        &env,
        &["ecparam", "-name", "secp384r1", "-genkey", "-out", "{out}"],
        "sec1-384",
        &["ec"],
    );
    openssl_root(&env, &pem384, None);
    import_and_check(&env, &env.p("root.pem"), &pem384, None);
}

#[test]
fn import_legacy_openssl_encrypted_pem_as_step_ca_writes_it() {
    let env = Env::new();
    let rootpw = env.write("rootpw.txt", "root-secret\n");
    let rp = rootpw.display().to_string();
    let passout = format!("file:{rp}");
    // EC in SEC1 with Proc-Type/DEK-Info, the format of step-ca's secrets/*_key.
    let (plain, _) = key_formats(
        &env,
        &["ecparam", "-name", "prime256v1", "-genkey", "-out", "{out}"],
        "legacy-src",
        &["ec"],
    );
    let legacy = env.p("legacy-ec.pem");
    openssl_ok(&[
        "ec",
        "-in",
        plain.as_str(),
        "-aes256",
        "-passout",
        passout.as_str(),
        "-out",
        legacy.as_str(),
    ]);
    let text = env.read("legacy-ec.pem");
    assert!(
        text.contains("Proc-Type: 4,ENCRYPTED") && text.contains("DEK-Info: AES-256-CBC"),
        "{text}"
    );
    openssl_root(&env, &plain, None);
    import_and_check(&env, &env.p("root.pem"), &legacy, Some(&rp));
    let t = env.ok(&["key", "inspect", "legacy-ec.pem", "--password-file", &rp]);
    assert!(t.contains("EC P-256"), "{t}");
    let e = env.fails(&[
        "key",
        "inspect",
        "legacy-ec.pem",
        "--password-file",
        env.p("pw.txt").as_str(),
    ]);
    assert!(e.contains("wrong password"), "{e}");

    // RSA in PKCS#1 with AES-128-CBC.
    let (rsa, _) = key_formats(
        &env,
        &["genrsa", "-traditional", "-out", "{out}", "2048"],
        "legacy-rsa-src",
        &["rsa", "-traditional"],
    );
    let legacy_rsa = env.p("legacy-rsa.pem");
    openssl_ok(&[
        "rsa",
        "-traditional",
        "-in",
        rsa.as_str(),
        "-aes128",
        "-passout",
        passout.as_str(),
        "-out",
        legacy_rsa.as_str(),
    ]);
    assert!(env.read("legacy-rsa.pem").contains("DEK-Info: AES-128-CBC"));
    openssl_root(&env, &rsa, None);
    import_and_check(&env, &env.p("root.pem"), &legacy_rsa, Some(&rp));
}
