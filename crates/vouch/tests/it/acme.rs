//! ACME: directory, nonces, accounts, orders and authorizations, driven by a minimal RFC 8555 client
//! (flattened JWS signed with aws-lc-rs) over curl.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};

use crate::testca::TestCa;

struct Client {
    key: EcdsaKeyPair,
    jwk: Value,
}

impl Client {
    fn new() -> Self {
        Self::from_key(EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap())
    }

    /// A client signing with a P-256 PKCS#8 PEM key (e.g. a certificate's, made by openssl).
    fn from_pem(path: &std::path::Path) -> Self {
        let text = std::fs::read_to_string(path).unwrap();
        let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap();
        Self::from_key(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der).unwrap())
    }

    fn from_key(key: EcdsaKeyPair) -> Self {
        let p = key.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": B64.encode(&p[1..33]), "y": B64.encode(&p[33..65])});
        Client { key, jwk }
    }

    /// RFC 7638 thumbprint of the account key.
    fn thumbprint(&self) -> String {
        use aws_lc_rs::digest::{SHA256, digest};
        let canon = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            self.jwk["x"].as_str().unwrap(),
            self.jwk["y"].as_str().unwrap()
        );
        B64.encode(digest(&SHA256, canon.as_bytes()).as_ref())
    }

    fn jws(&self, url: &str, nonce: &str, kid: Option<&str>, payload: Option<&Value>) -> String {
        let mut protected = json!({"alg": "ES256", "nonce": nonce, "url": url});
        match kid {
            Some(k) => protected["kid"] = json!(k),
            None => protected["jwk"] = self.jwk.clone(),
        }
        let p = B64.encode(protected.to_string());
        let body = payload
            .map(|v| B64.encode(v.to_string()))
            .unwrap_or_default();
        let sig = self
            .key
            .sign(&SystemRandom::new(), format!("{p}.{body}").as_bytes())
            .unwrap();
        json!({"protected": p, "payload": body, "signature": B64.encode(sig.as_ref())}).to_string()
    }
}

impl Client {
    /// The inner JWS of a keyChange: signed by this (new) key, with its jwk and no nonce.
    fn key_change_inner(&self, url: &str, account: &str, old: &Client) -> Value {
        let protected =
            B64.encode(json!({"alg": "ES256", "jwk": self.jwk, "url": url}).to_string());
        let payload = B64.encode(json!({"account": account, "oldKey": old.jwk}).to_string());
        let sig = self
            .key
            .sign(
                &SystemRandom::new(),
                format!("{protected}.{payload}").as_bytes(),
            )
            .unwrap();
        json!({"protected": protected, "payload": payload, "signature": B64.encode(sig.as_ref())})
    }
}

/// (status, headers, body) of a curl request.
fn call(ca: &TestCa, args: &[&str]) -> (u16, String, String) {
    let out = std::process::Command::new("curl")
        .args(["-s", "-i", "--cacert", ca.root().to_str().unwrap()])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run curl ({e})"));
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, head.to_owned(), body.to_owned())
}

/// A header's value (the name matched case-insensitively, the value as sent).
fn header(head: &str, name: &str) -> Option<String> {
    head.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.trim()
            .eq_ignore_ascii_case(name)
            .then(|| v.trim().to_owned())
    })
}

fn post(ca: &TestCa, url: &str, body: &str) -> (u16, String, String) {
    // One file per request: tests post from many threads at once.
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let f = ca.env.write(&format!("acme-body-{n}.json"), body);
    call(
        ca,
        &[
            "-X",
            "POST",
            "-H",
            "content-type: application/jose+json",
            "--data-binary",
            &format!("@{}", f.display()),
            url,
        ],
    )
}

fn nonce(ca: &TestCa, dir: &Value) -> String {
    let (code, head, _) = call(ca, &["-I", dir["newNonce"].as_str().unwrap()]);
    assert_eq!(code, 200);
    header(&head, "replay-nonce").expect("a Replay-Nonce")
}

#[test]
fn directory_nonces_and_accounts() {
    let ca = TestCa::start_with(|_| {});
    // An ACME provisioner added with the CLI, applied by a reload (what SIGHUP does).
    ca.env
        .ok(&["ca", "provisioner", "add", "acme", "--type", "ACME"]);
    ca.reload().unwrap();
    assert!(
        ca.env
            .ok(&["ca", "provisioner", "list"])
            .contains("acme\tACME")
    );
    let (code, head, body) = call(&ca, &[&ca.url("/acme/acme/directory")]);
    assert_eq!(code, 200, "{head}{body}");
    let dir: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(dir["newAccount"], ca.url("/acme/acme/new-account"));
    assert_eq!(dir["meta"]["externalAccountRequired"], false);
    // Also under /2.0, with URLs under /2.0.
    let (_, _, body2) = call(&ca, &[&ca.url("/2.0/acme/acme/directory")]);
    assert!(body2.contains("/2.0/acme/acme/new-nonce"), "{body2}");
    assert_eq!(call(&ca, &[&ca.url("/acme/nope/directory")]).0, 404);
    // Nonces: HEAD 200, GET 204, never cached.
    let (code, head, _) = call(&ca, &[dir["newNonce"].as_str().unwrap()]);
    assert_eq!(code, 204);
    assert!(
        header(&head, "replay-nonce").is_some()
            && header(&head, "cache-control").as_deref() == Some("no-store"),
        "{head}"
    );

    // newAccount: 201 with Location, then the same key again: 200 with the same Location.
    let client = Client::new();
    let url = dir["newAccount"].as_str().unwrap();
    let payload = json!({"termsOfServiceAgreed": true, "contact": ["mailto:ops@example.test"]});
    let n = nonce(&ca, &dir);
    let (code, head, body) = post(&ca, url, &client.jws(url, &n, None, Some(&payload)));
    assert_eq!(code, 201, "{head}{body}");
    let location = header(&head, "location").expect("Location");
    assert!(header(&head, "replay-nonce").is_some());
    let acct: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(acct["status"], "valid");
    let n2 = nonce(&ca, &dir);
    let (code, head, _) = post(&ca, url, &client.jws(url, &n2, None, Some(&payload)));
    assert_eq!(code, 200);
    assert_eq!(
        header(&head, "location").as_deref(),
        Some(location.as_str())
    );

    // A replayed nonce: badNonce, with a fresh nonce to retry with.
    let (code, head, body) = post(&ca, url, &client.jws(url, &n2, None, Some(&payload)));
    assert_eq!(code, 400, "{body}");
    assert!(
        body.contains("urn:ietf:params:acme:error:badNonce"),
        "{body}"
    );
    assert_eq!(
        header(&head, "content-type").as_deref(),
        Some("application/problem+json")
    );
    assert!(header(&head, "replay-nonce").is_some());
    // A signed url that is not the request's: unauthorized.
    let n = nonce(&ca, &dir);
    let (code, _, body) = post(
        &ca,
        url,
        &client.jws(dir["newOrder"].as_str().unwrap(), &n, None, Some(&payload)),
    );
    assert!(code == 403 || code == 401, "{code} {body}");
    assert!(
        body.contains("urn:ietf:params:acme:error:unauthorized"),
        "{body}"
    );
    // onlyReturnExisting with an unknown key.
    let stranger = Client::new();
    let n = nonce(&ca, &dir);
    let (code, _, body) = post(
        &ca,
        url,
        &stranger.jws(url, &n, None, Some(&json!({"onlyReturnExisting": true}))),
    );
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("accountDoesNotExist"), "{body}");
    // Garbage is malformed, not a crash.
    let (code, _, body) = post(&ca, url, "{not json");
    assert_eq!(code, 400, "{body}");
    assert!(
        body.contains("urn:ietf:params:acme:error:malformed"),
        "{body}"
    );

    // The account with its kid: POST-as-GET, another account's key is refused, deactivation.
    let n = nonce(&ca, &dir);
    let (code, _, body) = post(
        &ca,
        &location,
        &client.jws(&location, &n, Some(&location), None),
    );
    assert_eq!(code, 200, "{body}");
    let n = nonce(&ca, &dir);
    let (code, _, body) = post(
        &ca,
        &location,
        &stranger.jws(&location, &n, Some(&location), None),
    );
    assert_ne!(code, 200, "{body}");
    let n = nonce(&ca, &dir);
    let (code, _, body) = post(
        &ca,
        &location,
        &client.jws(
            &location,
            &n,
            Some(&location),
            Some(&json!({"status": "deactivated"})),
        ),
    );
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("deactivated"), "{body}");
    let n = nonce(&ca, &dir);
    let (code, _, body) = post(
        &ca,
        &location,
        &client.jws(&location, &n, Some(&location), None),
    );
    assert!(
        body.contains("urn:ietf:params:acme:error:unauthorized"),
        "{code} {body}"
    );
}

