//! The ASN.1 of RFC 6960 (module `OCSP-2013-08`, EXPLICIT TAGS), declared with `der`'s derive
//! macros. Borrowed types throughout: pieces that must be echoed exactly (CertID, the signer's
//! AlgorithmIdentifier, certificates) are carried as [`AnyRef`] and re-encoded byte for byte.

use der::asn1::OctetStringRef;
use der::asn1::{AnyRef, BitStringRef, GeneralizedTime, IntRef, Null, ObjectIdentifier};
use der::{Choice, Enumerated, Sequence};

/// id-pkix-ocsp-basic (RFC 6960 §4.2.1).
pub(crate) const OID_OCSP_BASIC: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// id-pkix-ocsp-nonce (RFC 6960 §4.4.1, RFC 9654).
pub(crate) const OID_OCSP_NONCE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// id-sha1.
pub(crate) const OID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
/// id-sha256.
pub(crate) const OID_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

// ---- request --------------------------------------------------------------------------------

/// ```text
/// OCSPRequest ::= SEQUENCE {
///     tbsRequest                  TBSRequest,
///     optionalSignature   [0]     EXPLICIT Signature OPTIONAL }
/// ```
#[derive(Debug, Sequence)]
pub(crate) struct OcspRequestAsn<'a> {
    pub tbs_request: TbsRequestAsn<'a>,
    /// Accepted and ignored (see the module documentation).
    #[asn1(context_specific = "0", optional = "true")]
    pub optional_signature: Option<AnyRef<'a>>,
}

/// ```text
/// TBSRequest ::= SEQUENCE {
///     version             [0]     EXPLICIT Version DEFAULT v1,
///     requestorName       [1]     EXPLICIT GeneralName OPTIONAL,
///     requestList                 SEQUENCE OF Request,
///     requestExtensions   [2]     EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Debug, Sequence)]
pub(crate) struct TbsRequestAsn<'a> {
    #[asn1(context_specific = "0", optional = "true")]
    pub version: Option<IntRef<'a>>,
    #[asn1(context_specific = "1", optional = "true")]
    pub requestor_name: Option<AnyRef<'a>>,
    pub request_list: Vec<RequestAsn<'a>>,
    #[asn1(context_specific = "2", optional = "true")]
    pub request_extensions: Option<Vec<ExtensionAsn<'a>>>,
}

/// ```text
/// Request ::= SEQUENCE {
///     reqCert                     CertID,
///     singleRequestExtensions     [0] EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Debug, Sequence)]
pub(crate) struct RequestAsn<'a> {
    /// Kept whole: decoded as [`CertIdAsn`] and echoed as is.
    pub req_cert: AnyRef<'a>,
    #[asn1(context_specific = "0", optional = "true")]
    pub single_request_extensions: Option<Vec<ExtensionAsn<'a>>>,
}

/// ```text
/// CertID ::= SEQUENCE {
///     hashAlgorithm       AlgorithmIdentifier,
///     issuerNameHash      OCTET STRING, -- Hash of issuer's DN
///     issuerKeyHash       OCTET STRING, -- Hash of issuer's public key
///     serialNumber        CertificateSerialNumber }
/// ```
#[derive(Debug, Sequence)]
pub(crate) struct CertIdAsn<'a> {
    pub hash_algorithm: AlgorithmIdentifierAsn<'a>,
    pub issuer_name_hash: &'a OctetStringRef,
    pub issuer_key_hash: &'a OctetStringRef,
    pub serial_number: IntRef<'a>,
}

/// `AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, parameters ANY OPTIONAL }`
#[derive(Debug, Sequence)]
pub(crate) struct AlgorithmIdentifierAsn<'a> {
    pub algorithm: ObjectIdentifier,
    pub parameters: Option<AnyRef<'a>>,
}

/// `Extension ::= SEQUENCE { extnID OBJECT IDENTIFIER, critical BOOLEAN DEFAULT FALSE,
/// extnValue OCTET STRING }`
#[derive(Debug, Sequence)]
pub(crate) struct ExtensionAsn<'a> {
    pub extn_id: ObjectIdentifier,
    #[asn1(default = "Default::default")]
    pub critical: bool,
    pub extn_value: &'a OctetStringRef,
}

// ---- response -------------------------------------------------------------------------------

/// `OCSPResponseStatus ::= ENUMERATED { successful (0), ... }`: only the success case is
/// encoded with `der`; error responses are constant bytes (see `error_response`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enumerated)]
#[repr(u32)]
pub(crate) enum ResponseStatusAsn {
    Successful = 0,
    MalformedRequest = 1,
    InternalError = 2,
    TryLater = 3,
    SigRequired = 5,
    Unauthorized = 6,
}

