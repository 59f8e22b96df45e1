//! Requests made by `openssl ocsp`, answered by this module, verified by `openssl ocsp` (the
//! responder signature must verify) and linted by pkilint.

use time::{Duration, OffsetDateTime};

use super::support::{EcdsaSigner, TestPki, openssl, pkilint_errors, text};
use crate::ocsp::{
    CertId, CertStatus, HashAlgorithm, IssuerId, OcspResponseStatus, ResponderIdentity,
    SingleResponseInput, build_basic_response, error_response, parse_get_path, parse_ocsp_request,
};

struct Setup {
    pki: TestPki,
    issuer: IssuerId,
    responder: ResponderIdentity,
    signer: EcdsaSigner,
    now: OffsetDateTime,
}

impl Setup {
    fn new() -> Self {
        let pki = TestPki::new();
        let issuer = IssuerId::from_certificate(&pki.intermediate.der).unwrap();
        let responder = ResponderIdentity::new(pki.responder.der.clone()).unwrap();
        let signer = EcdsaSigner::from_pkcs8(&pki.responder.key_pkcs8);
        // openssl checks thisUpdate/nextUpdate against the real clock.
        let now = OffsetDateTime::now_utc();
        Setup {
            pki,
            issuer,
            responder,
            signer,
            now,
        }
    }

    /// `openssl ocsp ARGS -reqout NAME`, then parse the file.
    fn request(&self, name: &str, args: &[&str]) -> (Vec<u8>, crate::ocsp::OcspRequest) {
        let mut full = args.to_vec();
        full.extend(["-reqout", name]);
        let out = self.pki.openssl_ocsp(&full);
        assert!(
            out.status.success(),
            "openssl ocsp {full:?}: {}",
            text(&out)
        );
        let der = self.pki.read(name);
        let req = parse_ocsp_request(&der).unwrap();
        (der, req)
    }

    fn answer(
        &self,
        req: &crate::ocsp::OcspRequest,
        status: impl Fn(&CertId) -> CertStatus,
    ) -> Vec<u8> {
        let inputs: Vec<_> = req
            .cert_ids()
            .iter()
            .map(|id| SingleResponseInput {
                cert_id: id.clone(),
                status: status(id),
                this_update: self.now - Duration::minutes(1),
                next_update: self.now + Duration::hours(12),
            })
            .collect();
        build_basic_response(
            &self.responder,
            &inputs,
            req.nonce(),
            self.now,
            &self.signer,
        )
        .unwrap()
    }

    /// Verify `resp` with `openssl ocsp -respin ... -CAfile chain.pem -resp_text` plus `args`;
    /// returns the combined output after asserting "Response verify OK".
    fn verify(&self, resp_name: &str, args: &[&str]) -> String {
        let mut full = vec!["-respin", resp_name, "-CAfile", "chain.pem", "-resp_text"];
        full.extend(args);
        let out = self.pki.openssl_ocsp(&full);
        let t = text(&out);
        assert!(out.status.success(), "openssl ocsp {full:?} failed:\n{t}");
        assert!(
            t.contains("Response verify OK"),
            "openssl ocsp {full:?}:\n{t}"
        );
        t
    }

    fn lint(&self, resp_name: &str) {
        let errors = pkilint_errors(&self.pki.path(resp_name));
        assert!(errors.is_empty(), "pkilint on {resp_name}: {errors:#?}");
    }
}

