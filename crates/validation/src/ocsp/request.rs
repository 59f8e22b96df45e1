//! OCSP requests: DER from a POST body, or base64 from a GET path (RFC 6960 Appendix A.1).

use std::fmt;

use aws_lc_rs::digest;
use der::asn1::{AnyRef, IntRef, OctetStringRef, UintRef};
use der::{Decode, Encode, Tag, Tagged};

use super::asn1::{
    AlgorithmIdentifierAsn, CertIdAsn, ExtensionAsn, OID_OCSP_NONCE, OID_SHA1, OID_SHA256,
    OcspRequestAsn,
};
use super::error::{OcspError, malformed};
use super::issuer::IssuerId;

/// The largest request accepted, in bytes of DER. A CertID is about 100 bytes, so this leaves
/// room for dozens of requests, a nonce and a signature with a short chain.
pub const MAX_REQUEST_SIZE: usize = 8 * 1024;

/// The longest nonce accepted (RFC 9654: 1 to 128 octets; longer or empty is
/// `malformedRequest`).
pub const MAX_NONCE_LEN: usize = 128;

/// The hash algorithm of a CertID.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-1: what most clients send (RFC 5019 requires it).
    Sha1,
    /// SHA-256 (`openssl ocsp -sha256`).
    Sha256,
}

impl HashAlgorithm {
    /// The digest length in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha256 => 32,
        }
    }

    pub(crate) fn digest(self, data: &[u8]) -> Vec<u8> {
        let alg = match self {
            HashAlgorithm::Sha1 => &digest::SHA1_FOR_LEGACY_USE_ONLY,
            HashAlgorithm::Sha256 => &digest::SHA256,
        };
        digest::digest(alg, data).as_ref().to_vec()
    }

    fn oid(self) -> der::asn1::ObjectIdentifier {
        match self {
            HashAlgorithm::Sha1 => OID_SHA1,
            HashAlgorithm::Sha256 => OID_SHA256,
        }
    }
}

/// One certificate asked about: RFC 6960 `CertID`.
///
/// It keeps the exact DER it was parsed from, because a response must echo the CertID as
/// requested: OpenSSL compares the whole structure, so an absent versus NULL hash parameter
/// already makes a different CertID. [`CertId::new`] builds the encoding OpenSSL itself sends
/// (NULL parameters).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct CertId {
    hash_algorithm: HashAlgorithm,
    issuer_name_hash: Vec<u8>,
    issuer_key_hash: Vec<u8>,
    serial: Vec<u8>,
    der: Vec<u8>,
}

impl CertId {
    /// The CertID for `serial` (big-endian; leading zero bytes are ignored) under `issuer`.
    pub fn new(
        hash_algorithm: HashAlgorithm,
        issuer: &IssuerId,
        serial: &[u8],
    ) -> Result<Self, OcspError> {
        let serial = normalize_serial(serial);
        if serial.is_empty() {
            return Err(OcspError::InvalidInput("an empty serial number".into()));
        }
        let alg = AlgorithmIdentifierAsn {
            algorithm: hash_algorithm.oid(),
            parameters: Some(AnyRef::NULL),
        };
        let name_hash = issuer.name_hash(hash_algorithm);
        let key_hash = issuer.key_hash(hash_algorithm);
        let der = CertIdDer {
            alg,
            name_hash: OctetStringRef::new(name_hash).map_err(super::error::encoding)?,
            key_hash: OctetStringRef::new(key_hash).map_err(super::error::encoding)?,
            serial: UintRef::new(serial).map_err(super::error::encoding)?,
        }
        .to_der()
        .map_err(super::error::encoding)?;
        Ok(CertId {
            hash_algorithm,
            issuer_name_hash: name_hash.to_vec(),
            issuer_key_hash: key_hash.to_vec(),
            serial: serial.to_vec(),
            der,
        })
    }

    /// The hash algorithm of the issuer hashes.
    pub fn hash_algorithm(&self) -> HashAlgorithm {
        self.hash_algorithm
    }

