//! `vouch bench`: a load generator for a running CA (and, for comparison, cfssl).
//!
//! Each of `--connections` workers owns one keep-alive HTTP/1.1 connection (hyper's bare
//! client connection, `bench_conn.rs`) and sends requests back to back for `--duration` seconds; every response is checked (status, content type and
//! a well-formed body), and latencies are kept for percentiles. Whatever can be prepared is
//! prepared before the clock starts, so that the generator itself stays cheap: the CSR, the
//! OCSP request and, for `sign`, one fresh one-time token per request. With `--server-pid`
//! the server's CPU seconds over the run are read from /proc, for CPU per operation.

use std::borrow::Cow;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair,
    UnparsedPublicKey,
};
use axum::body::Bytes;
use axum::http::{Method, Uri};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;
use vouch_issuing::{Dn, KeyType, PrivateKey, San, Subject, create_csr};

use super::bench_conn::{Conn, Endpoint};
use super::ca_client::Minter;
use crate::cli::{BenchArgs, BenchMode};
use crate::client::Target;
use crate::files;

/// The name bench certificates are issued for.
const BENCH_NAME: &str = "bench.vouch.internal";
/// Tokens minted per second of run, at most (`--max-tokens` caps the total).
const TOKENS_PER_SECOND: f64 = 5000.0;

/// What every request of a run sends (paths relative to `--url`; bodies built in advance).
enum Work {
    Sign {
        path: String,
        /// One JSON body per request, each with its own token.
        bodies: Mutex<Vec<Bytes>>,
    },
    Renew {
        path: String,
    },
    OcspPost {
        path: String,
        der: Bytes,
    },
    OcspGet {
        path: String,
    },
    CfsslSign {
        path: String,
        body: Bytes,
    },
}

/// One worker's tally.
#[derive(Default)]
struct Tally {
    ok: u64,
    errors: u64,
    latencies_us: Vec<u32>,
    first_error: Option<String>,
    out_of_tokens: bool,
    reconnects: u64,
}

pub(super) fn run(args: &BenchArgs) -> Result<()> {
    if !(args.duration > 0.0 && args.duration <= 3600.0) {
        bail!("--duration must be between 0 and 3600 seconds");
    }
    if args.mode == BenchMode::Floor {
        return floor(args);
    }
    if args.connections == 0 || args.connections > 4096 {
        bail!("--connections must be between 1 and 4096");
    }
    if args.url.is_empty() {
        bail!("--url is required for --mode {:?}", args.mode);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(drive(args))
}

/// An HTTP client trusting `--root`, for what is fetched before the clock starts.
fn client(args: &BenchArgs) -> Result<reqwest::Client> {
    let mut b = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .http1_only()
        .timeout(Duration::from_secs(30));
    if args.url.starts_with("https://") {
        let root = args
            .root
            .as_deref()
            .ok_or_else(|| anyhow!("--root is required for an https URL"))?;
        let pem = files::read(root)?;
        let roots = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| anyhow!("{}: {e}", root.display()))?;
        b = b.tls_certs_only(roots);
    }
    b.build().context("HTTP client")
}

fn bench_csr() -> Result<String> {
    let key = PrivateKey::generate(KeyType::EcP256)?;
    let der = create_csr(
        &Dn::try_from(&Subject::common_name(BENCH_NAME))?,
        &[San::Dns(BENCH_NAME.to_owned())],
        &key,
    )?;
    Ok(vouch_issuing::to_pem("CERTIFICATE REQUEST", &der))
}

fn read_file(path: Option<&Path>, flag: &str) -> Result<Vec<u8>> {
    let p = path.ok_or_else(|| anyhow!("{flag} is required for this mode"))?;
    files::read(p)
}

