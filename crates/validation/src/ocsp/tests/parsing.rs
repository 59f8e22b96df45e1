//! Request parsing: every malformed input gets the right error, and nothing panics.

use der::Encode;
use der::asn1::{AnyRef, IntRef, ObjectIdentifier, OctetStringRef};

use crate::ocsp::asn1::{
    AlgorithmIdentifierAsn, CertIdAsn, ExtensionAsn, OcspRequestAsn, RequestAsn, TbsRequestAsn,
};
use crate::ocsp::{
    CertId, HashAlgorithm, IssuerId, MAX_REQUEST_SIZE, OcspError, OcspResponseStatus,
    parse_get_path, parse_ocsp_request,
};
use vouch_model::ErrorKind;

const SHA1: &str = "1.3.14.3.2.26";
const SHA256: &str = "2.16.840.1.101.3.4.2.1";
const SHA384: &str = "2.16.840.1.101.3.4.2.2";
const NONCE: &str = "1.3.6.1.5.5.7.48.1.2";

fn cert_id(oid: &str, params: Option<AnyRef<'_>>, hash_len: usize, serial: &[u8]) -> Vec<u8> {
    let name = vec![0x11; hash_len];
    let key = vec![0x22; hash_len];
    CertIdAsn {
        hash_algorithm: AlgorithmIdentifierAsn {
            algorithm: ObjectIdentifier::new(oid).unwrap(),
            parameters: params,
        },
        issuer_name_hash: OctetStringRef::new(&name).unwrap(),
        issuer_key_hash: OctetStringRef::new(&key).unwrap(),
        serial_number: IntRef::new(serial).unwrap(),
    }
    .to_der()
    .unwrap()
}

fn sha1_id(serial: &[u8]) -> Vec<u8> {
    cert_id(SHA1, Some(AnyRef::NULL), 20, serial)
}

struct Ext {
    oid: &'static str,
    critical: bool,
    value: Vec<u8>,
}

fn ext(oid: &'static str, critical: bool, value: &[u8]) -> Ext {
    Ext {
        oid,
        critical,
        value: value.to_vec(),
    }
}

fn exts(list: &[Ext]) -> Option<Vec<ExtensionAsn<'_>>> {
    (!list.is_empty()).then(|| {
        list.iter()
            .map(|e| ExtensionAsn {
                extn_id: ObjectIdentifier::new(e.oid).unwrap(),
                critical: e.critical,
                extn_value: OctetStringRef::new(&e.value).unwrap(),
            })
            .collect()
    })
}

/// An OCSPRequest from CertID DERs, request extensions, per-request extensions (applied to the
/// first request) and an optional dummy signature.
fn request(ids: &[Vec<u8>], req_exts: &[Ext], single_exts: &[Ext], signed: bool) -> Vec<u8> {
    let list = ids
        .iter()
        .enumerate()
        .map(|(i, id)| RequestAsn {
            req_cert: AnyRef::try_from(id.as_slice()).unwrap(),
            single_request_extensions: if i == 0 { exts(single_exts) } else { None },
        })
        .collect();
    let signature = [0x30, 0x00];
    OcspRequestAsn {
        tbs_request: TbsRequestAsn {
            version: None,
            requestor_name: None,
            request_list: list,
            request_extensions: exts(req_exts),
        },
        optional_signature: signed.then(|| AnyRef::try_from(&signature[..]).unwrap()),
    }
    .to_der()
    .unwrap()
}

/// DER OCTET STRING of `n` bytes (a RFC 9654 nonce extnValue).
fn nonce_value(n: usize) -> Vec<u8> {
    OctetStringRef::new(&vec![0xab; n])
        .unwrap()
        .to_der()
        .unwrap()
}

fn err(der: &[u8]) -> OcspError {
    parse_ocsp_request(der).unwrap_err()
}

#[test]
fn a_well_formed_request_parses() {
    let req = parse_ocsp_request(&request(
        &[
            sha1_id(&[0x00, 0x80, 0x01]),
            cert_id(SHA256, None, 32, &[0x05]),
        ],
        &[ext(NONCE, false, &nonce_value(32))],
        &[],
        false,
    ))
    .unwrap();
    assert_eq!(req.cert_ids().len(), 2);
    assert_eq!(req.cert_ids()[0].serial(), [0x80, 0x01]);
    assert_eq!(req.cert_ids()[0].hash_algorithm(), HashAlgorithm::Sha1);
    assert_eq!(req.cert_ids()[0].issuer_name_hash(), [0x11; 20]);
    assert_eq!(req.cert_ids()[0].issuer_key_hash(), [0x22; 20]);
    // Absent parameters are accepted and kept as sent.
    assert_eq!(req.cert_ids()[1].hash_algorithm(), HashAlgorithm::Sha256);
    assert_eq!(req.cert_ids()[1].der(), cert_id(SHA256, None, 32, &[0x05]));
    assert_eq!(req.nonce(), Some(nonce_value(32).as_slice()));
    assert!(!req.is_cacheable());
}

