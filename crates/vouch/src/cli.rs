//! The command-line interface (clap derive). Every prompt has a flag; prompts appear only on
//! a terminal.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Vouch: a private certificate authority and certificate manager.
#[derive(Debug, Parser)]
#[command(name = "vouch", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the online CA (step-ca compatible HTTPS API) from $VOUCH_HOME.
    #[command(
        after_help = "Examples:\n  vouch serve --password-file ca-password.txt\n  VOUCH_PASSWORD_FILE=/run/secrets/ca-password vouch serve --log-format json\n  vouch serve --acme-http-port 8080 --acme-resolve app.lab=10.0.0.7   # ACME validation in a lab\n  vouch serve --acme-resolver 10.0.0.53:53 --acme-tls-port 8443       # dns-01 via a lab DNS server"
    )]
    Serve(ServeArgs),
    /// Create a new PKI (root, intermediate, first provisioner, config, database) in $VOUCH_HOME.
    #[command(after_help = INIT_EXAMPLES)]
    Init(Box<InitArgs>),
    /// Offline certificate tools: create, sign, inspect, fingerprint, verify.
    #[command(subcommand)]
    Cert(CertCommand),
    /// Offline private key tools.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Manage a CA.
    #[command(subcommand)]
    Ca(CaCommand),
    /// A standalone OCSP responder fed by CRLs.
    #[command(subcommand)]
    Ocsp(OcspCommand),
    /// Load generator: drive a running CA (or cfssl) over keep-alive connections and report
    /// requests/s, latency percentiles, errors and the server's CPU time.
    #[command(after_help = BENCH_EXAMPLES)]
    Bench(BenchArgs),
}

const BENCH_EXAMPLES: &str = "Examples:
  vouch bench --mode sign --url https://127.0.0.1:9443 --root root_ca.crt \\
      --password-file prov-pw.txt --connections 16 --duration 10 --server-pid $(pidof vouch)
  vouch bench --mode renew --url https://127.0.0.1:9443 --root root_ca.crt --cert svc.crt --key svc.key
  vouch bench --mode ocsp-post --url http://127.0.0.1:9080/ocsp --ocsp-request req.der
  vouch bench --mode cfssl-sign --url http://127.0.0.1:8888 --connections 16
  vouch bench --mode floor --duration 3      # CPU of 2 P-256 verifications + 1 signature";

/// What `vouch bench` drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchMode {
    /// `POST /1.0/sign` with a fresh one-time token per request (minted in advance).
    Sign,
    /// `POST /1.0/renew` over mTLS with `--cert`/`--key`.
    Renew,
    /// OCSP POST of `--ocsp-request` to `--url`.
    OcspPost,
    /// OCSP GET (`--url`/base64(request)).
    OcspGet,
    /// cfssl's `POST /api/v1/cfssl/sign` (unauthenticated), for comparison.
    CfsslSign,
    /// No server: the CPU time of two P-256 verifications and one P-256 signature, the least
    /// a token-authenticated issuance must do, and what a third verification (Vouch's check of
    /// each signed certificate) adds to it.
    Floor,
}

/// `vouch bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// What to drive.
    #[arg(long, value_enum)]
    pub mode: BenchMode,
    /// The CA's base URL (`https://host:port`), the OCSP URL, or cfssl's base URL.
    #[arg(long, default_value = "")]
    pub url: String,
    /// Concurrent keep-alive connections.
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// The root to trust for https URLs.
    #[arg(long, value_name = "FILE")]
    pub root: Option<PathBuf>,
    /// sign: the JWK provisioner (when the CA has several).
    #[arg(long)]
    pub provisioner: Option<String>,
    /// sign: the provisioner key's password file.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// sign: most tokens to mint in advance (the run stops early when they are used up).
    #[arg(long, default_value_t = 200_000)]
    pub max_tokens: usize,
    /// renew: the client certificate (PEM chain).
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// renew: its private key (unencrypted PEM).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// ocsp-*: a DER OCSP request (e.g. from `openssl ocsp -reqout`).
    #[arg(long, value_name = "FILE")]
    pub ocsp_request: Option<PathBuf>,
    /// The server's process id: report its CPU seconds (from /proc) for the run.
    #[arg(long, value_name = "PID")]
    pub server_pid: Option<u32>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
}

