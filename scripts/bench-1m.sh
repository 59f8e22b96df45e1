#!/usr/bin/env bash
# Issuance with 1M certificates stored, against an empty store, on this machine in one run.
#
# Two CAs made the same way (P-256, embedded SQLite, synchronous=FULL):
#   - "empty": a fresh database;
#   - "full":  the same, with $ROWS (default 1,000,000) issued certificates bulk-loaded with
#              sqlite3 while the server is stopped: a row, its name and a 600-byte DER each,
#              with wholly random serials (the worst case for the serial index), distinct
#              names and subjects, and expiries spread over a year.
# Each is driven by `vouch bench --mode sign --connections 16` for $DURATION seconds
# (default 8), $ROUNDS times (default 3), alternating, and the medians are compared.
# Prints the rates, CPU per 1000, RSS idle and after the runs, and ends with:
#   sign rate 1M / empty: X        (target: at least 0.90)
#   rss with 1M stored: N MiB      (target: at most 64)
set -euo pipefail
cd "$(dirname "$0")/.."
ROWS="${ROWS:-1000000}"
DURATION="${DURATION:-8}"
ROUNDS="${ROUNDS:-3}"
for tool in sqlite3 python3; do
  command -v "$tool" >/dev/null || { echo "bench-1m: $tool is missing" >&2; exit 1; }
done
BENCH_NAME=bench-1m
. scripts/lib/bench-common.sh
rss_kib() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }

# make_ca NAME: a CA home under $WORK/NAME with its own port; prints the port.
make_ca() {
  local home="$WORK/$1" port
  port="$(free_port)"
  head -c 24 /dev/urandom | base64 > "$WORK/$1.pw"
  VOUCH_HOME="$home" "$VOUCH" init --name "Bench $1" --dns localhost,127.0.0.1 \
    --address "127.0.0.1:$port" --provisioner bench@vouch --password-file "$WORK/$1.pw" >/dev/null
  echo "$port"
}
# start NAME PORT: serve in the background; sets SERVER_PID.
start() {
  VOUCH_HOME="$WORK/$1" "$VOUCH" serve --password-file "$WORK/$1.pw" >"$WORK/$1.log" 2>&1 &
  SERVER_PID=$!; PIDS+=("$SERVER_PID")
  wait_port "$2"
  sleep 1
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
# bench NAME PORT PID: one run, one JSON line appended to $WORK/NAME.jsonl.
bench() {
  VOUCH_HOME="$WORK/$1" "$VOUCH" bench --mode sign --url "https://127.0.0.1:$2" \
    --root "$WORK/$1/certs/root_ca.crt" --password-file "$WORK/$1.pw" \
    --connections 16 --duration "$DURATION" --server-pid "$3" --json >>"$WORK/$1.jsonl"
}

EMPTY_PORT="$(make_ca empty)"
FULL_PORT="$(make_ca full)"
# The first start creates the schema; then stop it and load the rows.
start full "$FULL_PORT"; stop "$SERVER_PID"
DB="$WORK/full/db/vouch.db"
echo "loading $ROWS certificates into $DB ..."
LOAD_START=$(date +%s)
sqlite3 "$DB" >/dev/null <<SQL
PRAGMA journal_mode = WAL;
PRAGMA cache_size = -1000000;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS)
INSERT INTO certificates (serial, subject, sans, not_before, not_after, issuer, provisioner,
                          status, der, created_at)
SELECT lower(hex(char(1 + abs(random()) % 127) || randomblob(19))),
       'CN=svc-' || i || '.bench.internal',
       '["svc-' || i || '.bench.internal"]',
       1767225600 + i, 1767225600 + i + (i % 365) * 86400,
       'CN=Bench full Intermediate CA', 'bench@vouch', 'issued', randomblob(600), 1767225600 + i
FROM n;
INSERT INTO certificate_names (certificate_id, name)
SELECT id, substr(subject, 4) FROM certificates WHERE subject LIKE 'CN=svc-%';
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
echo "loaded in $(( $(date +%s) - LOAD_START )) s; database $(du -m "$DB" | cut -f1) MiB"

start empty "$EMPTY_PORT"; EMPTY_PID=$SERVER_PID
start full "$FULL_PORT"; FULL_PID=$SERVER_PID
FULL_RSS_IDLE="$(rss_kib "$FULL_PID")"
for r in $(seq 1 "$ROUNDS"); do
  echo "round $r"
  bench empty "$EMPTY_PORT" "$EMPTY_PID"
  bench full "$FULL_PORT" "$FULL_PID"
done
FULL_RSS_AFTER="$(rss_kib "$FULL_PID")"
STORED="$(sqlite3 "$DB" 'SELECT count(*) FROM certificates')"

python3 - "$WORK" "$FULL_RSS_IDLE" "$FULL_RSS_AFTER" "$STORED" <<'PY'
import json, statistics, sys
work, idle, after, stored = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
runs = {n: [json.loads(l) for l in open(f"{work}/{n}.jsonl")] for n in ("empty", "full")}
for n, rs in runs.items():
    errs = sum(r["errors"] for r in rs)
    print(f"{n:5}: " + ", ".join(f"{r['rps']:.0f}/s ({r['cpu_s_per_1000']:.3f} CPU s/1000)" for r in rs)
          + f"; errors {errs}")
    if errs:
        sys.exit(f"bench-1m: {n} had errors: {rs[0].get('first_error')}")
med = {n: statistics.median(r["rps"] for r in rs) for n, rs in runs.items()}
print(f"certificates stored in the full CA: {stored}")
print(f"full CA RSS: {idle / 1024:.1f} MiB idle, {after / 1024:.1f} MiB after the runs")
print(f"sign rate 1M / empty: {med['full'] / med['empty']:.2f}")
print(f"rss with 1M stored: {after / 1024:.1f} MiB")
PY
