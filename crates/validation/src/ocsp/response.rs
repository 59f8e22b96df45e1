//! OCSP responses: a signed BasicOCSPResponse, or one of the unsigned error statuses.

use std::fmt;

use der::asn1::{AnyRef, BitStringRef, GeneralizedTime, Null, OctetStringRef};
use der::{Decode, Encode, Tag, Tagged};
use time::OffsetDateTime;

use super::asn1::{
    BasicOcspResponseAsn, CertStatusAsn, CrlReasonAsn, ExtensionAsn, OID_OCSP_BASIC,
    OID_OCSP_NONCE, OcspResponseAsn, ResponseBytesAsn, ResponseDataAsn, ResponseStatusAsn,
    RevokedInfoAsn, SingleResponseAsn,
};
use super::error::{OcspError, encoding};
use super::issuer::cert_fields;
use super::request::{CertId, HashAlgorithm};

/// Signs the DER of a `ResponseData`: the status-signing capability, implemented by the
/// composition root with the issuing crate's delegated OCSP key (or, for a CA that signs its
/// own responses, the issuing key's status-signing handle).
pub trait OcspSigner: Send + Sync {
    /// The DER `AlgorithmIdentifier` of the signatures [`OcspSigner::sign`] makes (for ECDSA
    /// with SHA-256: `SEQUENCE { ecdsa-with-SHA256 }`, no parameters).
    fn signature_algorithm_der(&self) -> Vec<u8>;
    /// Sign `tbs` and return the signature as X.509 carries it (ECDSA: the DER
    /// `Ecdsa-Sig-Value`; RSA and Ed25519: the raw signature).
    fn sign(&self, tbs: &[u8]) -> Result<Vec<u8>, String>;
}

/// The certificate whose key signs responses: a delegated OCSP signing certificate
/// (id-kp-OCSPSigning, id-pkix-ocsp-nocheck) issued by the CA the responses are about, or the
/// CA itself. Its key hash is the responderID, and it is sent in `certs` so clients can verify
/// the signature without fetching anything.
#[derive(Clone, PartialEq, Eq)]
pub struct ResponderIdentity {
    /// The responder certificate (DER).
    pub cert_der: Vec<u8>,
}

impl ResponderIdentity {
    /// Checks that `cert_der` is a certificate this module can read.
    pub fn new(cert_der: Vec<u8>) -> Result<Self, OcspError> {
        cert_fields(&cert_der)?;
        Ok(ResponderIdentity { cert_der })
    }

    /// responderID byKey: the SHA-1 hash of the certificate's subjectPublicKey bits (RFC 6960
    /// §4.2.1; SHA-1 is what the ASN.1 fixes, pkilint checks the length).
    pub fn key_hash(&self) -> Result<Vec<u8>, OcspError> {
        let fields = cert_fields(&self.cert_der)?;
        Ok(HashAlgorithm::Sha1.digest(&fields.public_key_bits))
    }
}

impl fmt::Debug for ResponderIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponderIdentity")
            .field("cert_der_len", &self.cert_der.len())
            .finish_non_exhaustive()
    }
}

/// A certificate's status, as the caller determined it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    /// Not revoked (RFC 6960: at least, not known to be revoked).
    Good,
    /// Revoked at `at`, with an RFC 5280 CRLReason code (0–10 except 7) if one was given;
    /// 0 (unspecified) is encoded as no reason, as in the CRL.
    Revoked {
        /// The revocation time (whole seconds are encoded).
        at: OffsetDateTime,
        /// The CRLReason, when known.
        reason: Option<u8>,
    },
    /// The responder knows nothing of this certificate (a serial never issued, or another
    /// issuer's).
    Unknown,
}

/// One answer in a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SingleResponseInput {
    /// The CertID exactly as requested (it is echoed byte for byte).
    pub cert_id: CertId,
    /// The status.
    pub status: CertStatus,
    /// thisUpdate: when the status was known to be correct.
    pub this_update: OffsetDateTime,
    /// nextUpdate: when newer information will be available. Always sent: RFC 5019 clients and
    /// caches rely on it, and it bounds how long a response is served from the cache.
    pub next_update: OffsetDateTime,
}

/// The RFC 6960 error statuses: an OCSPResponse with one of these has no responseBytes and is
/// not signed. `successful` (0) is not here: only [`build_basic_response`] makes that.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OcspResponseStatus {
    /// `malformedRequest` (1): the request could not be parsed or is unsupported.
    MalformedRequest,
    /// `internalError` (2): the responder is in an inconsistent state.
    InternalError,
    /// `tryLater` (3): the responder cannot answer right now.
    TryLater,
    /// `sigRequired` (5): the request must be signed.
    SigRequired,
    /// `unauthorized` (6): this responder cannot answer for that certificate (RFC 5019 §2.2.3).
    Unauthorized,
}

