//! Response building, read back with our own ASN.1 types and checked with aws-lc-rs.

use aws_lc_rs::signature::{ECDSA_P256_SHA256_ASN1, UnparsedPublicKey};
use der::asn1::GeneralizedTime;
use der::{Decode, Encode};
use time::{Duration, OffsetDateTime};

use super::support::{EcdsaSigner, TestPki};
use crate::ocsp::asn1::{
    BasicOcspResponseAsn, CertStatusAsn, CrlReasonAsn, OID_OCSP_BASIC, OID_OCSP_NONCE,
    OcspResponseAsn, ResponseDataAsn, ResponseStatusAsn,
};
use crate::ocsp::issuer::cert_fields;
use crate::ocsp::{
    CertId, CertStatus, HashAlgorithm, IssuerId, OcspError, OcspResponseStatus, OcspSigner,
    ResponderIdentity, SingleResponseInput, build_basic_response, error_response,
};

fn t(secs: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(secs).unwrap()
}

fn gt(secs: u64) -> GeneralizedTime {
    GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs)).unwrap()
}

struct Fixture {
    pki: TestPki,
    responder: ResponderIdentity,
    signer: EcdsaSigner,
    id: CertId,
}

fn fixture() -> Fixture {
    let pki = TestPki::new();
    let issuer = IssuerId::from_certificate(&pki.intermediate.der).unwrap();
    let id = CertId::new(HashAlgorithm::Sha1, &issuer, &pki.leaf.serial).unwrap();
    Fixture {
        responder: ResponderIdentity::new(pki.responder.der.clone()).unwrap(),
        signer: EcdsaSigner::from_pkcs8(&pki.responder.key_pkcs8),
        pki,
        id,
    }
}

fn input(id: &CertId, status: CertStatus) -> SingleResponseInput {
    SingleResponseInput {
        cert_id: id.clone(),
        status,
        this_update: t(1_800_000_000),
        next_update: t(1_800_003_600),
    }
}

#[test]
fn the_response_reads_back_and_its_signature_verifies() {
    let f = fixture();
    let nonce = [0x04, 0x03, 1, 2, 3];
    let revoked = CertStatus::Revoked {
        at: t(1_700_000_000),
        reason: Some(1),
    };
    let der = build_basic_response(
        &f.responder,
        &[
            input(&f.id, CertStatus::Good),
            input(&f.id, revoked),
            input(&f.id, CertStatus::Unknown),
        ],
        Some(&nonce),
        t(1_800_000_060),
        &f.signer,
    )
    .unwrap();

    let outer = OcspResponseAsn::from_der(&der).unwrap();
    assert_eq!(outer.response_status, ResponseStatusAsn::Successful);
    let bytes = outer.response_bytes.unwrap();
    assert_eq!(bytes.response_type, OID_OCSP_BASIC);
    let basic = BasicOcspResponseAsn::from_der(bytes.response.as_bytes()).unwrap();
    assert_eq!(
        basic.signature_algorithm.to_der().unwrap(),
        f.signer.signature_algorithm_der()
    );
    let certs = basic.certs.unwrap();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0].to_der().unwrap(), f.pki.responder.der);

    // The signature is over the ResponseData bytes, with the responder's key.
    let tbs = basic.tbs_response_data.to_der().unwrap();
    let key = cert_fields(&f.pki.responder.der).unwrap().public_key_bits;
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &key)
        .verify(&tbs, basic.signature.raw_bytes())
        .unwrap();

    // Version omitted (DEFAULT v1): ResponseData starts with the [2] byKey responderID.
    assert_eq!(basic.tbs_response_data.value()[0], 0xa2);
    let data: ResponseDataAsn<'_> = basic.tbs_response_data.decode_as().unwrap();
    assert_eq!(
        data.responder_id_by_key.as_bytes(),
        f.responder.key_hash().unwrap().as_slice()
    );
    assert_eq!(data.responder_id_by_key.as_bytes().len(), 20);
    assert_eq!(data.produced_at, gt(1_800_000_060));
    assert_eq!(data.responses.len(), 3);
    for r in &data.responses {
        assert_eq!(r.cert_id.to_der().unwrap(), f.id.der());
        assert_eq!(r.this_update, gt(1_800_000_000));
        assert_eq!(r.next_update, Some(gt(1_800_003_600)));
    }
    assert!(matches!(
        data.responses[0].cert_status,
        CertStatusAsn::Good(_)
    ));
    match data.responses[1].cert_status {
        CertStatusAsn::Revoked(info) => {
            assert_eq!(info.revocation_time, gt(1_700_000_000));
            assert_eq!(info.revocation_reason, Some(CrlReasonAsn::KeyCompromise));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        data.responses[2].cert_status,
        CertStatusAsn::Unknown(_)
    ));
    let exts = data.response_extensions.unwrap();
    assert_eq!(exts.len(), 1);
    assert_eq!(exts[0].extn_id, OID_OCSP_NONCE);
    assert!(!exts[0].critical);
    assert_eq!(exts[0].extn_value.as_bytes(), nonce);
}

#[test]
fn revoked_without_reason_and_no_nonce() {
    let f = fixture();
    let der = build_basic_response(
        &f.responder,
        &[input(
            &f.id,
            CertStatus::Revoked {
                at: t(1_000_000_000),
                reason: None,
            },
        )],
        None,
        t(1_800_000_000),
        &f.signer,
    )
    .unwrap();
    let outer = OcspResponseAsn::from_der(&der).unwrap();
    let basic =
        BasicOcspResponseAsn::from_der(outer.response_bytes.unwrap().response.as_bytes()).unwrap();
    let data: ResponseDataAsn<'_> = basic.tbs_response_data.decode_as().unwrap();
    assert!(data.response_extensions.is_none());
    assert!(matches!(
        data.responses[0].cert_status,
        CertStatusAsn::Revoked(info) if info.revocation_reason.is_none()
    ));
}

