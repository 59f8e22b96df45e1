//! ACME errors as RFC 7807 problem documents (RFC 8555 §6.7).
//!
//! [`AcmeError`] is what the protocol functions of this module return: a [`ProblemType`] and a
//! detail that is safe to show to the client (it never quotes keys, MACs or nonces). The HTTP
//! layer turns it into a [`Problem`] with [`Problem::from`] and sends [`Problem::status`]; other
//! layers see it through [`crate::Error::Acme`] and [`AcmeError::kind`].

use serde::{Deserialize, Serialize};
use vouch_model::ErrorKind;

/// The ACME error types of RFC 8555 §6.7 (`urn:ietf:params:acme:error:*`).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemType {
    /// `badNonce`: the nonce is unknown, used, expired or forged.
    BadNonce,
    /// `malformed`: the request message is malformed.
    Malformed,
    /// `unauthorized`: the client lacks authorization.
    Unauthorized,
    /// `rejectedIdentifier`: the server will not issue for the identifier.
    RejectedIdentifier,
    /// `badCSR`: the CSR is unacceptable.
    BadCsr,
    /// `orderNotReady`: finalize on an order that is not ready.
    OrderNotReady,
    /// `accountDoesNotExist`: no account for this key (`onlyReturnExisting`, or unknown `kid`).
    AccountDoesNotExist,
    /// `externalAccountRequired`: the provisioner requires external account binding.
    ExternalAccountRequired,
    /// `alreadyRevoked`.
    AlreadyRevoked,
    /// `alreadyReplaced` (RFC 9773 §5): another order already replaces the certificate.
    AlreadyReplaced,
    /// `badRevocationReason`.
    BadRevocationReason,
    /// `rateLimited`.
    RateLimited,
    /// `serverInternal`.
    ServerInternal,
    /// `badPublicKey`: the JWS key is of an unsupported type or size.
    BadPublicKey,
    /// `badSignatureAlgorithm`: the JWS `alg` is not accepted (the problem lists the accepted ones).
    BadSignatureAlgorithm,
    /// `unsupportedIdentifier`.
    UnsupportedIdentifier,
    /// `connection`: the server could not connect to the validation target.
    Connection,
    /// `dns`: a DNS problem during validation.
    Dns,
    /// `incorrectResponse`: the challenge response was wrong.
    IncorrectResponse,
    /// `tls`: a TLS problem during validation.
    Tls,
    /// `userActionRequired`: e.g. new terms of service to agree to.
    UserActionRequired,
}

impl ProblemType {
    /// Every type, for tables and tests.
    pub const ALL: [ProblemType; 21] = [
        ProblemType::BadNonce,
        ProblemType::Malformed,
        ProblemType::Unauthorized,
        ProblemType::RejectedIdentifier,
        ProblemType::BadCsr,
        ProblemType::OrderNotReady,
        ProblemType::AccountDoesNotExist,
        ProblemType::ExternalAccountRequired,
        ProblemType::AlreadyRevoked,
        ProblemType::AlreadyReplaced,
        ProblemType::BadRevocationReason,
        ProblemType::RateLimited,
        ProblemType::ServerInternal,
        ProblemType::BadPublicKey,
        ProblemType::BadSignatureAlgorithm,
        ProblemType::UnsupportedIdentifier,
        ProblemType::Connection,
        ProblemType::Dns,
        ProblemType::IncorrectResponse,
        ProblemType::Tls,
        ProblemType::UserActionRequired,
    ];