impl OcspResponseStatus {
    /// The ENUMERATED value.
    pub fn code(self) -> u8 {
        match self {
            OcspResponseStatus::MalformedRequest => 1,
            OcspResponseStatus::InternalError => 2,
            OcspResponseStatus::TryLater => 3,
            OcspResponseStatus::SigRequired => 5,
            OcspResponseStatus::Unauthorized => 6,
        }
    }
}

/// The DER OCSPResponse for an error status: `SEQUENCE { ENUMERATED status }`, five bytes.
pub fn error_response(status: OcspResponseStatus) -> Vec<u8> {
    // SEQUENCE (0x30) of 3 bytes: ENUMERATED (0x0a), length 1, the status.
    vec![0x30, 0x03, 0x0a, 0x01, status.code()]
}

fn generalized_time(t: OffsetDateTime, what: &str) -> Result<GeneralizedTime, OcspError> {
    let secs = u64::try_from(t.unix_timestamp())
        .map_err(|_| OcspError::InvalidInput(format!("{what} is before 1970")))?;
    GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .map_err(|e| OcspError::InvalidInput(format!("{what}: {e}")))
}

fn any(der: &[u8]) -> Result<AnyRef<'_>, OcspError> {
    AnyRef::from_der(der).map_err(encoding)
}

/// Build and sign a successful OCSPResponse (id-pkix-ocsp-basic) answering `responses`.
///
/// The responderID is byKey (SHA-1 of the responder certificate's key); `nonce` is the
/// request's nonce extnValue ([`super::OcspRequest::nonce`]), echoed as a non-critical
/// response extension; the responder certificate is sent in `certs`. Times are encoded in
/// whole seconds (GeneralizedTime without fractions, RFC 5280 §4.1.2.5.2).
pub fn build_basic_response(
    responder: &ResponderIdentity,
    responses: &[SingleResponseInput],
    nonce: Option<&[u8]>,
    produced_at: OffsetDateTime,
    signer: &dyn OcspSigner,
) -> Result<Vec<u8>, OcspError> {
    if responses.is_empty() {
        return Err(OcspError::InvalidInput("no responses to send".into()));
    }
    let key_hash = responder.key_hash()?;
    let mut singles = Vec::with_capacity(responses.len());
    for r in responses {
        if r.next_update < r.this_update {
            return Err(OcspError::InvalidInput(
                "nextUpdate is before thisUpdate".into(),
            ));
        }
        let cert_status = match r.status {
            CertStatus::Good => CertStatusAsn::Good(Null),
            CertStatus::Unknown => CertStatusAsn::Unknown(Null),
            CertStatus::Revoked { at, reason } => CertStatusAsn::Revoked(RevokedInfoAsn {
                revocation_time: generalized_time(at, "the revocation time")?,
                // unspecified (0) is written as no reason, as in the CRL (RFC 5280 §5.3.1
                // and the CA/Browser Forum profiles say to omit it).
                revocation_reason: match reason {
                    None | Some(0) => None,
                    Some(code) => Some(CrlReasonAsn::from_code(code).ok_or_else(|| {
                        OcspError::InvalidInput(format!("CRLReason {code} does not exist"))
                    })?),
                },
            }),
        };
        singles.push(SingleResponseAsn {
            cert_id: any(r.cert_id.der())?,
            cert_status,
            this_update: generalized_time(r.this_update, "thisUpdate")?,
            next_update: Some(generalized_time(r.next_update, "nextUpdate")?),
        });
    }
    let response_extensions = match nonce {
        None => None,
        Some(value) => Some(vec![ExtensionAsn {
            extn_id: OID_OCSP_NONCE,
            critical: false,
            extn_value: OctetStringRef::new(value).map_err(encoding)?,
        }]),
    };
    let tbs = ResponseDataAsn {
        responder_id_by_key: OctetStringRef::new(&key_hash).map_err(encoding)?,
        produced_at: generalized_time(produced_at, "producedAt")?,
        responses: singles,
        response_extensions,
    }
    .to_der()
    .map_err(encoding)?;

    let algorithm = signer.signature_algorithm_der();
    let algorithm_any = any(&algorithm)?;
    if algorithm_any.tag() != Tag::Sequence {
        return Err(OcspError::Encoding(
            "the signer's AlgorithmIdentifier is not a SEQUENCE".into(),
        ));
    }
    let signature = signer.sign(&tbs).map_err(OcspError::Signing)?;
    let basic = BasicOcspResponseAsn {
        tbs_response_data: any(&tbs)?,
        signature_algorithm: algorithm_any,
        signature: BitStringRef::from_bytes(&signature).map_err(encoding)?,
        certs: Some(vec![any(&responder.cert_der)?]),
    }
    .to_der()
    .map_err(encoding)?;
    OcspResponseAsn {
        response_status: ResponseStatusAsn::Successful,
        response_bytes: Some(ResponseBytesAsn {
            response_type: OID_OCSP_BASIC,
            response: OctetStringRef::new(&basic).map_err(encoding)?,
        }),
    }
    .to_der()
    .map_err(encoding)
}
