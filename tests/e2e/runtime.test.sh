#!/usr/bin/env bash
# tests/e2e/runtime.test.sh - the internal `k1s pause` and `k1s shim` commands
# as processes (the runc-backed runtime itself is tested in
# tests/unit/runtime_test.c, which drives real containers).
#
#   k1s pause as PID 1 of a fresh PID namespace (unshare): reaps an orphan,
#   exits 0 on SIGTERM; bad usage exits 2. k1s shim: bad usage exits 2, a
#   missing state dir is reported on the ready fd and exits 1.
. "$(dirname "$0")/lib.sh"

tmpdir T

expect_fail "pause rejects arguments" 2 "$K1S" pause extra
expect_fail "shim without a state dir is bad usage" 2 "$K1S" shim
expect_fail "shim rejects a bad ready fd" 2 "$K1S" shim "$T" notanfd
msg=$("$K1S" shim "$T/missing" 1 2>/dev/null); rc=$?
expect_eq "shim with a missing state dir fails" 1 "$rc"
case $msg in
*"shim setup failed"*) ok "shim reports the failure on the ready fd" ;;
*) not_ok "shim reports the failure on the ready fd" "got '$msg'" ;;
esac

if [ "$(id -u)" -ne 0 ] || ! command -v unshare >/dev/null; then
	echo "ok - pause in a PID namespace # skip: needs root and unshare"
	echo "ok - pause exits 0 on SIGTERM # skip"
	exit 0
fi

# pause is PID 1 of a new PID namespace; nsenter runs an orphan-maker in it
unshare --pid --fork --kill-child "$K1S" pause &
upid=$!
on_exit "kill -9 $upid"
pause_pid() { pgrep -P "$upid" -f 'pause' ; }
poll 5 pause_pid
ppid=$(pause_pid)
check "pause is running" test -n "$ppid"
# an orphan whose parent exits at once is reparented to pause (PID 1 there)
nsenter --pid=/proc/"$ppid"/ns/pid -- /bin/busybox sh -c '(/bin/busybox sleep 1 &)'
children() { cat /proc/"$ppid"/task/"$ppid"/children; }
no_children() { [ -z "$(children)" ]; }
kids=$(children)
check "the orphan was reparented to pause" test -n "$kids"
check "pause reaped the orphan" poll 3 no_children
kill -TERM "$ppid"
check "pause exits on SIGTERM" poll 3 test ! -e /proc/"$ppid"
wait "$upid"; rc=$?
expect_eq "pause exit status" 0 "$rc"
exit $_failed