    /// The type URN, e.g. `urn:ietf:params:acme:error:badNonce`.
    pub fn urn(&self) -> &'static str {
        match self {
            ProblemType::BadNonce => "urn:ietf:params:acme:error:badNonce",
            ProblemType::Malformed => "urn:ietf:params:acme:error:malformed",
            ProblemType::Unauthorized => "urn:ietf:params:acme:error:unauthorized",
            ProblemType::RejectedIdentifier => "urn:ietf:params:acme:error:rejectedIdentifier",
            ProblemType::BadCsr => "urn:ietf:params:acme:error:badCSR",
            ProblemType::OrderNotReady => "urn:ietf:params:acme:error:orderNotReady",
            ProblemType::AccountDoesNotExist => "urn:ietf:params:acme:error:accountDoesNotExist",
            ProblemType::ExternalAccountRequired => {
                "urn:ietf:params:acme:error:externalAccountRequired"
            }
            ProblemType::AlreadyRevoked => "urn:ietf:params:acme:error:alreadyRevoked",
            ProblemType::AlreadyReplaced => "urn:ietf:params:acme:error:alreadyReplaced",
            ProblemType::BadRevocationReason => "urn:ietf:params:acme:error:badRevocationReason",
            ProblemType::RateLimited => "urn:ietf:params:acme:error:rateLimited",
            ProblemType::ServerInternal => "urn:ietf:params:acme:error:serverInternal",
            ProblemType::BadPublicKey => "urn:ietf:params:acme:error:badPublicKey",
            ProblemType::BadSignatureAlgorithm => {
                "urn:ietf:params:acme:error:badSignatureAlgorithm"
            }
            ProblemType::UnsupportedIdentifier => {
                "urn:ietf:params:acme:error:unsupportedIdentifier"
            }
            ProblemType::Connection => "urn:ietf:params:acme:error:connection",
            ProblemType::Dns => "urn:ietf:params:acme:error:dns",
            ProblemType::IncorrectResponse => "urn:ietf:params:acme:error:incorrectResponse",
            ProblemType::Tls => "urn:ietf:params:acme:error:tls",
            ProblemType::UserActionRequired => "urn:ietf:params:acme:error:userActionRequired",
        }
    }

    /// The type for a URN ([`ProblemType::urn`] reversed).
    pub fn from_urn(urn: &str) -> Option<ProblemType> {
        ProblemType::ALL.into_iter().find(|t| t.urn() == urn)
    }

    /// The HTTP status the problem is normally sent with.
    ///
    /// RFC 8555 fixes few of them (§6.5 badNonce 400, §7.3.3 userActionRequired 403, §7.4
    /// orderNotReady 403, §6.6 rateLimited 429); the rest follow Boulder and Pebble: 400 for
    /// what the client sent, 403 for authorization failures, 500 for our own faults.
    /// Validation errors (connection, dns, tls, incorrectResponse) normally travel inside a
    /// challenge object, not as a response; 400 is for the rare case they are sent directly.
    pub fn status(&self) -> u16 {
        match self {
            ProblemType::Unauthorized
            | ProblemType::OrderNotReady
            | ProblemType::UserActionRequired => 403,
            ProblemType::RateLimited => 429,
            ProblemType::AlreadyReplaced => 409,
            ProblemType::ServerInternal => 500,
            ProblemType::BadNonce
            | ProblemType::Malformed
            | ProblemType::RejectedIdentifier
            | ProblemType::BadCsr
            | ProblemType::AccountDoesNotExist
            | ProblemType::ExternalAccountRequired
            | ProblemType::AlreadyRevoked
            | ProblemType::BadRevocationReason
            | ProblemType::BadPublicKey
            | ProblemType::BadSignatureAlgorithm
            | ProblemType::UnsupportedIdentifier
            | ProblemType::Connection
            | ProblemType::Dns
            | ProblemType::IncorrectResponse
            | ProblemType::Tls => 400,
        }
    }

    /// The crate-neutral kind ([`vouch_model::ErrorKind`]).
    pub fn kind(&self) -> ErrorKind {
        match self {
            ProblemType::BadNonce
            | ProblemType::Malformed
            | ProblemType::BadRevocationReason
            | ProblemType::BadPublicKey
            | ProblemType::BadSignatureAlgorithm
            | ProblemType::UnsupportedIdentifier => ErrorKind::Malformed,
            ProblemType::Unauthorized
            | ProblemType::ExternalAccountRequired
            | ProblemType::Connection
            | ProblemType::Dns
            | ProblemType::IncorrectResponse
            | ProblemType::Tls => ErrorKind::Unauthorized,
            ProblemType::OrderNotReady | ProblemType::UserActionRequired => ErrorKind::Forbidden,
            ProblemType::RejectedIdentifier => ErrorKind::PolicyForbids,
            ProblemType::BadCsr => ErrorKind::BadCsr,
            ProblemType::AccountDoesNotExist => ErrorKind::NotFound,
            ProblemType::AlreadyRevoked => ErrorKind::AlreadyRevoked,
            ProblemType::AlreadyReplaced => ErrorKind::Conflict,
            ProblemType::RateLimited => ErrorKind::RateLimited,
            ProblemType::ServerInternal => ErrorKind::Internal,
        }
    }
}

