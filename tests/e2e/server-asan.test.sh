#!/usr/bin/env bash
# The API server's end-to-end suites again, against a k1s built with
# AddressSanitizer and UndefinedBehaviorSanitizer: a memory error anywhere
# on the request path aborts the server and fails the checks (the server's
# log, printed on failure, holds the report).
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
asan=$BUILD/asan-e2e
if ! make -s -j"$(nproc)" BUILD="$asan" \
	CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	"$asan/k1s" >"$BUILD/server-asan-build.log" 2>&1; then
	not_ok "sanitizer build of k1s" "$(tail -n 5 "$BUILD/server-asan-build.log" | tr '\n' ' ')"
	exit 1
fi
ASAN_OPTIONS=detect_leaks=1 K1S_BIN=$PWD/$asan/k1s \
	tests/e2e/run.sh tests/e2e/apiserver.test.sh tests/e2e/services.test.sh tests/e2e/controllers.test.sh tests/e2e/endpointslice.test.sh \
		tests/e2e/manifests.test.sh tests/e2e/join.test.sh tests/e2e/crd.test.sh 2>&1 |
	sed -e 's/^ok - /ok - asan: /' -e 's/^not ok - /not ok - asan: /' | grep -Ev '^[0-9]+ passed, [0-9]+ failed$'
exit 0
