#!/usr/bin/env bash
# Install what the test suite needs on a fresh Debian machine, and nothing when it is there:
# openssl (verifier), certbot and lego (real ACME clients), PostgreSQL (the HA store's contract tests), pkilint (RFC 5280 linter) and
# jwcrypto (JOSE), the last two from PyPI in a venv under /var/tmp/vouch-tools. Safe to run repeatedly.
set -euo pipefail

TOOLS="${VOUCH_TOOLS_DIR:-/var/tmp/vouch-tools}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need_apt=()
command -v openssl >/dev/null 2>&1 || need_apt+=(openssl)
command -v tmux >/dev/null 2>&1 || need_apt+=(tmux)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
command -v certbot >/dev/null 2>&1 || need_apt+=(certbot)
command -v lego >/dev/null 2>&1 || need_apt+=(lego)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
python3 -c 'import venv, ensurepip' >/dev/null 2>&1 || need_apt+=(python3-venv)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)
if [ "${#need_apt[@]}" -gt 0 ]; then
  echo "test-deps: installing ${need_apt[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${need_apt[@]}"
  # Debian starts a cluster on install; the tests run their own throwaway clusters.
  $SUDO pg_ctlcluster --help >/dev/null 2>&1 && $SUDO sh -c 'for c in /etc/postgresql/*/*; do [ -d "$c" ] && pg_ctlcluster "$(basename "$(dirname "$c")")" "$(basename "$c")" stop || true; done' || true
fi

# pkilint lints certificates; jwcrypto is an independent JOSE implementation that checks the
# provisioner keys Vouch encrypts in step-ca's JWE format.
if [ ! -x "$TOOLS/venv/bin/lint_pkix_cert" ] || ! "$TOOLS/venv/bin/python" -c 'import jwcrypto' 2>/dev/null; then
  echo "test-deps: installing pkilint and jwcrypto into $TOOLS/venv" >&2
  mkdir -p "$TOOLS"
  [ -x "$TOOLS/venv/bin/pip" ] || python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check pkilint jwcrypto
fi
"$TOOLS/venv/bin/lint_pkix_cert" --help >/dev/null
"$TOOLS/venv/bin/python" -c 'import jwcrypto'
certbot --version >/dev/null
lego --version >/dev/null
