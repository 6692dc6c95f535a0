#!/usr/bin/env bash
# bench/storage/run.sh - runs $BUILD/bench-storage (bench/storage/main.c)
# in a temporary directory and makes sure nothing of it stays, even when it
# dies: the pool is unmounted, its loop device detached, the files removed.
# Arguments: sizes in MiB (default 1 100 1024).
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
D=$(mktemp -d /tmp/k1s-bench-stor-XXXXXX)
cleanup() {
	local m l
	for m in $(grep " $D/" /proc/mounts | cut -d' ' -f2 | sort -r); do umount "$m" 2>/dev/null || umount -l "$m"; done
	for l in $(losetup -n -O NAME -j "$D/store/pool.img" 2>/dev/null); do losetup -d "$l"; done
	rm -rf "$D"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
echo "(times measured on a shared machine; each row's references ran in the same run)"
"$BUILD"/bench-storage "$D/store" "$@"