#[test]
fn init_with_acme_adds_the_acme_provisioner() {
    let env = crate::support::Env::new();
    let pw = env.p("pw.txt");
    env.ok(&crate::init::init_args(&env, &pw, &["--acme"]));
    let list = env.ok(&["ca", "provisioner", "list"]);
    assert!(
        list.contains("admin@acme.test\tJWK") && list.contains("acme\tACME"),
        "{list}"
    );
    let check = env.ok(&["ca", "check-config"]);
    assert!(
        check.contains("Provisioner acme (ACME, directory /acme/acme/directory)"),
        "{check}"
    );
}

/// Create an account for `client` and answer its kid.
/// A CA with the ACME provisioner `acme` (wildcards allowed by the authority's policy when
/// `wildcards`), and its directory.
fn acme_ca(wildcards: bool) -> (TestCa, Value) {
    let ca = TestCa::start_with(|cfg| {
        if wildcards {
            let insert_at = cfg.find("[[authority.provisioners]]").unwrap();
            cfg.insert_str(
                insert_at,
                "[authority.policy.x509]\nallowWildcardNames = true\n\n",
            );
        }
    });
    ca.env
        .ok(&["ca", "provisioner", "add", "acme", "--type", "ACME"]);
    ca.reload().unwrap();
    let (_, _, body) = call(&ca, &[&ca.url("/acme/acme/directory")]);
    let dir: Value = serde_json::from_str(&body).unwrap();
    (ca, dir)
}

fn new_account(ca: &TestCa, dir: &Value, client: &Client) -> String {
    let url = dir["newAccount"].as_str().unwrap();
    let n = nonce(ca, dir);
    let payload = json!({"termsOfServiceAgreed": true});
    let (code, head, body) = post(ca, url, &client.jws(url, &n, None, Some(&payload)));
    assert_eq!(code, 201, "{body}");
    header(&head, "location").expect("Location")
}

/// A POST signed with `kid`: POST-as-GET without a payload.
fn post_kid(
    ca: &TestCa,
    dir: &Value,
    client: &Client,
    kid: &str,
    url: &str,
    payload: Option<&Value>,
) -> (u16, String, String) {
    let n = nonce(ca, dir);
    post(ca, url, &client.jws(url, &n, Some(kid), payload))
}

#[test]
fn orders_and_authorizations() {
    let ca = TestCa::start_with(|cfg| {
        // Wildcards are refused by default (as in step-ca); allowed here.
        let policy = "\n[authority.policy.x509]\nallowWildcardNames = true\n\n\
                      [authority.policy.x509.deny]\ndns = [\"*.forbidden.test\"]\n";
        let insert_at = cfg.find("[[authority.provisioners]]").unwrap();
        cfg.insert_str(insert_at, policy);
    });
    ca.env
        .ok(&["ca", "provisioner", "add", "acme", "--type", "ACME"]);
    ca.reload().unwrap();
    let (_, _, body) = call(&ca, &[&ca.url("/acme/acme/directory")]);
    let dir: Value = serde_json::from_str(&body).unwrap();
    let client = Client::new();
    let kid = new_account(&ca, &dir, &client);
    let new_order = dir["newOrder"].as_str().unwrap();

    // A new order: 201, pending, one authorization per distinct identifier.
    let payload = json!({"identifiers": [
        {"type": "dns", "value": "www.example.test"},
        {"type": "dns", "value": "WWW.example.test"},
        {"type": "dns", "value": "sub.example.test"},
        {"type": "ip", "value": "127.0.0.1"},
        {"type": "dns", "value": "*.Example.test"},
    ]});
    let (code, head, body) = post_kid(&ca, &dir, &client, &kid, new_order, Some(&payload));
    assert_eq!(code, 201, "{body}");
    let order_url = header(&head, "location").expect("Location");
    let order: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(order["status"], "pending");
    assert_eq!(order["identifiers"].as_array().unwrap().len(), 4, "{order}");
    assert!(order["finalize"].as_str().unwrap().ends_with("/finalize"));
    let authzs = order["authorizations"].as_array().unwrap();
    assert_eq!(authzs.len(), 4);

    // Each authorization: the right challenges for its identifier.
    let mut seen = Vec::new();
    for a in authzs {
        let a = a.as_str().unwrap();
        let (code, _, body) = post_kid(&ca, &dir, &client, &kid, a, None);
        assert_eq!(code, 200, "{body}");
        let authz: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(authz["status"], "pending");
        let mut types: Vec<&str> = authz["challenges"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                assert_eq!(c["status"], "pending");
                assert!(c["token"].as_str().unwrap().len() >= 32, "{c}");
                c["type"].as_str().unwrap()
            })
            .collect();
        types.sort_unstable();
        let id = &authz["identifier"];
        let wildcard = authz["wildcard"] == json!(true);
        seen.push(format!("{}:{}:{wildcard}", id["type"], id["value"]));
        // A wildcard only with dns-01 (RFC 8555 §7.1.3), an IP address not with dns-01
        // (RFC 8738 §7), a name with all three.
        let want: &[&str] = match (id["type"].as_str().unwrap(), wildcard) {
            (_, true) => &["dns-01"],
            ("ip", _) => &["http-01", "tls-alpn-01"],
            _ => &["dns-01", "http-01", "tls-alpn-01"],
        };
        assert_eq!(types, want, "{authz}");
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "\"dns\":\"example.test\":true",
            "\"dns\":\"sub.example.test\":false",
            "\"dns\":\"www.example.test\":false",
            "\"ip\":\"127.0.0.1\":false"
        ]
    );

    // The order by POST-as-GET, and in the account's list.
    let (code, _, body) = post_kid(&ca, &dir, &client, &kid, &order_url, None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), order);
    let (code, _, body) = post_kid(&ca, &dir, &client, &kid, &format!("{kid}/orders"), None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["orders"],
        json!([order_url])
    );

    // Another account sees neither the order nor its authorizations.
    let other = Client::new();
    let other_kid = new_account(&ca, &dir, &other);
    let (code, _, body) = post_kid(&ca, &dir, &other, &other_kid, &order_url, None);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("no such order"), "{body}");
    let a0 = authzs[0].as_str().unwrap();
    let (code, _, body) = post_kid(&ca, &dir, &other, &other_kid, a0, None);
    assert_eq!(code, 400, "{body}");
    // Nor can it sign with the first account's kid (malformed, as Boulder answers).
    let (code, _, body) = post_kid(&ca, &dir, &other, &kid, &order_url, None);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("signature does not verify"), "{body}");

    // Deactivating an authorization makes its order invalid; twice is refused; other changes
    // are malformed.
    let (code, _, body) = post_kid(
        &ca,
        &dir,
        &client,
        &kid,
        a0,
        Some(&json!({"status": "valid"})),
    );
    assert_eq!(code, 400, "{body}");
    let deactivate = json!({"status": "deactivated"});
    let (code, _, body) = post_kid(&ca, &dir, &client, &kid, a0, Some(&deactivate));
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "deactivated"
    );
    let (code, _, body) = post_kid(&ca, &dir, &client, &kid, a0, Some(&deactivate));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("cannot be deactivated"), "{body}");
    let (_, _, body) = post_kid(&ca, &dir, &client, &kid, &order_url, None);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["status"],
        "invalid"
    );

    // Refused identifiers leave nothing behind.
    for (ident, want) in [
        (
            json!({"type": "dns", "value": "a.forbidden.test"}),
            "rejectedIdentifier",
        ),
        (
            json!({"type": "dns", "value": "bad_name.test"}),
            "rejectedIdentifier",
        ),
        (
            json!({"type": "ip", "value": "999.1.1.1"}),
            "rejectedIdentifier",
        ),
        (
            json!({"type": "email", "value": "a@b.test"}),
            "unsupportedIdentifier",
        ),
    ] {
        let payload = json!({"identifiers": [ident]});
        let (code, _, body) = post_kid(&ca, &dir, &client, &kid, new_order, Some(&payload));
        assert_eq!(code, 400, "{body}");
        assert!(body.contains(want), "{want}: {body}");
    }
    // Several refusals at once: one subproblem per identifier (RFC 8555 §6.7.1).
    let payload = json!({"identifiers": [
        {"type": "dns", "value": "fine.example.test"},
        {"type": "dns", "value": "b.forbidden.test"},
        {"type": "dns", "value": "bad_name.test"},
    ]});
    let (code, _, body) = post_kid(&ca, &dir, &client, &kid, new_order, Some(&payload));
    assert_eq!(code, 400, "{body}");
    let problem: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        problem["type"], "urn:ietf:params:acme:error:rejectedIdentifier",
        "{problem}"
    );
    let subs = problem["subproblems"].as_array().expect("subproblems");
    assert_eq!(subs.len(), 2, "{problem}");
    assert_eq!(
        subs[0]["identifier"],
        json!({"type": "dns", "value": "b.forbidden.test"})
    );
    assert_eq!(
        subs[1]["identifier"],
        json!({"type": "dns", "value": "bad_name.test"})
    );
    for bad in [
        json!({"identifiers": []}),
        json!({"nothing": 1}),
        json!({
            "identifiers": [{"type": "dns", "value": "x.example.test"}],
            "notBefore": "yesterday"
        }),
        // Longer than the provisioner's maximum (24 h by default).
        json!({
            "identifiers": [{"type": "dns", "value": "x.example.test"}],
            "notAfter": (time::OffsetDateTime::now_utc() + time::Duration::days(365))
                .format(&time::format_description::well_known::Rfc3339)
                .unwrap()
        }),
    ] {
        let (code, _, body) = post_kid(&ca, &dir, &client, &kid, new_order, Some(&bad));
        assert_eq!(code, 400, "{bad}: {body}");
        assert!(body.contains("malformed"), "{body}");
    }
    let (_, _, body) = post_kid(&ca, &dir, &client, &kid, &format!("{kid}/orders"), None);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["orders"],
        json!([order_url]),
        "a refused order was stored"
    );
}

