//! Building and signing X.509 certificates from a [`CertificateSpec`].

use rcgen::{BasicConstraints, ExtendedKeyUsagePurpose, IsCa, KeyUsagePurpose};
use rustls_pki_types::CertificateDer;
use time::OffsetDateTime;
use vouch_model::Profile;

use crate::name::Dn;
use crate::signer::RcgenSigner;
use crate::template_cert::{OID_BASIC_CONSTRAINTS, lint_spec};
use crate::{
    CaCertificate, Error, San, Signer, check_spki_pair, describe_public_key, random_serial_at,
};

/// What to put in a certificate.
#[derive(Debug, Clone)]
pub struct CertificateSpec {
    /// Subject DN.
    pub subject: Dn,
    /// Subject alternative names.
    pub sans: Vec<San>,
    /// The role, which fixes the extensions.
    pub profile: Profile,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity (clamped to the issuer's end of validity).
    pub not_after: OffsetDateTime,
    /// Further extensions, after the profile's own.
    ///
    /// When these include basicConstraints (2.5.29.19) the spec is *explicit*: the profile
    /// adds no basicConstraints, keyUsage or extendedKeyUsage of its own, the certificate's
    /// basicConstraints (always critical) is the one given here, and its key usages are
    /// exactly the keyUsage and extKeyUsage extensions given here, if any. That is how a
    /// certificate template ([`crate::template_spec`]) sets them. Without basicConstraints
    /// the profile decides them, and keyUsage or extKeyUsage here is an error. Every
    /// certificate is linted before it is signed (duplicate or malformed extensions, a CA
    /// without keyCertSign, no subject and no SAN, …), see [`crate::Error::Lint`].
    pub extensions: Vec<Extension>,
}

/// An extension given by OID and DER value (e.g. step's provisioner extension).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extension {
    /// The extension's OID arcs.
    pub oid: Vec<u64>,
    /// Whether it is critical.
    pub critical: bool,
    /// The DER value (the contents of extnValue).
    pub value: Vec<u8>,
}

/// A signed certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedCertificate {
    /// DER encoding.
    pub der: Vec<u8>,
    /// Serial number, big-endian bytes.
    pub serial: Vec<u8>,
    /// End of validity as issued (after clamping).
    pub not_after: OffsetDateTime,
}

impl IssuedCertificate {
    /// PEM encoding.
    pub fn pem(&self) -> String {
        crate::to_pem("CERTIFICATE", &self.der)
    }
}

/// Sign a certificate for the public key `subject_spki_der`.
///
/// With `issuer` `None` the certificate is self-signed by `signer`, whose public key must then be
/// the subject key. With an issuer, `signer` must hold the issuer's key; the issuer must be a CA
/// allowed to issue this profile at `now`, and the validity is clamped to the issuer's.
pub fn issue_certificate(
    spec: &CertificateSpec,
    subject_spki_der: &[u8],
    issuer: Option<&CaCertificate>,
    signer: &dyn Signer,
    now: OffsetDateTime,
) -> Result<IssuedCertificate, Error> {
    let prepared = prepare(spec, subject_spki_der, issuer, signer, now)?;
    sign_prepared(&prepared, subject_spki_der, issuer, signer)
}

/// A certificate whose contents are checked and whose serial is chosen, not yet signed.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    pub(crate) serial: [u8; 20],
    pub(crate) not_after: OffsetDateTime,
    params: rcgen::CertificateParams,
}

