#!/usr/bin/env bash
# Vouch against cfssl on this machine, in one run, with one load generator (`vouch bench`).
#
# Starts, on loopback:
#   - Vouch (release build) with a P-256 root and intermediate on the embedded SQLite store
#     (synchronous=FULL): /1.0/sign with a fresh one-time token per request, /1.0/renew over
#     mTLS, and OCSP on its plain-HTTP listener;
#   - cfssl serve (unauthenticated /api/v1/cfssl/sign, nothing stored) and cfssl ocspserve
#     (pre-signed responses from a file), with a P-256 CA;
# drives each at 1, 4, 16 and 64 connections for $DURATION seconds (default 10), measures the
# crypto floor (2 P-256 verifications + 1 P-256 signature) in the same run, and prints a table,
# the servers' CPU seconds per 1000 operations (from /proc), Vouch's RSS, and three summary
# lines:
#   sign ratio @16: X             (Vouch sign/s / cfssl sign/s at 16 connections)
#   ocsp ratio @16: X             (Vouch OCSP/s / cfssl ocspserve's)
#   cpu per issuance / floor: X   (Vouch CPU per /sign at 16 connections / the floor)
# Installs Debian's golang-cfssl when cfssl is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION="${DURATION:-10}"
LEVELS="${LEVELS:-1 4 16 64}"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
if ! command -v cfssl >/dev/null || ! command -v cfssljson >/dev/null; then
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq golang-cfssl >/dev/null
fi
for tool in cfssl cfssljson openssl python3; do
  command -v "$tool" >/dev/null || { echo "bench-vs-cfssl: $tool is missing" >&2; exit 1; }
done

BENCH_NAME=bench-vs-cfssl
. scripts/lib/bench-common.sh

# ---- Vouch ---------------------------------------------------------------------------------
export VOUCH_HOME="$WORK/vouch"
PW="$WORK/pw.txt"
head -c 24 /dev/urandom | base64 > "$PW"
V_PORT="$(free_port)"; V_HTTP="$(free_port)"
"$VOUCH" init --name Bench --dns localhost,127.0.0.1 --address "127.0.0.1:$V_PORT" \
  --provisioner bench@vouch --password-file "$PW" >/dev/null
"$VOUCH" serve --password-file "$PW" --insecure-address "127.0.0.1:$V_HTTP" \
  >"$WORK/vouch.log" 2>&1 &
V_PID=$!; PIDS+=("$V_PID")
wait_port "$V_PORT"
sleep 1
V_RSS_IDLE="$(awk '/VmRSS/ {print $2}' "/proc/$V_PID/status")"
ROOT="$VOUCH_HOME/certs/root_ca.crt"
INT="$VOUCH_HOME/certs/intermediate_ca.crt"
"$VOUCH" ca certificate svc.bench.internal "$WORK/svc.crt" "$WORK/svc.key" \
  --provisioner-password-file "$PW" >/dev/null
openssl x509 -in "$WORK/svc.crt" -out "$WORK/svc-leaf.crt"
openssl ocsp -issuer "$INT" -cert "$WORK/svc-leaf.crt" -no_nonce -reqout "$WORK/vouch-req.der" >/dev/null

# ---- cfssl ---------------------------------------------------------------------------------
C_PORT="$(free_port)"; C_OCSP="$(free_port)"
(
  cd "$WORK"
  echo '{"CN":"cfssl bench CA","key":{"algo":"ecdsa","size":256}}' > ca-csr.json
  cfssl gencert -initca ca-csr.json 2>/dev/null | cfssljson -bare ca
  cat > config.json <<'JSON'
{"signing":{"default":{"expiry":"24h","usages":["digital signature","server auth","client auth"]}}}
JSON
  echo '{"CN":"svc.bench.internal","hosts":["svc.bench.internal"],"key":{"algo":"ecdsa","size":256}}' > leaf-csr.json
  cfssl gencert -ca ca.pem -ca-key ca-key.pem -config config.json leaf-csr.json 2>/dev/null | cfssljson -bare leaf
  cfssl ocspsign -ca ca.pem -responder ca.pem -responder-key ca-key.pem -cert leaf.pem \
    -status good 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["ocspResponse"])' > responses.txt
  openssl ocsp -issuer ca.pem -cert leaf.pem -no_nonce -reqout cfssl-req.der >/dev/null
)
cfssl serve -address 127.0.0.1 -port "$C_PORT" -ca "$WORK/ca.pem" -ca-key "$WORK/ca-key.pem" \
  -config "$WORK/config.json" >"$WORK/cfssl.log" 2>&1 &
C_PID=$!; PIDS+=("$C_PID")
cfssl ocspserve -address 127.0.0.1 -port "$C_OCSP" -responses "$WORK/responses.txt" \
  >"$WORK/ocspserve.log" 2>&1 &
CO_PID=$!; PIDS+=("$CO_PID")
wait_port "$C_PORT"; wait_port "$C_OCSP"

