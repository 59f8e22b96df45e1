//! `vouch bench`, the load generator of `scripts/bench-vs-cfssl.sh`, against the real server:
//! each mode reports successful requests and no errors, and the crypto floor is measured.
//! (A smoke test of the tool, not a speed assertion.)

use serde_json::Value;

use crate::support::openssl_ok;
use crate::testca::TestCa;

fn run(ca: &TestCa, args: &[&str]) -> Value {
    let mut all = vec!["bench", "--json", "--duration", "1", "--connections", "2"];
    all.extend_from_slice(args);
    let out = ca.env.ok(&all);
    let v: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert!(v["ok"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(v["errors"], 0, "{v}");
    assert!(v["rps"].as_f64().unwrap() > 0.0, "{v}");
    assert!(
        v["p99_ms"].as_f64().unwrap() >= v["p50_ms"].as_f64().unwrap(),
        "{v}"
    );
    v
}

#[test]
fn bench_drives_sign_renew_and_ocsp() {
    let ca = TestCa::start();
    let url = format!("https://localhost:{}", ca.port);
    let root = ca.root();
    let root = root.to_str().unwrap();
    let pw = ca.env.p("pw.txt");
    let pid = std::process::id().to_string();

    // sign: pre-minted tokens, each used once (a replay would be an error).
    let v = run(
        &ca,
        &[
            "--mode",
            "sign",
            "--url",
            &url,
            "--root",
            root,
            "--password-file",
            &pw,
            "--server-pid",
            &pid,
        ],
    );
    assert!(v["server_cpu_s"].as_f64().unwrap() >= 0.0, "{v}");
    assert!(
        ca.count() >= v["ok"].as_u64().unwrap(),
        "every issued certificate is stored"
    );

    // renew over mTLS with a certificate from the CA.
    ca.env.ok(&[
        "ca",
        "certificate",
        "svc.localhost",
        "svc.crt",
        "svc.key",
        "--provisioner-password-file",
        &pw,
    ]);
    let crt = ca.env.path("svc.crt");
    let key = ca.env.path("svc.key");
    run(
        &ca,
        &[
            "--mode",
            "renew",
            "--url",
            &url,
            "--root",
            root,
            "--cert",
            crt.to_str().unwrap(),
            "--key",
            key.to_str().unwrap(),
        ],
    );

    // OCSP, POST and GET, on the plain-HTTP listener.
    let leaf = ca.env.path("svc-leaf.crt");
    openssl_ok(&[
        "x509",
        "-in",
        crt.to_str().unwrap(),
        "-out",
        leaf.to_str().unwrap(),
    ]);
    let req = ca.env.path("req.der");
    openssl_ok(&[
        "ocsp",
        "-issuer",
        ca.intermediate().to_str().unwrap(),
        "-cert",
        leaf.to_str().unwrap(),
        "-no_nonce",
        "-reqout",
        req.to_str().unwrap(),
    ]);
    let ocsp = format!("http://127.0.0.1:{}/ocsp", ca.insecure_port);
    for mode in ["ocsp-post", "ocsp-get"] {
        run(
            &ca,
            &[
                "--mode",
                mode,
                "--url",
                &ocsp,
                "--ocsp-request",
                req.to_str().unwrap(),
            ],
        );
    }

    // The floor needs no server.
    let out = ca
        .env
        .ok(&["bench", "--mode", "floor", "--duration", "0.3", "--json"]);
    let v: Value = serde_json::from_str(out.trim()).unwrap();
    let verify = v["verify_us"].as_f64().unwrap();
    let sign = v["sign_us"].as_f64().unwrap();
    assert!(verify > 0.0 && sign > 0.0, "{v}");
    let floor = v["us_per_issuance"].as_f64().unwrap();
    assert!((floor - (2.0 * verify + sign)).abs() < 1e-6, "{v}");
    let with_check = v["with_post_sign_check"].as_f64().unwrap();
    assert!(
        (with_check - (3.0 * verify + sign) / floor).abs() < 1e-9 && with_check > 1.0,
        "{v}"
    );

    // Bad use is one line and a failure, not a panic.
    let err = ca
        .env
        .fails(&["bench", "--mode", "sign", "--duration", "1"]);
    assert!(err.contains("--url"), "{err}");
}
