#!/bin/sh
# Instructions per packet for the crate's parse + visit and for the floor walk, per workload,
# counted by valgrind's callgrind: deterministic, unlike wall-clock time.
#
#   benches/callgrind.sh                 # every workload
#   benches/callgrind.sh nginx_get       # some workloads
#   KEEP=dir benches/callgrind.sh        # keep the callgrind.out files (with --dump-instr=yes)
#   SETTINGS=pairs benches/callgrind.sh  # a parser with a setting of its own (datasize, pairs,
#                                        # magic): the path off the fast one
#
# Each count is (Ir(N=1001) - Ir(N=1)) / 1000 / packets: the difference cancels start-up and
# workload building, leaving exactly 1000 runs of the loop. `pipelined` holds 1000 packets,
# the other workloads one. Profile further with `callgrind_annotate --auto=yes FILE` on a kept
# `crate-WORKLOAD-1001.out`.
set -eu

cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "callgrind.sh: valgrind is not installed" >&2; exit 1; }

# Build the ratios bench (release, with debug info for annotation) and find its executable.
bin=$(CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}/callgrind" CARGO_PROFILE_BENCH_DEBUG=true cargo bench --bench ratios --no-run --message-format=json 2>/dev/null |
    sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | grep '/ratios-' | tail -n 1)
[ -x "$bin" ] || { echo "callgrind.sh: could not build the ratios bench" >&2; exit 1; }

out=${KEEP:-$(mktemp -d)}
mkdir -p "$out"

# ir MODE WORKLOAD N [SETTINGS]: total instructions executed by `ratios MODE WORKLOAD N [SETTINGS]`.
ir() {
    file="$out/$(echo "$1" | sed 's/^--callgrind-floor$/floor/; s/^--callgrind$/crate/')-$2-$3.out"
    valgrind --tool=callgrind --dump-instr=yes --callgrind-out-file="$file" \
        "$bin" "$1" "$2" "$3" ${4:+"$4"} >/dev/null 2>&1
    sed -n 's/^summary: *\([0-9]*\).*/\1/p; s/^totals: *\([0-9]*\).*/\1/p' "$file" | head -n 1
}

printf '%-12s %9s %8s %14s %14s %7s\n' workload bytes packets crate_Ir/pkt floor_Ir/pkt ratio
"$bin" --workloads | while read -r name bytes packets; do
    if [ $# -gt 0 ]; then
        case " $* " in *" $name "*) ;; *) continue ;; esac
    fi
    crate=$(( ($(ir --callgrind "$name" 1001 "${SETTINGS:-}") - $(ir --callgrind "$name" 1 "${SETTINGS:-}")) ))
    floor=$(( ($(ir --callgrind-floor "$name" 1001) - $(ir --callgrind-floor "$name" 1)) ))
    awk -v n="$name" -v b="$bytes" -v p="$packets" -v c="$crate" -v f="$floor" 'BEGIN {
        c /= 1000 * p; f /= 1000 * p
        printf "%-12s %9d %8d %14.1f %14.1f %6.2fx\n", n, b, p, c, f, c / f
    }'
done

[ -n "${KEEP:-}" ] || rm -rf "$out"