/// Answer http-01 requests on `listener`: `GET /.well-known/acme-challenge/TOKEN` gets
/// `answers[TOKEN]`, anything else a 404. Counts the requests served.
fn serve_http01(
    listener: std::net::TcpListener,
    answers: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, String>>>,
) -> std::sync::Arc<std::sync::atomic::AtomicUsize> {
    use std::io::{BufRead, BufReader, Write};
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut reader = BufReader::new(conn.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                    break;
                }
            }
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let path = line.split_whitespace().nth(1).unwrap_or("");
            let answer = path
                .strip_prefix("/.well-known/acme-challenge/")
                .and_then(|t| answers.lock().unwrap().get(t).cloned());
            let (status, body) = match answer {
                Some(a) => ("200 OK", a),
                None => ("404 Not Found", "no".to_owned()),
            };
            let _ = write!(
                conn,
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    hits
}

/// A CSR made by openssl for a new P-256 key (`{stem}.key`), base64url DER as finalize
/// takes it.
fn make_csr(ca: &TestCa, stem: &str, cn: &str, san: &str) -> String {
    let key = ca.env.path(&format!("{stem}.key"));
    let der = ca.env.path(&format!("{stem}.csr.der"));
    crate::support::openssl_ok(&[
        "req",
        "-new",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
        "-keyout",
        key.to_str().unwrap(),
        "-subj",
        &format!("/CN={cn}"),
        "-addext",
        &format!("subjectAltName={san}"),
        "-outform",
        "DER",
        "-out",
        der.to_str().unwrap(),
    ]);
    B64.encode(std::fs::read(&der).unwrap())
}

/// The challenge of `kind` in an authorization.
fn challenge_of<'a>(authz: &'a Value, kind: &str) -> &'a Value {
    authz["challenges"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} challenge in {authz}"))
}

/// Poll `url` (POST-as-GET) until its status is not pending/processing.
fn settle(ca: &TestCa, dir: &Value, client: &Client, kid: &str, url: &str) -> Value {
    for _ in 0..100 {
        let (code, _, body) = post_kid(ca, dir, client, kid, url, None);
        assert_eq!(code, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        if v["status"] != "pending" && v["status"] != "processing" {
            return v;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("{url} did not settle");
}

#[test]
fn http01_validation() {
    let (mut ca, dir) = acme_ca(false);
    let answers = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
    let hits = serve_http01(ca.acme_http.take().unwrap(), answers.clone());
    let client = Client::new();
    let kid = new_account(&ca, &dir, &client);
    let thumb = client.thumbprint();
    let new_order = dir["newOrder"].as_str().unwrap();

    // Two orders for the same name at once: one answered right, one wrong.
    let mut results = Vec::new();
    let other = Client::new();
    let other_kid = new_account(&ca, &dir, &other);
    for (c, k, right) in [(&client, kid.clone(), true), (&other, other_kid, false)] {
        let payload = json!({"identifiers": [{"type": "dns", "value": "acme-target.test"}]});
        let (code, head, body) = post_kid(&ca, &dir, c, &k, new_order, Some(&payload));
        assert_eq!(code, 201, "{body}");
        let order_url = header(&head, "location").unwrap();
        let order: Value = serde_json::from_str(&body).unwrap();
        let authz_url = order["authorizations"][0].as_str().unwrap().to_owned();
        let (_, _, body) = post_kid(&ca, &dir, c, &k, &authz_url, None);
        let authz: Value = serde_json::from_str(&body).unwrap();
        let ch = challenge_of(&authz, "http-01");
        let token = ch["token"].as_str().unwrap().to_owned();
        let answer = if right {
            format!("{token}.{thumb}\n")
        } else {
            format!("{token}.not-the-thumbprint")
        };
        answers.lock().unwrap().insert(token, answer);
        let ch_url = ch["url"].as_str().unwrap().to_owned();
        // Only {} starts it.
        let (code, _, body) = post_kid(&ca, &dir, c, &k, &ch_url, Some(&json!({"x": 1})));
        assert_eq!(code, 400, "{body}");
        let (code, head, body) = post_kid(&ca, &dir, c, &k, &ch_url, Some(&json!({})));
        assert_eq!(code, 200, "{body}");
        assert!(
            head.contains(&format!("<{authz_url}>;rel=\"up\"")),
            "{head}"
        );
        let status: Value = serde_json::from_str(&body).unwrap();
        assert!(
            ["processing", "valid", "invalid"].contains(&status["status"].as_str().unwrap()),
            "{status}"
        );
        if status["status"] == "processing" {
            assert_eq!(header(&head, "retry-after").as_deref(), Some("1"), "{head}");
        }
        results.push((c, k, order_url, authz_url, ch_url));
    }
    let (c, k, order_url, authz_url, ch_url) = &results[0];
    let authz = settle(&ca, &dir, c, k, authz_url);
    assert_eq!(authz["status"], "valid", "{authz}");
    assert!(
        challenge_of(&authz, "http-01")["validated"].is_string(),
        "{authz}"
    );
    assert_eq!(settle(&ca, &dir, c, k, order_url)["status"], "ready");
    // Starting a finished challenge again changes nothing.
    let (code, _, body) = post_kid(&ca, &dir, c, k, ch_url, Some(&json!({})));
    assert_eq!(code, 400, "{body}");

    // Finalize: a CSR naming another name is refused (the order stays ready), then the
    // right one issues; a second finalize is orderNotReady.
    let order: Value = serde_json::from_str(&post_kid(&ca, &dir, c, k, order_url, None).2).unwrap();
    let finalize = order["finalize"].as_str().unwrap().to_owned();
    let csr = |cn: &str, san: &str| make_csr(&ca, "acme", cn, san);
    let bad = json!({"csr": csr("acme-target.test", "DNS:acme-target.test,DNS:other.test")});
    let (code, _, body) = post_kid(&ca, &dir, c, k, &finalize, Some(&bad));
    assert_eq!(code, 400, "{body}");
    assert!(
        body.contains("badCSR") && body.contains("other.test"),
        "{body}"
    );
    let (code, _, body) = post_kid(&ca, &dir, c, k, &finalize, Some(&json!({"csr": "!!"})));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("badCSR"), "{body}");
    let good = json!({"csr": csr("acme-target.test", "DNS:acme-target.test")});
    let (code, _, body) = post_kid(&ca, &dir, c, k, &finalize, Some(&good));
    assert_eq!(code, 200, "{body}");
    let order: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(order["status"], "valid", "{order}");
    let (code, _, body) = post_kid(&ca, &dir, c, k, &finalize, Some(&good));
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("orderNotReady"), "{body}");
    // Download: PEM leaf + intermediate, verified by openssl and linted.
    let cert_url = order["certificate"].as_str().unwrap();
    let (code, head, pem) = post_kid(&ca, &dir, c, k, cert_url, None);
    assert_eq!(code, 200, "{pem}");
    let up = format!("<{}>;rel=\"up\"", ca.url("/intermediate.crt"));
    assert!(head.contains(&up), "{head}");
    assert_eq!(
        header(&head, "content-type").as_deref(),
        Some("application/pem-certificate-chain")
    );
    assert_eq!(pem.matches("BEGIN CERTIFICATE").count(), 2, "{pem}");
    let chain = ca.env.write("acme-chain.pem", &pem);
    let leaf_end = pem.find("-----END CERTIFICATE-----").unwrap() + 25;
    let leaf = ca.env.write("acme-leaf.pem", &pem[..leaf_end]);
    crate::support::openssl_verify(&ca.root(), Some(&chain), &leaf);
    let text = crate::support::openssl_text(&leaf);
    assert!(text.contains("DNS:acme-target.test"), "{text}");
    crate::support::pkilint("lint_pkix_cert", &leaf);
    // The other account cannot download it.
    let (code, _, _) = post_kid(&ca, &dir, &other, &results[1].1, cert_url, None);
    assert_eq!(code, 400);
    // revokeCert: not by another account, nor with a bad reason; then by the certificate's
    // own key (jwk), and a second time it is alreadyRevoked.
    let revoke_url = dir["revokeCert"].as_str().unwrap();
    let leaf_der = crate::support::pem_certs(&leaf).remove(0);
    let revoke = json!({"certificate": B64.encode(&leaf_der), "reason": 1});
    let (code, _, body) = post_kid(&ca, &dir, &other, &results[1].1, revoke_url, Some(&revoke));
    assert!(code == 401 || code == 403, "{code} {body}");
    assert!(body.contains("did not order"), "{body}");
    let bad_reason = json!({"certificate": B64.encode(&leaf_der), "reason": 7});
    let (code, _, body) = post_kid(&ca, &dir, c, k, revoke_url, Some(&bad_reason));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("badRevocationReason"), "{body}");
    let cert_key = Client::from_pem(&ca.env.path("acme.key"));
    let n = nonce(&ca, &dir);
    let (code, _, body) = post(
        &ca,
        revoke_url,
        &cert_key.jws(revoke_url, &n, None, Some(&revoke)),
    );
    assert_eq!(code, 200, "{body}");
    let (code, _, body) = post_kid(&ca, &dir, c, k, revoke_url, Some(&revoke));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("alreadyRevoked"), "{body}");

    let (c, k, order_url, authz_url, _) = &results[1];
    let authz = settle(&ca, &dir, c, k, authz_url);
    assert_eq!(authz["status"], "invalid", "{authz}");
    let err = &challenge_of(&authz, "http-01")["error"];
    assert_eq!(
        err["type"], "urn:ietf:params:acme:error:incorrectResponse",
        "{authz}"
    );
    let order = settle(&ca, &dir, c, k, order_url);
    assert_eq!(order["status"], "invalid", "{order}");
    assert!(hits.load(std::sync::atomic::Ordering::SeqCst) >= 2);

    // A name that does not resolve: a connection problem, recorded, not a crash.
    let payload = json!({"identifiers": [{"type": "dns", "value": "nowhere.invalid"}]});
    let (_, _, body) = post_kid(&ca, &dir, &client, &kid, new_order, Some(&payload));
    let order: Value = serde_json::from_str(&body).unwrap();
    let authz_url = order["authorizations"][0].as_str().unwrap().to_owned();
    let (_, _, body) = post_kid(&ca, &dir, &client, &kid, &authz_url, None);
    let authz: Value = serde_json::from_str(&body).unwrap();
    let ch_url = challenge_of(&authz, "http-01")["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let (code, _, body) = post_kid(&ca, &dir, &client, &kid, &ch_url, Some(&json!({})));
    assert_eq!(code, 200, "{body}");
    let authz = settle(&ca, &dir, &client, &kid, &authz_url);
    assert_eq!(authz["status"], "invalid");
    assert_eq!(
        challenge_of(&authz, "http-01")["error"]["type"],
        "urn:ietf:params:acme:error:connection",
        "{authz}"
    );
}