const INIT_EXAMPLES: &str = "Examples:
  vouch init --name Acme --dns ca.acme.test --address 127.0.0.1:9443 \\
      --provisioner admin@acme.test --password-file pw.txt
  vouch init ... --root existing_root.crt --key existing_root.key --root-password-file rootpw.txt
  vouch init ... --external-root root.crt      # then: vouch ca install-intermediate signed.crt";

/// `vouch serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// File holding the intermediate key's password.
    #[arg(long, value_name = "FILE", env = "VOUCH_PASSWORD_FILE")]
    pub password_file: Option<PathBuf>,
    /// Listen here instead of the configured address (host:port).
    #[arg(long)]
    pub address: Option<String>,
    /// Log format.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Serve Prometheus metrics at http://ADDR/metrics (a separate, plain-HTTP listener).
    #[arg(long, value_name = "ADDR")]
    pub metrics_address: Option<String>,
    /// Serve the CRL over plain HTTP here (overrides insecureAddress in ca.toml).
    #[arg(long, value_name = "ADDR")]
    pub insecure_address: Option<String>,
    /// The port ACME http-01 validation connects to [default: 80, or acme.httpPort].
    #[arg(long, value_name = "PORT")]
    pub acme_http_port: Option<u16>,
    /// The port ACME tls-alpn-01 validation connects to [default: 443, or acme.tlsPort].
    #[arg(long, value_name = "PORT")]
    pub acme_tls_port: Option<u16>,
    /// The DNS server for dns-01 and for identifiers' addresses [default: the system's, or
    /// acme.resolver].
    #[arg(long, value_name = "ADDR:PORT")]
    pub acme_resolver: Option<std::net::SocketAddr>,
    /// Validate ACME challenges for NAME at ADDR instead of its DNS answer (repeatable;
    /// `*.lab.test=10.0.0.7` covers every name under lab.test; adds to acme.resolve).
    #[arg(long, value_name = "NAME=ADDR", value_parser = parse_resolve)]
    pub acme_resolve: Vec<(String, std::net::IpAddr)>,
}

/// `NAME=ADDR` of `--acme-resolve`.
fn parse_resolve(s: &str) -> Result<(String, std::net::IpAddr), String> {
    let (name, addr) = s
        .split_once('=')
        .ok_or_else(|| format!("'{s}' is not NAME=ADDR"))?;
    if name.is_empty() {
        return Err(format!("'{s}' has no name"));
    }
    let ip = addr
        .parse()
        .map_err(|_| format!("'{addr}' is not an IP address"))?;
    Ok((name.to_ascii_lowercase(), ip))
}

