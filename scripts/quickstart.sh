#!/usr/bin/env bash
# Start a working CA on the embedded defaults: build Vouch, create a PKI on first run (root,
# intermediate, a first JWK provisioner, the SQLite database) in $VOUCH_HOME (default
# ./.vouch-demo) or reuse the one there, and serve it on https://localhost:9443 until ctrl-c.
# In another shell, get a certificate with:
#   VOUCH_HOME=./.vouch-demo $CARGO_TARGET_DIR/release/vouch ca certificate localhost site.crt site.key \
#       --provisioner-password-file ./.vouch-demo.password
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vouch-target}"
cargo build --release -p vouch
VOUCH="$CARGO_TARGET_DIR/release/vouch"
export VOUCH_HOME="${VOUCH_HOME:-$PWD/.vouch-demo}"
mkdir -p "$(dirname "$VOUCH_HOME")"
PW="$VOUCH_HOME.password"
if [ ! -f "$PW" ]; then
  (umask 077 && head -c 24 /dev/urandom | base64 > "$PW")
fi
if [ ! -f "$VOUCH_HOME/config/ca.toml" ]; then
  "$VOUCH" init --name Demo --dns localhost,127.0.0.1 --address 127.0.0.1:9443 \
    --provisioner admin@localhost --password-file "$PW"
fi
echo "CA and provisioner password: $PW"
exec "$VOUCH" serve --password-file "$PW"
