//! ACME orders and authorizations (RFC 8555 §7.4, §7.5): `new-order`, reading an order, an
//! authorization and an account's order list with POST-as-GET, deactivating an
//! authorization.
//!
//! A new order checks its identifiers (DNS names, wildcards, IP addresses) against the
//! authority's and the provisioner's name policies before anything is stored, so a refused
//! name never leaves an order behind. A still-valid authorization of the same account for
//! the same identifier is reused; the rest are created with one challenge of each type that
//! fits the identifier (a wildcard can only be proven with dns-01). Everything an order needs
//! is written in one transaction.

use std::net::IpAddr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};
use time::format_description::well_known::Rfc3339;
use time::{Duration, OffsetDateTime};
use vouch_model::Names;
use vouch_registration::{AcmeError, ProblemIdentifier, ProblemType, SubProblem};
use vouch_storage::{
    AcmeAuthorization, AcmeChallenge, AcmeChallengeStatus, AcmeChallengeType, AcmeIdentifier,
    AcmeOrder, AcmeOrderStatus, NewAcmeOrder, NewAuthorization, NewChallenge,
};

use super::acme::{authenticate_account, internal, random_id, respond, urls};
use super::state::AppState;

/// How long a new order and its new authorizations stay open.
const ORDER_LIFETIME: Duration = Duration::hours(24);
/// Most identifiers in one order.
const MAX_IDENTIFIERS: usize = 100;

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// One identifier of a new order, checked: its stored form and whether it is a wildcard.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Checked {
    kind: &'static str,
    /// Lower-case, without a leading `*.`.
    value: String,
    wildcard: bool,
}

impl Checked {
    /// The name as a certificate carries it (`*.base` for a wildcard).
    fn name(&self) -> String {
        if self.wildcard {
            format!("*.{}", self.value)
        } else {
            self.value.clone()
        }
    }
}

/// The authority's and the provisioner's name policies for one identifier.
fn allowed_by_policy(
    authority: &super::state::Authority,
    provisioner: &str,
    c: &Checked,
) -> Result<(), AcmeError> {
    let dns = if c.kind == "dns" {
        vec![c.name()]
    } else {
        Vec::new()
    };
    let ips: Vec<IpAddr> = c
        .value
        .parse()
        .ok()
        .filter(|_| c.kind == "ip")
        .into_iter()
        .collect();
    for policy in authority.policies(provisioner) {
        policy
            .check(&Names {
                dns: &dns,
                ips: &ips,
                ..Names::default()
            })
            .map_err(|v| {
                AcmeError::new(
                    ProblemType::RejectedIdentifier,
                    format!("'{}' is not allowed: {}", v.name, v.reason),
                )
            })?;
    }
    Ok(())
}

/// Check one requested identifier (RFC 8555 §7.1.4, RFC 8738 for IP addresses).
fn check_identifier(kind: &str, value: &str) -> Result<Checked, AcmeError> {
    let reject = |why: &str| {
        AcmeError::new(
            ProblemType::RejectedIdentifier,
            format!("identifier '{value}': {why}"),
        )
    };
    match kind {
        "dns" => {
            let lower = value.to_ascii_lowercase();
            let (wildcard, base) = match lower.strip_prefix("*.") {
                Some(rest) => (true, rest.to_owned()),
                None => (false, lower),
            };
            if base.parse::<IpAddr>().is_ok() {
                return Err(reject("an IP address must use the type 'ip'"));
            }
            if base.is_empty() || base.len() > 253 || base.ends_with('.') {
                return Err(reject("not a DNS name"));
            }
            for label in base.split('.') {
                let ok = !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-');
                if !ok {
                    return Err(reject("not a DNS name"));
                }
            }
            Ok(Checked {
                kind: "dns",
                value: base,
                wildcard,
            })
        }
        "ip" => {
            let ip: IpAddr = value.parse().map_err(|_| reject("not an IP address"))?;
            Ok(Checked {
                kind: "ip",
                value: ip.to_string(),
                wildcard: false,
            })
        }
        other => Err(AcmeError::new(
            ProblemType::UnsupportedIdentifier,
            format!("identifier type '{other}' is not supported (use dns or ip)"),
        )),
    }
}