async fn prepare(args: &BenchArgs) -> Result<(Work, Option<Vec<u8>>)> {
    let base = args.url.trim_end_matches('/').to_owned();
    // The path below `--url` (an OCSP responder may live under a prefix).
    let prefix = base
        .parse::<Uri>()
        .ok()
        .map(|u| u.path().trim_end_matches('/').to_owned())
        .unwrap_or_default();
    Ok(match args.mode {
        BenchMode::Sign => {
            let target = Target {
                ca_url: base.clone(),
                root: args
                    .root
                    .clone()
                    .ok_or_else(|| anyhow!("--root is required for --mode sign"))?,
            };
            let http = client(args)?;
            let minter = Minter::new(
                &target,
                &http,
                args.provisioner.as_deref(),
                args.password_file.as_deref(),
                "sign",
            )
            .await?;
            // Sized to the run, so minting does not dominate a short one.
            let wanted = (args.duration * TOKENS_PER_SECOND).ceil();
            let count = if wanted >= args.max_tokens as f64 {
                args.max_tokens
            } else {
                // In range: 0 < wanted < max_tokens.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                let n = wanted as usize;
                n
            };
            let sans = vec![BENCH_NAME.to_owned()];
            let csr = bench_csr()?;
            let bodies = (0..count)
                .map(|_| {
                    let ott = minter.mint(BENCH_NAME, &sans)?;
                    Ok(Bytes::from(json!({"csr": csr, "ott": ott}).to_string()))
                })
                .collect::<Result<Vec<_>>>()?;
            (
                Work::Sign {
                    path: format!("{prefix}/1.0/sign"),
                    bodies: Mutex::new(bodies),
                },
                None,
            )
        }
        BenchMode::Renew => {
            let mut id = read_file(args.key.as_deref(), "--key")?;
            id.extend_from_slice(b"\n");
            id.extend_from_slice(&read_file(args.cert.as_deref(), "--cert")?);
            (
                Work::Renew {
                    path: format!("{prefix}/1.0/renew"),
                },
                Some(id),
            )
        }
        BenchMode::OcspPost => (
            Work::OcspPost {
                path: if prefix.is_empty() {
                    "/".to_owned()
                } else {
                    prefix.clone()
                },
                der: Bytes::from(read_file(args.ocsp_request.as_deref(), "--ocsp-request")?),
            },
            None,
        ),
        BenchMode::OcspGet => {
            let der = read_file(args.ocsp_request.as_deref(), "--ocsp-request")?;
            let b64 = base64::engine::general_purpose::STANDARD.encode(der);
            // RFC 6960 A.1: the base64 in the path, URL-encoded.
            let path = b64
                .replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D");
            (
                Work::OcspGet {
                    path: format!("{prefix}/{path}"),
                },
                None,
            )
        }
        BenchMode::CfsslSign => (
            Work::CfsslSign {
                path: format!("{prefix}/api/v1/cfssl/sign"),
                body: Bytes::from(json!({"certificate_request": bench_csr()?}).to_string()),
            },
            None,
        ),
        BenchMode::Floor => bail!("floor needs no server"),
    })
}

/// Send one request and check its answer; `Err` is the reason it does not count.
async fn one(conn: &mut Conn, work: &Work, tally: &mut Tally) -> Option<Result<(), String>> {
    const JSON: Option<&str> = Some("application/json");
    let answer = match work {
        Work::Sign { path, bodies } => {
            let body = bodies.lock().ok()?.pop();
            let Some(body) = body else {
                tally.out_of_tokens = true;
                return None;
            };
            conn.request(&Method::POST, path, JSON, body).await
        }
        Work::Renew { path } => conn.request(&Method::POST, path, None, Bytes::new()).await,
        Work::OcspPost { path, der } => {
            conn.request(
                &Method::POST,
                path,
                Some("application/ocsp-request"),
                der.clone(),
            )
            .await
        }
        Work::OcspGet { path } => conn.request(&Method::GET, path, None, Bytes::new()).await,
        Work::CfsslSign { path, body } => {
            conn.request(&Method::POST, path, JSON, body.clone()).await
        }
    };
    Some(match answer {
        Ok(a) => check(work, a.status, &a.content_type, &a.body),
        Err(e) => Err(format!("{e:#}")),
    })
}

/// The part of a `/sign` or `/renew` answer that is checked.
#[derive(Deserialize)]
struct SignAnswer<'a> {
    #[serde(borrow)]
    crt: Cow<'a, str>,
}

/// The part of a cfssl answer that is checked.
#[derive(Deserialize)]
struct CfsslAnswer {
    success: bool,
}