/// `vouch ca certificate`.
#[derive(Debug, Args)]
pub struct CertificateArgs {
    /// The subject (common name).
    pub subject: String,
    /// Where to write the certificate chain (PEM).
    pub crt_file: PathBuf,
    /// Where to write the new private key (PKCS#8 PEM, mode 0600).
    pub key_file: PathBuf,
    /// A name for the certificate (default: the subject). Repeatable.
    #[arg(long = "san", value_name = "NAME")]
    pub sans: Vec<String>,
    /// Start of validity: RFC 3339 or a duration from now.
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub not_before: Option<String>,
    /// End of validity: RFC 3339 or a duration from now (default: the provisioner's).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub not_after: Option<String>,
    /// Key type flags.
    #[command(flatten)]
    pub key: KeyArgs,
    /// The token.
    #[command(flatten)]
    pub token: TokenSource,
    /// Where the CA is.
    #[command(flatten)]
    pub target: CaTarget,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

/// `vouch ca provisioner ...`.
#[derive(Debug, Subcommand)]
pub enum ProvisionerCommand {
    /// List the configured provisioners.
    List,
    /// Add a provisioner: a new JWK key pair, or an existing (step-made) public JWK.
    #[command(
        after_help = "Examples:\n  vouch ca provisioner add ops@acme.test --password-file prov-pw.txt\n  vouch ca provisioner add step-cli --public-key key.pub.jwk --private-key key.priv.jwk\n  vouch ca provisioner add acme --type ACME"
    )]
    Add {
        /// Unique name (the `iss` of its tokens).
        name: String,
        /// Provisioner type.
        #[arg(long = "type", default_value = "JWK")]
        kind: String,
        /// An existing public JWK (JSON file) instead of a new key.
        #[arg(long, value_name = "JWK_FILE")]
        public_key: Option<PathBuf>,
        /// Its private key, JWE-encrypted (step's .jwk file: compact or JSON serialization).
        #[arg(long, value_name = "JWE_FILE", requires = "public_key")]
        private_key: Option<PathBuf>,
        /// Password that encrypts a new key (or checks --private-key).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// ACME: new accounts need an external account binding.
        #[arg(long)]
        require_eab: bool,
    },
    /// Remove a provisioner.
    Remove {
        /// Its name.
        name: String,
    },
}

/// `vouch ca acme ...`.
#[derive(Debug, Subcommand)]
pub enum AcmeCommand {
    /// External account binding keys of an ACME provisioner (in the CA's database; a running
    /// server sees changes at once).
    #[command(subcommand)]
    Eab(EabCommand),
}

/// `vouch ca acme eab ...`.
#[derive(Debug, Subcommand)]
pub enum EabCommand {
    /// Make a new EAB key; prints its kid and HMAC key (base64url) once, for the client.
    #[command(
        after_help = "Example:\n  vouch ca acme eab add acme --kid team-web\n  certbot register --server https://ca:9443/acme/acme/directory \\\n      --eab-kid team-web --eab-hmac-key <key> ..."
    )]
    Add {
        /// The ACME provisioner.
        provisioner: String,
        /// The key id (default: random).
        #[arg(long)]
        kid: Option<String>,
    },
    /// List a provisioner's EAB keys and the accounts bound to them (never the keys).
    #[command(after_help = "Example:\n  vouch ca acme eab list acme")]
    List {
        /// The ACME provisioner.
        provisioner: String,
    },
    /// Remove an EAB key (an account already bound with it keeps working).
    #[command(after_help = "Example:\n  vouch ca acme eab remove acme team-web")]
    Remove {
        /// The ACME provisioner.
        provisioner: String,
        /// The key id.
        kid: String,
    },
}

/// `vouch ca revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The serial (hex with 0x, as `vouch cert inspect` prints it without colons, or decimal).
    /// Taken from --cert when omitted.
    pub serial: Option<String>,
    /// Reason: a RFC 5280 name (keyCompromise, superseded, cessationOfOperation, …) or code.
    #[arg(long, default_value = "unspecified")]
    pub reason: String,
    /// Passive revocation: the CA refuses renewal, but the certificate is not listed in the CRL.
    #[arg(long)]
    pub passive: bool,
    /// Authenticate with this certificate (mTLS) instead of a token.
    #[arg(long, value_name = "CRT_FILE", requires = "key", conflicts_with_all = ["token", "provisioner"])]
    pub cert: Option<PathBuf>,
    /// The certificate's key (with --cert).
    #[arg(long, value_name = "KEY_FILE", requires = "cert")]
    pub key: Option<PathBuf>,
    /// The token.
    #[command(flatten)]
    pub token: TokenSource,
    /// Where the CA is.
    #[command(flatten)]
    pub target: CaTarget,
}

