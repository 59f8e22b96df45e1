//! The `vouch` binary: everything lives in the library so tests can drive the server in-process.

#![forbid(unsafe_code)]

fn main() -> std::process::ExitCode {
    vouch::run_cli()
}
