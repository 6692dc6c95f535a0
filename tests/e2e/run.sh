#!/usr/bin/env bash
# Runs each tests/e2e/*.test.sh (or those named as arguments) with a time
# limit. A script reports "ok - NAME" / "not ok - NAME" lines (lib.sh); a
# script that exits non-zero without a "not ok" line counts as one failure.
set -u
cd "$(dirname "$0")/../.."
export K1S_BIN=${K1S_BIN:-$PWD/${BUILD:-build}/k1s}
limit=${E2E_TIMEOUT:-600}
passed=0 failed=0
scripts=("$@")
[ ${#scripts[@]} -eq 0 ] && scripts=(tests/e2e/*.test.sh)

for s in "${scripts[@]}"; do
	out=$(mktemp)
	echo "-- $s"
	timeout --kill-after=20 "$limit" bash "$s" > "$out" 2>&1
	rc=$?
	cat "$out"
	ok=$(grep -c '^ok - ' "$out")
	bad=$(grep -c '^not ok - ' "$out")
	passed=$((passed + ok))
	failed=$((failed + bad))
	if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
		echo "not ok - $s exited $rc${rc:+ (124 = timeout)}"
		failed=$((failed + 1))
	fi
	rm -f "$out"
done
echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