/// A real ACME client run: `program args` with `envs`, which must succeed.
fn run_client(program: &str, args: &[&str], envs: &[(&str, &std::path::Path)]) -> String {
    let out = std::process::Command::new(program)
        .args(args)
        .envs(envs.iter().map(|(k, v)| (*k, v.as_os_str())))
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program} ({e}); scripts/test-deps.sh installs it"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{program} failed:\n{text}");
    text
}

/// certbot and lego, unchanged, complete http-01 orders against Vouch; the certificates they
/// receive verify with openssl and lint clean.
#[test]
fn certbot_and_lego_complete_orders() {
    let (mut ca, _) = acme_ca(false);
    // The clients bind the challenge port themselves.
    let port = ca.acme_http.take().unwrap().local_addr().unwrap().port();
    let dir_url = ca.url("/acme/acme/directory");
    let root = ca.root();

    let work = ca.env.path("certbot");
    let w = work.to_str().unwrap();
    let port_s = port.to_string();
    // Every certbot run keeps its state under `w` and trusts the CA's root.
    let dirs = [
        "--config-dir".to_owned(),
        format!("{w}/config"),
        "--work-dir".to_owned(),
        format!("{w}/work"),
        "--logs-dir".to_owned(),
        format!("{w}/logs"),
    ];
    let certbot = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(dirs.iter().map(String::as_str));
        run_client("certbot", &all, &[("REQUESTS_CA_BUNDLE", &root)])
    };
    certbot(&[
        "certonly",
        "--standalone",
        "--server",
        &dir_url,
        "--http-01-address",
        "127.0.0.1",
        "--http-01-port",
        &port_s,
        "--non-interactive",
        "--agree-tos",
        "--register-unsafely-without-email",
        "-d",
        "acme-target.test",
        "--cert-name",
        "target",
    ]);
    let live = work.join("config/live/target");
    crate::support::openssl_verify(&root, Some(&live.join("chain.pem")), &live.join("cert.pem"));
    // certbot renew --force-renewal: a new order from the stored renewal configuration.
    let first = std::fs::read_to_string(live.join("cert.pem")).unwrap();
    certbot(&[
        "renew",
        "--force-renewal",
        "--no-random-sleep-on-renew",
        "--cert-name",
        "target",
        "--non-interactive",
    ]);
    let renewed = std::fs::read_to_string(live.join("cert.pem")).unwrap();
    assert_ne!(
        first, renewed,
        "certbot renew did not replace the certificate"
    );
    crate::support::openssl_verify(&root, Some(&live.join("chain.pem")), &live.join("cert.pem"));
    crate::support::pkilint("lint_pkix_cert", &live.join("cert.pem"));
    assert!(crate::support::openssl_text(&live.join("cert.pem")).contains("DNS:acme-target.test"));

    let lego_dir = ca.env.path("lego");
    run_client(
        "lego",
        &[
            "--server",
            &dir_url,
            "--email",
            "ops@example.test",
            "--accept-tos",
            "--domains",
            "acme-target.test",
            "--http",
            "--http.port",
            &format!("127.0.0.1:{port}"),
            "--path",
            lego_dir.to_str().unwrap(),
            "run",
        ],
        &[("LEGO_CA_CERTIFICATES", &root)],
    );
    let crt = lego_dir.join("certificates/acme-target.test.crt");
    let pem = std::fs::read_to_string(&crt).unwrap();
    let leaf_end = pem.find("-----END CERTIFICATE-----").unwrap() + 25;
    let leaf = ca.env.write("lego-leaf.pem", &pem[..leaf_end]);
    crate::support::openssl_verify(&root, Some(&crt), &leaf);
    crate::support::pkilint("lint_pkix_cert", &leaf);
    // Both are stored; both clients revoke what they got (signed with their account key).
    assert!(ca.count() >= 2);
    certbot(&[
        "revoke",
        "--server",
        &dir_url,
        "--non-interactive",
        "--no-delete-after-revoke",
        "--cert-path",
        live.join("cert.pem").to_str().unwrap(),
        "--reason",
        "keycompromise",
    ]);
    run_client(
        "lego",
        &[
            "--server",
            &dir_url,
            "--email",
            "ops@example.test",
            "--accept-tos",
            "--domains",
            "acme-target.test",
            "--path",
            lego_dir.to_str().unwrap(),
            "revoke",
        ],
        &[("LEGO_CA_CERTIFICATES", &root)],
    );
    // openssl sees both revoked in the CRL the CA publishes (rebuilt a moment after).
    let crl = ca.env.path("acme.crl");
    let intermediate = ca.intermediate();
    let check = |cert: &std::path::Path| {
        let (code, pem) = ca.curl(&[&ca.url("/1.0/crl?pem")]);
        assert_eq!(code, 200);
        std::fs::write(&crl, pem).unwrap();
        let out = crate::support::openssl(&[
            "verify",
            "-crl_check",
            "-CAfile",
            root.to_str().unwrap(),
            "-untrusted",
            intermediate.to_str().unwrap(),
            "-CRLfile",
            crl.to_str().unwrap(),
            cert.to_str().unwrap(),
        ]);
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    for cert in [live.join("cert.pem"), leaf.clone()] {
        let mut text = check(&cert);
        for _ in 0..50 {
            if text.contains("certificate revoked") {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(200));
            text = check(&cert);
        }
        assert!(text.contains("certificate revoked"), "{text}");
    }
}

