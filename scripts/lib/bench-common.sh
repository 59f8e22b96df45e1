# Shared by the load-run scripts (source it after `cd` to the repository root and setting
# BENCH_NAME): builds the release binary, keeps a work directory and the servers started in
# it, and cleans both up on exit.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/var/tmp/vouch-target}"
cargo build --release -q -p vouch
VOUCH="$CARGO_TARGET_DIR/release/vouch"
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

# A free loopback port (the servers bind it right after; loopback only).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Wait up to 30 s for something to listen on loopback port $1.
wait_port() {
  for _ in $(seq 1 300); do
    if python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$1),0.2)" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "$BENCH_NAME: nothing listens on port $1" >&2; exit 1
}