/// Log formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Key types for `vouch init`.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum InitKeyType {
    /// ECDSA P-256 (default).
    #[value(name = "ec-p256")]
    EcP256,
    /// ECDSA P-384.
    #[value(name = "ec-p384")]
    EcP384,
    /// Ed25519.
    #[value(name = "ed25519")]
    Ed25519,
    /// RSA 2048.
    #[value(name = "rsa-2048")]
    Rsa2048,
    /// RSA 3072.
    #[value(name = "rsa-3072")]
    Rsa3072,
    /// RSA 4096.
    #[value(name = "rsa-4096")]
    Rsa4096,
}

/// `vouch init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The PKI's name: certificates are "NAME Root CA" and "NAME Intermediate CA".
    #[arg(long)]
    pub name: Option<String>,
    /// DNS names or IPs of the CA, comma-separated (SANs of its TLS certificate, token audiences).
    #[arg(long, value_delimiter = ',')]
    pub dns: Vec<String>,
    /// Address the CA listens on, host:port (e.g. 127.0.0.1:9443 or :443).
    #[arg(long)]
    pub address: Option<String>,
    /// Name of the first (JWK) provisioner, e.g. an e-mail address.
    #[arg(long)]
    pub provisioner: Option<String>,
    /// File holding the password that encrypts the CA keys.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    /// File holding the provisioner key's password (default: the CA key password).
    #[arg(long, value_name = "FILE")]
    pub provisioner_password_file: Option<PathBuf>,
    /// Key type of the generated CA keys.
    #[arg(long, value_enum, default_value = "ec-p256")]
    pub key_type: InitKeyType,
    /// Use this existing root certificate (PEM or DER) instead of creating one.
    #[arg(
        long,
        value_name = "ROOT_CRT",
        requires = "key",
        conflicts_with = "external_root"
    )]
    pub root: Option<PathBuf>,
    /// The existing root's private key (PKCS#1, PKCS#8 or SEC1; PEM or DER). Not kept.
    #[arg(long, value_name = "ROOT_KEY", requires = "root")]
    pub key: Option<PathBuf>,
    /// File holding the existing root key's password, when it is encrypted.
    #[arg(long, value_name = "FILE", requires = "root")]
    pub root_password_file: Option<PathBuf>,
    /// Only create the intermediate key and a CSR for an outside CA whose root is ROOT_CRT.
    #[arg(long, value_name = "ROOT_CRT")]
    pub external_root: Option<PathBuf>,
    /// Replace an existing PKI in $VOUCH_HOME.
    #[arg(long)]
    pub force: bool,
    /// Also add an ACME provisioner named `acme` (directory at /acme/acme/directory).
    #[arg(long)]
    pub acme: bool,
}

/// `vouch ocsp ...`.
#[derive(Debug, Subcommand)]
pub enum OcspCommand {
    /// Answer OCSP requests from the newest CRL fetched from a URL or read from a file.
    #[command(
        after_help = "Example:\n  vouch ocsp serve --crl http://ca.internal:8080/crl --issuer intermediate_ca.crt \\\n      --signer ocsp.crt --signer-key ocsp.key --address 0.0.0.0:8081"
    )]
    Serve(OcspServeArgs),
}

/// `vouch ocsp serve`.
#[derive(Debug, Args)]
pub struct OcspServeArgs {
    /// Where the CRL comes from: an http(s) URL (polled with ETag/If-Modified-Since) or a file.
    #[arg(long, value_name = "URL_OR_FILE")]
    pub crl: String,
    /// The CA certificate that issues the certificates and signs the CRL.
    #[arg(long, value_name = "ISSUER_CRT")]
    pub issuer: PathBuf,
    /// The certificate responses are signed with (a delegated OCSP signer, or the issuer).
    #[arg(long, value_name = "SIGNER_CRT")]
    pub signer: PathBuf,
    /// Its private key.
    #[arg(long, value_name = "KEY")]
    pub signer_key: PathBuf,
    /// File holding the signer key's password, when it is encrypted.
    #[arg(long, value_name = "FILE")]
    pub signer_password_file: Option<PathBuf>,
    /// Listen address (plain HTTP).
    #[arg(long, default_value = "127.0.0.1:8081")]
    pub address: String,
    /// How often to check the CRL for a new version.
    #[arg(long, default_value = "60s")]
    pub interval: String,
    /// A file of the issuer's serial numbers (hex, one per line): serials not in it and not in
    /// the CRL are answered "unknown" instead of "good".
    #[arg(long, value_name = "FILE")]
    pub issued_serials: Option<PathBuf>,
}

