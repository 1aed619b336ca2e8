#!/usr/bin/env bash
# Builds and runs every cargo-fuzz target for SECONDS each (default 60), starting from the
# committed seeds (fuzz/seeds/T) plus a scratch corpus (fuzz/corpus/T, kept between runs), with
# the protocol dictionary. Fails as soon as a target crashes, fails an invariant, times out or
# runs out of memory; the input is left in fuzz/artifacts/T/ and the log in fuzz/artifacts/T.log.
#
#   bash fuzz/run-all.sh [SECONDS] [TARGET...]
#
# Toolchain: FUZZ_TOOLCHAIN if set, else nightly if rustup has one, else the default; any
# toolchain but a nightly runs with RUSTC_BOOTSTRAP=1 (cargo-fuzz passes nightly-only flags).
# cargo-fuzz is installed with `cargo install cargo-fuzz --locked` if it is missing.
# FUZZ_SANITIZER (address, the default, or none, ...) is passed to `cargo fuzz build -s`: the
# crate forbids unsafe code, so `none` keeps every check but AddressSanitizer's, which only
# guards the dependencies' unsafe code, and runs about 8 times as many inputs a second.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:-60}
shift || true
if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=(parse vars_array content_length codec roundtrip differential serve)
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "==> installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

toolchain=${FUZZ_TOOLCHAIN:-}
if [ -z "$toolchain" ] && rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    toolchain=nightly
fi
cargo=(cargo ${toolchain:+"+$toolchain"})
case "$toolchain" in
    nightly*) ;;
    *) export RUSTC_BOOTSTRAP=1 ;;
esac
echo "==> toolchain: ${cargo[*]} ($("${cargo[@]}" --version))${RUSTC_BOOTSTRAP:+ with RUSTC_BOOTSTRAP=1}"

# -a: debug assertions and overflow checks on, so a wrapping length is a crash. Built once, then
# each binary runs directly (what `cargo fuzz run` does after its own build), so the runs do
# not rebuild, whatever changes in the tree meanwhile.
sanitizer=(${FUZZ_SANITIZER:+-s "$FUZZ_SANITIZER"})
echo "==> cargo fuzz build -a ${sanitizer[*]}"
"${cargo[@]}" fuzz build -a "${sanitizer[@]}"
triple=$(rustc -vV | sed -n 's/^host: //p')
bin_dir="target/$triple/release"

mkdir -p artifacts
summary=()
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target" "artifacts/$target"
    log="artifacts/$target.log"
    echo "==> $target for ${seconds}s"
    status=0
    "$bin_dir/$target" -artifact_prefix="artifacts/$target/" \
        -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 \
        -dict=uwsgi.dict -print_final_stats=1 \
        "corpus/$target" "seeds/$target" >"$log" 2>&1 || status=$?
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true)
    if [ "$status" -ne 0 ]; then
        tail -60 "$log"
        echo "FAIL: $target (exit $status); input in fuzz/artifacts/$target/, log in fuzz/$log" >&2
        exit 1
    fi
    echo "    $done_line"
    summary+=("$target: $done_line")
done

echo "==> all targets passed"
printf '    %s\n' "${summary[@]}"
