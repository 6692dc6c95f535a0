#!/usr/bin/env bash
# The k1s command line: help, version, sub-command table, bad usage.
. "$(dirname "$0")/lib.sh"

check "help lists the commands" sh -c "$K1S --help | grep -q '^  server '"
check "help hides internal commands" sh -c "! $K1S --help | grep -q '^  shim '"
check "version prints a version" sh -c "$K1S version | grep -Eq '^k1s version v'"
expect_fail "unknown command exits 2" 2 "$K1S" frobnicate
expect_fail "unknown global flag exits 2" 2 "$K1S" --frob version
expect_fail "unknown command flag exits 2" 2 "$K1S" version --frob
expect_fail "no command exits 2" 2 "$K1S"
out=$("$K1S" frobnicate 2>&1)
expect_eq "unknown command message is one line" 1 "$(echo "$out" | wc -l)"
check "check-config passes on this machine" "$K1S" check-config
expect_fail "check-config fails without runc" 1 env PATH=/nonexistent "$(readlink -f "$K1S")" check-config
check "check-config names what is missing" sh -c "PATH=/nonexistent $(readlink -f "$K1S") check-config | grep -q '^runc  *FAIL (required)'"
expect_fail "token without a sub-command exits 2" 2 "$K1S" token
expect_fail "agent without --server or --kubeconfig exits 2" 2 "$K1S" agent --config=
for c in check-config version images; do
	check "$c --help" sh -c "$K1S $c --help | grep -q '^Usage: k1s $c'"
done
exit $_failed