#[test]
fn good_revoked_unknown_verify_with_openssl_sha1_and_sha256() {
    let s = Setup::new();
    let revoked_at = OffsetDateTime::from_unix_timestamp(1_700_000_000).unwrap(); // 2023-11-14 22:13:20 UTC
    for (digest, alg) in [
        ("-sha1", HashAlgorithm::Sha1),
        ("-sha256", HashAlgorithm::Sha256),
    ] {
        let (_, req) = s.request(
            &format!("req{digest}.der"),
            &[
                "-issuer",
                "int.pem",
                digest,
                "-cert",
                "leaf.pem",
                "-no_nonce",
            ],
        );
        assert_eq!(req.cert_ids().len(), 1);
        assert!(req.nonce().is_none() && req.is_cacheable() && !req.is_signed());
        let id = &req.cert_ids()[0];
        assert_eq!(id.hash_algorithm(), alg);
        assert!(s.issuer.matches(id), "the intermediate issued the leaf");
        assert_eq!(id.serial(), s.pki.leaf.serial.as_slice());
        // CertId::new builds the very bytes openssl sent.
        assert_eq!(
            CertId::new(alg, &s.issuer, &s.pki.leaf.serial)
                .unwrap()
                .der(),
            id.der()
        );

        let cases = [
            ("good", CertStatus::Good, "leaf.pem: good"),
            (
                "revoked",
                CertStatus::Revoked {
                    at: revoked_at,
                    reason: Some(1),
                },
                "leaf.pem: revoked",
            ),
            ("unknown", CertStatus::Unknown, "leaf.pem: unknown"),
        ];
        for (name, status, expect) in cases {
            let resp = s.answer(&req, |_| status);
            let file = format!("resp-{name}{digest}.der");
            s.pki.write(&file, &resp);
            let t = s.verify(
                &file,
                &[
                    "-issuer",
                    "int.pem",
                    digest,
                    "-cert",
                    "leaf.pem",
                    "-no_nonce",
                ],
            );
            assert!(t.contains(expect), "{name}{digest}:\n{t}");
            assert!(t.contains("Responder Id: "), "{t}");
            assert!(t.contains("OCSP Response Status: successful (0x0)"), "{t}");
            if name == "revoked" {
                assert!(t.contains("Cert Status: revoked"), "{t}");
                assert!(
                    t.contains("Revocation Time: Nov 14 22:13:20 2023 GMT"),
                    "{t}"
                );
                assert!(t.contains("Revocation Reason: keyCompromise (0x1)"), "{t}");
                assert!(t.contains("Reason: keyCompromise"), "{t}");
            }
            s.lint(&file);
        }
    }
}

#[test]
fn serial_never_issued_is_unknown() {
    let s = Setup::new();
    let (_, req) = s.request(
        "req-serial.der",
        &["-issuer", "int.pem", "-serial", "0x0123456789", "-no_nonce"],
    );
    assert_eq!(req.cert_ids()[0].serial(), [0x01, 0x23, 0x45, 0x67, 0x89]);
    let resp = s.answer(&req, |_| CertStatus::Unknown);
    s.pki.write("resp-serial.der", &resp);
    let t = s.verify(
        "resp-serial.der",
        &["-issuer", "int.pem", "-serial", "0x0123456789", "-no_nonce"],
    );
    assert!(t.contains("0x0123456789: unknown"), "{t}");
    s.lint("resp-serial.der");
}

#[test]
fn nonce_is_echoed_and_checked_by_openssl() {
    let s = Setup::new();
    // openssl adds a 16-byte nonce unless told not to.
    let (_, req) = s.request(
        "req-nonce.der",
        &["-issuer", "int.pem", "-cert", "leaf.pem"],
    );
    let nonce = req.nonce().expect("openssl sends a nonce by default");
    // extnValue = OCTET STRING { 16 random bytes }.
    assert_eq!((nonce[0], nonce[1], nonce.len()), (0x04, 16, 18));
    assert!(!req.is_cacheable());
    let resp = s.answer(&req, |_| CertStatus::Good);
    s.pki.write("resp-nonce.der", &resp);
    // With -reqin, openssl compares the response's nonce with the request's.
    let t = s.verify("resp-nonce.der", &["-reqin", "req-nonce.der"]);
    assert!(!t.contains("WARNING"), "{t}");
    assert!(t.contains("OCSP Nonce"), "{t}");
    assert!(t.contains("Cert Status: good"), "{t}");
    s.lint("resp-nonce.der");

    // A response with another request's nonce is refused: the check is real.
    let (_, other) = s.request(
        "req-nonce2.der",
        &["-issuer", "int.pem", "-cert", "leaf.pem"],
    );
    let resp = s.answer(&other, |_| CertStatus::Good);
    s.pki.write("resp-nonce2.der", &resp);
    let out = s.pki.openssl_ocsp(&[
        "-respin",
        "resp-nonce2.der",
        "-reqin",
        "req-nonce.der",
        "-CAfile",
        "chain.pem",
    ]);
    let t = text(&out);
    assert!(
        !out.status.success() && t.contains("Nonce Verify error"),
        "{t}"
    );
}

