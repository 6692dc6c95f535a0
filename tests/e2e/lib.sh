# tests/e2e/lib.sh - what every end-to-end test script sources.
#
#   check NAME CMD...        run CMD; "ok - NAME" if it exits 0, else "not ok"
#   expect_eq NAME WANT GOT  compare two strings
#   expect_fail NAME CODE CMD...  CMD must exit with status CODE
#   poll SECONDS CMD...      retry CMD every 0.1 s until it succeeds or time runs out
#   on_exit CMD              run CMD when the script exits, even on failure (LIFO)
#   tmpdir VAR               set VAR to a fresh directory removed on exit
#
# Scripts keep going after a failed check, so one run reports every failure.
set -u
K1S=${K1S_BIN:-build/k1s}
# agents started by tests run no service proxy unless a test asks (the proxy
# programs nftables in the namespace it runs in: tests/e2e/svc-proxy.test.sh)
export K1S_DISABLE_PROXY=1
_cleanups=()
_failed=0

on_exit() { _cleanups=("$*" "${_cleanups[@]}"); }
_run_cleanups() {
	local c
	for c in "${_cleanups[@]}"; do eval "$c" >/dev/null 2>&1 || true; done
}
trap _run_cleanups EXIT
trap 'exit 130' INT TERM

ok() { echo "ok - $1"; }
not_ok() { echo "not ok - $1${2:+: $2}"; _failed=1; }

check() {
	local name=$1; shift
	local out
	if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$(echo "$out" | tail -n 3 | tr '\n' ' ')"; fi
}

expect_eq() {
	if [ "$2" == "$3" ]; then ok "$1"; else not_ok "$1" "want '$2', got '$3'"; fi
}

expect_fail() {
	local name=$1 code=$2; shift 2
	"$@" >/dev/null 2>&1
	local rc=$?
	if [ "$rc" -eq "$code" ]; then ok "$name"; else not_ok "$name" "exit $rc, want $code"; fi
}

poll() {
	local deadline=$(( $(date +%s%N) / 1000000 + $1 * 1000 )); shift
	until "$@" >/dev/null 2>&1; do
		[ $(( $(date +%s%N) / 1000000 )) -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

tmpdir() { # not in a subshell: the clean-up must be registered here
	local d
	d=$(mktemp -d /tmp/k1s-e2e-XXXXXX)
	on_exit "rm -rf '$d'"
	printf -v "$1" '%s' "$d"
}
