#!/usr/bin/env bash
# k1s images: build the test images (tests/images/build.sh, from busybox-static),
# import a docker-archive, an OCI-archive and a two-layer image with a whiteout
# into a temporary data dir, list them, mount a container root filesystem and
# run busybox in it, remove them. Every mount and directory is cleaned up on
# exit, even on failure.
. "$(dirname "$0")/lib.sh"

tmpdir T
D=$T/data
imgs=$T/images
C=$T/ctr

if ! out=$(tests/images/build.sh "$imgs" 2>&1); then
	not_ok "build test images" "$out"
	exit 1
fi
ok "build test images"
# Cleanup runs LIFO: unmount before the temp dir is removed.
on_exit "umount -l '$C/rootfs'; umount -l '$T/c2/rootfs'"

check "import docker-archive" "$K1S" images --data-dir "$D" import "$imgs/busybox.tar"
check "import OCI-archive and two-layer image" \
	"$K1S" images --data-dir "$D" import "$imgs/busybox-oci.tar" "$imgs/whiteout.tar"
ls_out=$("$K1S" images --data-dir "$D" ls 2>&1)
expect_eq "ls header" "REPOSITORY TAG IMAGE ID SIZE" "$(echo "$ls_out" | head -n 1 | tr -s ' ')"
for r in "k1s.local/busybox test" "k1s.local/busybox-oci test" "k1s.local/whiteout test"; do
	check "ls shows $r" sh -c "echo \"\$1\" | tr -s ' ' | grep -q '^$r [0-9a-f]\{13\} [0-9.]*MB$'" _ "$ls_out"
done
expect_eq "ls has 3 rows" 3 "$(echo "$ls_out" | tail -n +2 | wc -l)"
check "re-import changes nothing" sh -c "
	$K1S images --data-dir '$D' import '$imgs/busybox.tar' >/dev/null &&
	test \"\$($K1S images --data-dir '$D' ls)\" = \"\$1\"" _ "$ls_out"

check "mount busybox rootfs" "$K1S" images --data-dir "$D" mount k1s.local/busybox:test "$C"
expect_eq "busybox runs in the rootfs" "hi" "$(chroot "$C/rootfs" /bin/sh -c 'echo hi' 2>&1)"
chroot "$C/rootfs" /bin/sh -c 'echo written > /tmp/x' 2>/dev/null
check "writes land in the upper dir" test -f "$C/upper/tmp/x"
check "unmount" "$K1S" images --data-dir "$D" unmount "$C"
check "nothing mounted after unmount" sh -c "! grep -q ' $C/rootfs ' /proc/mounts"

check "mount two-layer image" "$K1S" images --data-dir "$D" mount k1s.local/whiteout:test "$T/c2"
check "whiteout'd file is absent" test ! -e "$T/c2/rootfs/etc/removed.txt"
check "opaque dir hides the lower layer" test ! -e "$T/c2/rootfs/data/old"
expect_eq "upper layer file present" "new" "$(cat "$T/c2/rootfs/data/new.txt" 2>&1)"
expect_eq "lower layer file present" "root:x:0:0:root:/root:/bin/sh" \
	"$(head -n 1 "$T/c2/rootfs/etc/passwd" 2>&1)"
check "unmount two-layer image" "$K1S" images --data-dir "$D" unmount "$T/c2"

check "rm by name untags" "$K1S" images --data-dir "$D" rm k1s.local/busybox:test
check "the other name remains" sh -c "$K1S images --data-dir '$D' ls | grep -q '^k1s.local/busybox-oci '"
check "rm the rest" "$K1S" images --data-dir "$D" rm k1s.local/busybox-oci:test k1s.local/whiteout:test
expect_eq "ls is empty" 1 "$("$K1S" images --data-dir "$D" ls | wc -l)"
expect_eq "no layers left" 0 "$(ls "$D/agent/images/layers" | wc -l)"
expect_fail "rm of a missing image exits 1" 1 "$K1S" images --data-dir "$D" rm k1s.local/nope:1
expect_fail "importing garbage exits 1" 1 "$K1S" images --data-dir "$D" import /etc/passwd
expect_fail "unknown sub-command exits 2" 2 "$K1S" images --data-dir "$D" frob
expect_fail "import without files exits 2" 2 "$K1S" images --data-dir "$D" import
expect_fail "unknown flag exits 2" 2 "$K1S" images --frob ls
out=$("$K1S" images --data-dir "$D" import /etc/passwd 2>&1)
expect_eq "failure message is one line" 1 "$(echo "$out" | wc -l)"
exit $_failed
