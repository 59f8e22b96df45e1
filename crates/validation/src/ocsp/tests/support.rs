//! Test PKI (rcgen), an aws-lc-rs signer, and runners for the independent verifiers
//! (`openssl`, pkilint) that fail loudly when the tool is missing.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair};
use rcgen::{
    BasicConstraints, CertificateParams, CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_ECDSA_P256_SHA256, SerialNumber,
};
use tempfile::TempDir;
use time::{Duration, OffsetDateTime};

use crate::ocsp::OcspSigner;

/// ecdsa-with-SHA256 (RFC 5758 §3.2: no parameters).
const ECDSA_SHA256_ALG_ID: [u8; 12] = [
    0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
];

/// Signs with ECDSA P-256 / SHA-256 through aws-lc-rs, as the issuing crate's status signer
/// will.
pub struct EcdsaSigner {
    key: EcdsaKeyPair,
    rng: SystemRandom,
}

impl EcdsaSigner {
    pub fn from_pkcs8(pkcs8: &[u8]) -> Self {
        EcdsaSigner {
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8).unwrap(),
            rng: SystemRandom::new(),
        }
    }
}

impl OcspSigner for EcdsaSigner {
    fn signature_algorithm_der(&self) -> Vec<u8> {
        ECDSA_SHA256_ALG_ID.to_vec()
    }

    fn sign(&self, tbs: &[u8]) -> Result<Vec<u8>, String> {
        self.key
            .sign(&self.rng, tbs)
            .map(|s| s.as_ref().to_vec())
            .map_err(|e| e.to_string())
    }
}

/// A certificate with its DER and the PKCS#8 of its key.
pub struct TestCert {
    pub der: Vec<u8>,
    pub pem: String,
    pub key_pkcs8: Vec<u8>,
    pub serial: Vec<u8>,
}

/// root → intermediate → {leaf, leaf2, delegated OCSP responder}, written to a temp dir.
pub struct TestPki {
    pub root: TestCert,
    pub intermediate: TestCert,
    pub leaf: TestCert,
    pub leaf2: TestCert,
    pub responder: TestCert,
    pub dir: TempDir,
}

fn params(cn: &str, serial: &[u8], days: i64) -> CertificateParams {
    let mut p = CertificateParams::default();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.serial_number = Some(SerialNumber::from_slice(serial));
    let now = OffsetDateTime::now_utc();
    p.not_before = now - Duration::days(1);
    p.not_after = now + Duration::days(days);
    p
}

fn ca_params(cn: &str, serial: &[u8]) -> CertificateParams {
    let mut p = params(cn, serial, 365);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    p.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
    ];
    p
}

fn finish(cert: rcgen::Certificate, key: &KeyPair, serial: &[u8]) -> TestCert {
    TestCert {
        der: cert.der().to_vec(),
        pem: cert.pem(),
        key_pkcs8: key.serialize_der(),
        serial: serial.to_vec(),
    }
}