# ---- runs ----------------------------------------------------------------------------------
RESULTS="$WORK/results.jsonl"
bench() { # label, then vouch bench arguments
  local label="$1"; shift
  "$VOUCH" bench --json --duration "$DURATION" "$@" | python3 -c \
    "import json,sys; r=json.load(sys.stdin); r['label']='$label'; print(json.dumps(r))" >> "$RESULTS"
}
for c in $LEVELS; do
  echo "== $c connection(s)" >&2
  bench vouch-sign --mode sign --url "https://127.0.0.1:$V_PORT" --root "$ROOT" \
    --password-file "$PW" --connections "$c" --server-pid "$V_PID"
  bench cfssl-sign --mode cfssl-sign --url "http://127.0.0.1:$C_PORT" --connections "$c" \
    --server-pid "$C_PID"
  bench vouch-renew --mode renew --url "https://127.0.0.1:$V_PORT" --root "$ROOT" \
    --cert "$WORK/svc.crt" --key "$WORK/svc.key" --connections "$c" --server-pid "$V_PID"
  bench vouch-ocsp --mode ocsp-post --url "http://127.0.0.1:$V_HTTP/ocsp" \
    --ocsp-request "$WORK/vouch-req.der" --connections "$c" --server-pid "$V_PID"
  bench cfssl-ocsp --mode ocsp-post --url "http://127.0.0.1:$C_OCSP/" \
    --ocsp-request "$WORK/cfssl-req.der" --connections "$c" --server-pid "$CO_PID"
done
"$VOUCH" bench --mode floor --json --duration 3 | python3 -c \
  "import json,sys; r=json.load(sys.stdin); r['label']='floor'; print(json.dumps(r))" >> "$RESULTS"
V_RSS_LOADED="$(awk '/VmRSS/ {print $2}' "/proc/$V_PID/status")"
CERTS="$(sqlite3 "$VOUCH_HOME/db/vouch.db" 'select count(*) from certificates' 2>/dev/null || echo '?')"

python3 - "$RESULTS" "$V_RSS_IDLE" "$V_RSS_LOADED" "$CERTS" "$DURATION" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
idle, loaded, certs, duration = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
by = {}
for r in rows:
    by[(r["label"], r.get("connections"))] = r
floor = by[("floor", None)]["cpu_s_per_1000"]
levels = sorted({r["connections"] for r in rows if r["label"] != "floor"})
def get(label, c, key="rps"):
    r = by.get((label, c))
    return r.get(key) if r else None
def f(v, fmt="{:.0f}"):
    return "-" if v is None else fmt.format(v)
def ratio(a, b):
    return None if not a or not b else a / b
print(f"\nVouch vs cfssl, {duration} s per level, load generator on the same cores")
hdr = ("conns", "vouch sign/s", "cfssl sign/s", "ratio", "vouch ocsp/s", "cfssl ocsp/s",
       "ratio", "vouch renew/s", "p99 sign ms (v/c)", "CPU s/1000 sign (v/c)", "errors")
print("| " + " | ".join(hdr) + " |")
print("|" + "---|" * len(hdr))
for c in levels:
    errs = sum(by[(l, c)]["errors"] for l in ("vouch-sign", "cfssl-sign", "vouch-renew", "vouch-ocsp", "cfssl-ocsp") if (l, c) in by)
    print("| " + " | ".join([
        str(c),
        f(get("vouch-sign", c)), f(get("cfssl-sign", c)),
        f(ratio(get("vouch-sign", c), get("cfssl-sign", c)), "{:.2f}"),
        f(get("vouch-ocsp", c)), f(get("cfssl-ocsp", c)),
        f(ratio(get("vouch-ocsp", c), get("cfssl-ocsp", c)), "{:.2f}"),
        f(get("vouch-renew", c)),
        f(get("vouch-sign", c, "p99_ms"), "{:.1f}") + " / " + f(get("cfssl-sign", c, "p99_ms"), "{:.1f}"),
        f(get("vouch-sign", c, "cpu_s_per_1000"), "{:.3f}") + " / " + f(get("cfssl-sign", c, "cpu_s_per_1000"), "{:.3f}"),
        str(errs),
    ]) + " |")
fl = by[("floor", None)]
print(f"\ncrypto floor (2 P-256 verifications + 1 P-256 signature): {floor:.3f} CPU s per 1000 issuances"
      f" (verification {fl['verify_us']:.1f} µs, signature {fl['sign_us']:.1f} µs)")
print(f"crypto alone with the post-signing check (3 verifications + 1 signature): "
      f"{fl['with_post_sign_check']:.2f} × the floor")
print(f"Vouch RSS: {int(idle)/1024:.1f} MiB idle, {int(loaded)/1024:.1f} MiB after the run ({certs} certificates stored)")
s16 = ratio(get("vouch-sign", 16), get("cfssl-sign", 16))
o16 = ratio(get("vouch-ocsp", 16), get("cfssl-ocsp", 16))
cpu16 = get("vouch-sign", 16, "cpu_s_per_1000")
print()
print(f"sign ratio @16: {f(s16, '{:.2f}')}")
print(f"ocsp ratio @16: {f(o16, '{:.2f}')}")
print(f"cpu per issuance / floor: {f(None if cpu16 is None else cpu16 / floor, '{:.2f}')}")
PY
