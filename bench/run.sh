#!/usr/bin/env bash
# Runs the benchmarks in bench/ and prints their figures. A benchmark never
# fails on a time: this exits non-zero only when one could not run at all.
# `make bench` calls it as BUILD=<build dir> bench/run.sh.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
tmp=$(mktemp -d /tmp/k1s-bench-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
rc=0

echo "== bench/store"
"$BUILD"/bench-store "$tmp" || rc=1

echo "== bench/proxy"
"$BUILD"/bench-proxy || rc=1

echo "== bench/api"
"$BUILD"/api-bench "$BUILD"/k1s || rc=1

echo "== bench/sched"
"$BUILD"/sched-bench "$BUILD"/k1s || rc=1

echo "== bench/crd"
"$BUILD"/crd-bench "$BUILD"/k1s || rc=1

echo "== bench/dns"; BUILD="$BUILD" bench/dns/run.sh || rc=1

echo "== bench/footprint"; BUILD="$BUILD" bench/footprint/run.sh || rc=1
echo "== bench/pods"; BUILD="$BUILD" bench/pods/run.sh || rc=1
echo "== bench/net"; BUILD="$BUILD" bench/net/run.sh || rc=1
echo "== bench/storage"; BUILD="$BUILD" bench/storage/run.sh || rc=1

exit "$rc"