/// ```text
/// OCSPResponse ::= SEQUENCE {
///     responseStatus         OCSPResponseStatus,
///     responseBytes          [0] EXPLICIT ResponseBytes OPTIONAL }
/// ```
#[derive(Debug, Sequence)]
pub(crate) struct OcspResponseAsn<'a> {
    pub response_status: ResponseStatusAsn,
    #[asn1(context_specific = "0", optional = "true")]
    pub response_bytes: Option<ResponseBytesAsn<'a>>,
}

/// `ResponseBytes ::= SEQUENCE { responseType OBJECT IDENTIFIER, response OCTET STRING }`
#[derive(Debug, Sequence)]
pub(crate) struct ResponseBytesAsn<'a> {
    pub response_type: ObjectIdentifier,
    pub response: &'a OctetStringRef,
}

/// ```text
/// BasicOCSPResponse ::= SEQUENCE {
///     tbsResponseData      ResponseData,
///     signatureAlgorithm   AlgorithmIdentifier,
///     signature            BIT STRING,
///     certs            [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
/// ```
#[derive(Debug, Sequence)]
pub(crate) struct BasicOcspResponseAsn<'a> {
    /// The exact bytes that were signed.
    pub tbs_response_data: AnyRef<'a>,
    pub signature_algorithm: AnyRef<'a>,
    pub signature: BitStringRef<'a>,
    #[asn1(context_specific = "0", optional = "true")]
    pub certs: Option<Vec<AnyRef<'a>>>,
}

/// ```text
/// ResponseData ::= SEQUENCE {
///     version              [0] EXPLICIT Version DEFAULT v1,
///     responderID              ResponderID,
///     producedAt               GeneralizedTime,
///     responses                SEQUENCE OF SingleResponse,
///     responseExtensions   [1] EXPLICIT Extensions OPTIONAL }
/// ResponderID ::= CHOICE { byName [1] Name, byKey [2] KeyHash }
/// ```
///
/// The version is always v1 and so, being the DEFAULT, never encoded; the responder is always
/// identified by key, so the CHOICE is written as its `[2] EXPLICIT KeyHash` alternative.
#[derive(Debug, Sequence)]
pub(crate) struct ResponseDataAsn<'a> {
    #[asn1(context_specific = "2")]
    pub responder_id_by_key: &'a OctetStringRef,
    pub produced_at: GeneralizedTime,
    pub responses: Vec<SingleResponseAsn<'a>>,
    #[asn1(context_specific = "1", optional = "true")]
    pub response_extensions: Option<Vec<ExtensionAsn<'a>>>,
}

/// ```text
/// SingleResponse ::= SEQUENCE {
///     certID                       CertID,
///     certStatus                   CertStatus,
///     thisUpdate                   GeneralizedTime,
///     nextUpdate         [0]       EXPLICIT GeneralizedTime OPTIONAL,
///     singleExtensions   [1]       EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Debug, Sequence)]
pub(crate) struct SingleResponseAsn<'a> {
    pub cert_id: AnyRef<'a>,
    pub cert_status: CertStatusAsn,
    pub this_update: GeneralizedTime,
    #[asn1(context_specific = "0", optional = "true")]
    pub next_update: Option<GeneralizedTime>,
}

/// ```text
/// CertStatus ::= CHOICE {
///     good        [0]     IMPLICIT NULL,
///     revoked     [1]     IMPLICIT RevokedInfo,
///     unknown     [2]     IMPLICIT UnknownInfo }   -- UnknownInfo ::= NULL
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Choice)]
pub(crate) enum CertStatusAsn {
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    Good(Null),
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Revoked(RevokedInfoAsn),
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    Unknown(Null),
}

/// ```text
/// RevokedInfo ::= SEQUENCE {
///     revocationTime              GeneralizedTime,
///     revocationReason    [0]     EXPLICIT CRLReason OPTIONAL }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Sequence)]
pub(crate) struct RevokedInfoAsn {
    pub revocation_time: GeneralizedTime,
    #[asn1(context_specific = "0", optional = "true")]
    pub revocation_reason: Option<CrlReasonAsn>,
}

/// RFC 5280 `CRLReason ::= ENUMERATED` (value 7 is not used).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enumerated)]
#[repr(u32)]
pub(crate) enum CrlReasonAsn {
    Unspecified = 0,
    KeyCompromise = 1,
    CaCompromise = 2,
    AffiliationChanged = 3,
    Superseded = 4,
    CessationOfOperation = 5,
    CertificateHold = 6,
    RemoveFromCrl = 8,
    PrivilegeWithdrawn = 9,
    AaCompromise = 10,
}

impl CrlReasonAsn {
    pub(crate) fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0 => Self::Unspecified,
            1 => Self::KeyCompromise,
            2 => Self::CaCompromise,
            3 => Self::AffiliationChanged,
            4 => Self::Superseded,
            5 => Self::CessationOfOperation,
            6 => Self::CertificateHold,
            8 => Self::RemoveFromCrl,
            9 => Self::PrivilegeWithdrawn,
            10 => Self::AaCompromise,
            _ => return None,
        })
    }
}