/// `vouch cert ...`.
#[derive(Debug, Subcommand)]
pub enum CertCommand {
    /// Create a key and a certificate (or a CSR with --csr).
    #[command(after_help = CREATE_EXAMPLES)]
    Create(Box<CreateArgs>),
    /// Sign a CSR with a CA certificate and key; prints the certificate (PEM) to stdout.
    #[command(
        after_help = "Example:\n  vouch cert sign web.csr intermediate.crt intermediate.key --ca-password-file pw.txt > web.crt"
    )]
    Sign(SignArgs),
    /// Show certificates (every one of a chain), CSRs and CRLs, PEM or DER.
    #[command(
        after_help = "Examples:\n  vouch cert inspect chain.pem\n  vouch cert inspect ca.crl --format json"
    )]
    Inspect {
        /// The file.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Print the SHA-256 fingerprint of each certificate in a file.
    #[command(after_help = "Example:\n  vouch cert fingerprint root_ca.crt")]
    Fingerprint {
        /// The file (PEM or DER).
        file: PathBuf,
        /// Digest.
        #[arg(long, value_enum, default_value = "sha256")]
        algorithm: Digest,
    },
    /// Validate a certificate's path to a trusted root (rustls-webpki).
    #[command(
        after_help = "Example:\n  vouch cert verify web.crt --roots root_ca.crt --intermediates intermediate_ca.crt --host web.internal"
    )]
    Verify {
        /// The end-entity certificate (the first certificate of the file; the rest count as intermediates).
        crt: PathBuf,
        /// Trusted roots (PEM bundle or DER).
        #[arg(long, value_name = "FILE")]
        roots: PathBuf,
        /// Untrusted intermediates (PEM bundle or DER).
        #[arg(long, value_name = "FILE")]
        intermediates: Option<PathBuf>,
        /// DNS name or IP the certificate must be valid for.
        #[arg(long)]
        host: Option<String>,
        /// Check for TLS client use instead of server use.
        #[arg(long)]
        client: bool,
        /// Also check revocation against these CRLs (PEM or DER). Repeatable.
        #[arg(long = "crl", value_name = "FILE")]
        crls: Vec<PathBuf>,
    },
}

const CREATE_EXAMPLES: &str = "Examples:
  vouch cert create 'Acme Root CA' root.crt root.key --profile root-ca --password-file pw.txt
  vouch cert create 'Acme Issuing CA' int.crt int.key --profile intermediate-ca \\
      --ca root.crt --ca-key root.key --ca-password-file pw.txt --password-file pw.txt
  vouch cert create web.internal web.crt web.key --ca int.crt --ca-key int.key \\
      --ca-password-file pw.txt --san web.internal --san 10.0.0.5 --not-after 720h --no-password --insecure
  vouch cert create web.internal web.csr web.key --csr --no-password --insecure
  vouch cert create --from-json kube-apiserver-csr.json apiserver.crt apiserver.key \\
      --ca ca.crt --ca-key ca.key --ca-password-file pw.txt --no-password --insecure";

/// Output formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    /// Human-readable text.
    Text,
    /// JSON.
    Json,
}

/// Fingerprint digests.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Digest {
    /// SHA-256.
    Sha256,
    /// SHA-1 (legacy tools only).
    Sha1,
}

/// Certificate profiles.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ProfileArg {
    /// End-entity TLS certificate (serverAuth + clientAuth).
    Leaf,
    /// CA that issues leaves (pathlen 0).
    IntermediateCa,
    /// Self-signed root CA (pathlen 1).
    RootCa,
    /// Self-signed end-entity certificate.
    SelfSigned,
}

