#!/usr/bin/env bash
# tests/e2e/kubelet-api.test.sh again, against a k1s built with AddressSanitizer
# and UndefinedBehaviorSanitizer (the build server-asan.test.sh uses): a memory
# error in the kubelet API, the runc exec streams or the API server's proxy
# aborts the agent or the server and fails the checks.
# K1S_E2E_KUBELET_ASAN=0 skips it.
. "$(dirname "$0")/lib.sh"
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
asan=$BUILD/asan-e2e
if [ "$(id -u)" -ne 0 ] || [ "${K1S_E2E_KUBELET_ASAN:-1}" = 0 ]; then
	echo "ok - asan: kubelet API # skip: needs root (and not K1S_E2E_KUBELET_ASAN=0)"
	exit 0
fi
if ! make -s -j"$(nproc)" BUILD="$asan" \
	CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	"$asan/k1s" >"$BUILD/kubelet-asan-build.log" 2>&1; then
	not_ok "sanitizer build of k1s" "$(tail -n 5 "$BUILD/kubelet-asan-build.log" | tr '\n' ' ')"
	exit 1
fi
ASAN_OPTIONS=detect_leaks=1 K1S_BIN=$PWD/$asan/k1s KAPI_BLOB_KB=512 \
	tests/e2e/run.sh tests/e2e/kubelet-api.test.sh 2>&1 |
	sed -e 's/^ok - /ok - asan: /' -e 's/^not ok - /not ok - asan: /' | grep -Ev '^[0-9]+ passed, [0-9]+ failed$'
exit 0