#[test]
fn signed_requests_are_accepted_and_the_signature_ignored() {
    let req = parse_ocsp_request(&request(&[sha1_id(&[1])], &[], &[], true)).unwrap();
    assert!(req.is_signed());
    assert!(req.is_cacheable());
}

#[test]
fn garbage_and_empty_input_are_malformed() {
    for input in [
        &b""[..],
        b"hello, world",
        &[0x30],
        &[0x30, 0x80, 0x00, 0x00],
        &[0xff; 64],
    ] {
        let e = err(input);
        assert!(matches!(e, OcspError::Malformed(_)), "{input:?}: {e:?}");
        assert_eq!(e.kind(), ErrorKind::Malformed);
        assert_eq!(e.response_status(), OcspResponseStatus::MalformedRequest);
    }
    // Trailing bytes after the request.
    let mut der = request(&[sha1_id(&[1])], &[], &[], false);
    der.push(0);
    assert!(matches!(err(&der), OcspError::Malformed(_)));
    // An empty request list.
    assert!(matches!(
        err(&request(&[], &[], &[], false)),
        OcspError::Malformed(_)
    ));
}

#[test]
fn oversized_requests_are_refused_before_parsing() {
    let e = err(&vec![0x30; MAX_REQUEST_SIZE + 1]);
    assert_eq!(
        e,
        OcspError::TooLarge {
            len: MAX_REQUEST_SIZE + 1,
            limit: MAX_REQUEST_SIZE
        }
    );
    assert_eq!(e.response_status(), OcspResponseStatus::MalformedRequest);
    // Many CertIDs in one otherwise valid request, past the limit.
    let ids: Vec<_> = (0..100u8)
        .map(|i| cert_id(SHA256, None, 32, &[i + 1]))
        .collect();
    assert!(matches!(
        err(&request(&ids, &[], &[], false)),
        OcspError::TooLarge { .. }
    ));
    // And over GET.
    let long = "A".repeat(64 * 1024);
    assert!(matches!(
        parse_get_path(&long).unwrap_err(),
        OcspError::TooLarge { .. }
    ));
}

#[test]
fn unknown_hash_algorithms_are_unsupported() {
    let e = err(&request(
        &[cert_id(SHA384, None, 48, &[1])],
        &[],
        &[],
        false,
    ));
    assert_eq!(e, OcspError::UnsupportedHashAlgorithm(SHA384.into()));
    assert_eq!(e.kind(), ErrorKind::Malformed);
    assert_eq!(e.response_status(), OcspResponseStatus::MalformedRequest);
    // MD5.
    let e = err(&request(
        &[cert_id("1.2.840.113549.2.5", None, 16, &[1])],
        &[],
        &[],
        false,
    ));
    assert!(matches!(e, OcspError::UnsupportedHashAlgorithm(_)), "{e:?}");
}

#[test]
fn bad_cert_ids_are_malformed() {
    let cases = [
        ("short hash", cert_id(SHA1, None, 19, &[1])),
        ("sha-1 sized sha-256", cert_id(SHA256, None, 20, &[1])),
        ("negative serial", cert_id(SHA1, None, 20, &[0x80])),
        (
            "parameters not NULL",
            cert_id(
                SHA1,
                Some(AnyRef::try_from(&[0x02, 0x01, 0x00][..]).unwrap()),
                20,
                &[1],
            ),
        ),
    ];
    for (what, id) in cases {
        let e = err(&request(&[id], &[], &[], false));
        assert!(matches!(e, OcspError::Malformed(_)), "{what}: {e:?}");
    }
}

