#!/usr/bin/env bash
# Fuzzes every target of sweeplab::testkit::fuzzing::TARGETS with libFuzzer (cargo fuzz, nightly).
#
#   fuzz/run.sh [SECONDS_PER_TARGET] [TARGET…]      (default: 600 s, all targets)
#
# Seeds come from `cargo run --example fuzz_seeds`, dictionaries (field names, keys, chunk ids,
# edge numbers) from fuzz/dicts/; the growing corpus stays in
# fuzz/corpus/<target> (not committed). A crash stops that target's run and leaves its input
# in fuzz/artifacts/<target>/: copy it to fixtures/fuzz/<target>/ (tests/fuzz_regressions.rs
# replays that folder on stable Rust in every `cargo test`), fix, and run again.
# Debug assertions and overflow checks are on (-a); RSS is capped at 2 GB and one input may
# take at most 10 s (a slower one is reported as a timeout crash). SANITIZER=address adds
# AddressSanitizer (about 2× slower; sweeplab itself has no unsafe code).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(wav session_json analysis_json curve claims_toml model_toml)
fi
cargo run --quiet --release --example fuzz_seeds -- fuzz/seeds
san=${SANITIZER:-none}
(cd fuzz && cargo +nightly fuzz build -O -a -s "$san")
status=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$t" "fuzz/artifacts/$t"
    case $t in
        session_json | analysis_json) dict=json ;;
        claims_toml | model_toml) dict=toml ;;
        *) dict=$t ;;
    esac
    echo "== $t: ${secs} s"
    if ! (cd fuzz && cargo +nightly fuzz run -O -a -s "$san" "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -dict="dicts/$dict.dict" -timeout=10 -rss_limit_mb=2048 -max_len=262144 \
        -print_final_stats=1 2>&1 | tee "artifacts/$t/last-run.log" | grep -E "^(#[0-9]+ *(DONE|INITED)|stat::|==[0-9]+== ERROR|SUMMARY|panicked|Test unit written)")
    then
        status=1
    fi
    if grep -q "Test unit written" "fuzz/artifacts/$t/last-run.log"; then
        status=1
    fi
done
exit $status