#[test]
fn key_change_rolls_the_account_key_over() {
    let (ca, dir) = acme_ca(false);
    let old = Client::new();
    let kid = new_account(&ca, &dir, &old);
    let new = Client::new();
    let url = dir["keyChange"].as_str().unwrap();
    // An inner JWS naming another account is refused.
    let wrong = new.key_change_inner(url, &format!("{kid}x"), &old);
    let (code, _, body) = post_kid(&ca, &dir, &old, &kid, url, Some(&wrong));
    assert!(code == 401 || code == 403, "{code} {body}");
    let inner = new.key_change_inner(url, &kid, &old);
    let (code, _, body) = post_kid(&ca, &dir, &old, &kid, url, Some(&inner));
    assert_eq!(code, 200, "{body}");
    // The old key no longer speaks for the account; the new one does, and finds it.
    let (code, _, body) = post_kid(&ca, &dir, &old, &kid, &kid, None);
    assert_eq!(code, 400, "{body}");
    let (code, _, body) = post_kid(&ca, &dir, &new, &kid, &kid, None);
    assert_eq!(code, 200, "{body}");
    let n = nonce(&ca, &dir);
    let na = dir["newAccount"].as_str().unwrap();
    let (code, head, body) = post(
        &ca,
        na,
        &new.jws(na, &n, None, Some(&json!({"onlyReturnExisting": true}))),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(header(&head, "location").as_deref(), Some(kid.as_str()));
    // Rolling another account onto a key in use is refused.
    let third = Client::new();
    let third_kid = new_account(&ca, &dir, &third);
    let taken = new.key_change_inner(url, &third_kid, &third);
    let (code, _, body) = post_kid(&ca, &dir, &third, &third_kid, url, Some(&taken));
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("already uses"), "{body}");
}

/// External account binding: keys made with `vouch ca acme eab`, used by real certbot.
#[test]
fn eab_keys_with_certbot() {
    let mut ca = TestCa::start();
    ca.env.ok(&[
        "ca",
        "provisioner",
        "add",
        "bound",
        "--type",
        "ACME",
        "--require-eab",
    ]);
    ca.reload().unwrap();
    let port = ca
        .acme_http
        .take()
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let dir_url = ca.url("/acme/bound/directory");
    let root = ca.root();
    // Wrong provisioner type, unknown provisioner: one-line errors.
    let e = ca
        .env
        .fails(&["ca", "acme", "eab", "add", "admin@acme.test"]);
    assert!(e.contains("not an ACME provisioner"), "{e}");
    let e = ca.env.fails(&["ca", "acme", "eab", "list", "nope"]);
    assert!(e.contains("no provisioner 'nope'"), "{e}");
    let out = ca
        .env
        .ok(&["ca", "acme", "eab", "add", "bound", "--kid", "team-web"]);
    let hmac = out
        .lines()
        .find_map(|l| l.strip_prefix("hmac-key\t"))
        .expect("an hmac-key line")
        .to_owned();
    assert!(out.contains("kid\tteam-web"), "{out}");
    let e = ca
        .env
        .fails(&["ca", "acme", "eab", "add", "bound", "--kid", "team-web"]);
    assert!(e.contains("exists already"), "{e}");
    assert!(
        ca.env
            .ok(&["ca", "acme", "eab", "list", "bound"])
            .contains("team-web\t(unbound)")
    );

    let certbot = |dir: &str, eab: &[&str]| {
        let w = ca.env.path(dir);
        let w = w.to_str().unwrap();
        let mut args = vec![
            "certonly",
            "--standalone",
            "--server",
            &dir_url,
            "--http-01-address",
            "127.0.0.1",
            "--http-01-port",
            &port,
            "--non-interactive",
            "--agree-tos",
            "--register-unsafely-without-email",
            "-d",
            "acme-target.test",
        ];
        args.extend_from_slice(eab);
        let dirs = [
            format!("--config-dir={w}/config"),
            format!("--work-dir={w}/work"),
            format!("--logs-dir={w}/logs"),
        ];
        args.extend(dirs.iter().map(String::as_str));
        std::process::Command::new("certbot")
            .args(&args)
            .env("REQUESTS_CA_BUNDLE", &root)
            .output()
            .expect("certbot (scripts/test-deps.sh installs it)")
    };
    // Without a binding: refused.
    let out = certbot("no-eab", &[]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .to_lowercase()
            .contains("external account"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // With it: a certificate, and the key is bound.
    let out = certbot("eab", &["--eab-kid", "team-web", "--eab-hmac-key", &hmac]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let list = ca.env.ok(&["ca", "acme", "eab", "list", "bound"]);
    assert!(
        list.starts_with("team-web\t") && !list.contains("(unbound)"),
        "{list}"
    );
    // A bound key cannot make a second account.
    let out = certbot(
        "eab-again",
        &["--eab-kid", "team-web", "--eab-hmac-key", &hmac],
    );
    assert!(!out.status.success());
    // Remove.
    ca.env
        .ok(&["ca", "acme", "eab", "remove", "bound", "team-web"]);
    let e = ca
        .env
        .fails(&["ca", "acme", "eab", "remove", "bound", "team-web"]);
    assert!(e.contains("no EAB key 'team-web'"), "{e}");
}

/// base64url(SHA-256(key authorization)): the dns-01 TXT value.
fn key_auth_digest(key_auth: &str) -> String {
    B64.encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_auth.as_bytes()).as_ref())
}

/// The certificate tls-alpn-01 answers with (RFC 8737 §3): self-signed, one SAN, the
/// critical acmeIdentifier extension with SHA-256 of `key_auth`.
fn alpn_certificate(
    identifier: &str,
    key_auth: &str,
) -> std::sync::Arc<rustls::sign::CertifiedKey> {
    let mut params = rcgen::CertificateParams::default();
    params.subject_alt_names = vec![match identifier.parse() {
        Ok(ip) => rcgen::SanType::IpAddress(ip),
        Err(_) => rcgen::SanType::DnsName(identifier.try_into().unwrap()),
    }];
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, key_auth.as_bytes());
    let mut value = vec![0x04, 0x20];
    value.extend_from_slice(hash.as_ref());
    let mut ext = rcgen::CustomExtension::from_oid_content(&[1, 3, 6, 1, 5, 5, 7, 1, 31], value);
    ext.set_criticality(true);
    params.custom_extensions = vec![ext];
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let der = rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let signer = rustls::crypto::aws_lc_rs::sign::any_supported_type(&der).unwrap();
    std::sync::Arc::new(rustls::sign::CertifiedKey::new(
        vec![cert.der().clone()],
        signer,
    ))
}

/// A tls-alpn-01 responder: presents the current certificate to every client offering
/// acme-tls/1 and records the SNI names it was asked for.
#[derive(Debug, Default)]
struct AlpnResponder {
    current: std::sync::Mutex<Option<std::sync::Arc<rustls::sign::CertifiedKey>>>,
    names: std::sync::Mutex<Vec<String>>,
}

impl rustls::server::ResolvesServerCert for AlpnResponder {
    fn resolve(
        &self,
        hello: rustls::server::ClientHello<'_>,
    ) -> Option<std::sync::Arc<rustls::sign::CertifiedKey>> {
        self.names
            .lock()
            .unwrap()
            .push(hello.server_name().unwrap_or("").to_owned());
        self.current.lock().unwrap().clone()
    }
}

