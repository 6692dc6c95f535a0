#!/usr/bin/env bash
# tests/images/build.sh OUTDIR - builds the test images from Debian's
# busybox-static (/bin/busybox) with tar, gzip, zstd and sha256sum; nothing
# is downloaded. Writes into OUTDIR:
#
#   busybox.tar      docker-archive, k1s.local/busybox:test, one uncompressed
#                    layer: /bin/busybox, its applets as symlinks, /etc/passwd
#   busybox-oci.tar  OCI-archive, k1s.local/busybox-oci:test, the same
#                    rootfs as one gzip layer
#   whiteout.tar     docker-archive, k1s.local/whiteout:test, two layers:
#                    layer 1 = busybox rootfs + /etc/removed.txt + /data/old/a
#                    layer 2 (zstd) = whiteout of /etc/removed.txt, /data made
#                    opaque with /data/new.txt, and /etc/added.txt
#
# The archives are byte-for-byte reproducible (fixed mtimes, sorted names,
# numeric root ownership).
set -euo pipefail
out=${1:?usage: build.sh OUTDIR}
BUSYBOX=${BUSYBOX:-/bin/busybox}
mkdir -p "$out"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
arch=$(dpkg --print-architecture 2>/dev/null || echo amd64)

sha() { sha256sum "$1" | cut -d' ' -f1; }
mktar() { # DIR TARFILE: reproducible tar of DIR's contents
	tar --sort=name --mtime=@0 --numeric-owner --owner=0 --group=0 \
		--format=pax --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
		-C "$1" -cf "$2" .
}
config() { # DIFFID... -> config JSON on stdout
	local ids="" d
	for d in "$@"; do ids="$ids${ids:+,}\"sha256:$d\""; done
	printf '{"architecture":"%s","os":"linux","config":{"Env":["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],"Cmd":["sh"]},"rootfs":{"type":"layers","diff_ids":[%s]}}' "$arch" "$ids"
}

# The busybox root filesystem.
root=$work/rootfs
mkdir -p "$root"/{bin,etc,tmp,proc,sys,dev,root}
cp "$BUSYBOX" "$root/bin/busybox"
for a in $("$BUSYBOX" --list); do
	[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$root/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$root/etc/group"
chmod 1777 "$root/tmp"
mktar "$root" "$work/base.tar"
base=$(sha "$work/base.tar")

# docker-archive (docker save layout): DIR with manifest.json, <cfg>.json, <id>/layer.tar
docker_archive() { # NAME OUTFILE LAYERFILE...
	local name=$1 file=$2 dir=$work/docker-$RANDOM layers="" ids=() l d c
	shift 2
	mkdir -p "$dir"
	for l in "$@"; do
		d=$(sha "$l")
		mkdir -p "$dir/$d"
		cp "$l" "$dir/$d/layer.tar"
		layers="$layers${layers:+,}\"$d/layer.tar\""
		case $l in
		*.zst) ids+=("$(zstd -dc "$l" | sha256sum | cut -d' ' -f1)") ;;
		*) ids+=("$d") ;;
		esac
	done
	config "${ids[@]}" > "$dir/config.json"
	c=$(sha "$dir/config.json")
	mv "$dir/config.json" "$dir/$c.json"
	printf '[{"Config":"%s.json","RepoTags":["%s"],"Layers":[%s]}]' "$c" "$name" "$layers" \
		> "$dir/manifest.json"
	mktar "$dir" "$file"
}

docker_archive k1s.local/busybox:test "$out/busybox.tar" "$work/base.tar"

# OCI-archive with a gzip layer.
oci=$work/oci
mkdir -p "$oci/blobs/sha256"
gzip -n -c "$work/base.tar" > "$work/base.tar.gz"
lz=$(sha "$work/base.tar.gz")
cp "$work/base.tar.gz" "$oci/blobs/sha256/$lz"
config "$base" > "$work/oci-config.json"
cfg=$(sha "$work/oci-config.json")
cp "$work/oci-config.json" "$oci/blobs/sha256/$cfg"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
	"$cfg" "$(stat -c %s "$work/oci-config.json")" "$lz" "$(stat -c %s "$work/base.tar.gz")" > "$work/manifest.json"
man=$(sha "$work/manifest.json")
cp "$work/manifest.json" "$oci/blobs/sha256/$man"
printf '{"imageLayoutVersion":"1.0.0"}' > "$oci/oci-layout"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%d,"annotations":{"io.containerd.image.name":"k1s.local/busybox-oci:test","org.opencontainers.image.ref.name":"test"}}]}' \
	"$man" "$(stat -c %s "$work/manifest.json")" > "$oci/index.json"
mktar "$oci" "$out/busybox-oci.tar"

# Two layers; the second deletes a file of the first and hides a directory.
l1=$work/l1
cp -a "$root" "$l1"
echo "gone" > "$l1/etc/removed.txt"
mkdir -p "$l1/data/old"
echo "old" > "$l1/data/old/a"
mktar "$l1" "$work/l1.tar"
l2=$work/l2
mkdir -p "$l2/etc" "$l2/data"
: > "$l2/etc/.wh.removed.txt"
: > "$l2/data/.wh..wh..opq"
echo "new" > "$l2/data/new.txt"
echo "added" > "$l2/etc/added.txt"
mktar "$l2" "$work/l2.tar"
zstd -q -c "$work/l2.tar" > "$work/l2.tar.zst"
docker_archive k1s.local/whiteout:test "$out/whiteout.tar" "$work/l1.tar" "$work/l2.tar.zst"
echo "$out/busybox.tar $out/busybox-oci.tar $out/whiteout.tar"