impl TestPki {
    pub fn new() -> Self {
        let alg = &PKCS_ECDSA_P256_SHA256;
        // Serials with the high bit set, so DER needs a leading zero (the parser strips it).
        let serials: [&[u8]; 5] = [
            &[0x01, 0x11],
            &[0x02, 0x22],
            &[
                0x9a, 0x3b, 0x5c, 0x7d, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
            ],
            &[0x4a, 0x3b, 0x5c, 0x7d, 0x10, 0x11, 0x12, 0x13],
            &[0x55, 0x66, 0x77],
        ];

        let root_key = KeyPair::generate_for(alg).unwrap();
        let root_params = ca_params("Vouch Test Root", serials[0]);
        let root_cert = root_params.self_signed(&root_key).unwrap();
        let root = finish(root_cert, &root_key, serials[0]);
        let root_issuer = Issuer::new(root_params, root_key);

        let int_key = KeyPair::generate_for(alg).unwrap();
        let int_params = ca_params("Vouch Test Intermediate", serials[1]);
        let int_cert = int_params.signed_by(&int_key, &root_issuer).unwrap();
        let intermediate = finish(int_cert, &int_key, serials[1]);
        let int_issuer = Issuer::new(int_params, int_key);

        let leaf_for = |cn: &str, serial: &[u8]| {
            let key = KeyPair::generate_for(alg).unwrap();
            let mut p = params(cn, serial, 30);
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
            let cert = p.signed_by(&key, &int_issuer).unwrap();
            finish(cert, &key, serial)
        };
        let leaf = leaf_for("leaf.example", serials[2]);
        let leaf2 = leaf_for("leaf2.example", serials[3]);

        // The delegated responder: id-kp-OCSPSigning, id-pkix-ocsp-nocheck (NULL), short-lived.
        let responder_key = KeyPair::generate_for(alg).unwrap();
        let mut rp = params("Vouch Test OCSP Responder", serials[4], 7);
        rp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        rp.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
        rp.custom_extensions = vec![CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 5, 5, 7, 48, 1, 5],
            vec![0x05, 0x00],
        )];
        let responder_cert = rp.signed_by(&responder_key, &int_issuer).unwrap();
        let responder = finish(responder_cert, &responder_key, serials[4]);

        let dir = tempfile::tempdir().unwrap();
        let pki = TestPki {
            root,
            intermediate,
            leaf,
            leaf2,
            responder,
            dir,
        };
        pki.write("root.pem", pki.root.pem.as_bytes());
        pki.write("int.pem", pki.intermediate.pem.as_bytes());
        pki.write("leaf.pem", pki.leaf.pem.as_bytes());
        pki.write("leaf2.pem", pki.leaf2.pem.as_bytes());
        pki.write("responder.pem", pki.responder.pem.as_bytes());
        let chain = format!("{}{}", pki.intermediate.pem, pki.root.pem);
        pki.write("chain.pem", chain.as_bytes());
        pki
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn write(&self, name: &str, bytes: &[u8]) -> PathBuf {
        let p = self.path(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    pub fn read(&self, name: &str) -> Vec<u8> {
        std::fs::read(self.path(name)).unwrap()
    }

    /// Run `openssl ocsp ARGS` in the temp dir.
    pub fn openssl_ocsp(&self, args: &[&str]) -> Output {
        openssl(self.dir.path(), "ocsp", args)
    }
}

/// Run `openssl SUBCOMMAND ARGS` in `dir`; panics with a clear message if openssl is missing.
pub fn openssl(dir: &Path, subcommand: &str, args: &[&str]) -> Output {
    match Command::new("openssl")
        .arg(subcommand)
        .args(args)
        .current_dir(dir)
        .output()
    {
        Ok(out) => out,
        Err(e) => panic!(
            "these tests need the `openssl` command (OpenSSL 3) on PATH to check OCSP \
             messages independently; install it (Debian: apt-get install openssl): {e}"
        ),
    }
}

/// Both output streams as one string, for assertions and failure messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Lint an OCSP response file with pkilint's `lint_ocsp_response`; returns the findings of
/// severity ERROR or FATAL (`severity code: message`). Panics if pkilint is missing.
pub fn pkilint_errors(file: &Path) -> Vec<String> {
    let dir = std::env::var_os("VOUCH_PKILINT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/vouch-tools/venv/bin"));
    let lint = dir.join("lint_ocsp_response");
    let python = dir.join("python");
    assert!(
        lint.exists() && python.exists(),
        "these tests need pkilint: `lint_ocsp_response` and `python` in {} (set \
         VOUCH_PKILINT_DIR, or: python3 -m venv /var/tmp/vouch-tools/venv && \
         /var/tmp/vouch-tools/venv/bin/pip install pkilint)",
        dir.display()
    );
    // The exit code counts findings of every severity (INFO included), so it is not used.
    let out = Command::new(&lint)
        .args(["lint", "-f", "JSON"])
        .arg(file)
        .output()
        .unwrap();
    let json = String::from_utf8(out.stdout.clone()).unwrap();
    assert!(
        json.trim_start().starts_with('{'),
        "pkilint said: {}",
        text(&out)
    );
    // Read the JSON with the venv's own Python rather than a string search.
    let script = "import json, sys\n\
        doc = json.load(sys.stdin)\n\
        for r in doc['results']:\n\
        \x20   for f in r['finding_descriptions']:\n\
        \x20       print(f['severity'], f['code'], f.get('message') or '', r.get('node_path', ''))\n";
    let mut child = Command::new(&python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        child
            .stdin
            .take()
            .unwrap()
            .write_all(json.as_bytes())
            .unwrap();
    }
    let parsed = child.wait_with_output().unwrap();
    assert!(
        parsed.status.success(),
        "cannot read pkilint's JSON: {json}"
    );
    String::from_utf8(parsed.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("ERROR") || l.starts_with("FATAL"))
        .map(str::to_owned)
        .collect()
}