/// The challenge types offered for an identifier: a wildcard can only be proven with dns-01
/// (RFC 8555 §7.1.3), an IP address not with dns-01 (RFC 8738 §7).
fn challenge_types(c: &Checked) -> Vec<AcmeChallengeType> {
    if c.wildcard {
        vec![AcmeChallengeType::Dns01]
    } else if c.kind == "ip" {
        vec![AcmeChallengeType::Http01, AcmeChallengeType::TlsAlpn01]
    } else {
        vec![
            AcmeChallengeType::Http01,
            AcmeChallengeType::Dns01,
            AcmeChallengeType::TlsAlpn01,
        ]
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewOrderRequest {
    identifiers: Vec<IdentifierJson>,
    #[serde(default)]
    not_before: Option<String>,
    #[serde(default)]
    not_after: Option<String>,
    #[serde(default)]
    replaces: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IdentifierJson {
    #[serde(rename = "type")]
    kind: String,
    value: String,
}

fn parse_time(field: &str, value: Option<&str>) -> Result<Option<OffsetDateTime>, AcmeError> {
    value
        .map(|v| {
            OffsetDateTime::parse(v, &Rfc3339)
                .map_err(|_| AcmeError::malformed(format!("{field} is not an RFC 3339 time")))
        })
        .transpose()
}

pub(super) fn order_json(base: &str, o: &AcmeOrder) -> Value {
    let mut v = json!({
        "status": o.status.as_str(),
        "expires": rfc3339(o.expires_at),
        "identifiers": o.identifiers.iter()
            .map(|i| json!({"type": i.kind, "value": i.value}))
            .collect::<Vec<_>>(),
        "authorizations": o.authorizations.iter()
            .map(|a| format!("{base}/authz/{a}"))
            .collect::<Vec<_>>(),
        "finalize": format!("{base}/order/{}/finalize", o.id),
    });
    if let Some(t) = o.not_before {
        v["notBefore"] = json!(rfc3339(t));
    }
    if let Some(t) = o.not_after {
        v["notAfter"] = json!(rfc3339(t));
    }
    if o.certificate_serial.is_some() {
        v["certificate"] = json!(format!("{base}/certificate/{}", o.id));
    }
    if let Some(e) = o.error.as_deref()
        && let Ok(e) = serde_json::from_str::<Value>(e)
    {
        v["error"] = e;
    }
    if let Some(r) = &o.replaces {
        v["replaces"] = json!(r);
    }
    v
}

pub(super) fn challenge_json(base: &str, c: &AcmeChallenge) -> Value {
    let mut v = json!({
        "type": c.kind.as_str(),
        "url": format!("{base}/challenge/{}", c.id),
        "token": c.token,
        "status": c.status.as_str(),
    });
    if let Some(t) = c.validated_at {
        v["validated"] = json!(rfc3339(t));
    }
    if let Some(e) = c.error.as_deref()
        && let Ok(e) = serde_json::from_str::<Value>(e)
    {
        v["error"] = e;
    }
    v
}

fn authz_json(base: &str, a: &AcmeAuthorization) -> Value {
    let challenges: Vec<Value> = a
        .challenges
        .iter()
        .map(|c| challenge_json(base, c))
        .collect();
    let mut v = json!({
        "status": a.status.as_str(),
        "expires": rfc3339(a.expires_at),
        "identifier": {"type": a.identifier_type, "value": a.identifier_value},
        "challenges": challenges,
    });
    if a.wildcard {
        v["wildcard"] = json!(true);
    }
    v
}

/// `POST /new-order`.
pub(super) async fn new_order(
    State(state): State<Arc<AppState>>,
    Path(name): Path<String>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let (base, url) = urls(&headers, &uri, &name);
    respond(
        &state,
        &base,
        new_order_inner(&state, &name, &base, &url, &body).await,
    )
}

async fn new_order_inner(
    state: &AppState,
    name: &str,
    base: &str,
    url: &str,
    body: &[u8],
) -> Result<Response, AcmeError> {
    let (jws, acct) = authenticate_account(state, name, base, url, body).await?;
    let req: NewOrderRequest = jws.payload_json()?;
    if req.identifiers.is_empty() || req.identifiers.len() > MAX_IDENTIFIERS {
        return Err(AcmeError::malformed(format!(
            "an order needs 1 to {MAX_IDENTIFIERS} identifiers"
        )));
    }
    // Every identifier is checked (syntax, then the authority's and the provisioner's name
    // policies) before anything is stored; each refusal becomes a subproblem.
    let authority = state.authority();
    let mut checked: Vec<Checked> = Vec::with_capacity(req.identifiers.len());
    let mut refused: Vec<SubProblem> = Vec::new();
    for i in &req.identifiers {
        match check_identifier(&i.kind, &i.value).and_then(|c| {
            allowed_by_policy(&authority, name, &c)?;
            Ok(c)
        }) {
            Ok(c) if !checked.contains(&c) => checked.push(c),
            Ok(_) => {}
            Err(e) => refused.push(SubProblem {
                type_: e.problem(),
                detail: e.detail().to_owned(),
                identifier: Some(ProblemIdentifier {
                    type_: i.kind.clone(),
                    value: i.value.clone(),
                }),
            }),
        }
    }
    if let Some(first) = refused.first() {
        let same = refused.iter().all(|r| r.type_ == first.type_);
        let e = if refused.len() == 1 {
            AcmeError::new(first.type_, first.detail.clone())
        } else {
            AcmeError::new(
                if same {
                    first.type_
                } else {
                    ProblemType::Malformed
                },
                format!(
                    "{} identifiers were refused (see subproblems)",
                    refused.len()
                ),
            )
        };
        return Err(e.with_subproblems(refused));
    }
    let not_before = parse_time("notBefore", req.not_before.as_deref())?;
    let not_after = parse_time("notAfter", req.not_after.as_deref())?;
    if let (Some(nb), Some(na)) = (not_before, not_after)
        && nb >= na
    {
        return Err(AcmeError::malformed("notBefore must be before notAfter"));
    }
    // The requested validity must fit the provisioner's claims now, not only at finalize.
    if not_before.is_some() || not_after.is_some() {
        let claims = match authority
            .config
            .authority
            .provisioners
            .iter()
            .find(|p| p.name() == name)
        {
            Some(p) => vouch_model::EffectiveClaims::resolve(
                &authority.config.authority.claims,
                p.claims(),
            ),
            None => return Err(AcmeError::malformed("no such ACME provisioner")),
        };
        super::sign::validity(
            &claims,
            authority.config.authority.backdate(),
            req.not_before.as_deref(),
            req.not_after.as_deref(),
            state.clock.now(),
        )
        .map_err(|e| AcmeError::malformed(e.message().to_owned()))?;
    }
    let dns: Vec<String> = checked
        .iter()
        .filter(|c| c.kind == "dns")
        .map(Checked::name)
        .collect();
    let ips: Vec<IpAddr> = checked
        .iter()
        .filter_map(|c| c.value.parse().ok().filter(|_| c.kind == "ip"))
        .collect();
    if let Some(replaces) = &req.replaces {
        super::acme_ari::check_replaces(state, &acct, replaces, &dns, &ips).await?;
    }
    let now = state.clock.now();
    let expires_at = now + ORDER_LIFETIME;
    let mut authorizations = Vec::new();
    let mut reuse = Vec::new();
    for c in &checked {
        if let Some(a) = state
            .store
            .find_valid_authorization(&acct.id, c.kind, &c.value, c.wildcard, now)
            .await
            .map_err(internal)?
        {
            reuse.push(a.id);
            continue;
        }
        let mut challenges = Vec::new();
        for kind in challenge_types(c) {
            challenges.push(NewChallenge {
                id: random_id()?,
                kind,
                token: format!("{}{}", random_id()?, random_id()?),
            });
        }
        authorizations.push(NewAuthorization {
            id: random_id()?,
            identifier_type: c.kind.to_owned(),
            identifier_value: c.value.clone(),
            wildcard: c.wildcard,
            expires_at,
            challenges,
        });
    }
    let identifiers = checked
        .iter()
        .map(|c| AcmeIdentifier {
            kind: c.kind.to_owned(),
            value: if c.wildcard {
                format!("*.{}", c.value)
            } else {
                c.value.clone()
            },
        })
        .collect();
    let order = state
        .store
        .create_acme_order(&NewAcmeOrder {
            id: random_id()?,
            account_id: acct.id.clone(),
            provisioner: name.to_owned(),
            identifiers,
            not_before,
            not_after,
            expires_at,
            replaces: req.replaces,
            authorizations,
            reuse,
        })
        .await
        .map_err(|e| match e.kind() {
            vouch_model::ErrorKind::Malformed => AcmeError::malformed(e.to_string()),
            _ => internal(e),
        })?;
    let location = format!("{base}/order/{}", order.id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        axum::Json(order_json(base, &order)),
    )
        .into_response())
}

/// A missing or foreign record: `malformed`, the same answer for both so that ids of other
/// accounts cannot be probed.
pub(super) fn not_found(what: &str) -> AcmeError {
    AcmeError::malformed(format!("no such {what}"))
}

/// Look a stored id up; an id the store refuses as malformed is simply not found.
pub(super) fn lookup_error(what: &'static str) -> impl Fn(vouch_storage::Error) -> AcmeError {
    move |e| match e.kind() {
        vouch_model::ErrorKind::Malformed => not_found(what),
        _ => internal(e),
    }
}

/// The order of this account, or "no such order" (also for another account's).
pub(super) async fn own_order(
    state: &AppState,
    id: &str,
    account: &str,
) -> Result<AcmeOrder, AcmeError> {
    state
        .store
        .get_acme_order(id)
        .await
        .map_err(lookup_error("order"))?
        .filter(|o| o.account_id == account)
        .ok_or_else(|| not_found("order"))
}

/// `POST /order/{id}` (POST-as-GET).
pub(super) async fn order(
    State(state): State<Arc<AppState>>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let (base, url) = urls(&headers, &uri, &name);
    respond(
        &state,
        &base,
        order_inner(&state, &name, &base, &url, &id, &body).await,
    )
}

async fn order_inner(
    state: &AppState,
    name: &str,
    base: &str,
    url: &str,
    id: &str,
    body: &[u8],
) -> Result<Response, AcmeError> {
    let (jws, acct) = authenticate_account(state, name, base, url, body).await?;
    if !jws.is_post_as_get() {
        return Err(AcmeError::malformed("an order is read with POST-as-GET"));
    }
    let order = own_order(state, id, &acct.id).await?;
    let busy = order.status == AcmeOrderStatus::Processing;
    Ok(retry_soon(
        axum::Json(order_json(base, &order)).into_response(),
        busy,
    ))
}

/// RFC 8555 §7.4, §8.2: a resource still being worked on says when to look again.
pub(super) fn retry_soon(mut r: Response, busy: bool) -> Response {
    if busy {
        r.headers_mut()
            .insert(header::RETRY_AFTER, axum::http::HeaderValue::from(1));
    }
    r
}

#[derive(Debug, Deserialize)]
struct AuthzUpdate {
    #[serde(default)]
    status: Option<String>,
}

/// `POST /authz/{id}`: POST-as-GET reads it, `{"status": "deactivated"}` deactivates it.
pub(super) async fn authz(
    State(state): State<Arc<AppState>>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let (base, url) = urls(&headers, &uri, &name);
    respond(
        &state,
        &base,
        authz_inner(&state, &name, &base, &url, &id, &body).await,
    )
}

async fn authz_inner(
    state: &AppState,
    name: &str,
    base: &str,
    url: &str,
    id: &str,
    body: &[u8],
) -> Result<Response, AcmeError> {
    let (jws, acct) = authenticate_account(state, name, base, url, body).await?;
    let a = state
        .store
        .get_acme_authorization(id)
        .await
        .map_err(lookup_error("authorization"))?
        .filter(|a| a.account_id == acct.id)
        .ok_or_else(|| not_found("authorization"))?;
    if jws.is_post_as_get() {
        let busy = a
            .challenges
            .iter()
            .any(|c| c.status == AcmeChallengeStatus::Processing);
        return Ok(retry_soon(
            axum::Json(authz_json(base, &a)).into_response(),
            busy,
        ));
    }
    // RFC 8555 §7.5.2: the only change a client may ask for is deactivation.
    let update: AuthzUpdate = jws.payload_json()?;
    if update.status.as_deref() != Some("deactivated") {
        return Err(AcmeError::malformed(
            "an authorization can only be set to deactivated",
        ));
    }
    if !state
        .store
        .deactivate_authorization(id)
        .await
        .map_err(internal)?
    {
        return Err(AcmeError::malformed(format!(
            "an authorization that is {} cannot be deactivated",
            a.status
        )));
    }
    let a = state
        .store
        .get_acme_authorization(id)
        .await
        .map_err(internal)?
        .unwrap_or(a);
    Ok(axum::Json(authz_json(base, &a)).into_response())
}

/// `POST /account/{id}/orders` (POST-as-GET): the account's order URLs.
pub(super) async fn orders(
    State(state): State<Arc<AppState>>,
    Path((name, id)): Path<(String, String)>,
    headers: HeaderMap,
    OriginalUri(uri): OriginalUri,
    body: Bytes,
) -> Response {
    let (base, url) = urls(&headers, &uri, &name);
    respond(
        &state,
        &base,
        orders_inner(&state, &name, &base, &url, &id, &body).await,
    )
}

async fn orders_inner(
    state: &AppState,
    name: &str,
    base: &str,
    url: &str,
    id: &str,
    body: &[u8],
) -> Result<Response, AcmeError> {
    let (jws, acct) = authenticate_account(state, name, base, url, body).await?;
    if acct.id != id {
        return Err(AcmeError::unauthorized("the kid is not this account"));
    }
    if !jws.is_post_as_get() {
        return Err(AcmeError::malformed(
            "the order list is read with POST-as-GET",
        ));
    }
    let list = state
        .store
        .list_acme_orders(&acct.id)
        .await
        .map_err(internal)?;
    let urls: Vec<String> = list
        .iter()
        .map(|o| format!("{base}/order/{}", o.id))
        .collect();
    Ok(axum::Json(json!({ "orders": urls })).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_are_checked_and_normalised() {
        let c = check_identifier("dns", "*.Example.COM").unwrap();
        assert_eq!(
            c,
            Checked {
                kind: "dns",
                value: "example.com".into(),
                wildcard: true
            }
        );
        assert_eq!(challenge_types(&c), vec![AcmeChallengeType::Dns01]);
        let ip = check_identifier("ip", "::1").unwrap();
        assert_eq!(ip.value, "::1");
        assert_eq!(
            challenge_types(&ip),
            vec![AcmeChallengeType::Http01, AcmeChallengeType::TlsAlpn01]
        );
        let name = check_identifier("dns", "a.test").unwrap();
        assert_eq!(challenge_types(&name).len(), 3);
        for bad in [
            "",
            "a..b",
            "-a.com",
            "a.com.",
            "*.*.a.com",
            "a_b.com",
            "127.0.0.1",
        ] {
            let e = check_identifier("dns", bad).unwrap_err();
            assert_eq!(e.problem(), ProblemType::RejectedIdentifier, "{bad}");
        }
        assert!(check_identifier("ip", "300.1.1.1").is_err());
        let e = check_identifier("email", "a@b").unwrap_err();
        assert_eq!(e.problem(), ProblemType::UnsupportedIdentifier);
    }
}