    /// issuerNameHash.
    pub fn issuer_name_hash(&self) -> &[u8] {
        &self.issuer_name_hash
    }

    /// issuerKeyHash.
    pub fn issuer_key_hash(&self) -> &[u8] {
        &self.issuer_key_hash
    }

    /// The serial number: big-endian bytes without the leading zero DER adds to keep a
    /// positive INTEGER positive.
    pub fn serial(&self) -> &[u8] {
        &self.serial
    }

    /// The CertID exactly as encoded (in the request, or by [`CertId::new`]).
    pub fn der(&self) -> &[u8] {
        &self.der
    }

    /// Parse one CertID from its whole DER (tag and length included).
    fn from_any(any: AnyRef<'_>) -> Result<Self, OcspError> {
        let der = any.to_der().map_err(malformed)?;
        let asn: CertIdAsn<'_> = any.decode_as().map_err(malformed)?;
        let hash_algorithm = match asn.hash_algorithm.algorithm {
            oid if oid == OID_SHA1 => HashAlgorithm::Sha1,
            oid if oid == OID_SHA256 => HashAlgorithm::Sha256,
            oid => return Err(OcspError::UnsupportedHashAlgorithm(oid.to_string())),
        };
        if let Some(params) = asn.hash_algorithm.parameters
            && !params.is_null()
        {
            return Err(malformed("the CertID hash algorithm has parameters"));
        }
        let len = hash_algorithm.output_len();
        let name_hash = asn.issuer_name_hash.as_bytes();
        let key_hash = asn.issuer_key_hash.as_bytes();
        if name_hash.len() != len || key_hash.len() != len {
            return Err(malformed(format!(
                "CertID issuer hashes must be {len} bytes for {hash_algorithm:?}"
            )));
        }
        Ok(CertId {
            hash_algorithm,
            issuer_name_hash: name_hash.to_vec(),
            issuer_key_hash: key_hash.to_vec(),
            serial: serial_from_int(asn.serial_number)?,
            der,
        })
    }
}

impl fmt::Debug for CertId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CertId")
            .field("hash_algorithm", &self.hash_algorithm)
            .field("issuer_key_hash", &Hex(&self.issuer_key_hash))
            .field("serial", &Hex(&self.serial))
            .finish_non_exhaustive()
    }
}

/// Encoding-only twin of [`CertIdAsn`] with an unsigned serial (`der` adds the sign byte).
#[derive(der::Sequence)]
struct CertIdDer<'a> {
    alg: AlgorithmIdentifierAsn<'a>,
    name_hash: &'a OctetStringRef,
    key_hash: &'a OctetStringRef,
    serial: UintRef<'a>,
}

/// Lowercase hex for `Debug`.
pub(crate) struct Hex<'a>(pub &'a [u8]);

impl fmt::Debug for Hex<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// Strip leading zero bytes, keeping one for the serial 0.
pub(crate) fn normalize_serial(serial: &[u8]) -> &[u8] {
    let zeros = serial.iter().take_while(|&&b| b == 0).count();
    match serial.len() {
        0 => serial,
        n if zeros == n => &serial[n - 1..],
        _ => &serial[zeros..],
    }
}

/// A CertID serial as unsigned big-endian bytes. Negative serials are refused: RFC 5280
/// requires positive ones, and a negative serial's bytes would collide with a positive one's.
fn serial_from_int(int: IntRef<'_>) -> Result<Vec<u8>, OcspError> {
    let bytes = int.as_bytes();
    match bytes.first() {
        Some(b) if b & 0x80 != 0 => Err(malformed("a negative serial number")),
        Some(_) => Ok(normalize_serial(bytes).to_vec()),
        None => Err(malformed("an empty serial number")),
    }
}

/// A parsed OCSP request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspRequest {
    cert_ids: Vec<CertId>,
    nonce: Option<Vec<u8>>,
    signed: bool,
}

impl OcspRequest {
    /// The certificates asked about, in request order (never empty).
    pub fn cert_ids(&self) -> &[CertId] {
        &self.cert_ids
    }