fn serve_tls_alpn01(listener: std::net::TcpListener) -> std::sync::Arc<AlpnResponder> {
    let responder = std::sync::Arc::new(AlpnResponder::default());
    let mut config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_cert_resolver(responder.clone());
    config.alpn_protocols = vec![b"acme-tls/1".to_vec()];
    let config = std::sync::Arc::new(config);
    std::thread::spawn(move || {
        for tcp in listener.incoming() {
            let Ok(mut tcp) = tcp else { continue };
            let mut conn = rustls::ServerConnection::new(config.clone()).unwrap();
            while conn.is_handshaking() {
                if conn.complete_io(&mut tcp).is_err() {
                    break;
                }
            }
            conn.send_close_notify();
            let _ = conn.complete_io(&mut tcp);
        }
    });
    responder
}

/// Finalize a ready order with `csr`, download the chain, and check it with openssl and
/// pkilint (which, in its PKIX profile, calls a wildcard dNSName invalid syntax: that one
/// finding is tolerated when `wildcard`); returns the leaf's text and PEM.
fn finalize_and_check(
    ca: &TestCa,
    dir: &Value,
    client: &Client,
    kid: &str,
    order_url: &str,
    csr: String,
    wildcard: bool,
) -> (String, String) {
    let order = settle(ca, dir, client, kid, order_url);
    assert_eq!(order["status"], "ready", "{order}");
    let finalize = order["finalize"].as_str().unwrap();
    let (code, _, body) = post_kid(ca, dir, client, kid, finalize, Some(&json!({"csr": csr})));
    assert_eq!(code, 200, "{body}");
    let order: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(order["status"], "valid", "{order}");
    let (code, _, pem) = post_kid(
        ca,
        dir,
        client,
        kid,
        order["certificate"].as_str().unwrap(),
        None,
    );
    assert_eq!(code, 200, "{pem}");
    let chain = ca.env.write("acme-chain.pem", &pem);
    let leaf_end = pem.find("-----END CERTIFICATE-----").unwrap() + 25;
    let leaf = ca.env.write("acme-leaf.pem", &pem[..leaf_end]);
    crate::support::openssl_verify(&ca.root(), Some(&chain), &leaf);
    let allowed: &[&str] = if wildcard {
        &["pkix.invalid_domain_name_syntax"]
    } else {
        &[]
    };
    crate::support::pkilint_allowing("lint_pkix_cert", &[], allowed, &leaf);
    (
        crate::support::openssl_text(&leaf),
        pem[..leaf_end].to_owned(),
    )
}

/// A new order for `identifiers`; returns its URL and its authorizations.
fn order_with(
    ca: &TestCa,
    dir: &Value,
    client: &Client,
    kid: &str,
    identifiers: Value,
) -> (String, Vec<Value>) {
    let payload = json!({ "identifiers": identifiers });
    let (code, head, body) = post_kid(
        ca,
        dir,
        client,
        kid,
        dir["newOrder"].as_str().unwrap(),
        Some(&payload),
    );
    assert_eq!(code, 201, "{body}");
    let order: Value = serde_json::from_str(&body).unwrap();
    let authzs = order["authorizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let (code, _, body) = post_kid(ca, dir, client, kid, a.as_str().unwrap(), None);
            assert_eq!(code, 200, "{body}");
            let mut v: Value = serde_json::from_str(&body).unwrap();
            v["url"] = a.clone();
            v
        })
        .collect();
    (header(&head, "location").unwrap(), authzs)
}

/// dns-01 (a wildcard and its base name, both TXT values at one name, looked up through the
/// configured resolver) and tls-alpn-01 (an IP address and a DNS name), each also failing
/// with the right problem; the certificates pass openssl and pkilint.
#[test]
fn dns01_wildcards_and_tls_alpn01() {
    let (mut ca, dir) = acme_ca(true);
    let client = Client::new();
    let kid = new_account(&ca, &dir, &client);
    let thumb = client.thumbprint();
    let alpn_listener = ca.acme_tls.take().unwrap();
    let start = |authz: &Value, kind: &str| {
        let ch = challenge_of(authz, kind);
        let (code, _, body) = post_kid(
            &ca,
            &dir,
            &client,
            &kid,
            ch["url"].as_str().unwrap(),
            Some(&json!({})),
        );
        assert_eq!(code, 200, "{body}");
    };

    // dns-01: *.wild.acme-target.test and wild.acme-target.test.
    let (order_url, authzs) = order_with(
        &ca,
        &dir,
        &client,
        &kid,
        json!([
            {"type": "dns", "value": "*.wild.acme-target.test"},
            {"type": "dns", "value": "wild.acme-target.test"}
        ]),
    );
    assert_eq!(authzs.len(), 2);
    for authz in &authzs {
        let token = challenge_of(authz, "dns-01")["token"].as_str().unwrap();
        ca.dns.add_txt(
            "_acme-challenge.wild.acme-target.test",
            &key_auth_digest(&format!("{token}.{thumb}")),
        );
    }
    for authz in &authzs {
        start(authz, "dns-01");
    }
    for authz in &authzs {
        let done = settle(&ca, &dir, &client, &kid, authz["url"].as_str().unwrap());
        assert_eq!(done["status"], "valid", "{done}");
    }
    assert!(ca.dns.txt_queries.load(std::sync::atomic::Ordering::SeqCst) >= 2);
    let csr = make_csr(
        &ca,
        "wild",
        "wild.acme-target.test",
        "DNS:*.wild.acme-target.test,DNS:wild.acme-target.test",
    );
    let (text, _) = finalize_and_check(&ca, &dir, &client, &kid, &order_url, csr, true);
    assert!(text.contains("DNS:*.wild.acme-target.test"), "{text}");

    // A TXT record that is not the digest, and none at all: unauthorized.
    ca.dns
        .add_txt("_acme-challenge.nope.acme-target.test", "not-the-digest");
    for name in ["nope.acme-target.test", "absent.acme-target.test"] {
        let (order_url, authzs) = order_with(
            &ca,
            &dir,
            &client,
            &kid,
            json!([{"type": "dns", "value": name}]),
        );
        start(&authzs[0], "dns-01");
        let done = settle(&ca, &dir, &client, &kid, authzs[0]["url"].as_str().unwrap());
        assert_eq!(done["status"], "invalid", "{done}");
        let err = &challenge_of(&done, "dns-01")["error"];
        assert_eq!(
            err["type"], "urn:ietf:params:acme:error:unauthorized",
            "{done}"
        );
        assert!(
            err["detail"]
                .as_str()
                .unwrap()
                .contains(&format!("_acme-challenge.{name}")),
            "{err}"
        );
        assert_eq!(
            settle(&ca, &dir, &client, &kid, &order_url)["status"],
            "invalid"
        );
    }

    // tls-alpn-01: an IP address (SNI is its reverse name, RFC 8738) and a DNS name.
    let responder = serve_tls_alpn01(alpn_listener);
    let (order_url, authzs) = order_with(
        &ca,
        &dir,
        &client,
        &kid,
        json!([
            {"type": "ip", "value": "127.0.0.1"},
            {"type": "dns", "value": "alpn.acme-target.test"}
        ]),
    );
    for authz in &authzs {
        let ident = authz["identifier"]["value"].as_str().unwrap();
        let token = challenge_of(authz, "tls-alpn-01")["token"]
            .as_str()
            .unwrap();
        *responder.current.lock().unwrap() =
            Some(alpn_certificate(ident, &format!("{token}.{thumb}")));
        start(authz, "tls-alpn-01");
        let done = settle(&ca, &dir, &client, &kid, authz["url"].as_str().unwrap());
        assert_eq!(done["status"], "valid", "{done}");
    }
    let names = responder.names.lock().unwrap().clone();
    assert!(
        names.contains(&"1.0.0.127.in-addr.arpa".to_owned()),
        "{names:?}"
    );
    assert!(
        names.contains(&"alpn.acme-target.test".to_owned()),
        "{names:?}"
    );
    let csr = make_csr(
        &ca,
        "alpn",
        "alpn.acme-target.test",
        "IP:127.0.0.1,DNS:alpn.acme-target.test",
    );
    let (text, _) = finalize_and_check(&ca, &dir, &client, &kid, &order_url, csr, false);
    assert!(text.contains("IP Address:127.0.0.1"), "{text}");

    // A certificate for another key authorization: incorrectResponse.
    let (_, authzs) = order_with(
        &ca,
        &dir,
        &client,
        &kid,
        json!([{"type": "dns", "value": "alpn2.acme-target.test"}]),
    );
    *responder.current.lock().unwrap() =
        Some(alpn_certificate("alpn2.acme-target.test", "other.key-auth"));
    start(&authzs[0], "tls-alpn-01");
    let done = settle(&ca, &dir, &client, &kid, authzs[0]["url"].as_str().unwrap());
    assert_eq!(done["status"], "invalid", "{done}");
    assert_eq!(
        challenge_of(&done, "tls-alpn-01")["error"]["type"],
        "urn:ietf:params:acme:error:incorrectResponse",
        "{done}"
    );
}

