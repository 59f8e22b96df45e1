//! A small authoritative DNS server on 127.0.0.1 (UDP and TCP, OS-assigned port) for dns-01
//! tests: the CA's `--acme-resolver` points at it, and so does lego's `--dns.resolvers`.
//!
//! TXT records live as files in a directory, one file per name (lower case, no trailing
//! dot) holding one value per line, so that lego's `exec` provider (a shell script) and the
//! tests publish records the same way. Everything is in the zone `test.`: a TXT query is
//! answered from the files (NXDOMAIN when there is none), an SOA query for `test.` with the
//! zone's SOA, anything else with an empty NOERROR carrying the SOA.

use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hickory_resolver::proto::op::{Message, OpCode, ResponseCode};
use hickory_resolver::proto::rr::rdata::{SOA, TXT};
use hickory_resolver::proto::rr::{Name, RData, Record, RecordType};

pub struct TestDns {
    pub port: u16,
    pub dir: PathBuf,
    /// TXT queries answered, for tests that check the CA really asked.
    pub txt_queries: Arc<AtomicUsize>,
}

impl TestDns {
    pub fn start(dir: PathBuf) -> TestDns {
        std::fs::create_dir_all(&dir).unwrap();
        let udp = UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = udp.local_addr().unwrap().port();
        let tcp = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let txt_queries = Arc::new(AtomicUsize::new(0));
        let (d, q) = (dir.clone(), txt_queries.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok((n, peer)) = udp.recv_from(&mut buf) {
                if let Some(answer) = answer(&d, &buf[..n], &q) {
                    let _ = udp.send_to(&answer, peer);
                }
            }
        });
        let (d, q) = (dir.clone(), txt_queries.clone());
        std::thread::spawn(move || {
            for conn in tcp.incoming() {
                let Ok(mut conn) = conn else { return };
                let (d, q) = (d.clone(), q.clone());
                std::thread::spawn(move || {
                    let mut len = [0u8; 2];
                    while conn.read_exact(&mut len).is_ok() {
                        let mut msg = vec![0u8; u16::from_be_bytes(len) as usize];
                        if conn.read_exact(&mut msg).is_err() {
                            return;
                        }
                        let Some(answer) = answer(&d, &msg, &q) else {
                            return;
                        };
                        let mut out = u16::try_from(answer.len()).unwrap().to_be_bytes().to_vec();
                        out.extend_from_slice(&answer);
                        if conn.write_all(&out).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        TestDns {
            port,
            dir,
            txt_queries,
        }
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Publish a TXT value at `name` (added to those already there).
    pub fn add_txt(&self, name: &str, value: &str) {
        let path = record_path(&self.dir, name);
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        text.push_str(value);
        text.push('\n');
        std::fs::write(path, text).unwrap();
    }

    /// The shell script lego's `exec` provider runs (`present|cleanup FQDN VALUE`).
    pub fn exec_script(&self) -> PathBuf {
        let script = self.dir.with_extension("sh");
        let text = format!(
            "#!/bin/sh\nset -e\ndir='{}'\nname=$(printf '%s' \"$2\" | tr 'A-Z' 'a-z' | sed 's/\\.$//')\n\
             case \"$1\" in\n  present) printf '%s\\n' \"$3\" >> \"$dir/$name\" ;;\n  \
             cleanup) if [ -f \"$dir/$name\" ]; then grep -vxF \"$3\" \"$dir/$name\" > \"$dir/$name.tmp\" || true; mv \"$dir/$name.tmp\" \"$dir/$name\"; fi ;;\n\
             esac\n",
            self.dir.display()
        );
        std::fs::write(&script, text).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        script
    }
}

fn record_path(dir: &Path, name: &str) -> PathBuf {
    dir.join(name.trim_end_matches('.').to_ascii_lowercase())
}

fn zone_soa() -> Record {
    let zone = Name::from_ascii("test.").unwrap();
    let soa = SOA::new(
        Name::from_ascii("ns.test.").unwrap(),
        Name::from_ascii("hostmaster.test.").unwrap(),
        1,
        3600,
        600,
        86400,
        0,
    );
    Record::from_rdata(zone, 0, RData::SOA(soa))
}

fn answer(dir: &Path, query: &[u8], txt_queries: &AtomicUsize) -> Option<Vec<u8>> {
    let req = Message::from_vec(query).ok()?;
    let mut resp = Message::response(req.metadata.id, OpCode::Query);
    resp.metadata.authoritative = true;
    resp.metadata.recursion_desired = req.metadata.recursion_desired;
    resp.metadata.recursion_available = true;
    let Some(q) = req.queries.first() else {
        resp.metadata.response_code = ResponseCode::FormErr;
        return resp.to_vec().ok();
    };
    resp.add_query(q.clone());
    let name = q.name().to_ascii();
    let path = record_path(dir, &name);
    match q.query_type() {
        RecordType::TXT => {
            txt_queries.fetch_add(1, Ordering::SeqCst);
            let values: Vec<String> = std::fs::read_to_string(&path)
                .unwrap_or_default()
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            if values.is_empty() {
                resp.metadata.response_code = ResponseCode::NXDomain;
                resp.add_authority(zone_soa());
            }
            for v in values {
                resp.add_answer(Record::from_rdata(
                    q.name().clone(),
                    0,
                    RData::TXT(TXT::new(vec![v])),
                ));
            }
        }
        RecordType::SOA if name.eq_ignore_ascii_case("test.") => {
            resp.add_answer(zone_soa());
        }
        _ => {
            resp.add_authority(zone_soa());
        }
    }
    resp.to_vec().ok()
}