    /// The nonce extension's extnValue contents, to echo verbatim in the response.
    pub fn nonce(&self) -> Option<&[u8]> {
        self.nonce.as_deref()
    }

    /// Whether the request carried an optionalSignature (which is not checked).
    pub fn is_signed(&self) -> bool {
        self.signed
    }

    /// RFC 5019's case: one CertID and no nonce, so a pre-signed response can answer it.
    pub fn is_cacheable(&self) -> bool {
        self.cert_ids.len() == 1 && self.nonce.is_none()
    }
}

/// Parse a DER OCSPRequest (a POST body of type `application/ocsp-request`).
///
/// The nonce (id-pkix-ocsp-nonce) is captured as its raw extnValue; its length is checked as
/// RFC 9654 says (an OCTET STRING of 1 to [`MAX_NONCE_LEN`] octets; a legacy raw nonce is held
/// to the same bounds). A request signature and a requestorName are accepted and ignored
/// (this responder answers anyone). Unknown non-critical extensions are ignored; unknown
/// critical ones are refused (RFC 6960 §4.4).
pub fn parse_ocsp_request(der: &[u8]) -> Result<OcspRequest, OcspError> {
    if der.len() > MAX_REQUEST_SIZE {
        return Err(OcspError::TooLarge {
            len: der.len(),
            limit: MAX_REQUEST_SIZE,
        });
    }
    let req = OcspRequestAsn::from_der(der).map_err(malformed)?;
    let tbs = req.tbs_request;
    if let Some(version) = tbs.version
        && version.as_bytes() != [0]
    {
        return Err(malformed("unsupported request version (only v1 exists)"));
    }
    if tbs.request_list.is_empty() {
        return Err(malformed("the request list is empty"));
    }
    let mut cert_ids = Vec::with_capacity(tbs.request_list.len());
    for single in &tbs.request_list {
        check_extensions(single.single_request_extensions.as_deref(), &[])?;
        cert_ids.push(CertId::from_any(single.req_cert)?);
    }
    let extensions = tbs.request_extensions.as_deref();
    check_extensions(extensions, &[OID_OCSP_NONCE])?;
    let mut nonce = None;
    for ext in extensions.unwrap_or_default() {
        if ext.extn_id == OID_OCSP_NONCE {
            if nonce.is_some() {
                return Err(malformed("more than one nonce extension"));
            }
            nonce = Some(check_nonce(ext.extn_value.as_bytes())?.to_vec());
        }
    }
    Ok(OcspRequest {
        cert_ids,
        nonce,
        signed: req.optional_signature.is_some(),
    })
}

