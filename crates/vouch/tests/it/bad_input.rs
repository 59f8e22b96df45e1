//! Bad input gets one line naming the file and the problem, a non-zero exit, and nothing
//! written or half-written.

use crate::init::init_args;
use crate::support::*;

fn ca(env: &Env) {
    let pw = env.p("pw.txt");
    env.ok(&[
        "cert",
        "create",
        "Root",
        "root.crt",
        "root.key",
        "--profile",
        "root-ca",
        "--password-file",
        &pw,
    ]);
    env.ok(&[
        "cert",
        "create",
        "Int",
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
    ]);
}

/// Run a failing command and check the error line mentions every `needle`, and that the scratch
/// directory is exactly as before.
fn refused(env: &Env, args: &[&str], needles: &[&str]) {
    let before = env.listing();
    let e = env.fails(args);
    for n in needles {
        assert!(e.contains(n), "expected '{n}' in: {e}");
    }
    assert_eq!(env.listing(), before, "something was written by {args:?}");
}

#[test]
fn wrong_password_and_mismatched_key() {
    let env = Env::new();
    ca(&env);
    let pw2 = env.p("pw2.txt");
    let pw = env.p("pw.txt");
    refused(
        &env,
        &[
            "cert",
            "create",
            "a.internal",
            "a.crt",
            "a.key",
            "--ca",
            "int.crt",
            "--ca-key",
            "int.key",
            "--ca-password-file",
            &pw2,
            "--no-password",
            "--insecure",
        ],
        &["int.key", "wrong password"],
    );
    refused(
        &env,
        &[
            "cert",
            "create",
            "a.internal",
            "a.crt",
            "a.key",
            "--ca",
            "int.crt",
            "--ca-key",
            "root.key",
            "--ca-password-file",
            &pw,
            "--no-password",
            "--insecure",
        ],
        &["root.key", "does not match"],
    );
    // The issuer is a leaf, not a CA.
    env.ok(&[
        "cert",
        "create",
        "leaf.internal",
        "leaf.crt",
        "leaf.key",
        "--ca",
        "int.crt",
        "--ca-key",
        "int.key",
        "--ca-password-file",
        &pw,
        "--no-password",
        "--insecure",
    ]);
    refused(
        &env,
        &[
            "cert",
            "create",
            "b.internal",
            "b.crt",
            "b.key",
            "--ca",
            "leaf.crt",
            "--ca-key",
            "leaf.key",
            "--no-password",
            "--insecure",
        ],
        &["leaf.crt", "not a CA"],
    );
    // Existing output without --force.
    refused(
        &env,
        &[
            "cert",
            "create",
            "leaf.internal",
            "leaf.crt",
            "new.key",
            "--ca",
            "int.crt",
            "--ca-key",
            "int.key",
            "--ca-password-file",
            &pw,
            "--no-password",
            "--insecure",
        ],
        &["leaf.crt", "already exists"],
    );
}

#[test]
fn garbage_truncated_and_wrong_type_inputs() {
    let env = Env::new();
    ca(&env);
    let pw = env.p("pw.txt");
    env.write(
        "garbage.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64 at all!!\n-----END CERTIFICATE-----\n",
    );
    env.write("random.bin", [0x13u8, 0x37, 0x00, 0xff, 0x42]);
    let root_der = {
        let text = env.read("root.crt");
        pem::parse(text).unwrap().into_contents()
    };
    env.write("truncated.der", &root_der[..root_der.len() / 2]);
    env.ok(&[
        "cert",
        "create",
        "c.internal",
        "c.csr",
        "c.key",
        "--csr",
        "--no-password",
        "--insecure",
    ]);

    for f in ["garbage.pem", "random.bin", "truncated.der"] {
        refused(&env, &["cert", "inspect", f], &[f]);
        refused(&env, &["cert", "fingerprint", f], &[f]);
        refused(
            &env,
            &[
                "cert",
                "sign",
                f,
                "int.crt",
                "int.key",
                "--ca-password-file",
                &pw,
            ],
            &[f],
        );
        refused(&env, &["key", "public", f], &[f]);
    }
    // A CSR where a certificate is expected, a certificate where a key is expected.
    refused(
        &env,
        &[
            "cert",
            "sign",
            "c.csr",
            "c.csr",
            "int.key",
            "--ca-password-file",
            &pw,
        ],
        &["c.csr", "no CERTIFICATE"],
    );
    refused(
        &env,
        &["key", "public", "root.crt"],
        &["root.crt", "no private key"],
    );
    refused(
        &env,
        &["cert", "verify", "c.csr", "--roots", "root.crt"],
        &["c.csr"],
    );
    // Missing file.
    refused(
        &env,
        &["cert", "inspect", "nope.pem"],
        &["nope.pem", "cannot read"],
    );
}

#[test]
fn unwritable_destinations_leave_nothing_behind() {
    let env = Env::new();
    env.write("afile", "x");
    // A path below a regular file cannot be created, even by root.
    refused(
        &env,
        &[
            "cert",
            "create",
            "x.internal",
            "afile/x.crt",
            "x.key",
            "--profile",
            "self-signed",
            "--no-password",
            "--insecure",
        ],
        &["afile/x.crt", "cannot write"],
    );
    // VOUCH_HOME below a regular file.
    let pw = env.p("pw.txt");
    let before = env.listing();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vouch"))
        .args(init_args(&env, &pw, &[]))
        .env("VOUCH_HOME", env.path("afile/home"))
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && stderr.lines().count() == 1 && stderr.contains("afile"),
        "{stderr}"
    );
    assert_eq!(env.listing(), before);
}

#[test]
fn roots_that_cannot_issue_are_refused_by_init() {
    let env = Env::new();
    let pw = env.p("pw.txt");
    // An expired root.
    env.ok(&[
        "cert",
        "create",
        "Old Root",
        "old.crt",
        "old.key",
        "--profile",
        "root-ca",
        "--not-before",
        "2020-01-01T00:00:00Z",
        "--not-after",
        "2021-01-01T00:00:00Z",
        "--no-password",
        "--insecure",
    ]);
    refused(
        &env,
        &init_args(&env, &pw, &["--root", "old.crt", "--key", "old.key"]),
        &["old.crt", "expired"],
    );
    // A leaf is not a CA.
    env.ok(&[
        "cert",
        "create",
        "leaf.internal",
        "leaf.crt",
        "leaf.key",
        "--profile",
        "self-signed",
        "--no-password",
        "--insecure",
    ]);
    refused(
        &env,
        &init_args(&env, &pw, &["--root", "leaf.crt", "--key", "leaf.key"]),
        &["leaf.crt", "not a CA"],
    );
    // A key that is not the root's.
    env.ok(&[
        "cert",
        "create",
        "New Root",
        "new.crt",
        "new.key",
        "--profile",
        "root-ca",
        "--no-password",
        "--insecure",
    ]);
    refused(
        &env,
        &init_args(&env, &pw, &["--root", "new.crt", "--key", "leaf.key"]),
        &["leaf.key", "does not match"],
    );
    // An intermediate with pathlen 0 cannot have an intermediate under it.
    env.ok(&[
        "cert",
        "create",
        "Int",
        "int.crt",
        "int.key",
        "--profile",
        "intermediate-ca",
        "--ca",
        "new.crt",
        "--ca-key",
        "new.key",
        "--no-password",
        "--insecure",
    ]);
    refused(
        &env,
        &init_args(&env, &pw, &["--root", "int.crt", "--key", "int.key"]),
        &["int.crt", "pathLenConstraint"],
    );
    assert!(!env.home().exists());
}
