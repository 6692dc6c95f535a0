#!/usr/bin/env bash
# Every libFuzzer target under tests/fuzz, for a bounded time each
# (FUZZ_SECONDS, default 10): the request path (HTTP parse, JSON decode,
# validation), patches, selectors, protobuf bodies. A crash, leak or
# sanitizer report fails the target; its reproducer is kept in build/fuzz.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
secs=${FUZZ_SECONDS:-10}

if ! make -s BUILD="$BUILD" $(ls tests/fuzz/*.c | sed "s|tests/fuzz/\(.*\)\.c|$BUILD/fuzz/\1|") >/dev/null 2>"$BUILD/fuzz-build.log"; then
	not_ok "fuzz targets build" "$(tail -n 5 "$BUILD/fuzz-build.log" | tr '\n' ' ')"
	exit 1
fi
for src in tests/fuzz/*.c; do
	n=$(basename "$src" .c)
	corpus=$BUILD/fuzz/corpus-$n
	mkdir -p "$corpus"
	seeds=""
	[ -d tests/fuzz/corpus/$n ] && seeds=tests/fuzz/corpus/$n
	if out=$("$BUILD/fuzz/$n" -max_total_time="$secs" -artifact_prefix="$BUILD/fuzz/$n-" \
		"$corpus" $seeds 2>&1); then
		ok "fuzz $n for ${secs}s: $(echo "$out" | grep -o 'Done [0-9]* runs' | tail -1)"
	else
		not_ok "fuzz $n" "$(echo "$out" | grep -E 'ERROR|SUMMARY' | head -n 3 | tr '\n' ' ')"
	fi
done
exit $_failed
