#!/usr/bin/env bash
# Runs `uwsgi conformance` against every real peer with its expected-failure list, and prints one
# line per peer: `PEER: N passed, N failed, N expected failures`.
#
#   application servers (each serving the reference app tests/peers/appview.py, or
#   appview_asgi.py for the asgi worker), judged with --app-view --strict:
#     uwsgi (Debian 2.0.21), pyuwsgi (2.0.30), gunicorn-sync, gunicorn-gthread, gunicorn-asgi,
#     and the crate's own `uwsgi serve --app-view` (no list: it must pass everything it runs)
#   front ends (HTTP in, uwsgi out to the runner's recorder), judged with --front-end:
#     nginx, apache, lighttpd, uwsgi-http (uWSGI 2.0.21's router), pyuwsgi-http, uwsgi-proxy
#
# Lists: tests/vectors/expected-failures/PEER.txt (every entry explained; an unexpected pass fails).
# Peers come from `bash .ci/install-peers`; each is started on 127.0.0.1 by tests/peers/peerctl.py
# in its own directory under target/peer-runs/ and stopped by its PID, on failure too. Each run is
# bounded (`timeout`), the whole script takes about a minute. Exit status 0 iff every run passed.
# Usage: bash uwsgi-cli/ci-peers.sh [PEER...]     (UWSGI_BIN=path to use a built binary)
set -uo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin:/sbin"

OUT=target/peer-runs
LISTS=tests/vectors/expected-failures
PEERCTL="python3 tests/peers/peerctl.py"
APP_SERVERS=(uwsgi pyuwsgi gunicorn-sync gunicorn-gthread gunicorn-asgi)
FRONT_ENDS=(nginx apache lighttpd uwsgi-http pyuwsgi-http uwsgi-proxy)
mkdir -p "$OUT"

if [ -n "${UWSGI_BIN:-}" ]; then
    UWSGI=$UWSGI_BIN
else
    cargo build --quiet -p uwsgi-cli --bin uwsgi || exit 2
    UWSGI=target/debug/uwsgi
fi

STARTED=()
SERVE_PID=
cleanup() {
    for dir in "${STARTED[@]}"; do $PEERCTL stop --dir "$dir" >/dev/null 2>&1; done
    if [ -n "$SERVE_PID" ]; then kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; fi
}
trap cleanup EXIT INT TERM

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# The summary line of a --json report.
summary() {
    python3 - "$1" <<'PY'
import json, sys
try:
    d = json.load(open(sys.argv[1]))
    print("%d passed, %d failed, %d expected failures" % (d["passed"], d["failed"], d["expected_failures"]))
except Exception as e:
    print("no report (%s)" % e)
    sys.exit(1)
PY
}

status=0
report() { # PEER RC
    local line
    line=$(summary "$OUT/$1.json") || status=1
    [ "$2" -eq 0 ] || status=1
    echo "$1: $line"
}

want() { [ ${#SELECTED[@]} -eq 0 ] && return 0; local p; for p in "${SELECTED[@]}"; do [ "$p" = "$1" ] && return 0; done; return 1; }
SELECTED=("$@")

for peer in "${APP_SERVERS[@]}"; do
    want "$peer" || continue
    dir=$PWD/$OUT/$peer; rm -rf "$dir"; port=$(free_port)
    if ! $PEERCTL start "$peer" --dir "$dir" --port "$port" > "$OUT/$peer.start" 2>&1; then
        echo "$peer: could not start (see $OUT/$peer.start)"; status=1; continue
    fi
    STARTED+=("$dir")
    timeout 300 "$UWSGI" conformance "127.0.0.1:$port" --app-view --strict --jobs 4 \
        --expect-fail "$LISTS/$peer.txt" --json > "$OUT/$peer.json"
    report "$peer" $?
    $PEERCTL stop --dir "$dir" >/dev/null 2>&1
done

if want uwsgi-serve; then
    "$UWSGI" serve --listen 127.0.0.1:0 --app-view > "$OUT/uwsgi-serve.out" 2> "$OUT/uwsgi-serve.log" &
    SERVE_PID=$!
    for _ in $(seq 50); do grep -q '^listening on' "$OUT/uwsgi-serve.out" 2>/dev/null && break; sleep 0.1; done
    addr=$(sed -n 's/^listening on //p' "$OUT/uwsgi-serve.out")
    timeout 300 "$UWSGI" conformance "$addr" --app-view --strict --jobs 4 --json > "$OUT/uwsgi-serve.json"
    report uwsgi-serve $?
    kill "$SERVE_PID" 2>/dev/null; wait "$SERVE_PID" 2>/dev/null; SERVE_PID=
fi

for peer in "${FRONT_ENDS[@]}"; do
    want "$peer" || continue
    dir=$PWD/$OUT/$peer; rm -rf "$dir"; port=$(free_port); upstream=$(free_port)
    if ! $PEERCTL start "$peer" --dir "$dir" --port "$port" --upstream "$upstream" > "$OUT/$peer.start" 2>&1; then
        echo "$peer: could not start (see $OUT/$peer.start)"; status=1; continue
    fi
    STARTED+=("$dir")
    timeout 300 "$UWSGI" conformance "127.0.0.1:$port" --front-end "127.0.0.1:$upstream" \
        --expect-fail "$LISTS/$peer.txt" --json > "$OUT/$peer.json"
    report "$peer" $?
    $PEERCTL stop --dir "$dir" >/dev/null 2>&1
done
exit $status