/// Check everything that can be checked before signing and fix the serial and validity.
pub(crate) fn prepare(
    spec: &CertificateSpec,
    subject_spki_der: &[u8],
    issuer: Option<&CaCertificate>,
    signer: &dyn Signer,
    now: OffsetDateTime,
) -> Result<Prepared, Error> {
    let subject_key = describe_public_key(subject_spki_der)?;
    let Some(subject_key_type) = subject_key.key_type else {
        return Err(Error::UnsupportedKey(subject_key.description));
    };
    if spec.profile.is_self_signed() != issuer.is_none() {
        return Err(Error::internal(format!(
            "profile {} {} an issuer",
            spec.profile,
            if issuer.is_none() {
                "needs"
            } else {
                "cannot have"
            }
        )));
    }
    let effective = lint_spec(spec, subject_key_type)?;
    let mut not_after = spec.not_after;
    if let Some(ca) = issuer {
        ca.check_can_issue(now, effective.is_ca)?;
        check_spki_pair(ca.spki_der(), signer)?;
        not_after = not_after.min(ca.not_after());
    } else {
        check_spki_pair(subject_spki_der, signer)?;
    }
    if spec.not_before >= not_after {
        return Err(Error::Validity(format!(
            "notBefore {} is not before notAfter {not_after}",
            spec.not_before
        )));
    }

    let serial = random_serial_at(now)?;
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = spec.subject.0.clone();
    params.subject_alt_names = spec
        .sans
        .iter()
        .map(San::to_rcgen)
        .collect::<Result<_, _>>()?;
    params.not_before = spec.not_before;
    params.not_after = not_after;
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    params.use_authority_key_identifier_extension = true;
    match spec.profile.path_len() {
        // Explicit: basicConstraints and the usages come from the extensions (the usages
        // stay among the custom extensions below).
        _ if effective.explicit => params.is_ca = effective.rcgen_is_ca(),
        Some(n) => {
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(n));
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        None => {
            params.is_ca = IsCa::ExplicitNoCa;
            params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            if subject_key_type.is_rsa() {
                params.key_usages.push(KeyUsagePurpose::KeyEncipherment);
            }
            params.extended_key_usages = vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ];
        }
    }

    for ext in &spec.extensions {
        if effective.explicit && ext.oid == OID_BASIC_CONSTRAINTS {
            continue;
        }
        let mut custom = rcgen::CustomExtension::from_oid_content(&ext.oid, ext.value.clone());
        custom.set_criticality(ext.critical);
        params.custom_extensions.push(custom);
    }
    Ok(Prepared {
        serial,
        not_after,
        params,
    })
}

/// Sign a prepared certificate.
pub(crate) fn sign_prepared(
    prepared: &Prepared,
    subject_spki_der: &[u8],
    issuer: Option<&CaCertificate>,
    signer: &dyn Signer,
) -> Result<IssuedCertificate, Error> {
    let rcgen_signer = RcgenSigner(signer);
    match issuer {
        None => {
            let cert = prepared
                .params
                .self_signed(&rcgen_signer)
                .map_err(|e| Error::internal(format!("certificate signing failed: {e}")))?;
            Ok(issued(prepared, cert.der()))
        }
        Some(ca) => sign_with_issuer(prepared, subject_spki_der, &rcgen_issuer(ca, rcgen_signer)?),
    }
}

/// rcgen's view of an issuing CA: its name, key identifier and usages, read from its
/// certificate, with the key that signs for it.
pub(crate) fn rcgen_issuer<S: rcgen::SigningKey>(
    ca: &CaCertificate,
    key: S,
) -> Result<rcgen::Issuer<'static, S>, Error> {
    rcgen::Issuer::from_ca_cert_der(&CertificateDer::from(ca.der()), key)
        .map_err(|e| Error::CertificateFormat(format!("issuer certificate: {e}")))
}

/// Sign a prepared certificate with an issuer made by [`rcgen_issuer`].
pub(crate) fn sign_with_issuer<S: rcgen::SigningKey>(
    prepared: &Prepared,
    subject_spki_der: &[u8],
    issuer: &rcgen::Issuer<'_, S>,
) -> Result<IssuedCertificate, Error> {
    let subject_key = rcgen::SubjectPublicKeyInfo::from_der(subject_spki_der)
        .map_err(|e| Error::UnsupportedKey(e.to_string()))?;
    let cert = prepared
        .params
        .signed_by(&subject_key, issuer)
        .map_err(|e| Error::internal(format!("certificate signing failed: {e}")))?;
    Ok(issued(prepared, cert.der()))
}

fn issued(prepared: &Prepared, der: &[u8]) -> IssuedCertificate {
    IssuedCertificate {
        der: der.to_vec(),
        serial: prepared.serial.to_vec(),
        not_after: prepared.not_after,
    }
}
