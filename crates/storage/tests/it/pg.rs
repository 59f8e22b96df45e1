//! A throwaway PostgreSQL cluster for one test run.
//!
//! `initdb` into a temp dir, `pg_ctl start` on a free loopback port with the socket in that dir,
//! `pg_ctl stop -m immediate` when the [`Cluster`] is dropped (also when a test panics). When
//! the tests run as root the cluster is created and run as the `postgres` OS user, because
//! PostgreSQL refuses to run as root. Host connections need the superuser's password (SCRAM),
//! so the tests can check that it never leaks into error messages.

use std::fs;
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{SystemTime, UNIX_EPOCH};

use tempfile::TempDir;

/// Where Debian puts the server binaries, one directory per major version.
const PG_LIB: &str = "/usr/lib/postgresql";

pub struct Cluster {
    bin: PathBuf,
    data: PathBuf,
    port: u16,
    password: String,
    as_postgres_user: bool,
    started: bool,
    // Removed (with the data directory) after `drop` has stopped the server.
    dir: TempDir,
}

impl Cluster {
    /// Create and start a cluster; panics with a clear message if that is impossible.
    pub fn start() -> Cluster {
        let bin = find_bin_dir();
        let dir = tempfile::Builder::new()
            .prefix("vouch-pg-")
            .tempdir()
            .expect("create temp dir for PostgreSQL");
        let as_postgres_user = fs::metadata(dir.path()).expect("stat temp dir").uid() == 0;
        let password = format!(
            "pw{:x}{:x}",
            std::process::id(),
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default()
                .as_nanos()
        );
        let pwfile = dir.path().join("pwfile");
        fs::write(&pwfile, format!("{password}\n")).expect("write password file");
        if as_postgres_user {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .expect("run chown");
            assert!(
                status.success(),
                "chown of {} to postgres failed",
                dir.path().display()
            );
        }
        let mut cluster = Cluster {
            data: dir.path().join("data"),
            bin,
            port: 0,
            password,
            as_postgres_user,
            started: false,
            dir,
        };

        let initdb = cluster.bin.join("initdb");
        let out = cluster.run(
            &initdb,
            &[
                "-D".as_ref(),
                cluster.data.as_os_str(),
                "-U".as_ref(),
                "postgres".as_ref(),
                "--auth-local=trust".as_ref(),
                "--auth-host=scram-sha-256".as_ref(),
                format!("--pwfile={}", pwfile.display()).as_ref(),
                "--encoding=UTF8".as_ref(),
                "--locale=C".as_ref(),
                "--no-sync".as_ref(),
                "--no-instructions".as_ref(),
            ],
        );
        assert!(out.status.success(), "initdb failed:\n{}", describe(&out));

        // A port is free when we look; another process may take it before the server binds,
        // so retry on a fresh port rather than trusting the first.
        let log = cluster.dir.path().join("postgres.log");
        let mut last_failure = String::new();
        for _ in 0..5 {
            let port = free_port();
            let options = format!(
                "-c listen_addresses=127.0.0.1 -p {port} -k {} -c fsync=off -c max_connections=60",
                cluster.dir.path().display()
            );
            let pg_ctl = cluster.bin.join("pg_ctl");
            let out = cluster.run(
                &pg_ctl,
                &[
                    "-D".as_ref(),
                    cluster.data.as_os_str(),
                    "-l".as_ref(),
                    log.as_os_str(),
                    "-w".as_ref(),
                    "-t".as_ref(),
                    "30".as_ref(),
                    "-o".as_ref(),
                    options.as_ref(),
                    "start".as_ref(),
                ],
            );
            if out.status.success() {
                cluster.port = port;
                cluster.started = true;
                return cluster;
            }
            let server_log = fs::read_to_string(&log).unwrap_or_default();
            last_failure = format!("{}\nserver log:\n{server_log}", describe(&out));
            if !server_log.contains("could not bind") && !server_log.contains("already in use") {
                break;
            }
        }
        panic!("pg_ctl start failed:\n{last_failure}");
    }

    /// A URL for `database` with the superuser's password, over TCP.
    pub fn url(&self, database: &str) -> String {
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/{database}",
            self.password, self.port
        )
    }

    /// The same URL with another password.
    pub fn url_with_password(&self, database: &str, password: &str) -> String {
        format!(
            "postgres://postgres:{password}@127.0.0.1:{}/{database}",
            self.port
        )
    }

    pub fn password(&self) -> &str {
        &self.password
    }

    /// Create an empty database.
    pub async fn create_database(&self, name: &str) {
        use sqlx::Connection;
        sqlx::any::install_default_drivers();
        let mut conn = sqlx::AnyConnection::connect(&self.url("postgres"))
            .await
            .expect("connect to the maintenance database");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .execute(&mut conn)
            .await
            .expect("create database");
        conn.close().await.expect("close maintenance connection");
    }

    fn run(&self, program: &Path, args: &[&std::ffi::OsStr]) -> Output {
        let mut command = if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(program);
            c
        } else {
            Command::new(program)
        };
        command
            .args(args)
            .current_dir(self.dir.path())
            .env("LC_ALL", "C")
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", program.display()))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.started {
            return;
        }
        let pg_ctl = self.bin.join("pg_ctl");
        let out = self.run(
            &pg_ctl,
            &[
                "-D".as_ref(),
                self.data.as_os_str(),
                "-m".as_ref(),
                "immediate".as_ref(),
                "-w".as_ref(),
                "stop".as_ref(),
            ],
        );
        if !out.status.success() {
            eprintln!("pg_ctl stop failed:\n{}", describe(&out));
        }
    }
}

/// The newest `/usr/lib/postgresql/*/bin` holding `initdb` and `pg_ctl`
/// (or `$VOUCH_PG_BIN` if set).
fn find_bin_dir() -> PathBuf {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("VOUCH_PG_BIN") {
        let dir = PathBuf::from(dir);
        assert!(
            has_tools(&dir),
            "VOUCH_PG_BIN={} has no initdb and pg_ctl (on Debian they come with the \
             `postgresql` package: apt-get install postgresql)",
            dir.display()
        );
        return dir;
    }
    let mut found: Vec<(u32, PathBuf)> = fs::read_dir(PG_LIB)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            has_tools(&bin).then_some((version, bin))
        })
        .collect();
    found.sort();
    match found.pop() {
        Some((_, bin)) => bin,
        None => panic!(
            "PostgreSQL server binaries (initdb, pg_ctl) not found under {PG_LIB}/*/bin. \
             The PostgreSQL store tests need them: install the Debian package `postgresql` \
             (apt-get install postgresql), or set VOUCH_PG_BIN to a directory holding them."
        ),
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

fn describe(out: &Output) -> String {
    format!(
        "status: {}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}