/// lego, unchanged: tls-alpn-01 (lego's own responder), renew, revoke and a second revoke
/// that gets alreadyRevoked; then a wildcard and its base name over dns-01, lego's `exec`
/// provider writing TXT records into the test DNS server the CA's resolver asks.
#[test]
fn lego_tls_alpn01_dns01_renew_and_revoke() {
    let (mut ca, _) = acme_ca(true);
    let tls_port = ca.acme_tls.take().unwrap().local_addr().unwrap().port();
    let dir_url = ca.url("/acme/acme/directory");
    let root = ca.root();
    let lego_dir = ca.env.path("lego");
    let tls_addr = format!("127.0.0.1:{tls_port}");
    let lego = |extra: &[&str], cmd: &[&str]| {
        let mut args = vec![
            "--server",
            &dir_url,
            "--email",
            "ops@example.test",
            "--accept-tos",
            "--path",
            lego_dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(cmd);
        std::process::Command::new("lego")
            .args(&args)
            .env("LEGO_CA_CERTIFICATES", &root)
            .env("EXEC_PATH", ca.dns.exec_script())
            .env("EXEC_POLLING_INTERVAL", "1")
            .env("EXEC_PROPAGATION_TIMEOUT", "20")
            .env("EXEC_SEQUENCE_INTERVAL", "1")
            .output()
            .unwrap_or_else(|e| panic!("cannot run lego ({e}); scripts/test-deps.sh installs it"))
    };
    let ok = |out: std::process::Output| {
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "lego failed:\n{text}");
        text
    };
    let check = |file: &str, name: &str| {
        let crt = lego_dir.join("certificates").join(file);
        let pem = std::fs::read_to_string(&crt).unwrap();
        let leaf_end = pem.find("-----END CERTIFICATE-----").unwrap() + 25;
        let leaf = ca.env.write("lego-leaf.pem", &pem[..leaf_end]);
        crate::support::openssl_verify(&root, Some(&crt), &leaf);
        let allowed: &[&str] = if name.starts_with("*.") {
            &["pkix.invalid_domain_name_syntax"]
        } else {
            &[]
        };
        crate::support::pkilint_allowing("lint_pkix_cert", &[], allowed, &leaf);
        let text = crate::support::openssl_text(&leaf);
        assert!(text.contains(&format!("DNS:{name}")), "{text}");
        pem[..leaf_end].to_owned()
    };

    let tls = [
        "--domains",
        "alpn.acme-target.test",
        "--tls",
        "--tls.port",
        &tls_addr,
    ];
    ok(lego(&tls, &["run"]));
    let first = check("alpn.acme-target.test.crt", "alpn.acme-target.test");
    // The certificate lives 24 h, within lego's default 30-day renewal window.
    ok(lego(&tls, &["renew", "--no-random-sleep"]));
    let renewed = check("alpn.acme-target.test.crt", "alpn.acme-target.test");
    assert_ne!(first, renewed, "lego renew did not replace the certificate");
    ok(lego(
        &["--domains", "alpn.acme-target.test"],
        &["revoke", "--keep"],
    ));
    let again = lego(
        &["--domains", "alpn.acme-target.test"],
        &["revoke", "--keep"],
    );
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(!again.status.success(), "a second revoke succeeded: {text}");
    assert!(text.contains("alreadyRevoked"), "{text}");

    let dns_addr = ca.dns.addr();
    ok(lego(
        &[
            "--domains",
            "*.dns.acme-target.test",
            "--domains",
            "dns.acme-target.test",
            "--dns",
            "exec",
            "--dns.resolvers",
            &dns_addr,
            "--dns.disable-cp",
        ],
        &["run"],
    ));
    check("_.dns.acme-target.test.crt", "*.dns.acme-target.test");
    assert!(ca.dns.txt_queries.load(std::sync::atomic::Ordering::SeqCst) >= 2);
}

/// Start the challenge of `kind` of an authorization with `{}`.
fn start_challenge(
    ca: &TestCa,
    dir: &Value,
    client: &Client,
    kid: &str,
    authz: &Value,
    kind: &str,
) {
    let ch = challenge_of(authz, kind);
    let (code, _, body) = post_kid(
        ca,
        dir,
        client,
        kid,
        ch["url"].as_str().unwrap(),
        Some(&json!({})),
    );
    assert_eq!(code, 200, "{body}");
}

/// An order for `name` proven with dns-01 and finalized; returns the order's payload
/// response code and body when `replaces` is refused, else the leaf PEM.
fn issue_with_dns01(
    ca: &TestCa,
    dir: &Value,
    client: &Client,
    kid: &str,
    name: &str,
    replaces: Option<&str>,
) -> Result<String, (u16, String)> {
    let mut payload = json!({"identifiers": [{"type": "dns", "value": name}]});
    if let Some(r) = replaces {
        payload["replaces"] = json!(r);
    }
    let (code, head, body) = post_kid(
        ca,
        dir,
        client,
        kid,
        dir["newOrder"].as_str().unwrap(),
        Some(&payload),
    );
    if code != 201 {
        return Err((code, body));
    }
    let order: Value = serde_json::from_str(&body).unwrap();
    if let Some(r) = replaces {
        assert_eq!(order["replaces"], r, "{order}");
    }
    let order_url = header(&head, "location").unwrap();
    let authz_url = order["authorizations"][0].as_str().unwrap();
    let (_, _, body) = post_kid(ca, dir, client, kid, authz_url, None);
    let authz: Value = serde_json::from_str(&body).unwrap();
    if authz["status"] == "pending" {
        let token = challenge_of(&authz, "dns-01")["token"].as_str().unwrap();
        let key_auth = format!("{token}.{}", client.thumbprint());
        ca.dns.add_txt(
            &format!("_acme-challenge.{name}"),
            &key_auth_digest(&key_auth),
        );
        start_challenge(ca, dir, client, kid, &authz, "dns-01");
        assert_eq!(settle(ca, dir, client, kid, authz_url)["status"], "valid");
    }
    let csr = make_csr(ca, "ari", name, &format!("DNS:{name}"));
    Ok(finalize_and_check(ca, dir, client, kid, &order_url, csr, false).1)
}

/// The RFC 9773 certID of a PEM certificate.
fn cert_id(pem: &str) -> String {
    use x509_parser::extensions::ParsedExtension;
    let der = crate::support::pem_bytes(pem);
    let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
    let aki = cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        })
        .unwrap();
    format!("{}.{}", B64.encode(aki), B64.encode(cert.raw_serial()))
}