impl Serialize for ProblemType {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.urn())
    }
}

impl<'de> Deserialize<'de> for ProblemType {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let urn = String::deserialize(d)?;
        ProblemType::from_urn(&urn)
            .ok_or_else(|| serde::de::Error::custom("unknown ACME problem type"))
    }
}

/// An ACME protocol failure: the problem type and a detail safe to show the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {detail}", problem.urn())]
pub struct AcmeError {
    problem: ProblemType,
    detail: String,
    subproblems: Vec<SubProblem>,
}

impl AcmeError {
    /// A failure of type `problem`; `detail` is shown to the client, so never put secrets in it.
    pub fn new(problem: ProblemType, detail: impl Into<String>) -> Self {
        AcmeError {
            problem,
            detail: detail.into(),
            subproblems: Vec::new(),
        }
    }

    /// Attach per-identifier problems (RFC 8555 §6.7.1).
    pub fn with_subproblems(mut self, subproblems: Vec<SubProblem>) -> Self {
        self.subproblems = subproblems;
        self
    }

    /// The per-identifier problems.
    pub fn subproblems(&self) -> &[SubProblem] {
        &self.subproblems
    }

    /// `malformed` with `detail`.
    pub fn malformed(detail: impl Into<String>) -> Self {
        AcmeError::new(ProblemType::Malformed, detail)
    }

    /// `unauthorized` with `detail`.
    pub fn unauthorized(detail: impl Into<String>) -> Self {
        AcmeError::new(ProblemType::Unauthorized, detail)
    }

    /// `badNonce` with `detail`.
    pub fn bad_nonce(detail: impl Into<String>) -> Self {
        AcmeError::new(ProblemType::BadNonce, detail)
    }

    /// The ACME problem type.
    pub fn problem(&self) -> ProblemType {
        self.problem
    }

    /// The client-safe detail.
    pub fn detail(&self) -> &str {
        &self.detail
    }

    /// The crate-neutral kind.
    pub fn kind(&self) -> ErrorKind {
        self.problem.kind()
    }
}

/// An identifier a subproblem is about (RFC 8555 §7.1.3 `identifier`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProblemIdentifier {
    /// `dns` or `ip`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The name or address.
    pub value: String,
}

/// One entry of `subproblems` (RFC 8555 §6.7.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubProblem {
    /// The problem type.
    #[serde(rename = "type")]
    pub type_: ProblemType,
    /// Client-safe detail.
    pub detail: String,
    /// The identifier concerned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identifier: Option<ProblemIdentifier>,
}

/// An RFC 7807 problem document (`application/problem+json`) as ACME uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// The problem type (serialised as its URN).
    #[serde(rename = "type")]
    pub type_: ProblemType,
    /// Client-safe detail.
    pub detail: String,
    /// The HTTP status the document is sent with.
    pub status: u16,
    /// Per-identifier problems (RFC 8555 §6.7.1); omitted when empty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subproblems: Vec<SubProblem>,
    /// For `badSignatureAlgorithm`: the accepted `alg` values (RFC 8555 §6.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub algorithms: Option<Vec<String>>,
}

impl Problem {
    /// A problem of `type_` with its usual status.
    pub fn new(type_: ProblemType, detail: impl Into<String>) -> Self {
        Problem {
            type_,
            detail: detail.into(),
            status: type_.status(),
            subproblems: Vec::new(),
            algorithms: (type_ == ProblemType::BadSignatureAlgorithm).then(|| {
                super::jws::JwsAlg::ALL
                    .iter()
                    .map(|a| a.name().to_owned())
                    .collect()
            }),
        }
    }

    /// Add a subproblem.
    pub fn with_subproblem(mut self, sub: SubProblem) -> Self {
        self.subproblems.push(sub);
        self
    }
}

impl From<&AcmeError> for Problem {
    fn from(e: &AcmeError) -> Self {
        let mut p = Problem::new(e.problem, e.detail.clone());
        p.subproblems = e.subproblems.clone();
        p
    }
}

impl From<AcmeError> for Problem {
    fn from(e: AcmeError) -> Self {
        Problem::from(&e)
    }
}
