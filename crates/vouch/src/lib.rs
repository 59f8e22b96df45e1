//! `vouch`: the server, the client and the offline PKI toolbox in one binary.
//!
//! This crate is the composition root: it parses arguments, wires the issuing, registration,
//! validation and storage crates together, runs the HTTPS server, and turns any error into a
//! single line on stderr with a non-zero exit. Commands live in `cmd/`; file handling (atomic
//! writes, modes, passwords) in `files`; the online CA in `server/`.

#![forbid(unsafe_code)]

mod cfssl;
mod cli;
mod client;
mod cmd;
mod files;
mod home;
mod inspect;
pub mod server;

use std::process::ExitCode;

use clap::Parser;

/// Parse the command line, run one command, and report an error as one line.
pub fn run_cli() -> ExitCode {
    let cli = cli::Cli::parse();
    match cmd::run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the outermost context and every cause, no backtrace, no secrets.
            let msg = e
                .chain()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(": ");
            eprintln!("error: {}", msg.replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}
