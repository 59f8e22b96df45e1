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
        let key = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap();
        let p = key.public_key().as_ref();
        let jwk = json!({"kty": "EC", "crv": "P-256", "x": B64.encode(&p[1..33]), "y": B64.encode(&p[33..65])});
        Client { key, jwk }
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
    let f = ca.env.write("acme-body.json", body);
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
        {"type": "dns", "value": "*.example.test"},
        {"type": "ip", "value": "127.0.0.1"},
    ]});
    let (code, head, body) = post_kid(&ca, &dir, &client, &kid, new_order, Some(&payload));
    assert_eq!(code, 201, "{body}");
    let order_url = header(&head, "location").expect("Location");
    let order: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(order["status"], "pending");
    assert_eq!(order["identifiers"].as_array().unwrap().len(), 3, "{order}");
    assert!(order["finalize"].as_str().unwrap().ends_with("/finalize"));
    let authzs = order["authorizations"].as_array().unwrap();
    assert_eq!(authzs.len(), 3);

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
        match (id["type"].as_str().unwrap(), wildcard) {
            ("dns", true) => assert_eq!(types, ["dns-01"]),
            ("dns", false) => assert_eq!(types, ["dns-01", "http-01", "tls-alpn-01"]),
            ("ip", _) => assert_eq!(types, ["http-01", "tls-alpn-01"]),
            other => panic!("unexpected identifier {other:?}"),
        }
    }
    seen.sort();
    assert_eq!(
        seen,
        [
            "\"dns\":\"example.test\":true",
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
    for bad in [
        json!({"identifiers": []}),
        json!({"nothing": 1}),
        json!({
            "identifiers": [{"type": "dns", "value": "x.example.test"}],
            "notBefore": "yesterday"
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
