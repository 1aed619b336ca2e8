#!/usr/bin/env bash
# Record real uwsgi packets from the Debian nginx (uwsgi_pass) and regenerate
#   tests/vectors/nginx.json, tests/captures/nginx-get.bin, tests/captures/nginx-post.bin
#
# Usage: tests/vectors/record/record.sh          (from anywhere; needs root only to apt-get install)
#   KEEP_WORK=1  keep the temporary nginx prefix / raw captures for inspection
#   PYTHON=...   python3 interpreter to use (standard library only)
#
# Loopback only. Everything started here (nginx, the recorder) is stopped by PID on exit,
# including on failure; every wait is bounded.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
PY=${PYTHON:-python3}
CURL_OPTS=(-s --max-time 5)
PREFERRED_NGINX_PORT=18080   # as in PROTOCOL.md §8's golden packet; any free port is used otherwise

log() { printf 'record.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- 1. tools -----------------------------------------------------------------------------
find_nginx() { command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true; }
NGINX=$(find_nginx)
if [ -z "$NGINX" ] || ! command -v curl >/dev/null 2>&1; then
    log "installing nginx-light and curl with apt-get"
    [ "$(id -u)" -eq 0 ] || die "nginx or curl missing and not root: apt-get install nginx-light curl"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nginx-light curl
    NGINX=$(find_nginx)
fi
[ -n "$NGINX" ] || die "nginx not found after install"
command -v curl >/dev/null 2>&1 || die "curl not found after install"
[ -r /etc/nginx/uwsgi_params ] || die "/etc/nginx/uwsgi_params missing (package nginx-common)"
log "using $("$NGINX" -v 2>&1) at $NGINX"

# --- 2. temp prefix, cleanup ----------------------------------------------------------------
WORK=$(mktemp -d /tmp/uwsgi-record.XXXXXX)
NGX_PID=""
REC_PID=""
STATUS=1

stop_pid() {  # stop_pid PID NAME: TERM, wait up to 3 s, then KILL; only ever the given PID
    local pid=$1 name=$2 i
    [ -n "$pid" ] || return 0
    kill -0 "$pid" 2>/dev/null || return 0
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$pid" 2>/dev/null; then
        log "$name did not stop, sending KILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    stop_pid "$NGX_PID" nginx
    stop_pid "$REC_PID" recorder
    if [ "$STATUS" -ne 0 ] || [ "$rc" -ne 0 ]; then
        if [ -s "$WORK/nginx/error.log" ]; then
            log "nginx error.log (last lines):"
            tail -n 20 "$WORK/nginx/error.log" >&2 || true
        fi
        log "failed; work directory kept: $WORK"
    elif [ -n "${KEEP_WORK:-}" ]; then
        log "work directory kept: $WORK"
    else
        rm -rf -- "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

mkdir -p "$WORK/nginx/tmp" "$WORK/captures" "$WORK/resp" "$WORK/data"

# --- 3. ports -------------------------------------------------------------------------------
free_port() {  # free_port PREFERRED -> prints PREFERRED if bindable on 127.0.0.1, else a free port
    "$PY" - "$1" <<'EOF'
import socket, sys
pref = int(sys.argv[1])
for p in ([pref] if pref else []) + [0]:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as nginx does: TIME_WAIT is fine
    try:
        s.bind(("127.0.0.1", p))
        print(s.getsockname()[1])
        break
    except OSError:
        pass
    finally:
        s.close()
EOF
}

# --- 4. request payloads ----------------------------------------------------------------------
printf 'hello' > "$WORK/data/hello.txt"
"$PY" - "$WORK/data" <<'EOF'
import os, sys
d = sys.argv[1]
# 4096 bytes, every byte value, NUL and CR/LF included; deterministic
with open(os.path.join(d, "binary.bin"), "wb") as f:
    f.write(bytes((i * 37 + 11) & 0xFF for i in range(4096)))
# 3000 bytes of text for the chunked upload
with open(os.path.join(d, "chunked.txt"), "wb") as f:
    f.write(b"".join(b"line %04d of the chunked upload body\n" % i for i in range(100))[:3000])
# small JSON document for the PUT
with open(os.path.join(d, "put.json"), "wb") as f:
    f.write(b'{"id":7,"name":"widget","tags":["a","b"],"price":12.5}')
# 3000-byte query value: q=0000-0001-...; only unreserved characters, no escaping needed
with open(os.path.join(d, "query.txt"), "w") as f:
    f.write("".join("%04d-" % i for i in range(600))[:3000])
# 2048 bytes of text for the Expect: 100-continue upload
with open(os.path.join(d, "continue.txt"), "wb") as f:
    f.write(b"".join(b"continue %04d\n" % i for i in range(200))[:2048])
# ~6 KB Cookie header: 100 cookies c000..c099, 52-byte values
with open(os.path.join(d, "cookie.txt"), "w") as f:
    f.write("; ".join("c%03d=%s" % (i, ("%03d" % i) * 17 + "v") for i in range(100)))
EOF

# --- 5. requests ----------------------------------------------------------------------------
# Each request carries X-Capture-Name (sent last, so it does not disturb the header order under
# test); it reaches the recorder as HTTP_X_CAPTURE_NAME and names the capture file.
REQUESTS=()

req() {  # req NAME [curl args...] URL-PATH (last arg); expects 200 from the recorder via nginx
    local name=$1; shift
    local path=${*: -1}
    local args=("${@:1:$#-1}")
    local code
    code=$(curl "${CURL_OPTS[@]}" -o "$WORK/resp/$name" -w '%{http_code}' \
        "${args[@]}" -H "X-Capture-Name: $name" "http://127.0.0.1:$NGX_PORT$path") || true
    [ "$code" = 200 ] || die "$name: HTTP status '$code' from nginx (expected 200)"
    REQUESTS+=("$name")
    log "sent $name"
}

raw_req() {  # raw_req NAME: bytes curl cannot send (raw >= 0x80 in the request line and a header)
    local name=$1
    "$PY" - "$NGX_PORT" "$name" <<'EOF' || die "$name: raw request failed"
import socket, sys
port, name = int(sys.argv[1]), sys.argv[2].encode()
req = (b"GET /raw/caf\xe9/\xff\xfe/%E2%82%AC?q=\xe9\x80&r=%FF HTTP/1.1\r\n"
       b"Host: localhost\r\n"
       b"User-Agent: raw-socket\r\n"
       b"X-Latin1: caf\xe9 \xff\r\n"
       b"X-Capture-Name: " + name + b"\r\n"
       b"Connection: close\r\n\r\n")
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(req)
resp = b""
for _ in range(100):  # bounded; nginx closes after the response (Connection: close)
    chunk = s.recv(65536)
    if not chunk:
        break
    resp += chunk
s.close()
status = resp.split(b"\r\n", 1)[0]
if not status.startswith(b"HTTP/1.1 200 "):
    sys.exit("unexpected response: %r" % status)
EOF
    REQUESTS+=("$name")
    log "sent $name"
}

send_requests() {
    # 1. GET with a query string and an escaped space (PROTOCOL.md §8 golden shape, minus X-Foo)
    req nginx_get_query -A t '/a/b%20c?x=1'
    # 2. browser-like GET: the `nginx_get` benchmark workload
    req nginx_get \
        -H 'Connection: keep-alive' \
        -H 'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0' \
        -H 'Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8' \
        -H 'Accept-Language: en-GB,en;q=0.7,de;q=0.3' \
        -H 'Accept-Encoding: gzip, deflate, br, zstd' \
        -H 'Referer: http://127.0.0.1/shop/index.html?category=books' \
        -H 'Cookie: sessionid=8f2c1a9e4b7d4e0fa3c6b5d2e1f09a8b; csrftoken=Qm9vS2pXbHpNcE5rT1ZxY2RhRXZ6Ulh0; theme=dark; lang=en' \
        -H 'Sec-Fetch-Dest: document' \
        -H 'Sec-Fetch-Mode: navigate' \
        '/shop/product/1234?ref=home&utm_source=newsletter&utm_medium=email'
    # 3. small text POST
    req nginx_post_small -A t -H 'Content-Type: text/plain' --data-binary "@$WORK/data/hello.txt" '/post'
    # 4. POST with an empty body (Content-Length: 0)
    req nginx_post_empty -A t -X POST -d '' '/post/empty'
    # 5. binary POST, 4 KB
    req nginx_post_binary -A t -H 'Content-Type: application/octet-stream' \
        --data-binary "@$WORK/data/binary.bin" '/upload/binary'
    # 6. chunked upload: nginx de-chunks and computes CONTENT_LENGTH
    req nginx_post_chunked -A t -H 'Content-Type: text/plain' -H 'Transfer-Encoding: chunked' \
        --data-binary "@$WORK/data/chunked.txt" '/upload/chunked'
    # 7. repeated header (two X-Foo) + a header with an underscore (dropped by nginx)
    req nginx_repeated_headers -A t -H 'X-Foo: 1' -H 'X_Bar: dropped' -H 'X-Foo: 2' '/repeat'
    # 8. ~6 KB Cookie header
    req nginx_big_cookie -A t -H "Cookie: $(cat "$WORK/data/cookie.txt")" '/cookie'
    # 9. %-escaped non-UTF-8 bytes in the path: PATH_INFO carries the decoded raw bytes
    req nginx_nonutf8_escaped -A t --path-as-is '/caf%E9/%FF%FE/%C0%AF/../x?q=%FF'
    # 10. raw non-UTF-8 bytes in the request line and a header value (python socket)
    raw_req nginx_raw_bytes
    # 11. HEAD
    req nginx_head -A t -I '/head'
    # 12. DELETE
    req nginx_delete -A t -X DELETE '/items/42?force=1'
    # 13. HTTP/1.0 without a Host header
    req nginx_http10_no_host -A t --http1.0 -H 'Host:' '/old'
    # 14. CORS preflight OPTIONS: no body, CONTENT_LENGTH empty, Origin / Access-Control-* headers
    req nginx_options_preflight -A t -X OPTIONS -H 'Origin: http://example.com' \
        -H 'Access-Control-Request-Method: PUT' -H 'Access-Control-Request-Headers: content-type' '/api/items/7'
    # 15. PUT with a JSON body
    req nginx_put_json -A t -X PUT -H 'Content-Type: application/json' \
        --data-binary "@$WORK/data/put.json" '/api/items/7'
    # 16. a 3000-byte query string: QUERY_STRING and REQUEST_URI both carry it
    req nginx_long_query -A t "/search?q=$(cat "$WORK/data/query.txt")"
    # 17. HTTP/1.0 form POST
    req nginx_http10_post -A t --http1.0 -d 'a=1&b=two+words' '/form'
    # 18. POST with Expect: 100-continue: nginx answers the 100 itself and forwards HTTP_EXPECT
    req nginx_expect_continue -A t -H 'Expect: 100-continue' -H 'Content-Type: text/plain' \
        --data-binary "@$WORK/data/continue.txt" '/upload/continue'
}
N_REQUESTS=18

# --- 6. recorder --------------------------------------------------------------------------------
"$PY" "$HERE/recorder.py" 0 "$WORK/captures" --count "$N_REQUESTS" --timeout 60 \
    --port-file "$WORK/recorder.port" 2> "$WORK/recorder.log" &
REC_PID=$!
for _ in $(seq 50); do
    [ -s "$WORK/recorder.port" ] && break
    kill -0 "$REC_PID" 2>/dev/null || die "recorder exited early: $(cat "$WORK/recorder.log")"
    sleep 0.1
done
[ -s "$WORK/recorder.port" ] || die "recorder did not start listening within 5 s"
REC_PORT=$(cat "$WORK/recorder.port")
log "recorder pid $REC_PID on 127.0.0.1:$REC_PORT"

# --- 7. nginx -----------------------------------------------------------------------------------
NGX_PORT=$(free_port "$PREFERRED_NGINX_PORT")
P=$WORK/nginx
cat > "$P/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $P/nginx.pid;
error_log $P/error.log info;

events { worker_connections 64; }

http {
    access_log $P/access.log;
    client_body_temp_path $P/tmp/client_body;
    proxy_temp_path $P/tmp/proxy;
    fastcgi_temp_path $P/tmp/fastcgi;
    uwsgi_temp_path $P/tmp/uwsgi;
    scgi_temp_path $P/tmp/scgi;

    large_client_header_buffers 4 64k;
    client_body_buffer_size 64k;
    client_max_body_size 1m;

    server {
        listen 127.0.0.1:$NGX_PORT;
        server_name localhost;
        root /var/www/html;   # only shows up as DOCUMENT_ROOT; a fixed path keeps vectors stable

        location = /__ready { return 204; }   # readiness probe, never reaches the recorder

        location / {
            include /etc/nginx/uwsgi_params;
            uwsgi_pass 127.0.0.1:$REC_PORT;
            uwsgi_connect_timeout 2s;
            uwsgi_send_timeout 5s;
            uwsgi_read_timeout 5s;
        }
    }
}
EOF
"$NGINX" -t -q -p "$P/" -c "$P/nginx.conf" -e "$P/error.log" || die "nginx -t failed"
"$NGINX" -p "$P/" -c "$P/nginx.conf" -e "$P/error.log" &
NGX_PID=$!
ready=""
for _ in $(seq 50); do
    kill -0 "$NGX_PID" 2>/dev/null || die "nginx exited early"
    if [ "$(curl "${CURL_OPTS[@]}" -o /dev/null -w '%{http_code}' "http://127.0.0.1:$NGX_PORT/__ready" || true)" = 204 ]; then
        ready=1; break
    fi
    sleep 0.1
done
[ -n "$ready" ] || die "nginx did not answer on 127.0.0.1:$NGX_PORT within ~5 s"
log "nginx pid $NGX_PID on 127.0.0.1:$NGX_PORT"

# --- 8. record ----------------------------------------------------------------------------------
send_requests
[ "${#REQUESTS[@]}" -eq "$N_REQUESTS" ] || die "N_REQUESTS=$N_REQUESTS but ${#REQUESTS[@]} requests sent"

# the recorder exits by itself after N_REQUESTS connections; wait for it (bounded), then nginx
for _ in $(seq 50); do kill -0 "$REC_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$REC_PID" 2>/dev/null && die "recorder still running 5 s after the last request: $(cat "$WORK/recorder.log")"
rec_rc=0
wait "$REC_PID" || rec_rc=$?
REC_PID=""
stop_pid "$NGX_PID" nginx; NGX_PID=""
cat "$WORK/recorder.log" >&2
[ "$rec_rc" -eq 0 ] || die "recorder exit status $rec_rc"
for name in "${REQUESTS[@]}"; do
    [ -s "$WORK/captures/$name.bin" ] || die "no capture for $name"
done

# --- 9. vectors ---------------------------------------------------------------------------------
"$PY" "$HERE/make_vectors.py" --captures "$WORK/captures" --nginx "$NGINX" \
    --out "$ROOT/tests/vectors/nginx.json" --captures-out "$ROOT/tests/captures"
STATUS=0
log "done"