/// Refuse critical extensions not in `known` and duplicate extensions.
fn check_extensions(
    exts: Option<&[ExtensionAsn<'_>]>,
    known: &[der::asn1::ObjectIdentifier],
) -> Result<(), OcspError> {
    let exts = exts.unwrap_or_default();
    for (i, ext) in exts.iter().enumerate() {
        if exts[..i].iter().any(|e| e.extn_id == ext.extn_id) {
            return Err(malformed(format!(
                "extension {} appears twice",
                ext.extn_id
            )));
        }
        if ext.critical && !known.contains(&ext.extn_id) {
            return Err(OcspError::UnsupportedCriticalExtension(
                ext.extn_id.to_string(),
            ));
        }
    }
    Ok(())
}

/// RFC 9654: extnValue holds `Nonce ::= OCTET STRING (SIZE(1..128))`. Some old clients put the
/// random bytes there directly; those are echoed too, under the same length bounds.
fn check_nonce(extn_value: &[u8]) -> Result<&[u8], OcspError> {
    let inner_len = match AnyRef::from_der(extn_value) {
        Ok(any) if any.tag() == Tag::OctetString => any.value().len(),
        _ => extn_value.len(),
    };
    if inner_len == 0 || inner_len > MAX_NONCE_LEN {
        return Err(malformed(format!(
            "a nonce of {inner_len} octets (1 to {MAX_NONCE_LEN} are allowed)"
        )));
    }
    Ok(extn_value)
}

/// Parse the `{base64}` part of a GET `/ocsp/{base64}` request (RFC 6960 Appendix A.1: the
/// DER request, base64-encoded, then URL-encoded).
///
/// Percent-escapes are decoded first (clients escape `/`, `+` and `=` as `%2F`, `%2B`, `%3D`,
/// or not at all: raw `/` arrives as more path segments, which the router must hand over
/// whole). Both the standard and the URL-safe base64 alphabets are accepted, with or without
/// padding.
pub fn parse_get_path(b64: &str) -> Result<OcspRequest, OcspError> {
    // Every DER byte is at most 4/3 base64 characters, each at most 3 path characters.
    let limit = MAX_REQUEST_SIZE.div_ceil(3) * 4 * 3;
    if b64.len() > limit {
        return Err(OcspError::TooLarge {
            len: b64.len(),
            limit,
        });
    }
    let text = percent_decode(b64.as_bytes())?;
    let der = base64_decode(&text).ok_or_else(|| malformed("the GET path is not base64"))?;
    parse_ocsp_request(&der)
}

fn percent_decode(input: &[u8]) -> Result<Vec<u8>, OcspError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'%' => {
                let hex = |o: usize| input.get(i + o).and_then(|&c| (c as char).to_digit(16));
                match (hex(1), hex(2)) {
                    (Some(hi), Some(lo)) => {
                        out.push(u8::try_from(hi * 16 + lo).map_err(malformed)?);
                        i += 3;
                    }
                    _ => return Err(malformed("a bad percent-escape in the GET path")),
                }
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Ok(out)
}

/// Base64 (RFC 4648 §4, or the URL-safe alphabet of §5), padding optional, no whitespace.
/// Non-canonical encodings (non-zero trailing bits) are refused.
fn base64_decode(input: &[u8]) -> Option<Vec<u8>> {
    let body_len = input.len() - input.iter().rev().take_while(|&&c| c == b'=').count();
    let (body, padding) = input.split_at(body_len);
    if padding.len() > 2
        || body.len() % 4 == 1
        || (!padding.is_empty() && !input.len().is_multiple_of(4))
    {
        return None;
    }
    let mut out = Vec::with_capacity(body.len() / 4 * 3 + 2);
    let mut acc: u32 = 0;
    let mut bits = 0u32;
    for &c in body {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits).to_be_bytes()[3]);
            acc &= (1 << bits) - 1;
        }
    }
    (acc == 0).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_vectors() {
        // RFC 4648 §10.
        for (plain, enc) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            assert_eq!(base64_decode(enc.as_bytes()).unwrap(), plain.as_bytes());
            let unpadded = enc.trim_end_matches('=');
            assert_eq!(
                base64_decode(unpadded.as_bytes()).unwrap(),
                plain.as_bytes()
            );
        }
        assert_eq!(base64_decode(b"+/8=").unwrap(), [0xfb, 0xff]);
        assert_eq!(base64_decode(b"-_8").unwrap(), [0xfb, 0xff]);
        for bad in [
            "Z", "Zg=", "Zh==", "Zg===", "Zm9v!", "Zm 9v", "=Zg=", "Zm9vY",
        ] {
            assert!(base64_decode(bad.as_bytes()).is_none(), "{bad}");
        }
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode(b"a%2Fb%2bc%3D").unwrap(), b"a/b+c=");
        assert!(percent_decode(b"a%2").is_err());
        assert!(percent_decode(b"a%zz").is_err());
    }

    #[test]
    fn serial_normalization() {
        assert_eq!(normalize_serial(&[0, 0, 0x80]), [0x80]);
        assert_eq!(normalize_serial(&[0, 0]), [0]);
        assert_eq!(normalize_serial(&[1, 0]), [1, 0]);
        assert_eq!(normalize_serial(&[]), [0u8; 0]);
    }
}
