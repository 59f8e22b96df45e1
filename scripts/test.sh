#!/usr/bin/env bash
# The whole test suite: installs the external verifiers it needs, then runs every test of
# every crate (unit, integration with openssl/pkilint/webpki, storage contract on SQLite and
# a throwaway PostgreSQL cluster).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vouch-target}"
export VOUCH_PKILINT_DIR="${VOUCH_TOOLS_DIR:-/var/tmp/vouch-tools}/venv/bin"
bash scripts/test-deps.sh
cargo test --workspace --all-targets "$@"
