#!/usr/bin/env bash
# The whole test suite: C unit tests, then end-to-end tests against the real
# binary. Prints every result and one closing line "N passed, N failed".
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0

count() { # adds the closing "N passed, N failed" line of a log to the totals
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$1" | tail -n 1)
	if [ -z "$line" ]; then
		echo "error: $2 printed no closing line"; failed=$((failed + 1)); return
	fi
	passed=$((passed + $(echo "$line" | awk '{print $1}')))
	failed=$((failed + $(echo "$line" | awk '{print $3}')))
}

log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== unit tests"
"${BUILD:-build}"/unit-tests | tee "$log"
count "$log" unit-tests

echo "== end-to-end tests"
tests/e2e/run.sh | tee "$log"
count "$log" e2e

echo "${passed} passed, ${failed} failed"
[ "$failed" -eq 0 ]
