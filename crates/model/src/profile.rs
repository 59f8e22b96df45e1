//! Certificate profiles: which RFC 5280 extensions a certificate of each role carries.

use std::fmt;
use std::str::FromStr;

/// The role of a certificate, which fixes its basic constraints, key usage and EKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// An end-entity TLS certificate: digitalSignature (+keyEncipherment for RSA),
    /// serverAuth+clientAuth, CA:false.
    Leaf,
    /// A CA that issues leaves only: CA:true, pathLen 0, keyCertSign+cRLSign.
    IntermediateCa,
    /// A self-signed trust anchor: CA:true, pathLen 1, keyCertSign+cRLSign.
    RootCa,
    /// A self-signed end-entity certificate (a leaf that is its own issuer).
    SelfSigned,
}

impl Profile {
    /// Whether the certificate is a CA.
    pub fn is_ca(self) -> bool {
        matches!(self, Profile::IntermediateCa | Profile::RootCa)
    }

    /// Whether the certificate is signed by its own key.
    pub fn is_self_signed(self) -> bool {
        matches!(self, Profile::RootCa | Profile::SelfSigned)
    }

    /// The path length constraint of a CA profile.
    pub fn path_len(self) -> Option<u8> {
        match self {
            Profile::RootCa => Some(1),
            Profile::IntermediateCa => Some(0),
            Profile::Leaf | Profile::SelfSigned => None,
        }
    }

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Profile::Leaf => "leaf",
            Profile::IntermediateCa => "intermediate-ca",
            Profile::RootCa => "root-ca",
            Profile::SelfSigned => "self-signed",
        }
    }
}

impl fmt::Display for Profile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Profile {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "leaf" => Ok(Profile::Leaf),
            "intermediate-ca" | "intermediate" => Ok(Profile::IntermediateCa),
            "root-ca" | "root" => Ok(Profile::RootCa),
            "self-signed" => Ok(Profile::SelfSigned),
            other => Err(format!(
                "unknown profile '{other}' (expected leaf, intermediate-ca, root-ca or self-signed)"
            )),
        }
    }
}