#[test]
fn every_reason_code_but_7_and_unspecified_omitted() {
    let f = fixture();
    for code in 0..=12u8 {
        let r = build_basic_response(
            &f.responder,
            &[input(
                &f.id,
                CertStatus::Revoked {
                    at: t(1_000_000_000),
                    reason: Some(code),
                },
            )],
            None,
            t(1_800_000_000),
            &f.signer,
        );
        if code == 7 || code > 10 {
            assert!(matches!(r, Err(OcspError::InvalidInput(_))), "{code}");
            continue;
        }
        let der = r.unwrap();
        let outer = OcspResponseAsn::from_der(&der).unwrap();
        let basic =
            BasicOcspResponseAsn::from_der(outer.response_bytes.unwrap().response.as_bytes())
                .unwrap();
        let data: ResponseDataAsn<'_> = basic.tbs_response_data.decode_as().unwrap();
        let CertStatusAsn::Revoked(info) = data.responses[0].cert_status else {
            panic!("{code}: not revoked");
        };
        // unspecified (0) is omitted, as in the CRL; every other code is written.
        assert_eq!(
            info.revocation_reason.map(|r| r as u32),
            (code != 0).then_some(u32::from(code)),
            "{code}"
        );
    }
}

#[test]
fn bad_inputs_are_refused() {
    let f = fixture();
    let now = t(1_800_000_000);
    let build = |inputs: &[SingleResponseInput], signer: &dyn OcspSigner| {
        build_basic_response(&f.responder, inputs, None, now, signer)
    };
    assert!(matches!(
        build(&[], &f.signer),
        Err(OcspError::InvalidInput(_))
    ));
    let mut backwards = input(&f.id, CertStatus::Good);
    backwards.next_update = backwards.this_update - Duration::seconds(1);
    assert!(matches!(
        build(&[backwards], &f.signer),
        Err(OcspError::InvalidInput(_))
    ));
    let mut ancient = input(&f.id, CertStatus::Good);
    ancient.this_update = t(-1);
    let e = build(&[ancient], &f.signer).unwrap_err();
    assert!(matches!(e, OcspError::InvalidInput(_)), "{e:?}");
    assert_eq!(e.response_status(), OcspResponseStatus::InternalError);

    struct Failing;
    impl OcspSigner for Failing {
        fn signature_algorithm_der(&self) -> Vec<u8> {
            vec![0x30, 0x00]
        }
        fn sign(&self, _: &[u8]) -> Result<Vec<u8>, String> {
            Err("the HSM is unplugged".into())
        }
    }
    let e = build(&[input(&f.id, CertStatus::Good)], &Failing).unwrap_err();
    assert_eq!(e, OcspError::Signing("the HSM is unplugged".into()));
    assert_eq!(e.response_status(), OcspResponseStatus::InternalError);

    struct BadAlgorithm;
    impl OcspSigner for BadAlgorithm {
        fn signature_algorithm_der(&self) -> Vec<u8> {
            vec![0x05, 0x00]
        }
        fn sign(&self, _: &[u8]) -> Result<Vec<u8>, String> {
            Ok(vec![1])
        }
    }
    let e = build(&[input(&f.id, CertStatus::Good)], &BadAlgorithm).unwrap_err();
    assert!(matches!(e, OcspError::Encoding(_)), "{e:?}");

    let e = ResponderIdentity::new(b"junk".to_vec()).unwrap_err();
    assert!(matches!(e, OcspError::BadCertificate(_)), "{e:?}");
    let junk = ResponderIdentity {
        cert_der: b"junk".to_vec(),
    };
    let e = build_basic_response(
        &junk,
        &[input(&f.id, CertStatus::Good)],
        None,
        now,
        &f.signer,
    );
    assert!(matches!(e, Err(OcspError::BadCertificate(_))), "{e:?}");
}

#[test]
fn error_responses_are_five_bytes_of_der() {
    for (status, code, asn) in [
        (
            OcspResponseStatus::MalformedRequest,
            1,
            ResponseStatusAsn::MalformedRequest,
        ),
        (
            OcspResponseStatus::InternalError,
            2,
            ResponseStatusAsn::InternalError,
        ),
        (OcspResponseStatus::TryLater, 3, ResponseStatusAsn::TryLater),
        (
            OcspResponseStatus::SigRequired,
            5,
            ResponseStatusAsn::SigRequired,
        ),
        (
            OcspResponseStatus::Unauthorized,
            6,
            ResponseStatusAsn::Unauthorized,
        ),
    ] {
        let der = error_response(status);
        assert_eq!(der, [0x30, 0x03, 0x0a, 0x01, code]);
        assert_eq!(status.code(), code);
        let parsed = OcspResponseAsn::from_der(&der).unwrap();
        assert_eq!(parsed.response_status, asn);
        assert!(parsed.response_bytes.is_none());
    }
}

#[test]
fn issuer_id_from_certificate_matches_its_parts() {
    let f = fixture();
    let fields = cert_fields(&f.pki.intermediate.der).unwrap();
    assert_eq!(
        fields.public_key_bits.len(),
        65,
        "an uncompressed P-256 point"
    );
    assert_eq!(fields.subject_der[0], 0x30);
    let a = IssuerId::from_certificate(&f.pki.intermediate.der).unwrap();
    let b = IssuerId::from_parts(&fields.subject_der, &fields.public_key_bits);
    assert_eq!(a, b);
    let root = IssuerId::from_certificate(&f.pki.root.der).unwrap();
    assert_ne!(a, root);
    assert!(a.matches(&f.id));
    assert!(!root.matches(&f.id));
}