/// Key type families (`--kty`).
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Kty {
    /// Elliptic curve (P-256, P-384).
    #[value(name = "EC", alias = "ec")]
    Ec,
    /// RSA.
    #[value(name = "RSA", alias = "rsa")]
    Rsa,
    /// Octet key pair (Ed25519).
    #[value(name = "OKP", alias = "okp")]
    Okp,
}

/// Curves (`--curve`).
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Curve {
    /// NIST P-256.
    #[value(name = "P-256")]
    P256,
    /// NIST P-384.
    #[value(name = "P-384")]
    P384,
    /// Ed25519.
    #[value(name = "Ed25519")]
    Ed25519,
}

/// `vouch cert create`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// SUBJECT CRT_FILE KEY_FILE, or CRT_FILE KEY_FILE with --from-json.
    #[arg(num_args = 2..=3, required = true, value_name = "SUBJECT CRT_FILE KEY_FILE")]
    pub args: Vec<String>,
    /// Read subject, names and key parameters from a cfssl JSON CSR file.
    #[arg(long, value_name = "CSR_JSON")]
    pub from_json: Option<PathBuf>,
    /// Certificate profile.
    #[arg(long, value_enum, default_value = "leaf")]
    pub profile: ProfileArg,
    /// Write a PKCS#10 certificate request to CRT_FILE instead of a certificate.
    #[arg(long, conflicts_with_all = ["ca", "ca_key"])]
    pub csr: bool,
    /// Issuer certificate.
    #[arg(long, value_name = "CA_CRT", requires = "ca_key")]
    pub ca: Option<PathBuf>,
    /// Issuer private key.
    #[arg(long, value_name = "CA_KEY", requires = "ca")]
    pub ca_key: Option<PathBuf>,
    /// File holding the issuer key's password.
    #[arg(long, value_name = "FILE")]
    pub ca_password_file: Option<PathBuf>,
    /// Subject alternative name (DNS name, IP, e-mail or URI; typed automatically). Repeatable.
    #[arg(long = "san", value_name = "NAME")]
    pub sans: Vec<String>,
    /// Key type flags.
    #[command(flatten)]
    pub key: KeyArgs,
    /// Start of validity: RFC 3339 or a duration from now (e.g. -5m).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub not_before: Option<String>,
    /// End of validity: RFC 3339 or a duration from now (24h, 90d).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub not_after: Option<String>,
    /// File holding the password that encrypts the new key.
    #[arg(long, value_name = "FILE", conflicts_with = "no_password")]
    pub password_file: Option<PathBuf>,
    /// Write the new key unencrypted (requires --insecure).
    #[arg(long, requires = "insecure")]
    pub no_password: bool,
    /// Confirm an insecure choice such as --no-password.
    #[arg(long)]
    pub insecure: bool,
    /// Overwrite existing files.
    #[arg(long)]
    pub force: bool,
}

/// The type of a new key (`--kty`, `--curve`, `--size`).
#[derive(Debug, Args, Clone)]
pub struct KeyArgs {
    /// Key type family.
    #[arg(long, value_enum)]
    pub kty: Option<Kty>,
    /// Curve for EC and OKP keys.
    #[arg(long, value_enum)]
    pub curve: Option<Curve>,
    /// RSA modulus size.
    #[arg(long, value_parser = ["2048", "3072", "4096"])]
    pub size: Option<String>,
}

/// Where the CA is (`--ca-url`, `--root`), defaulting to `config/defaults.toml`.
#[derive(Debug, Args, Clone)]
pub struct CaTarget {
    /// The CA's URL (https://host:port).
    #[arg(long, value_name = "URL")]
    pub ca_url: Option<String>,
    /// The root certificate to trust.
    #[arg(long, value_name = "FILE")]
    pub root: Option<PathBuf>,
}