fn check(work: &Work, status: u16, ctype: &str, body: &[u8]) -> Result<(), String> {
    let text = || String::from_utf8_lossy(&body[..body.len().min(200)]).into_owned();
    match work {
        Work::Sign { .. } | Work::Renew { .. } => {
            let v: SignAnswer<'_> =
                serde_json::from_slice(body).map_err(|_| format!("HTTP {status}: {}", text()))?;
            if status != 201 || !v.crt.starts_with("-----BEGIN CERTIFICATE-----") {
                return Err(format!("HTTP {status}: {}", text()));
            }
        }
        Work::OcspPost { .. } | Work::OcspGet { .. } => {
            if status != 200 || !ctype.starts_with("application/ocsp-response") {
                return Err(format!("HTTP {status} ({ctype})"));
            }
            if !ocsp_successful(body) {
                return Err("not a successful OCSPResponse".into());
            }
        }
        Work::CfsslSign { .. } => {
            let v: CfsslAnswer =
                serde_json::from_slice(body).map_err(|_| format!("HTTP {status}: {}", text()))?;
            if status != 200 || !v.success {
                return Err(format!("HTTP {status}: {}", text()));
            }
        }
    }
    Ok(())
}

/// An OCSPResponse whose responseStatus is successful(0) and that carries responseBytes:
/// `SEQUENCE { ENUMERATED 0, [0] ... }` (RFC 6960 §4.2.1).
fn ocsp_successful(der: &[u8]) -> bool {
    let header = match der {
        [0x30, l, ..] if *l < 0x80 => 2,
        [0x30, l, ..] => 2 + usize::from(*l & 0x7f),
        _ => return false,
    };
    matches!(der.get(header..header + 4), Some([0x0a, 0x01, 0x00, 0xa0]))
}

async fn worker(mut conn: Conn, work: Arc<Work>, deadline: Instant) -> Tally {
    let mut tally = Tally::default();
    while Instant::now() < deadline {
        let t0 = Instant::now();
        let Some(outcome) = one(&mut conn, &work, &mut tally).await else {
            break;
        };
        match outcome {
            Ok(()) => {
                tally.ok += 1;
                let us = u32::try_from(t0.elapsed().as_micros()).unwrap_or(u32::MAX);
                tally.latencies_us.push(us);
            }
            Err(e) => {
                tally.errors += 1;
                tally.first_error.get_or_insert(e);
            }
        }
    }
    tally.reconnects = conn.reconnects;
    tally
}

/// The CPU seconds (user + system) a process has used, from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("no process {pid}"))?;
    let after = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest)
        .ok_or_else(|| anyhow!("/proc/{pid}/stat: unexpected format"))?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 and 15 of stat(5), counted from the state (field 3) at index 0.
    let ticks = |i: usize| -> Result<f64> {
        fields
            .get(i)
            .and_then(|v| v.parse::<u64>().ok())
            .map(|v| v as f64 / 100.0)
            .ok_or_else(|| anyhow!("/proc/{pid}/stat: no CPU times"))
    };
    Ok(ticks(11)? + ticks(12)?)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let last = sorted.len() - 1;
    // In range: 0 <= p <= 1, so the index is within 0..=last.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let i = ((last as f64) * p).round() as usize;
    f64::from(sorted[i.min(last)]) / 1000.0
}

