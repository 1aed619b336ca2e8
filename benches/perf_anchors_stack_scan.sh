#!/usr/bin/env bash
# The crate's perf-anchors visit lines at stack placements STEP bytes apart, one process each:
# under `setarch -R` (no address randomization) an environment variable of N bytes moves the
# stack by N bytes, so each placement is the same in every process that has it. Prints ns per
# packet (criterion's median) of `crate_visit` and `crate_parser_visit` per placement.
#
#   bash benches/perf_anchors_stack_scan.sh [STEP=128] [WORKLOAD=nginx_typical]   (about 2 min)
#
# Needs the harness copy that one `run.sh` run leaves in target/perf-anchors, and `setarch`
# (util-linux). Its previous criterion results are deleted.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
[ -f target/perf-anchors/rust/Cargo.toml ] || {
    echo "run PERF_ADAPTER=benches/perf_adapter.rs bash ../shared/perf-anchors/run.sh quick once first" >&2
    exit 1
}
step=${1:-128}
workload=${2:-nginx_typical}
shared="$(cd ../shared/perf-anchors && pwd)"
cp benches/perf_adapter.rs target/perf-anchors/rust/src/crate_adapter.rs
cp "$shared/rust/src/harness.rs" target/perf-anchors/rust/src/harness.rs
cd target/perf-anchors/rust
cargo bench -q --bench codec --no-run 2>/dev/null
bench=$(ls -t target/release/deps/codec-* | grep -v '\.d$' | head -1)
packets=$(python3 -c "import json; print(json.load(open('../data/manifest.json'))['$workload']['packets'])")
median() {
    python3 -c "import json; print('%.1f' % (json.load(open('target/criterion/parse-$workload/$1/new/estimates.json'))['median']['point_estimate'] / $packets))"
}
echo "$workload, ns per packet by stack placement (bytes of padding)"
echo "padding crate_visit crate_parser_visit"
for pad in $(seq 0 "$step" 4095); do
    rm -rf target/criterion
    PAD=$(head -c "$pad" </dev/zero | tr '\0' x) PERF_ANCHORS_CLOCK=cpu setarch -R "$bench" --bench \
        --warm-up-time 0.2 --measurement-time 0.6 "parse-$workload/crate_(parser_)?visit" >/dev/null 2>&1
    echo "$pad $(median crate_visit) $(median crate_parser_visit)"
done
