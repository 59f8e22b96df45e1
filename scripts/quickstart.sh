#!/usr/bin/env bash
# Set Vouch up on its embedded defaults: build it, create a PKI (root, intermediate, first JWK
# provisioner, SQLite database) in $VOUCH_HOME (default ./.vouch-demo), issue a first
# certificate with it and verify that certificate. Re-running reuses the existing PKI.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vouch-target}"
cargo build --release -p vouch
VOUCH="$CARGO_TARGET_DIR/release/vouch"
export VOUCH_HOME="${VOUCH_HOME:-$PWD/.vouch-demo}"
mkdir -p "$(dirname "$VOUCH_HOME")"
PW="$VOUCH_HOME.password"
if [ ! -f "$PW" ]; then
  umask 077
  head -c 24 /dev/urandom | base64 > "$PW"
fi
if [ ! -f "$VOUCH_HOME/config/ca.toml" ]; then
  "$VOUCH" init --name Demo --dns localhost,127.0.0.1 --address 127.0.0.1:9443 \
    --provisioner admin@localhost --password-file "$PW"
fi
OUT="$VOUCH_HOME/../vouch-demo-certs"
mkdir -p "$OUT"
"$VOUCH" cert create localhost "$OUT/localhost.crt" "$OUT/localhost.key" --force \
  --ca "$VOUCH_HOME/certs/intermediate_ca.crt" --ca-key "$VOUCH_HOME/secrets/intermediate_ca_key" \
  --ca-password-file "$PW" --san localhost --san 127.0.0.1 --no-password --insecure
"$VOUCH" cert verify "$OUT/localhost.crt" --roots "$VOUCH_HOME/certs/root_ca.crt" \
  --intermediates "$VOUCH_HOME/certs/intermediate_ca.crt" --host localhost
echo
echo "PKI: $VOUCH_HOME (CA key password in $PW)"
echo "First certificate: $OUT/localhost.crt"
