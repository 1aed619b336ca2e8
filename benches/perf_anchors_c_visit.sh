#!/usr/bin/env bash
# The C lines of ../shared/perf-anchors given the visit that the crate's visit lines do, measured
# in one criterion run with the crate's lines. perf-anchors' C lines store each pair and read
# nothing back; `crate_visit` and `crate_parser_visit` then read every pair back through
# `black_box((key, value))`. Here `c_baseline + visit` and `c_floor_store + visit` (the
# unchecked C walk) read their output back the same way.
#
#   bash benches/perf_anchors_c_visit.sh     (about 4 minutes; nothing else CPU-heavy meanwhile)
#
# Needs the harness copy that one `run.sh` run leaves in target/perf-anchors. The copy's
# harness.rs is patched for this run and restored after it; its crate_adapter.rs becomes
# benches/perf_adapter.rs, and the previous run's criterion results are deleted.
set -euo pipefail
cd "$(git rev-parse --show-toplevel)"
[ -f target/perf-anchors/rust/Cargo.toml ] || {
    echo "run PERF_ADAPTER=benches/perf_adapter.rs bash ../shared/perf-anchors/run.sh quick once first" >&2
    exit 1
}
shared="$(cd ../shared/perf-anchors && pwd)"
work="$PWD/target/perf-anchors"
cp benches/perf_adapter.rs "$work/rust/src/crate_adapter.rs"
cp "$shared/rust/src/harness.rs" "$work/rust/src/harness.rs"
chmod u+w "$work/rust/src/harness.rs"
trap 'cp "$shared/rust/src/harness.rs" "$work/rust/src/harness.rs"' EXIT
python3 - "$work/rust/src/harness.rs" <<'EOF'
import sys
path = sys.argv[1]
src = open(path).read()
# The two store floors become the C lines plus the visit (their names stay, the table below
# says what they are).
replace = {
    "    stream!(data, |p| unsafe { ffi::c_floor_walk_store(p, &mut s.cvars) })":
    """    stream!(data, |p| {
        let (n, used) = unsafe { ffi::c_floor_walk_store(p, &mut s.cvars) };
        visit_cvars(&s.cvars[..n]);
        (n, used)
    })""",
    "    stream!(data, |p| unsafe { floor::walk_store(p, &mut s.arr) })":
    """    stream!(data, |p| match ffi::c_parse_packet(p, &mut s.cvars) {
        Ok((_, n, used)) => {
            visit_cvars(&s.cvars[..n]);
            (n, used)
        }
        Err(_) => fail(),
    })""",
}
for old, new in replace.items():
    assert src.count(old) == 1, f"the harness changed: {old!r} not found once"
    src = src.replace(old, new)
src += '''
/// The crate adapter's visit, over the C output: every pair read back through `black_box`.
#[inline(always)]
fn visit_cvars(vars: &[ffi::CVar]) {
    for var in vars {
        let key = unsafe { std::slice::from_raw_parts(var.key, var.key_len) };
        let value = unsafe { std::slice::from_raw_parts(var.val, var.val_len) };
        black_box((key, value));
    }
}
'''
open(path, "w").write(src)
EOF
cd "$work/rust"
# run.sh's check that every line finds the same pairs, on the patched lines too.
cargo test --release -q >/dev/null 2>&1 || { echo "the patched harness fails its correctness tests" >&2; exit 1; }
rm -rf target/criterion
PERF_ANCHORS_CLOCK=cpu cargo bench -q --bench codec -- --warm-up-time 0.5 --measurement-time 2 \
    'parse-nginx_typical|parse-pipelined|parse-small|parse-many_small' > ../c_visit.log 2>&1 ||
    { tail -20 ../c_visit.log; exit 1; }
python3 - <<'EOF'
import json
manifest = json.load(open("../data/manifest.json"))
lines = [("c_baseline", "C"), ("rust_floor_store", "C + visit"),
         ("c_floor_store", "C floor + visit"), ("crate_store", "crate_store"),
         ("crate_visit", "crate_visit"), ("crate_parser_visit", "crate_parser_visit")]
print("ns per packet (median), and the ratio to C + visit; C floor = the unchecked C walk")
print(f"{'workload':<14}" + "".join(f"{label:>24}" for _, label in lines))
for workload in ["nginx_typical", "pipelined", "small", "many_small"]:
    packets = manifest[workload]["packets"]
    ns = [json.load(open(f"target/criterion/parse-{workload}/{name}/new/estimates.json"))
          ["median"]["point_estimate"] / packets for name, _ in lines]
    print(f"{workload:<14}" + "".join(f"{x:>16.1f} ({x / ns[1]:4.2f}x)" for x in ns))
EOF
