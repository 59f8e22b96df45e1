//! ACME Renewal Information (RFC 9773): `GET /renewal-info/{certID}` tells a client when to
//! renew, and a new order's `replaces` names the certificate it renews.
//!
//! A certID is `base64url(authority key identifier) "." base64url(serial number bytes)`.
//! The suggested window is the fourth sixth of the certificate's life (from 2/3 to 5/6 of it,
//! matching `vouch ca renew --daemon`), so a fleet spreads its renewals over a sixth of the
//! lifetime and still has a sixth left to retry. A revoked certificate gets a window that
//! has already passed: renew now. Retry-After is a tenth of the lifetime, between 1 minute
//! and 6 hours.

use std::net::IpAddr;
use std::sync::Arc;

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::json;
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use vouch_issuing::San;
use vouch_registration::{AcmeError, ProblemType};
use vouch_storage::{AcmeAccount, CertificateRecord, CertificateStatus};
use x509_parser::extensions::ParsedExtension;

use super::acme::{acme_provisioner, internal, respond, urls};
use super::state::AppState;

/// A certID, split and decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CertId {
    key_id: Vec<u8>,
    serial_hex: String,
}

fn parse_cert_id(id: &str) -> Result<CertId, AcmeError> {
    let bad = || AcmeError::malformed(format!("'{id}' is not an ARI certificate id"));
    let (aki, serial) = id.split_once('.').ok_or_else(bad)?;
    let key_id = URL_SAFE_NO_PAD.decode(aki).map_err(|_| bad())?;
    let serial = URL_SAFE_NO_PAD.decode(serial).map_err(|_| bad())?;
    if key_id.is_empty() || serial.is_empty() || serial.len() > 21 {
        return Err(bad());
    }
    Ok(CertId {
        key_id,
        serial_hex: vouch_issuing::serial_hex(&serial),
    })
}

/// The certificate a certID names: issued here, and its authority key identifier matches.
async fn certificate(
    state: &AppState,
    id: &CertId,
) -> Result<(CertificateRecord, Vec<u8>), AcmeError> {
    let unknown = || {
        AcmeError::new(
            ProblemType::Malformed,
            "no certificate with this id was issued here",
        )
    };
    let record = state
        .store
        .get_certificate(&id.serial_hex)
        .await
        .map_err(internal)?
        .ok_or_else(unknown)?;
    let der = record.der.clone().ok_or_else(unknown)?;
    let (_, cert) = x509_parser::parse_x509_certificate(&der).map_err(internal)?;
    let aki = cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => a.key_identifier.as_ref().map(|k| k.0),
            _ => None,
        });
    if aki != Some(id.key_id.as_slice()) {
        return Err(unknown());
    }
    Ok((record, der))
}

/// The suggested renewal window and the Retry-After seconds for a certificate.
fn window(
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
    revoked: bool,
    now: OffsetDateTime,
) -> (OffsetDateTime, OffsetDateTime, i64) {
    let life = (not_after - not_before).max(Duration::seconds(6));
    let retry = (life / 10_i32).whole_seconds().clamp(60, 6 * 3600);
    if revoked {
        return (now - Duration::hours(1), now - Duration::seconds(1), retry);
    }
    (
        not_before + life * 2_i32 / 3_i32,
        not_before + life * 5_i32 / 6_i32,
        retry,
    )
}

/// `GET /renewal-info/{certID}` (unauthenticated, as RFC 9773 §4.2 has it).
pub(super) async fn renewal_info(
    State(state): State<Arc<AppState>>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let (base, _) = urls(&headers, &uri, &name);
    // A bad provisioner or certID is a 400; a well-formed id of no certificate here a 404.
    let found = match acme_provisioner(&state, &name).and_then(|_| parse_cert_id(&id)) {
        Ok(id) => certificate(&state, &id).await.map_err(|e| (e, true)),
        Err(e) => Err((e, false)),
    };
    let (record, _) = match found {
        Ok(f) => f,
        Err((e, lookup)) => {
            let unknown = lookup && e.problem() == ProblemType::Malformed;
            let mut r = respond(&state, &base, Err(e));
            if unknown {
                *r.status_mut() = StatusCode::NOT_FOUND;
            }
            return r;
        }
    };
    let revoked = matches!(record.status, CertificateStatus::Revoked);
    let (start, end, retry) = window(
        record.not_before,
        record.not_after,
        revoked,
        state.clock.now(),
    );
    let fmt = |t: OffsetDateTime| t.format(&Rfc3339).unwrap_or_default();
    let mut r = axum::Json(json!({
        "suggestedWindow": {"start": fmt(start), "end": fmt(end)}
    }))
    .into_response();
    r.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(retry));
    respond(&state, &base, Ok(r))
}

/// RFC 9773 §5: a new order's `replaces` must name a certificate issued here to the same
/// account, share at least one identifier with the order, and not be replaced by another
/// order already.
pub(super) async fn check_replaces(
    state: &AppState,
    acct: &AcmeAccount,
    cert_id: &str,
    dns: &[String],
    ips: &[IpAddr],
) -> Result<(), AcmeError> {
    let id = parse_cert_id(cert_id)?;
    let (record, der) = certificate(state, &id).await?;
    let owner = state
        .store
        .acme_account_of_certificate(&record.serial)
        .await
        .map_err(internal)?;
    if owner.as_deref() != Some(acct.id.as_str()) {
        return Err(AcmeError::new(
            ProblemType::Unauthorized,
            "the certificate in 'replaces' was not ordered by this account",
        ));
    }
    let names = super::lifecycle::presented_der(&der)
        .map_err(|e| internal(e.message()))?
        .sans;
    let shared = names.iter().any(|n| match n {
        San::Dns(d) => dns.iter().any(|x| x.eq_ignore_ascii_case(d)),
        San::Ip(ip) => ips.contains(ip),
        _ => false,
    });
    if !shared {
        return Err(AcmeError::malformed(
            "the certificate in 'replaces' shares no identifier with this order",
        ));
    }
    if state
        .store
        .acme_certificate_replaced(cert_id)
        .await
        .map_err(internal)?
    {
        return Err(AcmeError::new(
            ProblemType::AlreadyReplaced,
            "another order already replaces this certificate",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cert_ids_parse_as_rfc_9773_writes_them() {
        // RFC 9773 §4.1's example: keyIdentifier 69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4,
        // serial 00:87:65:43:21.
        let id = parse_cert_id("aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE").unwrap();
        assert_eq!(id.key_id.len(), 20);
        assert_eq!(id.key_id[0], 0x69);
        assert_eq!(id.serial_hex, "0087654321");
        for bad in ["", "abc", ".AIdlQyE", "aYhb.", "a*b.c", "aYhb.AIdl.QyE"] {
            assert!(parse_cert_id(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn windows_sit_in_the_fourth_sixth_of_the_life() {
        let nb = OffsetDateTime::UNIX_EPOCH;
        let na = nb + Duration::hours(24);
        let (s, e, retry) = window(nb, na, false, nb);
        assert_eq!(s, nb + Duration::hours(16));
        assert_eq!(e, nb + Duration::hours(20));
        assert_eq!(retry, 8640);
        let now = nb + Duration::hours(2);
        let (s, e, _) = window(nb, na, true, now);
        assert!(s < e && e < now);
        let (_, _, retry) = window(nb, nb + Duration::minutes(5), false, nb);
        assert_eq!(retry, 60);
        let (_, _, retry) = window(nb, nb + Duration::days(365), false, nb);
        assert_eq!(retry, 6 * 3600);
    }
}
