//! `vouch`: the server, the client and the offline PKI toolbox in one binary.
//!
//! This file is the composition root of the CLI: it parses arguments, runs one command and
//! turns any error into a single line on stderr with a non-zero exit. Commands live in
//! `cmd/`; file handling (atomic writes, modes, passwords) in `files`.

#![forbid(unsafe_code)]

mod cfssl;
mod cli;
mod cmd;
mod files;
mod home;
mod inspect;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
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