#[test]
fn two_certificates_in_one_request() {
    let s = Setup::new();
    let (_, req) = s.request(
        "req-multi.der",
        &[
            "-issuer",
            "int.pem",
            "-cert",
            "leaf.pem",
            "-cert",
            "leaf2.pem",
        ],
    );
    assert_eq!(req.cert_ids().len(), 2);
    assert!(req.nonce().is_some());
    let leaf2_serial = s.pki.leaf2.serial.clone();
    let resp = s.answer(&req, |id| {
        if id.serial() == leaf2_serial.as_slice() {
            CertStatus::Revoked {
                at: OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap(),
                reason: Some(4),
            }
        } else {
            CertStatus::Good
        }
    });
    s.pki.write("resp-multi.der", &resp);
    let t = s.verify(
        "resp-multi.der",
        &[
            "-issuer",
            "int.pem",
            "-cert",
            "leaf.pem",
            "-cert",
            "leaf2.pem",
            "-no_nonce",
        ],
    );
    assert!(t.contains("leaf.pem: good"), "{t}");
    assert!(t.contains("leaf2.pem: revoked"), "{t}");
    assert!(t.contains("Revocation Reason: superseded (0x4)"), "{t}");
    // And the nonce of the two-certificate request checks out too.
    let t = s.verify("resp-multi.der", &["-reqin", "req-multi.der"]);
    assert!(!t.contains("WARNING"), "{t}");
    s.lint("resp-multi.der");
}

#[test]
fn responses_signed_by_the_issuing_ca_itself_verify_too() {
    let s = Setup::new();
    let (_, req) = s.request(
        "req-ca.der",
        &["-issuer", "int.pem", "-cert", "leaf.pem", "-no_nonce"],
    );
    let ca = ResponderIdentity::new(s.pki.intermediate.der.clone()).unwrap();
    let signer = EcdsaSigner::from_pkcs8(&s.pki.intermediate.key_pkcs8);
    let input = SingleResponseInput {
        cert_id: req.cert_ids()[0].clone(),
        status: CertStatus::Good,
        this_update: s.now,
        next_update: s.now + Duration::hours(1),
    };
    let resp = build_basic_response(&ca, &[input], None, s.now, &signer).unwrap();
    s.pki.write("resp-ca.der", &resp);
    let t = s.verify(
        "resp-ca.der",
        &["-issuer", "int.pem", "-cert", "leaf.pem", "-no_nonce"],
    );
    assert!(t.contains("leaf.pem: good"), "{t}");
    s.lint("resp-ca.der");
}

#[test]
fn a_response_signed_with_the_wrong_key_does_not_verify() {
    let s = Setup::new();
    let (_, req) = s.request(
        "req-wrong.der",
        &["-issuer", "int.pem", "-cert", "leaf.pem", "-no_nonce"],
    );
    // The responder certificate, but the leaf's key: openssl must refuse it.
    let signer = EcdsaSigner::from_pkcs8(&s.pki.leaf.key_pkcs8);
    let input = SingleResponseInput {
        cert_id: req.cert_ids()[0].clone(),
        status: CertStatus::Good,
        this_update: s.now,
        next_update: s.now + Duration::hours(1),
    };
    let resp = build_basic_response(&s.responder, &[input], None, s.now, &signer).unwrap();
    s.pki.write("resp-wrong.der", &resp);
    let out = s.pki.openssl_ocsp(&[
        "-respin",
        "resp-wrong.der",
        "-CAfile",
        "chain.pem",
        "-issuer",
        "int.pem",
        "-cert",
        "leaf.pem",
        "-no_nonce",
    ]);
    let t = text(&out);
    assert!(!t.contains("Response verify OK"), "{t}");
    assert!(t.contains("Response Verify Failure"), "{t}");
}