/// How a client command gets its one-time token.
#[derive(Debug, Args, Clone)]
pub struct TokenSource {
    /// A token made earlier with `vouch ca token`.
    #[arg(long, conflicts_with_all = ["provisioner", "provisioner_password_file"])]
    pub token: Option<String>,
    /// The JWK provisioner to mint a token with (default: the only one).
    #[arg(long)]
    pub provisioner: Option<String>,
    /// File holding the provisioner's password.
    #[arg(long, value_name = "FILE")]
    pub provisioner_password_file: Option<PathBuf>,
}

/// `vouch cert sign`.
#[derive(Debug, Args)]
pub struct SignArgs {
    /// The certificate request (PEM or DER).
    pub csr_file: PathBuf,
    /// Issuer certificate.
    pub ca_crt: PathBuf,
    /// Issuer private key.
    pub ca_key: PathBuf,
    /// Certificate profile.
    #[arg(long, value_enum, default_value = "leaf")]
    pub profile: ProfileArg,
    /// End of validity: RFC 3339 or a duration from now (default 24h for leaves, 10 years for CAs).
    #[arg(long, value_name = "TIME", allow_hyphen_values = true)]
    pub not_after: Option<String>,
    /// File holding the issuer key's password.
    #[arg(long, value_name = "FILE")]
    pub ca_password_file: Option<PathBuf>,
}

/// `vouch key ...`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Print the public key (PEM) of a private key.
    #[command(after_help = "Example:\n  vouch key public web.key --password-file pw.txt")]
    Public {
        /// The private key.
        key: PathBuf,
        /// File holding the key's password, when it is encrypted.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
    },
    /// Describe a private or public key.
    #[command(after_help = "Example:\n  vouch key inspect web.key --password-file pw.txt")]
    Inspect {
        /// The key.
        key: PathBuf,
        /// File holding the key's password, when it is encrypted.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        format: Format,
    },
    /// Change (or set, or remove) a private key's password, in place.
    #[command(
        after_help = "Example:\n  vouch key change-pass web.key --password-file old.txt --new-password-file new.txt"
    )]
    ChangePass {
        /// The private key.
        key: PathBuf,
        /// File holding the current password (when encrypted).
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// File holding the new password.
        #[arg(long, value_name = "FILE", conflicts_with = "no_password")]
        new_password_file: Option<PathBuf>,
        /// Store the key unencrypted (requires --insecure).
        #[arg(long, requires = "insecure")]
        no_password: bool,
        /// Confirm --no-password.
        #[arg(long)]
        insecure: bool,
    },
}