/// ARI (RFC 9773): renewalInfo in the directory, a window inside the certificate's life (in
/// the past once it is revoked), 404 for an unknown certificate, and `replaces` honoured at
/// newOrder: only by the account that ordered it, with a shared identifier, once.
#[test]
fn renewal_info_and_replaces() {
    let ca = TestCa::start();
    ca.env
        .ok(&["ca", "provisioner", "add", "acme", "--type", "ACME"]);
    // The directory's meta fields come from the provisioner.
    let config = ca.env.home().join("config/ca.toml");
    let text = std::fs::read_to_string(&config).unwrap().replace(
        "name = \"acme\"\n",
        "name = \"acme\"\ntermsOfService = \"https://ca.example.test/tos\"\n\
         website = \"https://ca.example.test\"\ncaaIdentities = [\"ca.example.test\"]\n",
    );
    std::fs::write(&config, text).unwrap();
    ca.reload().unwrap();
    let (_, _, body) = call(&ca, &[&ca.url("/acme/acme/directory")]);
    let dir: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        dir["meta"],
        json!({
            "externalAccountRequired": false,
            "termsOfService": "https://ca.example.test/tos",
            "website": "https://ca.example.test",
            "caaIdentities": ["ca.example.test"]
        })
    );
    let ri = dir["renewalInfo"]
        .as_str()
        .expect("renewalInfo in the directory")
        .to_owned();
    let client = Client::new();
    let kid = new_account(&ca, &dir, &client);
    let leaf = issue_with_dns01(&ca, &dir, &client, &kid, "ari.acme-target.test", None).unwrap();
    let id = cert_id(&leaf);

    let (code, head, body) = call(&ca, &[&format!("{ri}/{id}")]);
    assert_eq!(code, 200, "{body}");
    let retry: i64 = header(&head, "retry-after")
        .expect("Retry-After")
        .parse()
        .unwrap();
    assert!((60..=6 * 3600).contains(&retry), "{retry}");
    let v: Value = serde_json::from_str(&body).unwrap();
    let parse = |s: &Value| {
        time::OffsetDateTime::parse(
            s.as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    let (start, end) = (
        parse(&v["suggestedWindow"]["start"]),
        parse(&v["suggestedWindow"]["end"]),
    );
    let now = time::OffsetDateTime::now_utc();
    assert!(now < start && start < end, "{v}");
    assert!(end < now + time::Duration::hours(24), "{v}");

    // Unknown serial: 404; garbage: 400.
    let unknown = format!(
        "{}.{}",
        id.split('.').next().unwrap(),
        B64.encode([0x42; 16])
    );
    let (code, _, body) = call(&ca, &[&format!("{ri}/{unknown}")]);
    assert_eq!(code, 404, "{body}");
    let (code, _, body) = call(&ca, &[&format!("{ri}/not-a-cert-id")]);
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("malformed"), "{body}");

    // replaces: another account may not; no shared identifier is malformed; the owner may,
    // once.
    let other = Client::new();
    let other_kid = new_account(&ca, &dir, &other);
    let (code, body) = issue_with_dns01(
        &ca,
        &dir,
        &other,
        &other_kid,
        "ari.acme-target.test",
        Some(&id),
    )
    .unwrap_err();
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("not ordered by this account"), "{body}");
    let (code, body) =
        issue_with_dns01(&ca, &dir, &client, &kid, "ari2.acme-target.test", Some(&id)).unwrap_err();
    assert_eq!(code, 400, "{body}");
    assert!(body.contains("shares no identifier"), "{body}");
    let renewed =
        issue_with_dns01(&ca, &dir, &client, &kid, "ari.acme-target.test", Some(&id)).unwrap();
    assert_ne!(cert_id(&renewed), id);
    let (code, body) =
        issue_with_dns01(&ca, &dir, &client, &kid, "ari.acme-target.test", Some(&id)).unwrap_err();
    assert_eq!(code, 409, "{body}");
    assert!(body.contains("alreadyReplaced"), "{body}");

    // revokeCert by an account that did not order the certificate but holds valid
    // authorizations for all its names (RFC 8555 §7.6).
    let holder = Client::new();
    let holder_kid = new_account(&ca, &dir, &holder);
    let revoke_url = dir["revokeCert"].as_str().unwrap();
    let revoke_renewed = json!({"certificate": B64.encode(crate::support::pem_bytes(&renewed))});
    let (code, _, body) = post_kid(
        &ca,
        &dir,
        &holder,
        &holder_kid,
        revoke_url,
        Some(&revoke_renewed),
    );
    assert_eq!(code, 403, "{body}");
    issue_with_dns01(
        &ca,
        &dir,
        &holder,
        &holder_kid,
        "ari.acme-target.test",
        None,
    )
    .unwrap();
    let (code, _, body) = post_kid(
        &ca,
        &dir,
        &holder,
        &holder_kid,
        revoke_url,
        Some(&revoke_renewed),
    );
    assert_eq!(code, 200, "{body}");

    // A CSR for the account's own key is refused (RFC 8555 §11.1).
    let csr = make_csr(
        &ca,
        "same",
        "same.acme-target.test",
        "DNS:same.acme-target.test",
    );
    let same = Client::from_pem(&ca.env.path("same.key"));
    let same_kid = new_account(&ca, &dir, &same);
    let (order_url, authzs) = order_with(
        &ca,
        &dir,
        &same,
        &same_kid,
        json!([{"type": "dns", "value": "same.acme-target.test"}]),
    );
    let token = challenge_of(&authzs[0], "dns-01")["token"]
        .as_str()
        .unwrap();
    ca.dns.add_txt(
        "_acme-challenge.same.acme-target.test",
        &key_auth_digest(&format!("{token}.{}", same.thumbprint())),
    );
    start_challenge(&ca, &dir, &same, &same_kid, &authzs[0], "dns-01");
    let order = settle(&ca, &dir, &same, &same_kid, &order_url);
    assert_eq!(order["status"], "ready", "{order}");
    let finalize = order["finalize"].as_str().unwrap();
    let (code, _, body) = post_kid(
        &ca,
        &dir,
        &same,
        &same_kid,
        finalize,
        Some(&json!({"csr": csr})),
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        body.contains("badCSR") && body.contains("account key"),
        "{body}"
    );

    // Revoked: the window has passed, renew now.
    let revoke = json!({"certificate": B64.encode(crate::support::pem_bytes(&leaf)), "reason": 4});
    let (code, _, body) = post_kid(
        &ca,
        &dir,
        &client,
        &kid,
        dir["revokeCert"].as_str().unwrap(),
        Some(&revoke),
    );
    assert_eq!(code, 200, "{body}");
    let (code, _, body) = call(&ca, &[&format!("{ri}/{id}")]);
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    assert!(
        parse(&v["suggestedWindow"]["end"]) <= time::OffsetDateTime::now_utc(),
        "{v}"
    );
}

/// 100 orders from one account at once all succeed; 20 simultaneous POSTs to one challenge
/// all get 200 and start exactly one validation (step-ca's #341/#280/#2121 fail here).
#[test]
fn concurrent_orders_and_challenge_posts() {
    let (mut ca, dir) = acme_ca(false);
    let answers = std::sync::Arc::new(std::sync::Mutex::new(std::collections::HashMap::new()));
    let hits = serve_http01(ca.acme_http.take().unwrap(), answers.clone());
    let client = Client::new();
    let kid = new_account(&ca, &dir, &client);
    let new_order = dir["newOrder"].as_str().unwrap();

    let results: Vec<(u16, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..100)
            .map(|i| {
                let (ca, dir, client, kid) = (&ca, &dir, &client, &kid);
                s.spawn(move || {
                    let payload = json!({"identifiers": [
                        {"type": "dns", "value": format!("c{i}.acme-target.test")},
                        {"type": "dns", "value": "shared.acme-target.test"}
                    ]});
                    let (code, _, body) = post_kid(ca, dir, client, kid, new_order, Some(&payload));
                    (code, body)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (code, body) in &results {
        assert_eq!(*code, 201, "{body}");
    }
    let (_, _, body) = post_kid(&ca, &dir, &client, &kid, &format!("{kid}/orders"), None);
    let listed = serde_json::from_str::<Value>(&body).unwrap()["orders"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(listed, 100);

    let order: Value = serde_json::from_str(&results[0].1).unwrap();
    let authz_url = order["authorizations"][0].as_str().unwrap().to_owned();
    let (_, _, body) = post_kid(&ca, &dir, &client, &kid, &authz_url, None);
    let authz: Value = serde_json::from_str(&body).unwrap();
    let ch = challenge_of(&authz, "http-01");
    let token = ch["token"].as_str().unwrap().to_owned();
    answers
        .lock()
        .unwrap()
        .insert(token.clone(), format!("{token}.{}", client.thumbprint()));
    let ch_url = ch["url"].as_str().unwrap().to_owned();
    let codes: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..20)
            .map(|_| {
                let (ca, dir, client, kid, ch_url) = (&ca, &dir, &client, &kid, &ch_url);
                s.spawn(move || post_kid(ca, dir, client, kid, ch_url, Some(&json!({}))).0)
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    // Every POST that found the authorization pending got 200; once it was valid, a late
    // one is refused as malformed, never as a conflict or an internal error.
    assert!(codes.iter().all(|c| *c == 200 || *c == 400), "{codes:?}");
    assert!(codes.contains(&200), "{codes:?}");
    assert_eq!(
        settle(&ca, &dir, &client, &kid, &authz_url)["status"],
        "valid"
    );
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 1);
}