#[test]
fn error_responses_parse_with_openssl_and_lint_clean() {
    let s = Setup::new();
    for (status, text_expected) in [
        (OcspResponseStatus::MalformedRequest, "malformedrequest (1)"),
        (OcspResponseStatus::InternalError, "internalerror (2)"),
        (OcspResponseStatus::TryLater, "trylater (3)"),
        (OcspResponseStatus::SigRequired, "sigrequired (5)"),
        (OcspResponseStatus::Unauthorized, "unauthorized (6)"),
    ] {
        let file = format!("err-{}.der", status.code());
        s.pki.write(&file, &error_response(status));
        let out = s.pki.openssl_ocsp(&["-respin", &file, "-resp_text"]);
        let t = text(&out);
        assert!(
            t.contains(&format!("Responder Error: {text_expected}")),
            "{status:?}: {t}"
        );
        s.lint(&file);
    }
}

#[test]
fn get_path_from_openssl_base64_plain_and_url_encoded() {
    let s = Setup::new();
    let (der, req) = s.request("req-get.der", &["-issuer", "int.pem", "-cert", "leaf.pem"]);
    let out = openssl(s.pki.dir.path(), "base64", &["-A", "-in", "req-get.der"]);
    assert!(out.status.success(), "{}", text(&out));
    let b64 = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert_eq!(parse_get_path(&b64).unwrap(), req);
    let escaped = b64
        .replace('/', "%2F")
        .replace('+', "%2B")
        .replace('=', "%3D");
    assert_eq!(parse_get_path(&escaped).unwrap(), req);
    let lower = b64
        .replace('/', "%2f")
        .replace('+', "%2b")
        .replace('=', "%3d");
    assert_eq!(parse_get_path(&lower).unwrap(), req);
    let url_safe = b64.replace('/', "_").replace('+', "-").replace('=', "");
    assert_eq!(parse_get_path(&url_safe).unwrap(), req);
    assert_eq!(parse_ocsp_request(&der).unwrap(), req);
}

/// The pkilint check is real: a responderID byKey that is not a SHA-1 hash is an ERROR.
#[test]
fn pkilint_reports_a_bad_response() {
    use der::Encode;
    use der::asn1::{BitStringRef, GeneralizedTime, OctetStringRef};

    use crate::ocsp::asn1::{
        BasicOcspResponseAsn, OID_OCSP_BASIC, OcspResponseAsn, ResponseBytesAsn, ResponseDataAsn,
        ResponseStatusAsn,
    };

    let s = Setup::new();
    let tbs = ResponseDataAsn {
        responder_id_by_key: OctetStringRef::new(&[0x11; 32]).unwrap(),
        produced_at: GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(
            1_800_000_000,
        ))
        .unwrap(),
        responses: Vec::new(),
        response_extensions: None,
    }
    .to_der()
    .unwrap();
    let alg = [
        0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02,
    ];
    let basic = BasicOcspResponseAsn {
        tbs_response_data: der::asn1::AnyRef::try_from(tbs.as_slice()).unwrap(),
        signature_algorithm: der::asn1::AnyRef::try_from(&alg[..]).unwrap(),
        signature: BitStringRef::from_bytes(&[0x30, 0x00]).unwrap(),
        certs: None,
    }
    .to_der()
    .unwrap();
    let resp = OcspResponseAsn {
        response_status: ResponseStatusAsn::Successful,
        response_bytes: Some(ResponseBytesAsn {
            response_type: OID_OCSP_BASIC,
            response: OctetStringRef::new(&basic).unwrap(),
        }),
    }
    .to_der()
    .unwrap();
    let file = s.pki.write("resp-bad.der", &resp);
    let errors = pkilint_errors(&file);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("pkix.ocsp_responderid_keyhash_is_not_sha1")),
        "{errors:#?}"
    );
}