#[test]
fn extensions() {
    let id = || vec![sha1_id(&[1])];
    // Unknown non-critical extensions are ignored, in the request and per CertID.
    let unknown = "1.2.3.4";
    let req = parse_ocsp_request(&request(
        &id(),
        &[ext(unknown, false, &[0x05, 0x00])],
        &[ext(unknown, false, &[0x05, 0x00])],
        false,
    ))
    .unwrap();
    assert!(req.nonce().is_none());
    // Unknown critical ones are refused.
    let e = err(&request(
        &id(),
        &[ext(unknown, true, &[0x05, 0x00])],
        &[],
        false,
    ));
    assert_eq!(e, OcspError::UnsupportedCriticalExtension(unknown.into()));
    let e = err(&request(
        &id(),
        &[],
        &[ext(unknown, true, &[0x05, 0x00])],
        false,
    ));
    assert_eq!(e, OcspError::UnsupportedCriticalExtension(unknown.into()));
    assert_eq!(e.response_status(), OcspResponseStatus::MalformedRequest);
    // A critical nonce is fine.
    let req = parse_ocsp_request(&request(
        &id(),
        &[ext(NONCE, true, &nonce_value(16))],
        &[],
        false,
    ));
    assert!(req.unwrap().nonce().is_some());
    // Nonce lengths (RFC 9654): 1..=128.
    for n in [1, 16, 32, 128] {
        let req = parse_ocsp_request(&request(
            &id(),
            &[ext(NONCE, false, &nonce_value(n))],
            &[],
            false,
        ));
        assert!(req.is_ok(), "{n}");
    }
    for n in [0, 129, 1000] {
        let e = err(&request(
            &id(),
            &[ext(NONCE, false, &nonce_value(n))],
            &[],
            false,
        ));
        assert!(matches!(e, OcspError::Malformed(_)), "{n}: {e:?}");
    }
    // A legacy raw nonce (not an OCTET STRING) is echoed as is.
    let req = parse_ocsp_request(&request(
        &id(),
        &[ext(NONCE, false, &[0x42; 20])],
        &[],
        false,
    ));
    assert_eq!(req.unwrap().nonce(), Some(&[0x42; 20][..]));
    let e = err(&request(&id(), &[ext(NONCE, false, &[])], &[], false));
    assert!(matches!(e, OcspError::Malformed(_)), "{e:?}");
    // Duplicates.
    let e = err(&request(
        &id(),
        &[
            ext(NONCE, false, &nonce_value(16)),
            ext(NONCE, false, &nonce_value(16)),
        ],
        &[],
        false,
    ));
    assert!(matches!(e, OcspError::Malformed(_)), "{e:?}");
}

#[test]
fn get_paths_that_are_not_base64() {
    for bad in ["", "%", "%4", "%zz", "not base64!", "AAAAA", "MA=="] {
        let e = parse_get_path(bad).unwrap_err();
        assert!(matches!(e, OcspError::Malformed(_)), "{bad}: {e:?}");
    }
}

/// A valid request cut at every length, and with every byte replaced by a few values, never
/// panics the parser; every strict prefix is an error.
#[test]
fn truncations_and_mutations_never_panic() {
    let der = request(
        &[
            sha1_id(&[0x00, 0x9a, 0x01]),
            cert_id(SHA256, Some(AnyRef::NULL), 32, &[7]),
        ],
        &[
            ext(NONCE, false, &nonce_value(32)),
            ext("1.2.3.4", false, &[0x05, 0x00]),
        ],
        &[ext("1.2.3.5", false, &[0x01, 0x01, 0xff])],
        true,
    );
    assert!(parse_ocsp_request(&der).is_ok());
    for len in 0..der.len() {
        assert!(
            parse_ocsp_request(&der[..len]).is_err(),
            "prefix of {len} bytes"
        );
    }
    let mut mutated = der.clone();
    for i in 0..der.len() {
        for v in [0x00, 0x01, 0x05, 0x30, 0x7f, 0x80, 0x81, 0x84, 0xa0, 0xff] {
            mutated[i] = v;
            let _ = parse_ocsp_request(&mutated);
        }
        mutated[i] = der[i];
    }
    // Trailing bytes after a valid request.
    for extra in 1..8usize {
        let mut grown = der.clone();
        grown.extend(std::iter::repeat_n(0x00, extra));
        let _ = parse_ocsp_request(&grown);
    }
}

#[test]
fn issuer_matching() {
    let issuer = IssuerId::from_parts(b"\x30\x00", b"key bits");
    let other = IssuerId::from_parts(b"\x30\x00", b"other key bits");
    for alg in [HashAlgorithm::Sha1, HashAlgorithm::Sha256] {
        let id = CertId::new(alg, &issuer, &[0, 0, 1, 2]).unwrap();
        assert_eq!(id.serial(), [1, 2]);
        assert_eq!(id.issuer_name_hash().len(), alg.output_len());
        assert!(issuer.matches(&id));
        assert!(!other.matches(&id), "same name, another key");
        // The encoding round-trips through the parser.
        let parsed = parse_ocsp_request(&request(&[id.der().to_vec()], &[], &[], false)).unwrap();
        assert_eq!(parsed.cert_ids()[0], id);
    }
    assert!(matches!(
        CertId::new(HashAlgorithm::Sha1, &issuer, &[]),
        Err(OcspError::InvalidInput(_))
    ));
    assert!(matches!(
        IssuerId::from_certificate(b"not a certificate"),
        Err(OcspError::BadCertificate(_))
    ));
}
