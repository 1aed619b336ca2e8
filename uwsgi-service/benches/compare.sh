#!/usr/bin/env bash
# The same axum app served three ways behind the same nginx, measured in one run with wrk
# (loopback only, bounded in time), then the memory an idle connection costs.
#
#   bash uwsgi-service/benches/compare.sh [SECONDS=5] [CONNECTIONS=32] [IDLE=1000] [ROUNDS=5]
#
#   uwsgi   nginx uwsgi_pass -> uwsgi-service serving the axum app (benches/app.rs)
#   hyper   nginx proxy_pass -> hyper (axum::serve) serving the same app
#   uWSGI   nginx uwsgi_pass -> uWSGI 2.0 with the hello app (tests/peers/hello.py), reference
#
# Each row: wrk -t1 -cCONNECTIONS -dSECONDS --latency against nginx (one worker), ROUNDS times,
# the three paths taking turns in a rotating order (the machine is shared: neighbours' load
# comes and goes), and the median of the rounds is reported. CPU columns: the server's and
# nginx's CPU time (user + system) per request, from /proc. Memory per
# idle connection: RSS of the server before and after IDLE connections that send nothing
# (inside the 5 s head deadline). Needs `bash .ci/install-peers` (nginx, uWSGI, wrk). Every
# process it starts is stopped by its PID on exit.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-5}
conns=${2:-32}
idle=${3:-1000}
rounds=${4:-5}
export PATH="$PATH:/usr/sbin:/sbin"

cargo build --quiet --release -p uwsgi-service --example bench-app
app=target/release/examples/bench-app
dir=target/bench-serve
rm -rf "$dir" && mkdir -p "$dir/nginx"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return; sleep 0.05; done; echo "nothing on port $1" >&2; exit 1; }
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

p_service=$(free_port); p_hyper=$(free_port); p_uwsgi=$(free_port)
"$app" uwsgi "127.0.0.1:$p_service" >"$dir/service.log" 2>&1 & pid_service=$!; pids+=("$pid_service")
"$app" http "127.0.0.1:$p_hyper" >"$dir/hyper.log" 2>&1 & pid_hyper=$!; pids+=("$pid_hyper")
uwsgi --plugin python3 --socket "127.0.0.1:$p_uwsgi" --wsgi-file tests/peers/hello.py \
    --master --processes 1 --disable-logging --die-on-term >"$dir/uwsgi.log" 2>&1 & pid_uwsgi=$!; pids+=("$pid_uwsgi")

n_service=$(free_port); n_hyper=$(free_port); n_uwsgi=$(free_port)
cat >"$dir/nginx/nginx.conf" <<CONF
daemon off;
master_process off;
worker_processes 1;
pid $PWD/$dir/nginx/nginx.pid;
error_log $PWD/$dir/nginx/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $PWD/$dir/nginx/body;
    proxy_temp_path $PWD/$dir/nginx/proxy;
    uwsgi_temp_path $PWD/$dir/nginx/uwsgi;
    fastcgi_temp_path $PWD/$dir/nginx/fastcgi;
    scgi_temp_path $PWD/$dir/nginx/scgi;
    server { listen 127.0.0.1:$n_service; location / { include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:$p_service; } }
    server { listen 127.0.0.1:$n_hyper; location / { proxy_pass http://127.0.0.1:$p_hyper; } }
    server { listen 127.0.0.1:$n_uwsgi; location / { include /etc/nginx/uwsgi_params; uwsgi_pass 127.0.0.1:$p_uwsgi; } }
}
CONF
nginx -p "$PWD/$dir/nginx" -c "$PWD/$dir/nginx/nginx.conf" -e "$PWD/$dir/nginx/error.log" >"$dir/nginx.out" 2>&1 & pid_nginx=$!; pids+=("$pid_nginx")
for port in "$p_service" "$p_hyper" "$p_uwsgi" "$n_service" "$n_hyper" "$n_uwsgi"; do wait_port "$port"; done

cpu_ticks() { # utime + stime of a process and its children, in clock ticks
    local total=0 pid
    for pid in "$1" $(cat "/proc/$1/task/"*/children 2>/dev/null); do
        total=$(( total + $(awk '{print $14 + $15}' "/proc/$pid/stat") ))
    done
    echo "$total"
}

row() { # name port server-pid
    curl -sf "http://127.0.0.1:$2/" >/dev/null || { echo "$1: no answer" >&2; exit 1; }
    wrk -t1 -c"$conns" -d1s "http://127.0.0.1:$2/" >/dev/null # warm-up
    local before; before=$(cpu_ticks "$3")
    local nginx_before; nginx_before=$(cpu_ticks "$pid_nginx")
    local out; out=$(wrk -t1 -c"$conns" -d"${seconds}s" --latency "http://127.0.0.1:$2/")
    local ticks=$(( $(cpu_ticks "$3") - before ))
    local nginx_ticks=$(( $(cpu_ticks "$pid_nginx") - nginx_before ))
    echo "$out" >"$dir/wrk-$1.txt"
    local rps p99 errors
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out" | tr '\n' ' ')
    local requests; requests=$(awk '/requests in/ {print $1}' <<<"$out")
    local per=$(( $(getconf CLK_TCK) * (requests > 0 ? requests : 1) ))
    local cpu_us=$(( ticks * 1000000 / per )) nginx_us=$(( nginx_ticks * 1000000 / per ))
    echo "$rps $p99 $cpu_us $nginx_us ${errors:-}" >>"$dir/rounds-$4.txt"
}

median() { # file: the row whose requests/s is the median
    sort -n -k1 "$1" | awk '{line[NR] = $0} END {print line[int((NR + 1) / 2)]}'
}

names=("nginx uwsgi_pass -> uwsgi-service (axum)" "nginx proxy_pass -> hyper (axum)" "nginx uwsgi_pass -> uWSGI (hello app)")
ports=("$n_service" "$n_hyper" "$n_uwsgi")
servers=("$pid_service" "$pid_hyper" "$pid_uwsgi")
for round in $(seq 0 $((rounds - 1))); do
    for turn in 0 1 2; do
        i=$(( (round + turn) % 3 ))
        row "${names[$i]}" "${ports[$i]}" "${servers[$i]}" "$i"
    done
done
echo "wrk -t1 -c$conns -d${seconds}s, median of $rounds rounds, nginx 1 worker, $(nproc) cores"
echo "| path | requests/s | p99 | server CPU µs/request | nginx CPU µs/request | errors |"
echo "|---|---:|---:|---:|---:|---|"
for i in 0 1 2; do
    read -r rps p99 cpu nginx_cpu errors <<<"$(median "$dir/rounds-$i.txt")"
    printf '| %-42s | %10s | %8s | %6s | %6s | %s |\n' "${names[$i]}" "$rps" "$p99" "$cpu" "$nginx_cpu" "${errors:-}"
done

idle_cost() { # name pid port
    local before after
    before=$(rss_kib "$2")
    "$app" idle "127.0.0.1:$3" "$idle" 3 >"$dir/idle-$1.log" 2>&1 & local holder=$!
    sleep 2
    after=$(rss_kib "$2")
    wait "$holder"
    echo "$1: RSS $before KiB -> $after KiB with $idle idle connections: $(( (after - before) * 1024 / idle )) bytes each"
}
sleep 6 # the head deadline closes what wrk left behind
idle_cost "uwsgi-service" "$pid_service" "$p_service"
idle_cost "hyper (axum::serve)" "$pid_hyper" "$p_hyper"
