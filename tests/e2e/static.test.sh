#!/usr/bin/env bash
# make static: builds $BUILD/k1s-static, checks it is fully static, runs it
# in a root that holds nothing but the binary, prints its stripped size, and
# checks the static build's libmnl (mk/static/libmnl.c) against the real one.
# Needs root (chroot, unshare -n) and, on the first run, the deb-src entries
# of `make install-deps` (cJSON's source package is downloaded once).
. "$(dirname "$0")/lib.sh"

BUILD=${BUILD:-build}
STATIC=$BUILD/k1s-static
MiB=$((1024 * 1024))

# The outer `make test` jobserver is not ours to use.
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s BUILD="$BUILD" "$@"; }

t0=$(date +%s)
if ! out=$(mk static 2>&1); then
	not_ok "make static builds $STATIC" "$(echo "$out" | tail -n 5 | tr '\n' ' ')"
	exit 1
fi
ok "make static builds $STATIC ($(( $(date +%s) - t0 )) s)"
check "a second make static has nothing to do" \
	sh -c "env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -q BUILD='$BUILD' static"

check "file says statically linked" sh -c "file -L '$STATIC' | grep -q 'statically linked'"
check "no ELF interpreter, no NEEDED libraries" \
	sh -c "! readelf -lW '$STATIC' | grep -q INTERP && ! readelf -dW '$STATIC' | grep -q NEEDED"

size_line=$(mk static-size)
echo "# $size_line"
bytes=$(echo "$size_line" | awk '{print $2}')
if [ -n "$bytes" ] && [ "$bytes" -lt $((10 * MiB)) ]; then
	ok "stripped static binary is under 10 MiB ($((bytes / 1024)) KiB)"
else
	not_ok "stripped static binary is under 10 MiB" "$size_line"
fi

tmpdir work

# A root with nothing in it but the binary: no libc, no /etc, no /proc.
root=$work/root
mkdir "$root"
cp "$STATIC" "$root/k1s"
chroot=$(command -v chroot)
in_root() { env -i "$chroot" "$root" /k1s "$@"; }
expect_eq "k1s version in an empty root matches the dynamic build" \
	"$("$K1S" version 2>&1)" "$(in_root version 2>&1)"
check "k1s --help in an empty root lists the commands" \
	sh -c "env -i '$chroot' '$root' /k1s --help | grep -q '^  server '"
expect_fail "unknown command in an empty root exits 2" 2 in_root frobnicate
expect_eq "the root still holds only the binary" "k1s" "$(ls -A "$root")"

# libmnl: the same probe linked with the real library and with ours must
# print the same thing (run in a fresh network namespace: only "lo").
probe=tests/e2e/static-mnl-probe.c
pdir=$work
cflags="-std=gnu11 -O2 -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow"
if cc $cflags -o "$pdir/real" "$probe" -lmnl &&
	cc $cflags -o "$pdir/ours" "$probe" "$BUILD/static/lib/libmnl.a" &&
	cc $cflags -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=undefined \
		-o "$pdir/ours-asan" "$probe" mk/static/libmnl.c; then
	unshare -n "$pdir/real" > "$pdir/real.out" 2>&1
	unshare -n "$pdir/ours" > "$pdir/ours.out" 2>&1
	unshare -n "$pdir/ours-asan" > "$pdir/asan.out" 2>&1
	check "the libmnl probe saw the namespace's loopback link" grep -q '^  link 1 lo$' "$pdir/real.out"
	check "static libmnl behaves like the real libmnl" diff -u "$pdir/real.out" "$pdir/ours.out"
	check "static libmnl is clean under ASan and UBSan" diff -u "$pdir/real.out" "$pdir/asan.out"
else
	not_ok "the libmnl probe compiles"
fi
exit $_failed