/// `vouch ca ...`.
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Trust a CA: download its root, check the fingerprint, write config/defaults.toml.
    #[command(
        after_help = "Example:\n  vouch ca bootstrap --ca-url https://ca.internal:9443 --fingerprint 4e0a...c1d2"
    )]
    Bootstrap {
        /// The CA's URL.
        #[arg(long, value_name = "URL")]
        ca_url: String,
        /// SHA-256 fingerprint of the root (hex, as `vouch init` printed it).
        #[arg(long)]
        fingerprint: String,
        /// Also add the root to the system trust store (Debian: update-ca-certificates).
        #[arg(long)]
        install: bool,
        /// Overwrite an existing root and defaults.toml.
        #[arg(long)]
        force: bool,
    },
    /// Mint a one-time token for `vouch ca certificate` or any step-ca client.
    #[command(
        after_help = "Examples:\n  vouch ca token web.internal --san web.internal --san 10.0.0.5 --password-file prov-pw.txt\n  vouch ca token 3f2a... --revoke --password-file prov-pw.txt"
    )]
    Token {
        /// The subject (common name), or with --revoke the serial.
        subject: String,
        /// A name the certificate may carry (default: the subject). Repeatable.
        #[arg(long = "san", value_name = "NAME")]
        sans: Vec<String>,
        /// The JWK provisioner (default: the only one).
        #[arg(long)]
        provisioner: Option<String>,
        /// File holding the provisioner's password.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// A token to revoke the certificate whose serial is SUBJECT.
        #[arg(long)]
        revoke: bool,
        /// Where the CA is.
        #[command(flatten)]
        target: CaTarget,
    },
    /// Get a certificate from the CA: new key, CSR, token, POST /sign.
    #[command(
        after_help = "Example:\n  vouch ca certificate web.internal web.crt web.key --san web.internal --provisioner-password-file prov-pw.txt"
    )]
    Certificate(Box<CertificateArgs>),
    /// Renew a certificate over mTLS (same key); writes the new chain over CRT_FILE.
    #[command(
        after_help = "Examples:\n  vouch ca renew web.crt web.key\n  vouch ca renew web.crt web.key --expires-in 8h   # only when it expires within 8 hours\n  vouch ca renew web.crt web.key --daemon --exec 'systemctl reload nginx'"
    )]
    Renew {
        /// The certificate (chain) to renew.
        crt_file: PathBuf,
        /// Its private key.
        key_file: PathBuf,
        /// File holding the key's password, when it is encrypted.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Renew only if the certificate expires within this duration (e.g. 8h).
        #[arg(long, value_name = "DURATION", conflicts_with = "daemon")]
        expires_in: Option<String>,
        /// Keep running: renew at two thirds of each lifetime (minus up to 5% jitter), retry
        /// with backoff, renew at once on SIGHUP, stop on SIGTERM.
        #[arg(long)]
        daemon: bool,
        /// Run this shell command after each renewal (e.g. "systemctl reload nginx").
        #[arg(long, value_name = "CMD")]
        exec: Option<String>,
        /// Send --signal to this process after each renewal.
        #[arg(long, value_name = "PID")]
        pid: Option<u32>,
        /// The signal for --pid.
        #[arg(long, default_value = "HUP", requires = "pid")]
        signal: String,
        /// Where the CA is.
        #[command(flatten)]
        target: CaTarget,
    },
    /// Renew a certificate with a new key over mTLS; writes both files.
    #[command(after_help = "Example:\n  vouch ca rekey web.crt web.key")]
    Rekey {
        /// The certificate (chain) to rekey.
        crt_file: PathBuf,
        /// Its private key (replaced by the new one).
        key_file: PathBuf,
        /// File holding the key's password, when it is encrypted.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// Key type flags for the new key (default: the same type as the old one).
        #[command(flatten)]
        key: KeyArgs,
        /// Where the CA is.
        #[command(flatten)]
        target: CaTarget,
    },
    /// Revoke a certificate, with a token (JWK provisioner) or with the certificate itself (mTLS).
    #[command(
        after_help = "Examples:\n  vouch ca revoke 0x3f2a... --reason keyCompromise --provisioner-password-file prov-pw.txt\n  vouch ca revoke --cert web.crt --key web.key --passive"
    )]
    Revoke(Box<RevokeArgs>),
    /// Print the CA's root certificates (PEM).
    Roots {
        /// Where the CA is.
        #[command(flatten)]
        target: CaTarget,
    },
    /// Check that the CA answers.
    Health {
        /// Where the CA is.
        #[command(flatten)]
        target: CaTarget,
    },
    /// Check config/ca.toml: report every problem at once and print what applies per provisioner.
    #[command(after_help = "Example:\n  vouch ca check-config")]
    CheckConfig,
    /// List, add or remove provisioners in config/ca.toml (a running server applies it on SIGHUP).
    #[command(subcommand)]
    Provisioner(ProvisionerCommand),
    /// ACME administration: external account binding (EAB) keys.
    #[command(subcommand)]
    Acme(AcmeCommand),
    /// Install the intermediate certificate an outside CA signed (after `vouch init --external-root`).
    #[command(after_help = "Example:\n  vouch ca install-intermediate intermediate_ca.crt")]
    InstallIntermediate {
        /// The signed intermediate certificate (PEM or DER).
        signed_crt: PathBuf,
        /// Replace an intermediate that is already installed.
        #[arg(long)]
        force: bool,
    },
}