async fn drive(args: &BenchArgs) -> Result<()> {
    let (work, identity) = prepare(args).await?;
    let work = Arc::new(work);
    let root = args.root.as_deref().map(files::read).transpose()?;
    let endpoint = Endpoint::new(&args.url, root.as_deref(), identity.as_deref())?;
    let mut clients = Vec::with_capacity(args.connections);
    for _ in 0..args.connections {
        clients.push(endpoint.connect().await?);
    }
    let cpu_before = args.server_pid.map(cpu_seconds).transpose()?;
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.duration);
    let handles: Vec<_> = clients
        .into_iter()
        .map(|conn| tokio::spawn(worker(conn, work.clone(), deadline)))
        .collect();
    let mut all = Tally::default();
    for h in handles {
        let t = h.await.map_err(|e| anyhow!("a worker failed: {e}"))?;
        all.ok += t.ok;
        all.errors += t.errors;
        all.latencies_us.extend(t.latencies_us);
        all.out_of_tokens |= t.out_of_tokens;
        all.reconnects += t.reconnects;
        if all.first_error.is_none() {
            all.first_error = t.first_error;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = match (args.server_pid, cpu_before) {
        (Some(pid), Some(before)) => Some(cpu_seconds(pid)? - before),
        _ => None,
    };
    all.latencies_us.sort_unstable();
    #[allow(clippy::cast_precision_loss)]
    let (ok, errors) = (all.ok as f64, all.errors as f64);
    let rps = ok / elapsed;
    let cpu_per_1000 = cpu.map(|c| {
        if ok > 0.0 {
            c * 1000.0 / (ok + errors)
        } else {
            0.0
        }
    });
    let report = json!({
        "mode": format!("{:?}", args.mode).to_lowercase(),
        "connections": args.connections,
        "seconds": elapsed,
        "ok": all.ok,
        "errors": all.errors,
        "rps": rps,
        "p50_ms": percentile(&all.latencies_us, 0.50),
        "p99_ms": percentile(&all.latencies_us, 0.99),
        "server_cpu_s": cpu,
        "cpu_s_per_1000": cpu_per_1000,
        "out_of_tokens": all.out_of_tokens,
        "reconnects": all.reconnects,
        "first_error": all.first_error,
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "{}: {} connections, {elapsed:.1} s: {} ok, {} errors, {rps:.1}/s, p50 {:.2} ms, p99 {:.2} ms{}",
            report["mode"].as_str().unwrap_or(""),
            args.connections,
            all.ok,
            all.errors,
            report["p50_ms"].as_f64().unwrap_or(0.0),
            report["p99_ms"].as_f64().unwrap_or(0.0),
            match (cpu, cpu_per_1000) {
                (Some(c), Some(per)) => format!(", server CPU {c:.2} s ({per:.3} s per 1000)"),
                _ => String::new(),
            }
        );
        if let Some(e) = &all.first_error {
            println!("first error: {e}");
        }
        if all.reconnects > 0 {
            println!("the server closed a connection {} times", all.reconnects);
        }
        if all.out_of_tokens {
            println!("the pre-minted tokens ran out before the end (raise --max-tokens)");
        }
    }
    if all.ok == 0 {
        bail!(
            "no request succeeded{}",
            all.first_error
                .map(|e| format!(": {e}"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// The crypto floor of a token-authenticated issuance: verify the token (P-256), verify the
/// CSR's self-signature (P-256), sign the certificate (P-256). A verification and a signature
/// are timed apart, each for half the duration, so the report can also say what a fourth
/// operation, the check of each certificate's signature after signing, adds to the floor.
fn floor(args: &BenchArgs) -> Result<()> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| anyhow!("key generation failed"))?;
    let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref())
        .map_err(|_| anyhow!("key parsing failed"))?;
    let public =
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, key.public_key().as_ref().to_vec());
    // A TBSCertificate-sized message.
    let message = vec![0x5a_u8; 600];
    let signature = key
        .sign(&rng, &message)
        .map_err(|_| anyhow!("signing failed"))?;
    let half = Duration::from_secs_f64(args.duration / 2.0);
    let verify_us = time_per_op(half, || {
        public
            .verify(&message, signature.as_ref())
            .map_err(|_| anyhow!("verification failed"))
    })?;
    let sign_us = time_per_op(half, || {
        key.sign(&rng, &message)
            .map(|_| ())
            .map_err(|_| anyhow!("signing failed"))
    })?;
    let per_us = 2.0 * verify_us + sign_us;
    // What Vouch does: the floor plus one more verification (the post-signing check).
    let with_check = (3.0 * verify_us + sign_us) / per_us;
    let report = json!({
        "mode": "floor",
        "verify_us": verify_us,
        "sign_us": sign_us,
        "us_per_issuance": per_us,
        "cpu_s_per_1000": per_us / 1000.0,
        "with_post_sign_check": with_check,
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "floor: 2 P-256 verifications ({verify_us:.1} µs each) + 1 P-256 signature ({sign_us:.1} µs) = {per_us:.1} µs ({:.3} CPU s per 1000 issuances)",
            per_us / 1000.0
        );
        println!(
            "with the post-signing check (3 verifications + 1 signature): {with_check:.2} × the floor"
        );
    }
    Ok(())
}

/// Mean wall time of `op` in µs, run back to back for `budget` (at least once).
fn time_per_op(budget: Duration, mut op: impl FnMut() -> Result<()>) -> Result<f64> {
    let start = Instant::now();
    let mut rounds: u32 = 0;
    loop {
        op()?;
        rounds = rounds.saturating_add(1);
        if start.elapsed() >= budget {
            break;
        }
    }
    Ok(start.elapsed().as_secs_f64() * 1e6 / f64::from(rounds))
}
