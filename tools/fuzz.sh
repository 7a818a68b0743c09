#!/bin/sh
# Run each libFuzzer target for SECONDS on a scratch copy of its seed
# corpus (fuzz/corpus/NAME plus, for fuzz_lua, every scenario, and for
# fuzz_replay the replay fixtures of tests/data/replay).  Exit 1 on
# a crash or sanitizer report.  -len_control=0: inputs reach -max_len at
# once (more operations per machine booted); -max_len=16384: fuzz_ops
# takes up to 4096 four-byte operations per input, so boot and teardown
# are paid over more of them; -entropic=0: the entropic
# schedule's feature-frequency update cost most of the time here.
# -seed: the same mutation sequence on every run (FUZZ_SEED overrides), so
# a crash CI finds is found again by `make fuzz` on the same tree.
# Usage: tools/fuzz.sh BUILD SECONDS NAME...
set -eu
build=$1
secs=$2
shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for t in "$@"; do
	mkdir -p "$work/$t"
	if [ -d "$root/fuzz/corpus/$t" ]; then
		cp "$root/fuzz/corpus/$t"/* "$work/$t/" 2>/dev/null || true
	fi
	if [ "$t" = fuzz_lua ]; then
		cp "$root"/scenarios/*.lua "$root"/scenarios/mutants/*.lua "$work/$t/"
	fi
	if [ "$t" = fuzz_replay ]; then
		cp "$root"/tests/data/replay/* "$work/$t/"
	fi
	echo "== $t: ${secs}s"
	if ! UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	    nice "$build/fuzz/$t" -max_total_time="$secs" -max_len=16384 \
	    -seed="${FUZZ_SEED:-1}" \
	    -rss_limit_mb=2048 -len_control=0 -entropic=0 \
	    -print_final_stats=1 "$work/$t" \
	    >"$work/$t.log" 2>&1; then
		status=1
		tail -60 "$work/$t.log"
		echo "== $t: FAILED (crash or sanitizer report above)"
		continue
	fi
	grep -E "^stat::number_of_executed_units|^fuzz_ops:|^#[0-9]+.*DONE" \
	    "$work/$t.log" | tail -3
	echo "== $t: ok"
done
exit $status
